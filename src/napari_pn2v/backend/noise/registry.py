"""Which class reads which kind of noise model: a file, or the noise model inside a model
file, loads as whatever kind it holds."""

from __future__ import annotations

import os

from ..errors import PN2VError
from .base import NoiseModel, load_state
from .gmm import GaussianMixtureNoiseModel
from .histogram import HistogramNoiseModel
from .poisson_gaussian import PoissonGaussianNoiseModel

CLASSES = {
    "histogram": HistogramNoiseModel,
    "gmm": GaussianMixtureNoiseModel,
    "poisson-gaussian": PoissonGaussianNoiseModel,
}
KINDS = tuple(CLASSES)


def noise_model_from_state(state: dict, source: str = "noise model") -> NoiseModel:
    """The noise model a state describes, of whichever kind."""
    kind = state.get("kind")
    if kind not in CLASSES:
        raise PN2VError(f"{source}: unknown noise model kind {kind!r}")
    return CLASSES[kind].from_state(state, source=source)


def load_noise_model(path: str | os.PathLike) -> NoiseModel:
    """Read a noise-model file of any kind."""
    return noise_model_from_state(load_state(path), source=str(path))
