"""How well a noise model fits the data: noise level against signal, both sides.

The noise-model widget plots these so that a user sees a bad fit (a wrong gain, a clipped
range, a bootstrap that went astray) before training on it; after training, the guard's
:class:`NoiseCheck` (made by :mod:`.guard`, stored in model files) says where the model gives
too little noise and where the prior mean replaces the MMSE.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from .base import NoiseModel

#: a variance this many times the noise model's counts as "the model gives too little noise":
#: the images' own estimate, made non-decreasing, is within 0.66–1.57× of the truth on small
#: synthetic images (2 × 64², textured cells); the errors it is there for are 4–40×
UNDER = 2.0
#: pairs kept for plots: plenty for 40 levels, small enough to pass to the GUI thread
MAX_PAIRS = 200_000


@dataclass
class NoiseLevelData:
    """Measured noise: the standard deviation of observations at each signal level."""

    signals: np.ndarray
    stds: np.ndarray
    counts: np.ndarray


def subsample_pairs(
    signals: np.ndarray, observations: np.ndarray, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """At most :data:`MAX_PAIRS` random (signal, observation) pairs, as flat float32."""
    s = np.broadcast_to(signals, np.shape(observations)).ravel()
    x = np.asarray(observations).ravel()
    if s.size > MAX_PAIRS:
        pick = np.random.default_rng(seed).choice(s.size, MAX_PAIRS, replace=False)
        s, x = s[pick], x[pick]
    return s.astype(np.float32), x.astype(np.float32)


def measured_levels(
    signals: np.ndarray, observations: np.ndarray, levels: int = 40
) -> NoiseLevelData:
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


def model_std(model: NoiseModel, signals: np.ndarray) -> np.ndarray:
    """The noise standard deviation the model gives at each signal (every kind knows its
    variance)."""
    with torch.no_grad():
        variance = model.variance(torch.as_tensor(np.asarray(signals), dtype=torch.float32))
    return variance.clamp(min=0).sqrt().numpy()


@dataclass
class NoiseCheck:
    """Per band of the prior mean: what the noise model predicts, what the data show, and
    whether the MMSE is used there."""

    #: band edges in intensity units: the outer ones are the lowest and highest prior mean
    edges: tuple[float, ...]
    shares: tuple[float, ...]
    trusted: tuple[bool, ...]
    model_variance: tuple[float, ...]
    #: from the images' smooth regions (NaN: not measured)
    image_variance: tuple[float, ...]
    #: Var(x − prior mean) on held-out masked pixels, and what the model and the prior's
    #: spread (as calibrated) predict for it (NaN: no held-out pixels in the band)
    scatter: tuple[float, ...]
    expected_scatter: tuple[float, ...]
    correlation: float = 1.0
    notes: list[str] = field(default_factory=list)

    def under_predicted(self) -> list[int]:
        """Bands where the images show :data:`UNDER` times the noise model's variance."""
        return [
            b
            for b in range(len(self.shares))
            if self.image_variance[b] > UNDER * self.model_variance[b]
        ]

    def overconfident(self) -> list[int]:
        """Bands where held-out pixels scatter around the prior mean :data:`UNDER` times more
        than the noise model and the prior's spread allow (a prior still learning, or a noise
        model that is too low)."""
        return [
            b for b in range(len(self.shares)) if self.scatter[b] > UNDER * self.expected_scatter[b]
        ]

    def messages(self) -> list[str]:
        """What the user should know, one line each (none when all is well)."""
        out = list(self.notes)
        for b in self.under_predicted():
            out.append(
                f"the noise model gives too little noise at signals {self._range(b)} "
                f"({100 * self.shares[b]:.0f}% of the pixels): the images show a variance of "
                f"{self.image_variance[b]:.3g}, the model {self.model_variance[b]:.3g}"
            )
        over = self.overconfident()
        if over:
            ratio = max(self.scatter[b] / self.expected_scatter[b] for b in over)
            share = sum(self.shares[b] for b in over)
            out.append(
                f"held-out pixels scatter around the prior up to {ratio:.1f}× more than the "
                f"noise model and the prior's spread allow ({100 * share:.0f}% of the "
                "pixels): train longer, or check the noise model"
            )
        if not all(self.trusted):
            untrusted = [b for b, t in enumerate(self.trusted) if not t]
            share = sum(self.shares[b] for b in untrusted)
            where = (
                "everywhere"
                if len(untrusted) == len(self.trusted)
                else "at signals " + ", ".join(self._range(b) for b in untrusted)
            )
            out.append(
                f"the prior mean is predicted instead of the MMSE {where} "
                f"({100 * share:.0f}% of the pixels): the MMSE showed no clear gain over it "
                "there (SURE)"
            )
        return out

    def _range(self, band: int) -> str:
        return f"{self.edges[band]:.4g}–{self.edges[band + 1]:.4g}"

    def to_state(self) -> dict:
        return asdict(self)

    @classmethod
    def from_state(cls, state: dict) -> NoiseCheck:
        check = cls(
            **{
                k: tuple(v) if isinstance(v, list | tuple) and k != "notes" else v
                for k, v in state.items()
            }
        )
        check.notes = list(check.notes)
        return check
