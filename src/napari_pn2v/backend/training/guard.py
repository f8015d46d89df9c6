"""The guard against a wrong noise model: does p(x | s) hold on the data it denoises?

PN2V's gain over N2V is the posterior's weighing of each pixel against its prior, and that
weighing is only as good as the noise model: one that gives too little noise makes the MMSE
trust noisy pixels and fall far below the prior mean (3 dB on dark low-SNR data, issue 21) —
silently, since SURE takes its noise variance from the same model. So the noise model is
compared, band by band of the signal, with two things the data show without clean images:

- the **images' own noise**: the residual of locally planar signal in smooth regions
  (:func:`.poisson_gaussian.noise_levels`, independent of how the model was made); SURE takes
  its noise variance from it wherever it was measured, so the prior mean wins the bands where
  the MMSE would lose (:func:`.spread.choose_spread`); where it is higher than the model's by
  :data:`UNDER`, the user is told the model gives too little noise;
- the **scatter of pixels around the prior** on held-out masked pixels (the network did not
  see them): Var(x − prior mean) should be the noise variance plus the prior's spread²; where
  it is higher by :data:`UNDER`, the model and the prior together claim too much certainty.

Noise correlated between neighbouring pixels breaks PN2V's independence assumption itself,
unless training hid the pixels it correlates with (the blind spot's radius): otherwise the
prior mean is predicted everywhere. The result (:class:`NoiseCheck`) is stored in the
model file, named to the user (CLI, notification) and marked in the noise-model plot.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace

import numpy as np
import torch
from scipy.optimize import isotonic_regression

from ..data.images import plane_views
from ..errors import PN2VError
from ..noise.base import NoiseModel
from ..noise.diagnostics import NoiseCheck
from ..noise.estimate import NoiseLevels, noise_levels
from .config import TrainConfig
from .losses import HeadOutputs
from .masking import Batch
from .spread import SpreadChoice, Variance, choose_spread


@dataclass
class ImageNoise:
    """The noise variance the images show, against the signal (held beyond the levels): the
    measured levels made non-decreasing, which pools the noisy estimates of neighbouring
    levels (one level's estimate from a few hundred pixels can be 1.6× off)."""

    levels: NoiseLevels

    def __post_init__(self) -> None:
        self._variances = isotonic_regression(self.levels.variances, weights=self.levels.counts).x

    @classmethod
    def measure(cls, images: list[np.ndarray]) -> ImageNoise | None:
        """From whole planes of the training images; None where they hold too few smooth
        regions or signal levels to tell."""
        planes = [p for image in images for p in plane_views(image) if min(p.shape) >= 16]
        if not planes or len({p.shape for p in planes}) > 1:
            planes = planes[:1]
        try:
            return cls(noise_levels(np.stack(planes))) if planes else None
        except PN2VError:
            return None

    def variance(self, signal: torch.Tensor) -> torch.Tensor:
        means = torch.as_tensor(self.levels.means, dtype=torch.float32, device=signal.device)
        values = torch.as_tensor(self._variances, dtype=torch.float32, device=signal.device)
        s = signal.float().clamp(float(means[0]), float(means[-1]))
        index = torch.searchsorted(means, s.contiguous()).clamp(1, len(means) - 1)
        low, high = means[index - 1], means[index]
        return torch.lerp(
            values[index - 1], values[index], (s - low) / (high - low).clamp(min=1e-12)
        )


def with_blind_radius(
    config: TrainConfig, image_noise: ImageNoise | None, warnings: list[str]
) -> TrainConfig:
    """``config`` with an automatic blind-spot radius replaced by the one the images' noise
    asks for (0 where it was not measured); named in ``warnings`` when it is not 0."""
    if config.blind_radius is not None:
        return config
    radius = image_noise.levels.blind_radius if image_noise is not None else 0
    if radius:
        warnings += image_noise.levels.correlation_messages
    return replace(config, blind_radius=radius)


def checked_variance(noise_model: NoiseModel, image_noise: ImageNoise | None) -> Variance:
    """The noise variance for Stein's terms: the images' own wherever it was measured, else
    the noise model's. A bootstrapped model's variance is that of the pixels about N2V's
    estimate, not about the signal: on FMD's confocal frames it was 19 % below the truth in
    the brightest eighth of the pixels, where the images' was within 1 % (docs/method.md), and
    SURE with it kept an MMSE that lost 0.4 dB to the prior mean."""
    return noise_model.variance if image_noise is None else image_noise.variance


def guarded_spread(
    model,
    patches: torch.Tensor,
    generator: torch.Generator,
    image_noise: ImageNoise | None,
    blind_radius: int = 0,
) -> SpreadChoice:
    """:func:`.spread.choose_spread` with Stein's noise variance checked against the images'
    (:func:`checked_variance`); no band keeps the MMSE when the noise correlates further than
    the ``blind_radius`` the network was trained with: its prior then saw part of the pixel's
    noise."""
    variance = checked_variance(model.noise_model, image_noise)
    choice = choose_spread(model, patches, generator, variance)
    if image_noise is not None and image_noise.levels.blind_radius > blind_radius:
        choice = replace(choice, trusted=(False,) * len(choice.trusted))
    return choice


def held_out_outputs(
    model, batches: Iterable[Batch]
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """(head outputs, observations) at the masked pixels of ``batches`` (the validation
    patches), on the CPU: what :func:`check_noise` holds the model against."""
    outputs = HeadOutputs(model.net, supervised=False, amp=False)
    with torch.no_grad():
        for batch in batches:
            yield (
                outputs(batch.inputs.cpu(), batch.index.cpu()),
                model.denormalise(batch.targets.reshape(-1).cpu()),
            )


@torch.no_grad()
def check_noise(
    model,
    choice: SpreadChoice,
    image_noise: ImageNoise | None,
    held_out: Iterable[tuple[torch.Tensor, torch.Tensor]],
) -> NoiseCheck:
    """The check of a trained PN2V ``model`` whose spread was chosen as ``choice``.
    ``held_out``: (head outputs, observations) at masked pixels of held-out patches."""
    noise_model = model.noise_model
    edges = (choice.range[0], *choice.edges, choice.range[1])
    bands = len(choice.trusted)
    centres = torch.tensor([0.5 * (a + b) for a, b in itertools.pairwise(edges)])
    model_variance = noise_model.variance(centres)
    image_variance = (
        image_noise.variance(centres) if image_noise is not None else torch.full((bands,), math.nan)
    )
    sums = torch.zeros(3, bands, dtype=torch.float64)
    inner = torch.tensor(choice.edges, dtype=torch.float32)
    for raw, observed in held_out:
        prior = model.prior(raw, calibrated=False).scaled(choice.scale)
        mean = torch.addcmul(prior.loc, prior.scale, prior.u.mean(1, keepdim=True))[:, 0]
        spread = (prior.scale[:, 0] * prior.u.std(1)) ** 2
        band = torch.bucketize(mean.cpu(), inner, right=True)
        for row, values in enumerate(
            (torch.ones_like(mean), (observed - mean) ** 2, noise_model.variance(mean) + spread)
        ):
            sums[row].index_add_(0, band, values.double().cpu())
    counts = sums[0].clamp(min=1)
    scatter = torch.where(sums[0] > 0, sums[1] / counts, math.nan)
    expected = torch.where(sums[0] > 0, sums[2] / counts, math.nan)
    notes = []
    correlation = 1.0
    if image_noise is not None:
        correlation = image_noise.levels.correlation
        notes = image_noise.levels.correlation_messages
    return NoiseCheck(
        tuple(float(e) for e in edges),
        choice.shares,
        choice.trusted,
        tuple(model_variance.tolist()),
        tuple(image_variance.tolist()),
        tuple(scatter.tolist()),
        tuple(expected.tolist()),
        correlation,
        notes,
    )
