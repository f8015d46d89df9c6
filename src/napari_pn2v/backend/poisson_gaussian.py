"""Poisson–Gaussian camera noise: var(x | s) = a·s + b, as a Gaussian likelihood.

From camera parameters (gain g, offset o, read noise r: a = g, b = r² − g·o) or estimated
from the noisy images themselves in the spirit of Foi et al. 2008: a residual that cancels
locally planar signal gives the noise level, a local mean gives the signal level, and a robust
straight-line fit of variance against mean over smooth regions gives a and b. Usable directly
(differentiable, no range limits) or as a populated histogram.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage

from .clipping import clipped_mask
from .errors import PN2VError
from .images import as_stack
from .noise_models import NoiseModelFiles, check_state

#: residual filter: a separable second difference, unit gain for white noise (Σk² = 1);
#: it cancels every signal that is planar over 3 × 3 pixels
RESIDUAL_KERNEL = np.outer([1.0, -2.0, 1.0], [1.0, -2.0, 1.0]) / 6.0
#: densities below this are raised to it, so log p stays finite
MIN_DENSITY = 1e-30


@dataclass
class PoissonGaussianNoiseModel(NoiseModelFiles):
    """p(x | s) = N(x; s, max(a·s + b, min_std²))."""

    gain: float  # a: variance added per unit of signal
    variance_offset: float  # b: the variance at signal 0 (negative when the camera has an offset)
    min_std: float = 0.5
    low: float = float("-inf")  # signals the parameters were estimated on (for information)
    high: float = float("inf")
    origin: str = "camera"  # "camera" (given parameters) or "estimated"
    kind: str = "poisson-gaussian"

    @classmethod
    def from_camera(cls, gain: float, offset: float = 0.0, read_noise: float = 0.0,
                    min_std: float = 0.5) -> PoissonGaussianNoiseModel:
        """Camera parameters in the image's grey levels: ``gain`` grey levels per photon,
        ``offset`` the grey level of no light, ``read_noise`` its standard deviation."""
        if not gain > 0 or read_noise < 0 or not min_std > 0:
            raise PN2VError("camera gain and minimum std must be positive, read noise ≥ 0")
        return cls(float(gain), float(read_noise**2 - gain * offset), float(min_std))

    # ---------------------------------------------------------------- likelihood
    def variance(self, signal: torch.Tensor) -> torch.Tensor:
        """Var(x | s)."""
        return (self.gain * signal + self.variance_offset).clamp(min=self.min_std**2)

    def log_likelihood(self, observation: torch.Tensor, signal: torch.Tensor) -> torch.Tensor:
        var = self.variance(signal.float())
        log_p = -0.5 * ((observation - signal) ** 2 / var + var.log() + math.log(2 * math.pi))
        return log_p.clamp(min=math.log(MIN_DENSITY))

    def likelihood(self, observation: torch.Tensor, signal: torch.Tensor) -> torch.Tensor:
        return self.log_likelihood(observation, signal).exp()

    def to_histogram(self, bins: int = 256, value_range: tuple[float, float] | None = None):
        """The same model as a histogram: each row holds the Gaussian's mass per bin."""
        from scipy.special import ndtr

        from .noise_model import HistogramNoiseModel

        if value_range is None:  # the signals seen, and 4 standard deviations of noise
            low = self.low - 4 * math.sqrt(max(self.gain * self.low + self.variance_offset,
                                               self.min_std**2))
            high = self.high + 4 * math.sqrt(max(self.gain * self.high + self.variance_offset,
                                                 self.min_std**2))
        else:
            low, high = value_range
        if not (np.isfinite(low) and np.isfinite(high) and high > low):
            raise PN2VError("give the histogram's value range (min < max)")
        edges = np.linspace(low, high, bins + 1)
        centres = 0.5 * (edges[:-1] + edges[1:])
        std = np.sqrt(np.maximum(self.gain * centres + self.variance_offset, self.min_std**2))
        cdf = ndtr((edges[None, :] - centres[:, None]) / std[:, None])
        counts = np.diff(cdf, axis=1)
        return HistogramNoiseModel._from_counts(counts, float(low), float(high))

    # ---------------------------------------------------------------- range
    @property
    def signal_range(self) -> tuple[float, float]:
        return self.low, self.high

    def fraction_out_of_range(self, data: np.ndarray) -> float:
        return 0.0  # a formula holds at any signal

    def range_text(self) -> str:
        return "any signal"

    def summary(self) -> str:
        how = ("estimated from the images" if self.origin == "estimated"
               else "from camera parameters")
        text = (f"Poisson–Gaussian noise model {how}: var(x | s) = {self.gain:.4g}·s "
                f"{'+' if self.variance_offset >= 0 else '−'} {abs(self.variance_offset):.4g}")
        if np.isfinite(self.low):
            text += f", signals seen in [{self.low:.4g}, {self.high:.4g}]"
        return text

    # ---------------------------------------------------------------- files
    def to_state(self) -> dict:
        return {"kind": self.kind, "gain": self.gain, "variance_offset": self.variance_offset,
                "min_std": self.min_std, "low": self.low, "high": self.high,
                "origin": self.origin}

    @classmethod
    def from_state(cls, state: dict, source: str = "noise model") -> PoissonGaussianNoiseModel:
        check_state(state, "poisson-gaussian", source)
        try:
            model = cls(float(state["gain"]), float(state["variance_offset"]),
                        float(state["min_std"]), float(state["low"]), float(state["high"]),
                        str(state.get("origin", "camera")))
        except (KeyError, TypeError, ValueError) as error:
            raise PN2VError(f"{source}: incomplete noise model ({error})") from error
        if not (math.isfinite(model.gain) and math.isfinite(model.variance_offset)
                and model.min_std > 0):
            raise PN2VError(f"{source}: damaged noise model")
        return model


