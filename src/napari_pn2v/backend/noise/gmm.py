"""Parametric noise model: a Gaussian mixture whose parameters are polynomials of the signal.

After Prakash et al. 2020 ("Fully unsupervised probabilistic Noise2Void"). For a signal s,
with t = (s − low) / (high − low) clamped to [0, 1], component j has

- a weight ∝ exp(a_j(t)),
- a variance v_j(t) = Σ_i exp(b_ji) tⁱ — positive coefficients, so it never falls with the
  signal, as shot noise does not; the standard deviation is max(√v_j, ``min_std``): a minimum
  standard deviation that is one (the published code floors the variance under that name),
- a mean c_j(t) shifted so the mixture's mean is exactly s (observations are unbiased).

Fitted with Adam on (signal, observation) pairs, all components at once; the weights at the
end of fitting are the model. Clipped pixels must be left out first (:mod:`.clipping`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import PN2VError
from .base import NoiseModelFiles, check_state
from .calibration import calibration_pairs, signal_per_observation
from .clipping import clipped_mask

#: densities below this are raised to it, so log p stays finite far from every component
MIN_DENSITY = 1e-30


#: signal bins of equal weight when fitting balanced
BALANCE_BINS = 64

Sampler = Callable[[int, torch.Generator], torch.Tensor]


def _uniform_sampler(n: int) -> Sampler:
    return lambda count, generator: torch.randint(0, n, (count,), generator=generator)


def _balanced_sampler(s: np.ndarray, low: float, high: float) -> Sampler:
    """Draw pair indices with probability ∝ 1 / (pairs in the pair's signal bin), over
    :data:`BALANCE_BINS` equal bins of [low, high].

    Microscopy data is mostly background: on FMD confocal 80 % of the pairs have signals
    below 8 of 0–255. Fitted on pairs as they come, a GMM whose family cannot follow the
    noise everywhere fits the background and misses the bright structures, which dominate
    a denoised image's squared error (FMD: variance 40 % low at s ≈ 90). Each signal bin
    weighing the same is what a histogram's row-normalisation does, too.
    """
    bins = np.minimum(((s - low) / (high - low) * BALANCE_BINS).astype(np.int64), BALANCE_BINS - 1)
    counts = np.bincount(bins, minlength=BALANCE_BINS)
    cumulative = torch.from_numpy(np.cumsum(1.0 / counts[bins]))
    total = float(cumulative[-1])

    def draw(count: int, generator: torch.Generator) -> torch.Tensor:
        u = torch.rand(count, generator=generator, dtype=torch.float64) * total
        return torch.searchsorted(cumulative, u).clamp(max=len(s) - 1)

    return draw


@dataclass
class GaussianMixtureNoiseModel(NoiseModelFiles):
    """p(x | s) = Σ_j α_j(s) N(x; μ_j(s), σ_j(s)²) with polynomial parameters."""

    coefficients: np.ndarray  # (3, components, degree + 1): weight, variance, mean polynomials
    low: float  # signal range the fit saw; t = (s − low) / (high − low)
    high: float
    min_std: float
    n_pairs: int = 0
    fit_loss: float = float("nan")  # final mean −log p of the fitting pairs
    note: str | None = None  # what the fit left out (clipped pixels)
    kind: str = "gmm"
    _tensors: dict = field(default_factory=dict, repr=False, compare=False)

    # ---------------------------------------------------------------- fitting
    @classmethod
    def from_calibration(cls, stack: np.ndarray, **fit: object) -> GaussianMixtureNoiseModel:
        """Fit to frames of a static scene; each frame's signal is the per-pixel mean over
        frames fitted to that frame (:func:`.calibration.calibration_pairs`)."""
        return cls.fit(*calibration_pairs(stack), **fit)

    @classmethod
    def from_pairs(
        cls, signal: np.ndarray, observations: np.ndarray, **fit: object
    ) -> GaussianMixtureNoiseModel:
        """Fit to a signal image and one or more noisy observations of it — or one signal per
        observation."""
        raw = np.asarray(observations)
        signal, observations = signal_per_observation(signal, observations)
        return cls.fit(signal, raw.reshape(observations.shape), **fit)

    @classmethod
    def fit(
        cls,
        signal: np.ndarray,
        observation: np.ndarray,
        components: int = 3,
        degree: int = 1,
        min_std: float | None = None,
        steps: int = 1500,
        batch: int = 16384,
        lr: float = 0.1,
        seed: int = 0,
        balance: bool = True,
        progress: Callable[[int, int], None] | None = None,
    ) -> GaussianMixtureNoiseModel:
        """Fit on paired same-shape arrays of signals and observations.

        Clipped observations are left out (:attr:`note` says how many). ``min_std`` defaults
        to half a grey level for integer-valued observations, else to a thousandth of the
        signal range. ``balance`` draws pairs so that every part of the signal range weighs
        the same (see :func:`_balanced_sampler`), as each signal row of a histogram does.
        """
        clipped, note = clipped_mask(np.asarray(observation))
        s = np.asarray(signal, dtype=np.float32).ravel()
        x = np.asarray(observation, dtype=np.float32).ravel()
        if s.shape != x.shape:
            raise PN2VError(f"{s.size} signals but {x.size} observations")
        keep = np.isfinite(s) & np.isfinite(x) & ~clipped.ravel()
        s, x = s[keep], x[keep]
        if s.size < 100:
            raise PN2VError(
                f"a noise model needs at least 100 (signal, observation) pairs, "
                f"got {s.size}" + (f" ({note})" if note else "")
            )
        if components < 1 or degree < 0:
            raise PN2VError("a GMM needs at least one component and a degree ≥ 0")
        low, high = float(s.min()), float(s.max())
        if not high > low:
            raise PN2VError("the signals of a GMM fit must not all be equal")
        if min_std is None:
            integer = bool(np.all(x[:10000] == np.round(x[:10000])))
            min_std = 0.5 if integer else 1e-3 * (high - low)
        if not min_std > 0:
            raise PN2VError(f"the minimum standard deviation must be positive, got {min_std}")
        generator = torch.Generator().manual_seed(seed)
        model = cls(
            cls._initial(s, x, components, degree, low, high),
            low,
            high,
            float(min_std),
            n_pairs=int(s.size),
            note=note,
        )
        params = torch.nn.Parameter(torch.as_tensor(model.coefficients))
        optimizer = torch.optim.Adam([params], lr=lr)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
        s_t, x_t = torch.from_numpy(s), torch.from_numpy(x)
        draw = _balanced_sampler(s, low, high) if balance else _uniform_sampler(s.size)
        for step in range(steps):
            pick = draw(min(batch, s.size), generator)
            loss = -model._log_likelihood(x_t[pick], s_t[pick], params).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            if progress is not None:
                progress(step + 1, steps)
        model.coefficients = params.detach().numpy().copy()
        with torch.no_grad():
            pick = draw(min(4 * batch, s.size), generator)
            model.fit_loss = float(-model._log_likelihood(x_t[pick], s_t[pick]).mean())
        return model

    @staticmethod
    def _initial(
        s: np.ndarray, x: np.ndarray, components: int, degree: int, low: float, high: float
    ) -> np.ndarray:
        """Equal weights, unbiased means, variances spread around a linear fit of the data's."""
        coefficients = np.zeros((3, components, degree + 1), np.float32)
        t = (s - low) / (high - low)
        slope, intercept = np.polyfit(t, (x - s) ** 2, 1) if degree >= 1 else (0.0, 0.0)
        base = max(float(np.mean((x - s) ** 2)), 1e-12)
        intercept = max(intercept, 0.05 * base)
        slope = max(slope, 0.05 * base)
        coefficients[1] = math.log(1e-3 * base)  # higher powers start negligible
        for j, factor in enumerate(np.geomspace(0.5, 2.0, components)):
            coefficients[1, j, 0] = math.log(factor * intercept)
            if degree >= 1:
                coefficients[1, j, 1] = math.log(factor * slope)
        return coefficients

    # ---------------------------------------------------------------- likelihood
    def parameters(
        self, signal: torch.Tensor, coefficients: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, ...]:
        """(weights α, means μ, standard deviations σ), each (..., components)."""
        log_alpha, means, log_std = self._terms(signal, coefficients)
        return log_alpha.exp(), means, log_std.exp()

    def _terms(
        self, signal: torch.Tensor, coefficients: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, ...]:
        """(log α, μ, log σ): the likelihood works in logs, which spares exps and divisions
        on the (pixels × samples × components) tensors that dominate its time."""
        c = self._coefficients(signal) if coefficients is None else coefficients
        components = c.shape[1]
        t = ((signal.float() - self.low) / (self.high - self.low)).clamp(0, 1)[..., None]
        powers = t ** torch.arange(c.shape[2], device=t.device, dtype=t.dtype)  # (..., D)
        # one matrix product for the three polynomials of every component
        polynomials = powers @ torch.cat([c[0], c[1].exp(), c[2]]).T  # (..., 3 C)
        logits, variance, means = polynomials.split(components, dim=-1)
        log_alpha = logits - torch.logsumexp(logits, dim=-1, keepdim=True)
        means = means - (log_alpha.exp() * means).sum(-1, keepdim=True) + signal[..., None]
        log_std = 0.5 * variance.clamp(min=self.min_std**2).log()  # σ = max(√v, min_std)
        return log_alpha, means, log_std

    def _log_likelihood(
        self,
        observation: torch.Tensor,
        signal: torch.Tensor,
        coefficients: torch.Tensor | None = None,
    ) -> torch.Tensor:
        log_alpha, means, log_std = self._terms(signal, coefficients)
        z = (observation[..., None] - means) * (-log_std).exp()
        return torch.logsumexp(log_alpha - log_std - 0.5 * z**2, dim=-1) - 0.5 * math.log(
            2 * math.pi
        )

    def log_likelihood(self, observation: torch.Tensor, signal: torch.Tensor) -> torch.Tensor:
        """log p(x | s), broadcasting ``observation`` against ``signal``; differentiable in s."""
        observation, signal = torch.broadcast_tensors(observation, signal)
        return self._log_likelihood(observation, signal).clamp(min=math.log(MIN_DENSITY))

    def likelihood(self, observation: torch.Tensor, signal: torch.Tensor) -> torch.Tensor:
        return self.log_likelihood(observation, signal).exp()

    def variance(self, signal: torch.Tensor) -> torch.Tensor:
        """Var(x | s) of the mixture: Σ α (σ² + μ²) − (Σ α μ)²."""
        alpha, means, std = self.parameters(signal.float())
        mean = (alpha * means).sum(-1)
        return (alpha * (std**2 + means**2)).sum(-1) - mean**2

    def finest_scale(self, signal: torch.Tensor) -> torch.Tensor:
        """The narrowest component's std: the mixture's density changes shape over it."""
        return self.parameters(signal.float())[2].amin(-1)

    def _coefficients(self, signal: torch.Tensor) -> torch.Tensor:
        key = str(signal.device)
        if key not in self._tensors:
            self._tensors[key] = torch.as_tensor(self.coefficients, device=signal.device)
        return self._tensors[key]

    # ---------------------------------------------------------------- range
    @property
    def signal_range(self) -> tuple[float, float]:
        return self.low, self.high

    def fraction_out_of_range(self, data: np.ndarray) -> float:
        """Fraction of ``data`` beyond the fitted signals by more than half their range; the
        polynomials are held at their end values outside the fitted signals."""
        margin = 0.5 * (self.high - self.low)
        data = np.asarray(data)
        return float(np.mean((data < self.low - margin) | (data > self.high + margin)))

    def range_text(self) -> str:
        margin = 0.5 * (self.high - self.low)
        return f"[{self.low - margin:.4g}, {self.high + margin:.4g}]"

    def summary(self) -> str:
        c = self.coefficients
        return (
            f"GMM noise model: {c.shape[1]} Gaussians, polynomials of degree "
            f"{c.shape[2] - 1}, minimum std {self.min_std:.3g}, fitted on "
            f"{self.n_pairs:,} pairs with signals in [{self.low:.4g}, {self.high:.4g}], "
            f"mean −log p {self.fit_loss:.3f}" + (f"; {self.note}" if self.note else "")
        )

    # ---------------------------------------------------------------- files
    def to_state(self) -> dict:
        return {
            "kind": self.kind,
            "low": self.low,
            "high": self.high,
            "min_std": self.min_std,
            "n_pairs": self.n_pairs,
            "fit_loss": self.fit_loss,
            "note": self.note,
            "coefficients": np.asarray(self.coefficients, np.float32),
        }

    @classmethod
    def from_state(cls, state: dict, source: str = "noise model") -> GaussianMixtureNoiseModel:
        check_state(state, "gmm", source)
        try:
            c = np.asarray(state["coefficients"], dtype=np.float32)
            model = cls(
                c,
                float(state["low"]),
                float(state["high"]),
                float(state["min_std"]),
                int(state.get("n_pairs", 0)),
                float(state.get("fit_loss", "nan")),
                state.get("note"),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise PN2VError(f"{source}: incomplete noise model ({error})") from error
        if (
            c.ndim != 3
            or c.shape[0] != 3
            or not np.isfinite(c).all()
            or not (model.high > model.low and model.min_std > 0)
        ):
            raise PN2VError(f"{source}: damaged noise model (inconsistent arrays)")
        return model
