"""Choosing the prior's spread for prediction, and where to trust the MMSE, without clean data.

The network learns its prior with each pixel hidden (the blind spot) but predicts with the
pixel in view, so at prediction its prior already leans on the pixel's own value; the posterior
then counts that value a second time, and the MMSE estimate can fall below the prior mean. One
factor on the spread of every pixel's samples about their mean corrects most of this. It is
the factor with the lowest Stein's unbiased risk estimate (SURE) of the MMSE estimate's
squared error on noisy patches,

    mean[(ŝ(x) − x)² − v + 2 v ∂ŝ/∂x],   v = Var(x | s),

with ∂ŝ/∂x in two parts: through the likelihood, the posterior variance over the noise model's
variance (exact for Gaussian noise; a histogram's p(x | s) is a step function of x, which a
small probe would almost never see change on integer data), and through the network, from one
random probe of its input with the likelihood kept at x (Ramani, Blu & Unser 2008, Monte-Carlo
SURE). For signal-dependent noise, with v taken at the prior mean, SURE is an approximation.

SURE of the prior mean itself is worked out too, per band of the prior mean: unless the
MMSE's is clearly lower, prediction gives the prior mean there (:class:`SpreadChoice`), so
PN2V is not below its own prior where SURE cannot tell them apart. SURE's v may come from
elsewhere than the noise model (``variance``): a noise model that is too low makes its own SURE
favour trusting the pixel, so the guard (:mod:`.guard`) passes the variance the images show.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..data.lazy import reflect
from ..network.config import CONTEXT
from ..network.model import PN2VModel
from ..network.prior import CHUNK_VALUES, posterior

#: factors tried: 1/8 … 2 in steps of √2
SCALES = tuple(2.0 ** (k / 2) for k in range(-6, 3))
#: the probe's step, a fraction of the patches' median noise std
PROBE = 0.05
#: bands of the prior mean (equal shares of the pixels) in which the MMSE is checked
BANDS = 8
#: a band keeps its MMSE only where SURE puts it below the prior mean's by more than this many
#: standard errors of the difference (else the prior mean: a gain SURE cannot show is no gain)
SIGNIFICANCE = 2.0

Variance = Callable[[torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class SpreadChoice:
    """The factor on the prior's spread, and the bands of the prior mean whose MMSE is kept."""

    scale: float = 1.0
    #: inner edges between the bands of the prior mean (none: one band)
    edges: tuple[float, ...] = ()
    #: per band: predict the MMSE (True) or the prior mean (False)
    trusted: tuple[bool, ...] = (True,)
    #: per band: the share of the pixels it held when chosen
    shares: tuple[float, ...] = (1.0,)
    #: the lowest and highest prior mean seen (the outer ends of the bands)
    range: tuple[float, float] = (-math.inf, math.inf)
    #: per band: how much larger the posterior std is with the spread as trained
    std_factors: tuple[float, ...] = (1.0,)


