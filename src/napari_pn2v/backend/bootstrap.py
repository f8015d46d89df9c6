"""A noise model from the noisy images alone (Prakash et al. 2020, bootstrap mode).

N2V is trained on the noisy images; its predictions stand in for the signal, and a histogram
or GMM noise model is fitted to (prediction, noisy) pairs. Clipped pixels are left out, and
signals beyond the 0.5 / 99.5 percentiles (where N2V is least reliable and pairs are few) are
dropped. PN2V then trains with this model — no calibration data at all. Lazy images (larger
than memory) train N2V patch by patch and give the fit evenly spaced planes only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from .clipping import clipped_mask
from .errors import PN2VError
from .gmm import GaussianMixtureNoiseModel
from .images import as_stack
from .lazy import PlaneSource, is_lazy
from .model import ModelConfig, PN2VModel
from .noise_model import HistogramNoiseModel
from .noise_models import NoiseModel
from .prediction import predict
from .training import Images, Progress, TrainConfig, Trainer, _as_list

FITS = ("histogram", "gmm")
PERCENTILES = (0.5, 99.5)
#: N2V predictions spanning less than this fraction of the data's range mean N2V failed
MIN_SPAN = 0.3
#: pixels a lazy image gives the fit, as evenly spaced whole planes: many more pairs than a
#: 256² histogram or a GMM needs, read and predicted in bounded memory from data of any size
LAZY_PAIRS = 2**24

#: wraps the N2V training's event iterator (progress bars, a GUI's stop button); it gets the
#: iterator and the number of steps and yields the events on
Wrap = Callable[[Iterator[Progress], int], Iterator[Progress]]


@dataclass
class BootstrapResult:
    noise_model: NoiseModel
    n2v_model: PN2VModel
    messages: list[str] = field(default_factory=list)


def bootstrap_pairs(images: Images, n2v_model: PN2VModel,
                    percentiles: tuple[float, float] = PERCENTILES
                    ) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(signals, observations, messages): N2V predictions and the noisy pixels, cleaned."""
    signals, observations, messages = [], [], []
    for image in _as_list(images):
        image = _in_memory(image)
        stack = as_stack(image, name="image")
        mask, message = clipped_mask(np.asarray(image).reshape(stack.shape))
        if message:
            messages.append(message)
        denoised = predict(n2v_model, stack)["denoised"]
        signals.append(denoised[~mask])
        observations.append(stack[~mask])
    s, x = np.concatenate(signals), np.concatenate(observations)
    low, high = np.percentile(s, percentiles)
    x_low, x_high = np.percentile(x, percentiles)
    if high - low < MIN_SPAN * (x_high - x_low):
        raise PN2VError(
            f"the N2V predictions span only [{low:.4g}, {high:.4g}] of the data's "
            f"[{x_low:.4g}, {x_high:.4g}]: N2V has not learned the images yet, so it cannot "
            "stand in for the signal; train it longer (more epochs or steps)")
    keep = (s >= low) & (s <= high)
    messages.append(f"kept {keep.sum():,} (prediction, observation) pairs with predictions in "
                    f"[{low:.4g}, {high:.4g}] (the {percentiles[0]:g}–{percentiles[1]:g} "
                    "percentiles)")
    return s[keep], x[keep], messages


def _in_memory(image):
    """``image`` itself, or of a lazy image evenly spaced planes holding up to
    :data:`LAZY_PAIRS` pixels, read in their own pixel type (which clipping depends on)."""
    if not is_lazy(image):
        return image
    source = PlaneSource(image)
    n, height, width = source.shape
    count = max(1, min(n, LAZY_PAIRS // (height * width)))
    planes = np.unique(np.linspace(0, n - 1, count).round().astype(int))
    return np.stack([np.asarray(image[source.index(p)]) for p in planes])


def fit_noise_model(signals: np.ndarray, observations: np.ndarray, fit: str,
                    bins: int = 256) -> NoiseModel:
    """A histogram or GMM noise model of paired signals and observations."""
    if fit == "gmm":
        return GaussianMixtureNoiseModel.fit(signals, observations)
    if fit != "histogram":
        raise PN2VError(f"bootstrap fits one of {FITS}, not {fit!r}")
    # the range holds the kept signals and all but the rarest 0.1 % of their observations
    low = min(float(signals.min()), float(np.percentile(observations, 0.05)))
    high = max(float(signals.max()), float(np.percentile(observations, 99.95)))
    pad = 0.5 * (high - low) / (bins - 1)
    return HistogramNoiseModel.from_samples(signals, observations, bins, (low - pad, high + pad))


def bootstrap_noise_model(images: Images, fit: str = "gmm",
                          training: TrainConfig | None = None,
                          network: ModelConfig | None = None,
                          wrap: Wrap | None = None, bins: int = 256) -> BootstrapResult:
    """Train N2V on ``images``, then fit a ``fit`` noise model to its predictions
    (``bins``: of a histogram; fewer suit few pixels)."""
    if fit not in FITS:
        raise PN2VError(f"bootstrap fits one of {FITS}, not {fit!r}")
    training = training or TrainConfig()
    base = network or ModelConfig()
    n2v = ModelConfig(mode="n2v", depth=base.depth, features=base.features)
    trainer = Trainer(images, training, n2v)
    events: Iterator[Progress] = iter(trainer)
    if wrap is not None:
        events = wrap(events, training.epochs * training.steps_per_epoch)
    for _ in events:
        pass
    n2v_model = trainer.best_model()
    signals, observations, messages = bootstrap_pairs(images, n2v_model)
    return BootstrapResult(fit_noise_model(signals, observations, fit, bins), n2v_model,
                           messages)
