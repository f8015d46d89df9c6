"""The PN2V engine: plain torch + numpy, no Qt and no napari.

The napari widgets and the ``pn2v`` command line are thin layers over these names.
"""

from .errors import PN2VError
from .gmm import GaussianMixtureNoiseModel
from .model import ModelConfig, PN2VModel
from .noise_model import HistogramNoiseModel
from .noise_models import NoiseModel, load_noise_model
from .poisson_gaussian import PoissonGaussianNoiseModel, estimate_poisson_gaussian
from .prediction import TiledPrediction, predict
from .training import QUICK, Progress, TrainConfig, Trainer

__all__ = [
    "QUICK",
    "GaussianMixtureNoiseModel",
    "HistogramNoiseModel",
    "ModelConfig",
    "NoiseModel",
    "PN2VError",
    "PN2VModel",
    "PoissonGaussianNoiseModel",
    "Progress",
    "TiledPrediction",
    "TrainConfig",
    "Trainer",
    "estimate_poisson_gaussian",
    "load_noise_model",
    "predict",
]
