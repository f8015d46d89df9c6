"""Which class reads which kind of noise model: a file, or the noise model inside a model
file, loads as whatever kind it holds (a file of one noise model per channel too)."""

from __future__ import annotations

import os

from ..errors import PN2VError
from .base import NoiseModel, load_state
from .channels import KIND as CHANNELS
from .channels import ChannelNoiseModels
from .gmm import GaussianMixtureNoiseModel
from .histogram import HistogramNoiseModel
from .poisson_gaussian import PoissonGaussianNoiseModel

CLASSES = {
    "histogram": HistogramNoiseModel,
    "gmm": GaussianMixtureNoiseModel,
    "poisson-gaussian": PoissonGaussianNoiseModel,
}
KINDS = tuple(CLASSES)


def noise_model_from_state(
    state: dict, source: str = "noise model"
) -> NoiseModel | ChannelNoiseModels:
    """The noise model a state describes, of whichever kind."""
    kind = state.get("kind")
    if kind == CHANNELS:
        return ChannelNoiseModels.from_state(state, _single, source)
    return _single(state, source)


def _single(state: dict, source: str) -> NoiseModel:
    kind = state.get("kind")
    if kind not in CLASSES:
        raise PN2VError(f"{source}: unknown noise model kind {kind!r}")
    return CLASSES[kind].from_state(state, source=source)


def load_noise_model(path: str | os.PathLike) -> NoiseModel | ChannelNoiseModels:
    """Read a noise-model file of any kind."""
    return noise_model_from_state(load_state(path), source=str(path))
