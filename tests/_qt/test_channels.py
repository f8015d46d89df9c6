"""A multi-channel layer in the three widgets: one noise model and one model per channel, one
multi-channel result."""

import numpy as np
import tifffile
import torch

from napari_pn2v._qt.noise_model_widget import NoiseModelWidget
from napari_pn2v._qt.prediction_widget import PredictionWidget
from napari_pn2v._qt.training_widget import State, TrainingWidget
from napari_pn2v.backend.data.metadata import ome_metadata
from napari_pn2v.backend.data.synthetic import PoissonGaussian, calibration_stack, noisy_images
from napari_pn2v.backend.network.channels import ChannelModels
from napari_pn2v.backend.noise.channels import ChannelNoiseModels
from tests._qt.conftest import tiny_training

CAMERAS = (PoissonGaussian(2.0, 6.0), PoissonGaussian(9.0, 15.0))


def two_channel_layers(viewer):
    calibration = np.stack(
        [calibration_stack(10, (64, 64), noise, seed=c) for c, noise in enumerate(CAMERAS)], 1
    )  # T C Y X
    viewer.add_image(calibration, name="calibration", axis_labels=tuple("TCYX"))
    clean, _ = noisy_images(count=1, shape=(64, 64))
    rng = np.random.default_rng(0)
    cells = np.stack([noise(clean[0], rng) for noise in CAMERAS])  # C Y X
    viewer.add_image(cells, name="cells", axis_labels=tuple("CYX"), scale=(1.0, 0.5, 0.5))


def test_build_train_and_denoise_a_multi_channel_layer(make_napari_viewer, qtbot, errors):
    viewer = make_napari_viewer()
    two_channel_layers(viewer)
    noise, training, denoise = (
        NoiseModelWidget(viewer),
        TrainingWidget(viewer),
        PredictionWidget(viewer),
    )
    noise.calibration.setCurrentText("calibration")
    noise.build_button.click()
    qtbot.waitUntil(lambda: noise.worker is None, timeout=60_000)
    model = noise.session.noise_model
    assert isinstance(model, ChannelNoiseModels) and len(model) == 2
    # one calibration per camera: the second channel's noise is the larger
    signal = torch.tensor([400.0])
    assert model[1].variance(signal) > 2 * model[0].variance(signal)
    assert noise.channel.isVisibleTo(noise) and noise.channel.count() == 2
    noise.channel.setCurrentIndex(1)  # the plot shows the second channel's model

    training.layers.set_checked(["cells"])
    tiny_training(training)
    training.train_button.click()
    qtbot.waitUntil(lambda: training.state is not State.TRAINING, timeout=60_000)
    assert training.state is State.DONE, training.status.text()
    assert isinstance(training.model, ChannelModels) and len(training.model) == 2

    denoise.image.setCurrentText("cells")
    assert denoise.image_label.text().startswith("2 channels of 1 plane of 64×64")
    denoise.run_button.click()
    qtbot.waitUntil(lambda: "cells_denoised" in viewer.layers, timeout=60_000)
    result = viewer.layers["cells_denoised"]
    assert result.data.dtype == np.float32 and result.data.shape == (2, 64, 64)
    assert tuple(result.scale) == (1.0, 0.5, 0.5)
    assert errors == []


def test_a_file_napari_opens_keeps_its_channel_axis(make_napari_viewer, tmp_path):
    """napari's own reader names no axes: the file's OME axes say which is C."""
    path = tmp_path / "cells.ome.tif"
    data = np.zeros((3, 2, 32, 32), np.uint16)
    tifffile.imwrite(path, data, ome=True, metadata=ome_metadata("TCYX", {}))
    viewer = make_napari_viewer()
    viewer.open(path, plugin="napari")
    widget = PredictionWidget(viewer)
    widget.image.setCurrentText(viewer.layers[0].name)
    assert widget.image_label.text() == "2 channels of 3 planes of 32×32 (axes TCYX)"


def test_a_model_of_one_channel_refuses_a_multi_channel_layer(
    make_napari_viewer, qtbot, errors, pn2v_model
):
    viewer = make_napari_viewer()
    two_channel_layers(viewer)
    widget = PredictionWidget(viewer)
    widget.loaded_model = pn2v_model
    widget.model_source.setCurrentIndex(1)
    widget.image.setCurrentText("cells")
    widget.run_button.click()
    assert errors == ["the model was trained on one channel; the image has 2"]
    assert "cells_denoised" not in viewer.layers