@torch.no_grad()
def features(model: PN2VModel, images: torch.Tensor) -> torch.Tensor:
    """The network's last features (pixels, C) for (B, *space) ``images`` in intensity units,
    each seeing context mirrored beyond its edges as a prediction tile does: the network's
    own zero padding would give border pixels worse priors than prediction gives them."""
    net = model.net
    margin = -(-CONTEXT // net.multiple) * net.multiple
    spatial = images.shape[1:]
    for axis, n in enumerate(spatial, start=1):
        index = reflect(np.arange(-margin, n + margin), n)
        images = images.index_select(axis, torch.as_tensor(index, device=images.device))
    out = net.body(model.normalise(images)[:, None])
    out = out[(slice(None), slice(None), *(slice(margin, margin + n) for n in spatial))]
    return out.flatten(2).movedim(1, 2).reshape(-1, out.shape[1])


@torch.no_grad()
def sure_terms(
    model: PN2VModel,
    patches: torch.Tensor,
    generator: torch.Generator,
    variance: Variance | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(prior mean, SURE terms, posterior variances): for each pixel of ``patches`` (B,
    *space, normalised units, unmasked), its prior mean, its contribution to SURE of the prior
    mean (column 0) and of the MMSE at each factor of :data:`SCALES` on the prior's spread
    (columns 1…) — the mean of a column over pixels estimates that estimate's mean squared
    error —, and its posterior variance at each factor. ``variance``: the noise variance for
    Stein's terms (default: the noise model's)."""
    net, noise_model = model.net, model.noise_model
    variance = variance or noise_model.variance
    was_training = net.training
    x = model.denormalise(patches)
    probe = torch.randn(x.shape, generator=generator).to(x.device)
    # the step needs the noise level only roughly: the observations stand in for the signal
    step = PROBE * float(noise_model.variance(x.reshape(-1)).median().sqrt())
    try:
        net.eval()
        plain, probed = features(model, x), features(model, x + step * probe)
    finally:
        net.train(was_training)
    observed = x.reshape(-1, 1)
    probe = probe.reshape(-1)
    means, terms, variances = [], [], []
    chunk = max(1, CHUNK_VALUES // model.config.out_channels)
    for start in range(0, len(probe), chunk):
        part = slice(start, start + chunk)
        priors = [model.prior(net.head_at(f[part]), calibrated=False) for f in (plain, probed)]
        mean, probed_mean = (p.scaled(0.0).loc[:, 0] for p in priors)  # same for every factor
        x_part = observed[part, 0]
        v_model, v = noise_model.variance(mean), variance(mean)
        columns = [(mean - x_part) ** 2 - v + 2 * v * probe[part] * (probed_mean - mean) / step]
        spreads = []
        for c in SCALES:
            plain_post, probed_post = (
                posterior(noise_model, prior.scaled(c), observed[part]) for prior in priors
            )
            estimate = plain_post["denoised"]
            divergence = (
                plain_post["std"] ** 2 / v_model  # through the likelihood
                + probe[part] * (probed_post["denoised"] - estimate) / step
            )
            columns.append((estimate - x_part) ** 2 - v + 2 * v * divergence)
            spreads.append(plain_post["std"] ** 2)
        means.append(mean)
        terms.append(torch.stack(columns, 1))
        variances.append(torch.stack(spreads, 1))
    return torch.cat(means), torch.cat(terms), torch.cat(variances)


def sure_by_scale(
    model: PN2VModel,
    patches: torch.Tensor,
    generator: torch.Generator,
    variance: Variance | None = None,
) -> dict[float, float]:
    """SURE of the MMSE estimate's mean squared error for each factor of :data:`SCALES`."""
    totals = sure_terms(model, patches, generator, variance)[1].mean(0)
    return {c: float(totals[i + 1]) for i, c in enumerate(SCALES)}


def choose_spread(
    model: PN2VModel,
    patches: torch.Tensor,
    generator: torch.Generator,
    variance: Variance | None = None,
    bands: int = BANDS,
) -> SpreadChoice:
    """The factor with the lowest SURE over all pixels, and per band of the prior mean (equal
    shares of the pixels) whether its MMSE at that factor is kept: only where its SURE is
    clearly lower than the prior mean's (by :data:`SIGNIFICANCE` standard errors of the
    difference)."""
    mean, terms, variances = sure_terms(model, patches, generator, variance)
    best = int(terms[:, 1:].mean(0).argmin()) + 1
    mean, terms, variances = (t.double().cpu().numpy() for t in (mean, terms, variances))
    as_trained = SCALES.index(1.0)
    edges = tuple(float(e) for e in np.unique(np.quantile(mean, np.arange(1, bands) / bands)))
    band = np.searchsorted(edges, mean, side="right")
    trusted, shares, std_factors = [], [], []
    for b in range(len(edges) + 1):
        chosen = band == b
        gain = terms[chosen, 0] - terms[chosen, best]  # > 0: the MMSE is better
        error = gain.std() / np.sqrt(max(gain.size, 1))
        trusted.append(bool(gain.size > 0 and gain.mean() > SIGNIFICANCE * error))
        shares.append(float(gain.size / mean.size))
        spread = variances[chosen, best - 1].mean() if chosen.any() else 0.0
        std_factors.append(
            float(np.sqrt(variances[chosen, as_trained].mean() / spread)) if spread > 0 else 1.0
        )
    return SpreadChoice(
        SCALES[best - 1],
        edges,
        tuple(trusted),
        tuple(shares),
        (float(mean.min()), float(mean.max())),
        tuple(std_factors),
    )
