"""Image-quality measures for tests, the demo and benchmarks."""

from __future__ import annotations

import numpy as np


def psnr(reference: np.ndarray, estimate: np.ndarray, data_range: float | None = None) -> float:
    """Peak signal-to-noise ratio in dB; the range defaults to the reference's max − min."""
    reference = np.asarray(reference, dtype=np.float64)
    if data_range is None:
        data_range = float(reference.max() - reference.min())
    mse = np.mean((reference - np.asarray(estimate, dtype=np.float64)) ** 2)
    return float(10 * np.log10(data_range**2 / mse))
