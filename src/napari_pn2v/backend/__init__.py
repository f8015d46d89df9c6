"""The PN2V engine: plain torch + numpy, no Qt and no napari.

Sub-packages, by what they hold: :mod:`.noise` (noise models, their fits and checks),
:mod:`.data` (reading, checking and writing images, lazy sources, axes, channels, synthetic
data), :mod:`.network` (the U-Net, the prior, the model and its file; one model per channel),
:mod:`.training` (settings and presets, training data, masking, losses, the spread's choice and
the guard, the trainer),
:mod:`.prediction` (tiled prediction, cluster). The job layer (:mod:`napari_pn2v.jobs`), the
widgets, the command line, the benchmarks and the tests use the names below.

The names are loaded on first use: the command line's help and the settings need no torch.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

#: public name -> the module that defines it
_WHERE = {
    "PN2VError": "errors",
    "NoiseModel": "noise.base",
    "HistogramNoiseModel": "noise.histogram",
    "GaussianMixtureNoiseModel": "noise.gmm",
    "PoissonGaussianNoiseModel": "noise.poisson_gaussian",
    "estimate_poisson_gaussian": "noise.estimate",
    "load_noise_model": "noise.registry",
    "ChannelNoiseModels": "noise.channels",
    "ModelConfig": "network.config",
    "PN2VModel": "network.model",
    "ChannelModels": "network.channels",
    "load_model": "network.channels",
    "TrainConfig": "training.config",
    "Progress": "training.config",
    "PRESETS": "training.config",
    "QUICK": "training.config",
    "Trainer": "training.trainer",
    "PredictionConfig": "prediction.config",
    "TiledPrediction": "prediction.tiled",
    "predict": "prediction.tiled",
    "synthetic": "data.synthetic",
}
__all__ = [
    "PRESETS",
    "QUICK",
    "ChannelModels",
    "ChannelNoiseModels",
    "GaussianMixtureNoiseModel",
    "HistogramNoiseModel",
    "ModelConfig",
    "NoiseModel",
    "PN2VError",
    "PN2VModel",
    "PoissonGaussianNoiseModel",
    "PredictionConfig",
    "Progress",
    "TiledPrediction",
    "TrainConfig",
    "Trainer",
    "estimate_poisson_gaussian",
    "load_model",
    "load_noise_model",
    "predict",
    "synthetic",
]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors
    from .data import synthetic
    from .errors import PN2VError
    from .network.channels import ChannelModels, load_model
    from .network.config import ModelConfig
    from .network.model import PN2VModel
    from .noise.base import NoiseModel
    from .noise.channels import ChannelNoiseModels
    from .noise.estimate import estimate_poisson_gaussian
    from .noise.gmm import GaussianMixtureNoiseModel
    from .noise.histogram import HistogramNoiseModel
    from .noise.poisson_gaussian import PoissonGaussianNoiseModel
    from .noise.registry import load_noise_model
    from .prediction.config import PredictionConfig
    from .prediction.tiled import TiledPrediction, predict
    from .training.config import PRESETS, QUICK, Progress, TrainConfig
    from .training.trainer import Trainer


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_WHERE[name]}")
    # a module is exported as itself (synthetic), anything else from its module
    value = module if _WHERE[name].rpartition(".")[2] == name else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
