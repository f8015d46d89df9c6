"""A noise model from (N2V prediction, noisy pixel) pairs: the fitting half of bootstrapping
(Prakash et al. 2020, no calibration data). The job layer trains the N2V and predicts
(:mod:`napari_pn2v.jobs.noise_model`); here the pairs are cleaned and fitted. Signals beyond
the 0.5 / 99.5 percentiles (where N2V is least reliable and pairs are few) are dropped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import PN2VError

if TYPE_CHECKING:
    from .base import NoiseModel

FITS = ("histogram", "gmm")
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
