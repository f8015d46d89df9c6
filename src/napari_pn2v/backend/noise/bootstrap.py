"""Bootstrapping a noise model without calibration data (Prakash et al. 2020): train N2V on
the noisy images, take its predictions for the signal, fit a histogram or GMM to the
(prediction, noisy pixel) pairs. Signals beyond the 0.5 / 99.5 percentiles (where N2V is least
reliable and pairs are few) are dropped. The noise-model job (:mod:`napari_pn2v.jobs`) shows
the training's progress and makes one per channel.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from ..errors import PN2VError, Stopped

if TYPE_CHECKING:
    from ..network.config import ModelConfig
    from ..training.config import Progress, TrainConfig
    from .base import NoiseModel

FITS = ("histogram", "gmm")
#: pixels a lazy image gives the fit, as evenly spaced whole planes: many more pairs than a
#: 256² histogram or a GMM needs, read and predicted in bounded memory
LAZY_PAIRS = 2**24
PERCENTILES = (0.5, 99.5)
#: N2V predictions spanning less than this fraction of the data's range mean N2V failed
MIN_SPAN = 0.3


def select_pairs(
    signals: np.ndarray, observations: np.ndarray, percentiles: tuple[float, float] = PERCENTILES
) -> tuple[np.ndarray, np.ndarray, str]:
    """(signals, observations, a line for the user) with the signals within ``percentiles``;
    refuses predictions that span too little of the data to stand in for the signal."""
    low, high = np.percentile(signals, percentiles)
    x_low, x_high = np.percentile(observations, percentiles)
    if high - low < MIN_SPAN * (x_high - x_low):
        raise PN2VError(
            f"the N2V predictions span only [{low:.4g}, {high:.4g}] of the data's "
            f"[{x_low:.4g}, {x_high:.4g}]: N2V has not learned the images yet, so it cannot "
            "stand in for the signal; train it longer (more epochs or steps)"
        )
    keep = (signals >= low) & (signals <= high)
    return (
        signals[keep],
        observations[keep],
        (
            f"kept {keep.sum():,} (prediction, observation) pairs with predictions in "
            f"[{low:.4g}, {high:.4g}] (the {percentiles[0]:g}–{percentiles[1]:g} percentiles)"
        ),
    )


def fit_noise_model(
    signals: np.ndarray, observations: np.ndarray, fit: str, bins: int = 256
) -> NoiseModel:
    """A histogram or GMM noise model of paired signals and observations."""
    from .gmm import GaussianMixtureNoiseModel
    from .histogram import HistogramNoiseModel

    if fit == "gmm":
        return GaussianMixtureNoiseModel.fit(signals, observations)
    if fit != "histogram":
        raise PN2VError(f"bootstrap fits one of {FITS}, not {fit!r}")
    # the range holds the kept signals and all but the rarest 0.1 % of their observations
    low = min(float(signals.min()), float(np.percentile(observations, 0.05)))
    high = max(float(signals.max()), float(np.percentile(observations, 99.95)))
    pad = 0.5 * (high - low) / (bins - 1)
    return HistogramNoiseModel.from_samples(signals, observations, bins, (low - pad, high + pad))


class Bootstrap:
    """N2V trained on ``images`` with ``training`` (and ``network``'s depth and features);
    iterate for its progress, then :meth:`result` predicts, pairs and fits."""

    def __init__(
        self,
        images: list,
        training: TrainConfig,
        network: ModelConfig,
        fit: str = "gmm",
        bins: int = 256,
    ) -> None:
        from ..data.lazy import load_if_small
        from ..network.config import ModelConfig
        from ..training.trainer import Trainer

        if fit not in FITS:
            raise PN2VError(f"bootstrap fits one of {FITS}, not {fit!r}")
        self.fit, self.bins = fit, bins
        self.images = [load_if_small(image) for image in images]
        n2v = ModelConfig(
            mode="n2v", depth=network.depth, features=network.features, n2v2=network.n2v2
        )
        self.trainer = Trainer(self.images, training, n2v)
        #: the trained N2V model, once :meth:`result` has run
        self.n2v = None

    def __iter__(self) -> Iterator[Progress]:
        return iter(self.trainer)

    def request_stop(self) -> None:
        """From any thread: N2V stops within about a second, and no noise model is made."""
        self.trainer.request_stop()

    def result(self) -> tuple[NoiseModel, list[str], np.ndarray, np.ndarray]:
        """(the noise model, lines for the user, the signals and observations it was fitted
        to); :class:`Stopped` after a stop."""
        from ..data.images import as_stack
        from ..data.lazy import some_planes
        from ..prediction.tiled import predict
        from .clipping import clipped_mask

        if self.trainer.stopping:
            raise Stopped
        self.n2v = n2v = self.trainer.best_model()
        signals, observations, warnings = [], [], []
        for image in self.images:  # a lazy image gives evenly spaced planes
            image = some_planes(image, LAZY_PAIRS)
            stack = as_stack(image, name="image")
            mask, message = clipped_mask(np.asarray(image).reshape(stack.shape))
            if message:
                warnings.append(message)
            signals.append(predict(n2v, stack)["denoised"][~mask])
            observations.append(stack[~mask])
        s, x, kept = select_pairs(np.concatenate(signals), np.concatenate(observations))
        return fit_noise_model(s, x, self.fit, self.bins), [*warnings, kept], s, x