@dataclass
class NoiseLevels:
    """What the estimate was fitted to: signal levels and the noise variance at each."""

    means: np.ndarray
    variances: np.ndarray
    counts: np.ndarray
    message: str | None  # about clipped pixels left out


def noise_levels(images: np.ndarray, levels: int = 40, max_planes: int = 16,
                 smooth_fraction: float = 0.5) -> NoiseLevels:
    """Noise variance against local mean, over ``levels`` evenly spaced signal levels.

    Within each level only the smoothest ``smooth_fraction`` of its pixels (lowest local
    gradient) count, so edges and texture do not pass for noise; residuals touching a clipped
    pixel are left out, and each variance is robust ((1.4826 · MAD)²).
    """
    stack = as_stack(images, name="images", min_size=8)
    clipped, message = clipped_mask(np.asarray(images).reshape(stack.shape))
    step = max(1, stack.shape[0] // max_planes)
    means, residuals, gradients = [], [], []
    for plane, mask in zip(stack[::step], clipped[::step], strict=True):
        plane = plane.astype(np.float64)
        mean = ndimage.uniform_filter(plane, 5, mode="reflect")
        keep = ~ndimage.binary_dilation(mask, np.ones((5, 5), bool))
        keep[[0, -1], :] = keep[:, [0, -1]] = False
        means.append(mean[keep])
        residuals.append(ndimage.correlate(plane, RESIDUAL_KERNEL, mode="reflect")[keep])
        gradients.append(np.hypot(*np.gradient(mean))[keep])
    mean, residual = np.concatenate(means), np.concatenate(residuals)
    gradient = np.concatenate(gradients)
    if mean.size < 1000:
        raise PN2VError("too few unclipped pixels to estimate the noise")
    edges = np.linspace(*np.quantile(mean, [0.001, 0.999]), levels + 1)
    index = np.searchsorted(edges, mean, side="right") - 1
    out_means, out_vars, out_counts = [], [], []
    for i in range(levels):
        chosen = index == i
        if chosen.sum() < 2 * 50:
            continue
        smooth = gradient[chosen] <= np.quantile(gradient[chosen], smooth_fraction)
        r = residual[chosen][smooth]
        mad = np.median(np.abs(r - np.median(r)))
        out_means.append(mean[chosen][smooth].mean())
        out_vars.append((1.4826 * mad) ** 2)
        out_counts.append(r.size)
    if len(out_means) < 2:
        raise PN2VError("the images hold too few signal levels to estimate the noise; "
                        "give the camera parameters instead")
    return NoiseLevels(np.array(out_means), np.array(out_vars), np.array(out_counts), message)


def estimate_poisson_gaussian(images: np.ndarray, min_std: float = 0.5
                              ) -> tuple[PoissonGaussianNoiseModel, NoiseLevels]:
    """Fit var = a·s + b to :func:`noise_levels` (weighted least squares, a > 0)."""
    found = noise_levels(images)
    # weight ∝ count / var²: a variance estimated from n values has a spread ∝ var / √n
    weight = np.sqrt(found.counts) / np.maximum(found.variances, 1e-12)
    a, b = np.polyfit(found.means, found.variances, 1, w=weight)
    if not a > 0:
        a = max(float(np.average(found.variances / np.maximum(found.means, 1e-12))), 1e-12)
        b = 0.0
    model = PoissonGaussianNoiseModel(float(a), float(b), min_std,
                                      float(found.means.min()), float(found.means.max()),
                                      origin="estimated")
    return model, found
