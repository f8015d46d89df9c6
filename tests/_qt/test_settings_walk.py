"""Every setting of every job's configuration reaches the job from the widgets too: the same walk
over the described fields as tests/cli/test_settings.py, on the three dock widgets."""

import pytest

from napari_pn2v._qt.noise_model_widget import NoiseModelWidget
from napari_pn2v._qt.prediction_widget import PredictionWidget
from napari_pn2v._qt.training_settings import HOLDOUT_CHOICES, NETWORKS, TrainingSettings
from napari_pn2v.backend import ModelConfig, PredictionConfig, TrainConfig
from napari_pn2v.backend.options import described
from napari_pn2v.jobs.noise_model import NoiseModelJob
from tests.cli.test_settings import other_value

#: settings with a widget of their own rather than a form field: how to set them
OWN_WIDGETS = {
    "mode": lambda panel, value: panel.mode.setCurrentText(value.upper()),
    "dims": lambda panel, value: panel.network.setCurrentText(
        next(text for text, dims in NETWORKS.items() if dims == value)
    ),
    "device": lambda panel, value: panel.device.setCurrentText(value),
    "holdout": lambda panel, value: panel.validation.setCurrentText(
        next(text for text, holdout in HOLDOUT_CHOICES.items() if holdout == value)
    ),
}


def _set(forms, name, value) -> None:
    form = next(f for f in forms if name in f._owners)
    form.set_values({name: value})


@pytest.mark.parametrize("config", [TrainConfig, ModelConfig])
def test_every_training_setting_reaches_the_training_job(viewer, config):
    panel = TrainingSettings(viewer)
    for field in described(config):
        _, value = other_value(config, field)
        if field.name in OWN_WIDGETS:
            OWN_WIDGETS[field.name](panel, value)
        else:
            shown = [f for f in (panel.form, panel.advanced_form) if field.name in f._owners]
            assert shown, f"the training widget offers no {field.name}"
            if field.name == "location_weight":
                _set(shown, "prior_mean_loss", "joint")
            _set(shown, field.name, value)
        made = panel.train_config() if config is TrainConfig else panel.model_config()
        assert getattr(made, field.name) == value, field.name


def test_every_prediction_setting_reaches_the_prediction_job(viewer):
    widget = PredictionWidget(viewer)
    for field in described(PredictionConfig):
        _, value = other_value(PredictionConfig, field)
        assert field.name in widget.form._owners, f"the denoise widget offers no {field.name}"
        widget.form.set_values({field.name: value})
        made = PredictionConfig(**widget.form.values(PredictionConfig))
        assert getattr(made, field.name) == value, field.name


def test_every_noise_model_setting_reaches_the_noise_model_job(viewer):
    widget = NoiseModelWidget(viewer)
    for field in described(NoiseModelJob):
        _, value = other_value(NoiseModelJob, field)
        assert hasattr(widget, field.name), f"the noise-model widget offers no {field.name}"
        getattr(widget, field.name).value = value
        made = NoiseModelJob("histogram", **widget.settings())
        assert getattr(made, field.name) == value, field.name
    widget.as_histogram.value = False  # a histogram of the calibration layer: a job to make
    job = widget.job()
    assert (job.kind, job.bins, job.components, job.degree) == ("histogram", 257, 4, 0)
