"""The histogram noise model p(x | s) of PN2V (Krull et al. 2020, section 5.2).

A 2-D histogram of noisy observations x against true signals s, one row per signal bin,
each row normalised to a probability density over x. The likelihood interpolates linearly
between rows placed at the bin centres, so it is differentiable in the signal, which PN2V's
loss needs. Rows the calibration data never reached are filled from their nearest measured
row (shifted along x by the signal difference) instead of staying empty, and a floor keeps
``log`` finite.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import torch

from ..errors import PN2VError
from .base import NoiseModelFiles, check_state
from .calibration import CalibrationStack, signal_per_observation

#: smallest probability mass of one histogram bin; keeps log p finite for unseen observations
MIN_BIN_MASS = 1e-8


@dataclass
class HistogramNoiseModel(NoiseModelFiles):
    """p(x | s) as a normalised 2-D histogram with bin-centre interpolation along s."""

    density: np.ndarray  # (bins, bins): row = signal bin, column = observation bin, 1/intensity
    low: float
    high: float
    measured_rows: np.ndarray  # (bins,) bool: rows filled from data, not extrapolated
    n_frames: int = 0
    fraction_outside: float = 0.0  # of the calibration data that fell outside [low, high)
    kind: str = "histogram"
    _table: dict = field(default_factory=dict, repr=False, compare=False)

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_calibration(
        cls,
        stack: np.ndarray | CalibrationStack,
        bins: int = 256,
        value_range: tuple[float, float] | None = None,
    ) -> HistogramNoiseModel:
        """Build from frames of a static scene, frame by frame: the signal is the per-pixel
        mean over frames (:class:`.calibration.CalibrationStack`, or one given)."""
        calibration = stack if isinstance(stack, CalibrationStack) else CalibrationStack(stack)
        model = cls.from_pair_stream(calibration.pairs, bins=bins, value_range=value_range)
        model.n_frames = len(calibration)
        return model

    @classmethod
    def from_pairs(
        cls,
        signal: np.ndarray,
        observations: np.ndarray,
        bins: int = 256,
        value_range: tuple[float, float] | None = None,
    ) -> HistogramNoiseModel:
        """Build from a signal image and one or more noisy observations of it — or one signal
        per observation (:func:`.calibration.calibration_pairs`)."""
        signal, observations = signal_per_observation(signal, observations)
        model = cls.from_samples(signal, observations, bins=bins, value_range=value_range)
        model.n_frames = int(observations.shape[0])
        return model

    @classmethod
    def from_samples(
        cls,
        signals: np.ndarray,
        observations: np.ndarray,
        bins: int = 256,
        value_range: tuple[float, float] | None = None,
    ) -> HistogramNoiseModel:
        """Build from paired arrays of signals and observations of the same shape (e.g. the
        N2V predictions of noisy images and the images, when bootstrapping)."""
        signals = np.asarray(signals, dtype=np.float32).ravel()
        obs = np.asarray(observations, dtype=np.float32).ravel()
        if signals.shape != obs.shape:
            raise PN2VError(f"{signals.size} signals but {obs.size} observations")
        return cls.from_pair_stream(lambda: [(signals, obs)], bins, value_range)

    @classmethod
    def from_pair_stream(
        cls,
        pairs: Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]],
        bins: int = 256,
        value_range: tuple[float, float] | None = None,
    ) -> HistogramNoiseModel:
        """Build from (signals, observations) arrays of one shape each, as many as ``pairs()``
        yields — counted part by part, so memory does not grow with the data. ``pairs`` is
        called twice without a ``value_range``: once for the range, once for the counts."""
        if bins < 2:
            raise PN2VError(f"bins must be at least 2, got {bins}")
        if value_range is None:
            low, high = math.inf, -math.inf
            for part in pairs():
                for values in part:
                    low, high = min(low, float(values.min())), max(high, float(values.max()))
            # widen by half a bin so the extreme values sit inside the outer bins
            pad = 0.5 * max(high - low, 1e-6) / (bins - 1)
            low, high = low - pad, high + pad
        else:
            low, high = map(float, value_range)
        if not high > low:
            raise PN2VError(f"the noise model range must have max > min, got [{low}, {high}]")
        counts = np.zeros((bins, bins))
        inside_count = total = 0
        for signals, obs in pairs():
            signals, obs = signals.ravel(), obs.ravel()
            inside = (signals >= low) & (signals < high) & (obs >= low) & (obs < high)
            counts += np.histogram2d(
                signals[inside], obs[inside], bins=bins, range=[[low, high], [low, high]]
            )[0]
            inside_count, total = inside_count + int(inside.sum()), total + inside.size
        model = cls._from_counts(counts, low, high)
        model.fraction_outside = 1.0 - inside_count / max(total, 1)
        return model

    @classmethod
    def _from_counts(cls, counts: np.ndarray, low: float, high: float) -> HistogramNoiseModel:
        bins = counts.shape[0]
        measured = counts.sum(axis=1) > 0
        if not measured.any():
            raise PN2VError("no calibration data falls inside the noise model's range")
        rows = np.zeros_like(counts, dtype=np.float64)
        rows[measured] = counts[measured] / counts[measured].sum(axis=1, keepdims=True)
        measured_idx = np.flatnonzero(measured)
        for row in np.flatnonzero(~measured):
            source = measured_idx[np.argmin(np.abs(measured_idx - row))]
            rows[row] = _shift(rows[source], row - source)
        rows = np.maximum(rows, MIN_BIN_MASS)
        rows /= rows.sum(axis=1, keepdims=True)
        width = (high - low) / bins
        return cls(
            density=(rows / width).astype(np.float32), low=low, high=high, measured_rows=measured
        )

    # ---------------------------------------------------------------- properties
    @property
    def bins(self) -> int:
        return int(self.density.shape[0])

    @property
    def bin_width(self) -> float:
        return (self.high - self.low) / self.bins

    @property
    def signal_range(self) -> tuple[float, float]:
        """Signals the calibration data covered: centres of the outermost measured rows."""
        idx = np.flatnonzero(self.measured_rows)
        centres = self.low + (np.array([idx[0], idx[-1]]) + 0.5) * self.bin_width
        return float(centres[0]), float(centres[1])

    def fraction_out_of_range(self, data: np.ndarray) -> float:
        """Fraction of ``data`` outside the model's range, where it can only be clamped."""
        data = np.asarray(data)
        return float(np.mean((data < self.low) | (data >= self.high)))

    def summary(self) -> str:
        lo, hi = self.signal_range
        return (
            f"histogram noise model: {self.bins} bins over [{self.low:.4g}, {self.high:.4g}), "
            f"{self.n_frames} frame(s), signals measured in [{lo:.4g}, {hi:.4g}] "
            f"({int(self.measured_rows.sum())}/{self.bins} rows), "
            f"{100 * self.fraction_outside:.2f}% of the data outside the range"
        )

    # ---------------------------------------------------------------- likelihood
    def likelihood(self, observation: torch.Tensor, signal: torch.Tensor) -> torch.Tensor:
        """p(x | s), broadcasting ``observation`` against ``signal``; differentiable in s.

        Observations are binned; signals are interpolated linearly between the two rows whose
        bin centres enclose them. Values outside the range are clamped to the edge bins.
        This runs on every (pixel, sample) pair, so it keeps to few passes over memory: one
        index computed in float32 (exact below 2²⁴), one conversion, two flat gathers.
        """
        return self._lookup(observation, *self._rows(signal))

    def _rows(self, signal: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(the lower of the two rows whose bin centres enclose each signal, the fraction of
        the way to the next); signals outside the range are clamped to the edge rows."""
        width = self.bin_width
        position = (signal.float() * (1 / width) - (self.low / width + 0.5)).clamp(0, self.bins - 1)
        row = position.detach().floor().clamp_(max=self.bins - 2)
        return row, position - row

    @torch.no_grad()
    def sample_likelihood(
        self, observation: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor, u: torch.Tensor
    ) -> torch.Tensor:
        """:meth:`likelihood` of the samples loc + scale·u, without gradients, in 9 passes
        over the (N, K) data instead of 13: the bin position comes from one multiply-add
        with per-pixel constants and is updated in place. Prediction spends ~1/3 of its time
        here. A position clamped to the last row needs no ``bins - 2`` clamp: that row's upper
        neighbour is itself, so the weights of both are equal there.
        """
        width = self.bin_width
        offset = (loc.float() - self.low) / width - 0.5
        position = torch.addcmul(offset, scale.float() / width, u.float()).clamp_(0, self.bins - 1)
        row = position.floor()
        return self._lookup(observation, row, position.sub_(row))

    def _lookup(
        self, observation: torch.Tensor, row: torch.Tensor, frac: torch.Tensor
    ) -> torch.Tensor:
        """Density at the observations' columns, ``frac`` of the way from signal row ``row``
        to the next: one index computed in float32 (exact below 2²⁴), two flat gathers."""
        lower_rows, upper_rows = self._tables(frac.device)
        column = ((observation - self.low) / self.bin_width).floor().clamp(0, self.bins - 1)
        index = torch.add(column, row, alpha=self.bins).to(torch.int32)
        flat = index.reshape(-1)
        p_low = lower_rows.index_select(0, flat).view(index.shape)
        p_high = upper_rows.index_select(0, flat).view(index.shape)
        return torch.lerp(p_low, p_high, frac)

    def covers(self, observation: torch.Tensor) -> torch.Tensor:
        """Observations inside the range: one beyond it would be read as the edge bin, which
        pulls its MMSE towards the edge (bright pixels above a bootstrapped histogram's range
        lost 2.7 dB against the prior mean, issue 21)."""
        return (observation >= self.low) & (observation < self.high)

    def log_likelihood(self, observation: torch.Tensor, signal: torch.Tensor) -> torch.Tensor:
        """log p(x | s); finite everywhere thanks to the density floor."""
        return self.likelihood(observation, signal).log()

    def variance(self, signal: torch.Tensor) -> torch.Tensor:
        """Var(x | s): each row's variance (its bins plus a bin's own width²/12),
        interpolated along s as the likelihood is."""
        key = f"variance {signal.device}"
        if key not in self._table:
            centres = self.low + (np.arange(self.bins) + 0.5) * self.bin_width
            weights = self.density / self.density.sum(1, keepdims=True)
            mean = weights @ centres
            rows = (weights * (centres - mean[:, None]) ** 2).sum(1) + self.bin_width**2 / 12
            self._table[key] = torch.as_tensor(rows, dtype=torch.float32, device=signal.device)
        table = self._table[key]
        row, frac = self._rows(signal)
        return torch.lerp(table[row.long()], table[row.long() + 1], frac)

    def _tables(self, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        """The flat density, and the same shifted by one row (the upper neighbour)."""
        key = str(device)
        if key not in self._table:
            flat = torch.as_tensor(self.density, device=device).reshape(-1)
            self._table[key] = (flat, torch.cat([flat[self.bins :], flat[-self.bins :]]))
        return self._table[key]

    def range_text(self) -> str:
        return f"[{self.low:.4g}, {self.high:.4g})"

    # ---------------------------------------------------------------- files
    def to_state(self) -> dict:
        """Plain arrays and numbers (no objects), for model files and noise-model files."""
        return {
            "kind": self.kind,
            "low": self.low,
            "high": self.high,
            "n_frames": self.n_frames,
            "fraction_outside": self.fraction_outside,
            "density": np.asarray(self.density, dtype=np.float32),
            "measured_rows": np.asarray(self.measured_rows, dtype=bool),
        }

    @classmethod
    def from_state(cls, state: dict, source: str = "noise model") -> HistogramNoiseModel:
        check_state(state, "histogram", source)
        try:
            density = np.asarray(state["density"], dtype=np.float32)
            measured = np.asarray(state["measured_rows"], dtype=bool)
            low, high = float(state["low"]), float(state["high"])
        except (KeyError, TypeError, ValueError) as error:
            raise PN2VError(f"{source}: incomplete noise model ({error})") from error
        if (
            density.ndim != 2
            or density.shape[0] != density.shape[1]
            or measured.shape != (density.shape[0],)
            or not np.isfinite(density).all()
            or not high > low
        ):
            raise PN2VError(f"{source}: damaged noise model (inconsistent arrays)")
        return cls(
            density=density,
            low=low,
            high=high,
            measured_rows=measured,
            n_frames=int(state.get("n_frames", 0)),
            fraction_outside=float(state.get("fraction_outside", 0.0)),
        )


def _shift(row: np.ndarray, offset: int) -> np.ndarray:
    """Move a distribution ``offset`` bins along x, dropping what leaves the range."""
    shifted = np.zeros_like(row)
    if offset >= 0:
        shifted[offset:] = row[: len(row) - offset]
    else:
        shifted[:offset] = row[-offset:]
    if shifted.sum() == 0:  # everything left the range: keep the mass at the nearest edge
        shifted[-1 if offset > 0 else 0] = 1.0
    return shifted
