"""The job layer: one place per verb — build a noise model, train, predict, export — between the
engine (:mod:`napari_pn2v.backend`) and the front ends (the ``pn2v`` command line and the
widgets), which only fill in a job and show its progress. Qt-free; a script uses it the same
way (examples/denoise_with_python.py): fill in a job, ``run()`` it.
"""

from .export import ExportJob
from .noise_model import NoiseModelJob
from .prediction import ClusterPredictionJob, PredictionJob
from .training import TrainingJob

__all__ = ["ClusterPredictionJob", "ExportJob", "NoiseModelJob", "PredictionJob", "TrainingJob"]
