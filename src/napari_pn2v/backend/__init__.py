"""The PN2V engine: plain torch + numpy, no Qt and no napari.

The napari widgets and the ``pn2v`` command line are thin layers over these names.
"""

from .errors import PN2VError
from .model import ModelConfig, PN2VModel
from .noise_model import HistogramNoiseModel
from .prediction import TiledPrediction, predict
from .training import QUICK, Progress, TrainConfig, Trainer

__all__ = [
    "QUICK",
    "HistogramNoiseModel",
    "ModelConfig",
    "PN2VError",
    "PN2VModel",
    "Progress",
    "TiledPrediction",
    "TrainConfig",
    "Trainer",
    "predict",
]
