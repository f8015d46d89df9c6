"""How well a noise model fits the data it came from: noise level against signal, both sides.

The noise-model widget plots these so that a user sees a bad fit (a wrong gain, a clipped
range, a bootstrap that went astray) before training on it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .noise_models import NoiseModel

#: pairs kept for plots: plenty for 40 levels, small enough to pass to the GUI thread
MAX_PAIRS = 200_000


@dataclass
class NoiseLevelData:
    """Measured noise: the standard deviation of observations at each signal level."""

    signals: np.ndarray
    stds: np.ndarray
    counts: np.ndarray


def subsample_pairs(signals: np.ndarray, observations: np.ndarray,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """At most :data:`MAX_PAIRS` random (signal, observation) pairs, as flat float32."""
    s = np.broadcast_to(signals, np.shape(observations)).ravel()
    x = np.asarray(observations).ravel()
    if s.size > MAX_PAIRS:
        pick = np.random.default_rng(seed).choice(s.size, MAX_PAIRS, replace=False)
        s, x = s[pick], x[pick]
    return s.astype(np.float32), x.astype(np.float32)


def measured_levels(signals: np.ndarray, observations: np.ndarray,
                    levels: int = 40) -> NoiseLevelData:
    """Observation std in ``levels`` evenly spaced signal bins (bins with < 20 pairs left out)."""
    s, x = np.asarray(signals).ravel(), np.asarray(observations).ravel()
    edges = np.linspace(np.percentile(s, 0.1), np.percentile(s, 99.9), levels + 1)
    index = np.searchsorted(edges, s, side="right") - 1
    out = []
    for i in range(levels):
        chosen = index == i
        if chosen.sum() >= 20:
            out.append((s[chosen].mean(), (x[chosen] - s[chosen]).std(), chosen.sum()))
    if not out:
        return NoiseLevelData(np.zeros(0), np.zeros(0), np.zeros(0, int))
    a = np.array(out)
    return NoiseLevelData(a[:, 0], a[:, 1], a[:, 2].astype(int))


def model_std(model: NoiseModel, signals: np.ndarray, x_range: tuple[float, float],
              points: int = 2048) -> np.ndarray:
    """The noise standard deviation the model predicts at each signal (numerically)."""
    x = np.linspace(*x_range, points)
    stds = []
    for s in np.asarray(signals, dtype=np.float64):
        p = model.likelihood_curve(float(s), x).astype(np.float64)
        p /= max(p.sum(), 1e-300)
        mean = (p * x).sum()
        stds.append(np.sqrt(max((p * (x - mean) ** 2).sum(), 0.0)))
    return np.array(stds)
