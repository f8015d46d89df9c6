"""What every kind of noise model offers, and their files.

Training, prediction and the widgets use every kind (:mod:`.histogram`, :mod:`.gmm`,
:mod:`.poisson_gaussian`) through :class:`NoiseModel`. Files are ``.npz`` arrays plus JSON
metadata read without pickle; each kind turns itself into a *state* (numbers, strings,
arrays), and :mod:`.registry` picks the class from a state's ``kind``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Protocol

import numpy as np
import torch

from ..errors import PN2VError
from .sampling import tabulated_likelihood

FORMAT = "napari-pn2v-noise-model"
#: the newest format this code reads; files are written as version 1 unless a state needs
#: more (a Poisson–Gaussian model with a measured curve or clipping: 2; with skewed noise:
#: 3), so older versions still read every file they can read correctly and refuse the others
FORMAT_VERSION = 3


class NoiseModel(Protocol):
    """p(x | s) for PN2V: differentiable in s, with what the GUI and CLI show of it."""

    kind: str

    def likelihood(self, observation: torch.Tensor, signal: torch.Tensor) -> torch.Tensor: ...

    def log_likelihood(self, observation: torch.Tensor, signal: torch.Tensor) -> torch.Tensor: ...

    def sample_likelihood(
        self, observation: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor, u: torch.Tensor
    ) -> torch.Tensor: ...

    def variance(self, signal: torch.Tensor) -> torch.Tensor:
        """Var(x | s): how far observations scatter about a signal (the spread's choice)."""

    def finest_scale(self, signal: torch.Tensor) -> torch.Tensor:
        """The narrowest change of s over which p(x | s) changes shape, at each signal."""

    def covers(self, observation: torch.Tensor) -> torch.Tensor:
        """Where p(x | s) can weigh the observation (not where it is only clamped)."""

    def likelihood_curve(self, signal: float, observations: np.ndarray) -> np.ndarray: ...

    @property
    def signal_range(self) -> tuple[float, float]: ...

    def fraction_out_of_range(self, data: np.ndarray) -> float: ...

    def range_text(self) -> str: ...

    def summary(self) -> str: ...

    def to_state(self) -> dict: ...

    def save(self, path: str | os.PathLike) -> None: ...


class NoiseModelFiles:
    """What every kind does the same way: plot curves from its likelihood, and files from its
    state (``to_state`` / ``from_state``)."""

    def sample_likelihood(
        self, observation: torch.Tensor, loc: torch.Tensor, scale: torch.Tensor, u: torch.Tensor
    ) -> torch.Tensor:
        """p(x | loc + scale·u) for prediction's K samples per pixel (observation, loc,
        scale: (N, 1); u: (N, K)), without gradients: tabulated along s per pixel
        (:mod:`.sampling`); a kind may have a faster way."""
        return tabulated_likelihood(self, observation, loc, scale, u)

    def finest_scale(self, signal: torch.Tensor) -> torch.Tensor:
        """The noise's standard deviation: p(x | s) moves with s and is that wide."""
        return self.variance(signal).sqrt()

    def covers(self, observation: torch.Tensor) -> torch.Tensor:
        """Everywhere: a parametric model describes any observation."""
        return torch.ones_like(observation, dtype=torch.bool)

    def likelihood_curve(self, signal: float, observations: np.ndarray) -> np.ndarray:
        """p(x | s) for one signal at many observations, for plots."""
        with torch.no_grad():
            x = torch.as_tensor(np.asarray(observations, dtype=np.float32))
            return self.likelihood(x, torch.full_like(x, float(signal))).numpy()

    def save(self, path: str | os.PathLike) -> None:
        """Write an ``.npz`` of arrays plus JSON metadata: loading it never executes code."""
        save_state(self.to_state(), path)

    @classmethod
    def load(cls, path: str | os.PathLike):
        return cls.from_state(load_state(path), source=str(path))


def check_state(state: dict, kind: str, source: str) -> None:
    """Refuse states that are not ours, are too new, or hold another kind."""
    if state.get("format", FORMAT) != FORMAT:
        raise PN2VError(f"{source}: not a napari-pn2v noise model")
    if int(state.get("version", FORMAT_VERSION)) > FORMAT_VERSION:
        raise PN2VError(f"{source}: made by a newer napari-pn2v (format {state['version']})")
    if state.get("kind") != kind:
        raise PN2VError(f"{source}: unknown noise model kind {state.get('kind')!r}")


def save_state(state: dict, path: str | os.PathLike) -> None:
    state = {"format": FORMAT, "version": 1, **state}
    meta = {k: v for k, v in state.items() if not isinstance(v, np.ndarray)}
    arrays = {k: v for k, v in state.items() if isinstance(v, np.ndarray)}
    with open(Path(path), "wb") as handle:  # np.savez would append .npz to other suffixes
        np.savez_compressed(handle, meta=np.array(json.dumps(meta)), **arrays)


def load_state(path: str | os.PathLike) -> dict:
    path = Path(path)
    if not path.is_file():
        raise PN2VError(f"{path}: no such file")
    try:
        with np.load(path, allow_pickle=False) as data:
            state = json.loads(str(data["meta"]))
            state.update({k: data[k] for k in data.files if k != "meta"})
    except Exception as error:  # zip, json and key errors all mean a foreign file
        raise PN2VError(f"{path}: not a napari-pn2v noise-model file ({error})") from error
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise PN2VError(f"{path}: not a napari-pn2v noise-model file")
    return state
