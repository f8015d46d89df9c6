"""Poisson–Gaussian camera noise: a Gaussian p(x | s) whose variance grows with the signal.

From camera parameters (gain g, offset o, read noise r: var = g·s + r² − g·o, a straight line)
or estimated from the noisy images themselves in the spirit of Foi et al. 2008: a residual that
cancels locally planar signal gives the noise level, a local mean gives the signal level, in
smooth regions at many signal levels. An estimate keeps the measured **variance curve** (made
non-decreasing) instead of forcing a line through it: on dark, low-SNR data a line fitted to
all levels crossed zero at s ≈ 4.5 and floored the variance there at 0.25 where the data showed
10, so the posterior trusted noisy dark pixels (issue 21). Beyond the measured signals the
curve is held below and grows with the fitted gain above. Where the camera **clips** (0, the
type's maximum), an observation at the limit stands for every value beyond it: its likelihood
is the Gaussian's mass there, not its density. Usable directly (differentiable, no range
limits) or as a populated histogram.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import PN2VError
from .base import NoiseModelFiles, check_state

#: densities below this are raised to it, so log p stays finite
MIN_DENSITY = 1e-30
#: the largest skewness used: a skew-normal density reaches at most 0.995
MAX_SKEW = 0.99


@dataclass
class PoissonGaussianNoiseModel(NoiseModelFiles):
    """p(x | s) = N(x; s, max(var(s), min_std²)), with var(s) = a·s + b or a measured curve."""

    gain: float  # a: variance added per unit of signal
    variance_offset: float  # b: the variance at signal 0 (negative when the camera has an offset)
    min_std: float = 0.5
    low: float = float("-inf")  # signals the parameters were estimated on (for information)
    high: float = float("inf")
    origin: str = "camera"  # "camera" (given parameters) or "estimated"
    #: measured variances at evenly spaced signals from ``low`` to ``high`` (non-decreasing);
    #: empty: the straight line a·s + b
    curve: tuple[float, ...] = ()
    #: values at which the data is clipped (None: not clipped); observations there stand for
    #: everything beyond
    clip_low: float | None = None
    clip_high: float | None = None
    #: the data's quantisation step (1 for integers, 0 for continuous values): a clipped
    #: observation's bin reaches half a step inwards from the limit
    step: float = 0.0
    #: the noise's third cumulant over its variance, κ3(x | s) = skew_ratio · var(s) (0: a
    #: Gaussian): photon counting is skewed (its third cumulant grows with the signal as the
    #: variance does), more so with a photomultiplier's random gain. A Gaussian likelihood
    #: on such noise made the prior absorb the skew: on FMD's two-photon and mouse-confocal
    #: frames (skewness ≈ 1 in the dark) the prior's spread came out 3–4× its error in the
    #: background and the MMSE lost 1–2.5 dB there (issue 21). Then p(x | s) is the
    #: skew-normal density of the same mean, variance and skewness (at most :data:`MAX_SKEW`).
    skew_ratio: float = 0.0
    kind: str = "poisson-gaussian"
    _tensors: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_camera(
        cls, gain: float, offset: float = 0.0, read_noise: float = 0.0, min_std: float = 0.5
    ) -> PoissonGaussianNoiseModel:
        """Camera parameters in the image's grey levels: ``gain`` grey levels per photon,
        ``offset`` the grey level of no light, ``read_noise`` its standard deviation."""
        if not gain > 0 or read_noise < 0 or not min_std > 0:
            raise PN2VError("camera gain and minimum std must be positive, read noise ≥ 0")
        return cls(float(gain), float(read_noise**2 - gain * offset), float(min_std))

    # ---------------------------------------------------------------- likelihood
    def variance(self, signal: torch.Tensor) -> torch.Tensor:
        """Var(x | s), differentiable in s."""
        s = signal.float()
        if not self.curve:
            return (self.gain * s + self.variance_offset).clamp(min=self.min_std**2)
        intercept, slope = self._segments(s.device)
        last = len(self.curve) - 1
        position = ((s - self.low) * (last / (self.high - self.low))).clamp(min=0)
        index = position.detach().long().clamp(max=last)
        # held below the curve, the curve's segments within it, the gain's line beyond it
        return torch.addcmul(intercept[index], slope[index], position).clamp(min=self.min_std**2)

    def _segments(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """Per segment i of the curve (in units of its points), var = intercept + slope · t;
        segment ``last`` is the gain's line beyond the curve. Two lookups instead of a lerp's
        many passes: the likelihood runs over every pixel × sample."""
        key = str(device)
        if key not in self._tensors:
            curve = np.asarray(self.curve, dtype=np.float64)
            last = len(curve) - 1
            slope = np.append(np.diff(curve), self.gain * (self.high - self.low) / last)
            intercept = np.append(curve[:-1], curve[-1]) - np.arange(last + 1) * slope
            self._tensors[key] = tuple(
                torch.tensor(t, dtype=torch.float32, device=device) for t in (intercept, slope)
            )
        return self._tensors[key]

    def finest_scale(self, signal: torch.Tensor) -> torch.Tensor:
        """The noise's std; a skewed density's steep side is narrower: ω / α of its
        skew-normal (Φ(αz) rises over 1/α of z)."""
        var = self.variance(signal)
        if not self.skew_ratio:
            return var.sqrt()
        _, inverse_scale, alpha = self._skew_normal(var)
        return (inverse_scale * alpha.abs().clamp(min=1)).reciprocal()

    def skewness(self, signal: torch.Tensor) -> torch.Tensor:
        """The skewness of x given s (0 for a Gaussian model), as the likelihood uses it."""
        return self._skewness_at(self.variance(signal))

    def _skewness_at(self, var: torch.Tensor) -> torch.Tensor:
        return (self.skew_ratio * var.rsqrt()).clamp(-MAX_SKEW, MAX_SKEW)

    def _skew_normal(self, var: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(E[z], 1 / ω, α) of the skew-normal density ω⁻¹·2φ(z)Φ(αz), z = (x − s)/ω + E[z],
        that has mean s, variance ``var`` and this model's skewness (Azzalini's parameters
        from the moments)."""
        gamma = self._skewness_at(var)
        t = (2 / (4 - math.pi) * gamma.abs().clamp(min=1e-6)) ** (1 / 3)
        mean_z2 = t * t / (1 + t * t)  # E[z]² = δ²·2/π
        delta2 = mean_z2 * (math.pi / 2)
        sign = torch.sign(gamma)
        return (
            sign * mean_z2.sqrt(),
            ((1 - mean_z2) / var).sqrt(),
            sign * (delta2 / (1 - delta2)).sqrt(),
        )

    def _log_density(
        self, observation: torch.Tensor, signal: torch.Tensor, var: torch.Tensor
    ) -> torch.Tensor:
        if not self.skew_ratio:
            return -0.5 * ((observation - signal) ** 2 / var + var.log() + math.log(2 * math.pi))
        mean_z, inverse_scale, alpha = self._skew_normal(var)
        z = (observation - signal) * inverse_scale + mean_z
        # log Φ(αz) through erfc: 7× faster than log_ndtr; where Φ underflows, the density
        # is below MIN_DENSITY anyway
        log_cdf = (torch.special.erfc(alpha * z * -math.sqrt(0.5)) * 0.5).clamp(min=MIN_DENSITY)
        return (
            inverse_scale.log() - 0.5 * z * z + log_cdf.log() + math.log(2 / math.sqrt(2 * math.pi))
        )

    def log_likelihood(self, observation: torch.Tensor, signal: torch.Tensor) -> torch.Tensor:
        """log p(x | s); at a clip limit the log of the mass beyond it (a Gaussian's of the
        same mean and variance, also for a skewed model)."""
        signal = signal.float()
        var = self.variance(signal)
        log_p = self._log_density(observation, signal, var)
        half = 0.5 * self.step
        for limit, sign in ((self.clip_low, 1.0), (self.clip_high, -1.0)):
            if limit is None:  # else: the mass at and beyond the limit's bin
                continue
            at = (observation <= limit) if sign > 0 else (observation >= limit)
            where = at.expand(log_p.shape).nonzero(as_tuple=True)  # only there: log_ndtr is slow
            if where[0].numel():
                s, std = signal.expand(log_p.shape)[where], var[where].sqrt()
                distance = (limit + half - s) if sign > 0 else (s - limit + half)
                tail = torch.special.log_ndtr(distance / std)
                log_p = log_p.index_put(where, tail)
        return log_p.clamp(min=math.log(MIN_DENSITY))

    def likelihood(self, observation: torch.Tensor, signal: torch.Tensor) -> torch.Tensor:
        return self.log_likelihood(observation, signal).exp()

    def to_histogram(self, bins: int = 256, value_range: tuple[float, float] | None = None):
        """The same model as a histogram: each row holds the density's mass per bin (a
        clipped limit's bin also the mass beyond it)."""
        from scipy.special import ndtr
        from scipy.stats import skewnorm

        from .histogram import HistogramNoiseModel

        if value_range is None:  # the signals seen, and 4 standard deviations of noise
            ends = torch.tensor([self.low, self.high])
            std = self.variance(ends).sqrt().numpy() if np.isfinite(ends).all() else (0, 0)
            low, high = self.low - 4 * std[0], self.high + 4 * std[1]
        else:
            low, high = value_range
        if not (np.isfinite(low) and np.isfinite(high) and high > low):
            raise PN2VError("give the histogram's value range (min < max)")
        edges = np.linspace(low, high, bins + 1)
        centres = 0.5 * (edges[:-1] + edges[1:])
        var = self.variance(torch.as_tensor(centres))
        if self.skew_ratio:
            mean_z, inverse_scale, alpha = (
                t.double().numpy()[:, None] for t in self._skew_normal(var)
            )
            omega = 1 / inverse_scale
            cdf = skewnorm.cdf(edges[None, :], alpha, centres[:, None] - mean_z * omega, omega)
        else:
            std = var.sqrt().double().numpy()
            cdf = ndtr((edges[None, :] - centres[:, None]) / std[:, None])
        counts = np.diff(cdf, axis=1)
        if self.clip_low is not None and low <= self.clip_low < high:
            j = int((self.clip_low - low) // (edges[1] - edges[0]))
            counts[:, j] += cdf[:, j]
            counts[:, :j] = 0
        if self.clip_high is not None and low <= self.clip_high < high:
            k = int((self.clip_high - low) // (edges[1] - edges[0]))
            counts[:, k] += 1 - cdf[:, k + 1]
            counts[:, k + 1 :] = 0
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
        how = (
            "estimated from the images" if self.origin == "estimated" else "from camera parameters"
        )
        line = (
            f"{self.gain:.4g}·s {'+' if self.variance_offset >= 0 else '−'} "
            f"{abs(self.variance_offset):.4g}"
        )
        text = f"Poisson–Gaussian noise model {how}: var(x | s) = {line}"
        if self.curve:
            text = (
                f"Poisson–Gaussian noise model {how}: var(x | s) follows the measured "
                f"curve from {self.curve[0]:.4g} to {self.curve[-1]:.4g} (a line would "
                f"be {line})"
            )
        if np.isfinite(self.low):
            text += f", signals seen in [{self.low:.4g}, {self.high:.4g}]"
        if self.skew_ratio:
            text += f", skewed (third cumulant {self.skew_ratio:.3g}·var"
            if np.isfinite(self.low):
                skew = self.skewness(torch.tensor([self.low, self.high]))
                text += f"; skewness {skew[0]:.2f} to {skew[1]:.2f}"
            text += ")"
        limits = [f"{v:g}" for v in (self.clip_low, self.clip_high) if v is not None]
        if limits:
            text += f", clipped at {' and '.join(limits)}"
        return text

    # ---------------------------------------------------------------- files
    def to_state(self) -> dict:
        state = {
            "kind": self.kind,
            "gain": self.gain,
            "variance_offset": self.variance_offset,
            "min_std": self.min_std,
            "low": self.low,
            "high": self.high,
            "origin": self.origin,
        }
        if self.curve or self.clip_low is not None or self.clip_high is not None:
            # older versions would read only the line: they must refuse such a file
            state.update(
                version=2,
                curve=np.asarray(self.curve, np.float64),
                clip_low=self.clip_low,
                clip_high=self.clip_high,
                step=self.step,
            )
        if self.skew_ratio:  # older versions would read a Gaussian: they must refuse it
            state.update(version=3, skew_ratio=self.skew_ratio)
        return state

    @classmethod
    def from_state(cls, state: dict, source: str = "noise model") -> PoissonGaussianNoiseModel:
        check_state(state, "poisson-gaussian", source)
        try:
            optional = {k: state.get(k) for k in ("clip_low", "clip_high")}
            model = cls(
                float(state["gain"]),
                float(state["variance_offset"]),
                float(state["min_std"]),
                float(state["low"]),
                float(state["high"]),
                str(state.get("origin", "camera")),
                tuple(float(v) for v in np.asarray(state.get("curve", ())).ravel()),
                *(None if v is None else float(v) for v in optional.values()),
                float(state.get("step", 0.0)),
                float(state.get("skew_ratio", 0.0)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise PN2VError(f"{source}: incomplete noise model ({error})") from error
        if not (
            math.isfinite(model.gain)
            and math.isfinite(model.variance_offset)
            and model.min_std > 0
            and np.isfinite(model.curve).all()
            and math.isfinite(model.skew_ratio)
        ) or (model.curve and not (len(model.curve) >= 2 and model.high > model.low)):
            raise PN2VError(f"{source}: damaged noise model")
        return model
