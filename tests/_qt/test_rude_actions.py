"""Rude actions while workers run: each ends in a plain notification or a clean stop, the
viewer keeps working, and no model or result is lost (issue 18)."""

import numpy as np

from napari_pn2v._qt.prediction_widget import PredictionWidget
from napari_pn2v._qt.training_widget import State, TrainingWidget
from tests._qt.conftest import tiny_training


def train(widget, layers=("noisy",)):
    widget.layers.set_checked(list(layers))
    widget.train_button.click()


def test_deleting_or_renaming_the_training_layer_mid_training(qtbot, viewer, errors):
    widget = TrainingWidget(viewer)
    widget.mode.setCurrentText("N2V")
    tiny_training(widget, epochs=3, steps=3)
    train(widget)
    viewer.layers["noisy"].name = "renamed"
    viewer.layers.remove("renamed")  # the worker holds the pixels, not the layer
    qtbot.waitUntil(lambda: widget.state is not State.TRAINING, timeout=60_000)
    assert widget.state is State.DONE and widget.model is not None and errors == []


def test_changing_settings_while_training_changes_nothing_of_that_run(qtbot, viewer, errors):
    widget = TrainingWidget(viewer)
    widget.mode.setCurrentText("N2V")
    tiny_training(widget, epochs=2, steps=3)
    train(widget)
    widget.epochs.value = 50  # read at the next Train, not by the run under way
    qtbot.waitUntil(lambda: widget.state is not State.TRAINING, timeout=60_000)
    assert widget.state is State.DONE and len(widget.plot.train_x) == 2 * 3 and errors == []


def test_closing_the_training_dock_mid_training_loses_nothing(
    make_napari_viewer, qtbot, noisy, errors
):
    """napari keeps a closed dock's widget: its training ends in the background and hands
    its model to the viewer's session, as if the dock were open."""
    viewer = make_napari_viewer()
    viewer.add_image(noisy[0], name="noisy")
    dock, widget = viewer.window.add_plugin_dock_widget("napari-pn2v", "2. Training")
    widget.mode.setCurrentText("N2V")
    tiny_training(widget, epochs=3, steps=3)
    train(widget)
    qtbot.waitUntil(lambda: len(widget.plot.train_x) >= 1, timeout=60_000)
    viewer.window.remove_dock_widget(dock)
    qtbot.waitUntil(lambda: widget.state is not State.TRAINING, timeout=60_000)
    assert widget.session.model is widget.model is not None and errors == []
    viewer.add_image(noisy[1], name="after")  # the viewer goes on working
    assert "after" in viewer.layers


def test_deleting_the_prediction_layer_mid_prediction_still_gives_the_result(
    qtbot, viewer, pn2v_model, errors
):
    widget = PredictionWidget(viewer)
    widget.session.model = pn2v_model
    widget.tile.value = 32
    widget.overlap.value = 8
    widget.image.setCurrentText("noisy")
    widget.run_button.click()
    viewer.layers.remove("noisy")
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    assert "noisy_denoised" in viewer.layers and errors == []


def test_a_model_of_the_other_kind_is_refused_or_offers_what_it_has(
    qtbot, viewer, n2v_model, errors
):
    from napari_pn2v.backend import ModelConfig, PN2VModel

    widget = PredictionWidget(viewer)
    volume_model = PN2VModel(ModelConfig("n2v", depth=2, features=4, dims=3), 100.0, 10.0)
    widget.session.model = volume_model
    widget.image.setCurrentText("noisy")  # one 2-D plane: no Z stack for a 3-D network
    assert "Z stacks" in widget.image_label.text()
    widget.run_button.click()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=10_000)
    assert len(errors) == 1 and "Z stacks" in errors[0]
    widget.session.model = n2v_model  # an N2V model has no prior mean nor uncertainty
    assert not widget.with_prior.isEnabled() and not widget.with_std.isEnabled()


def test_only_grey_scale_image_layers_are_offered(qtbot, viewer, noisy, errors):
    viewer.add_labels(np.zeros((64, 64), np.uint8), name="labels")
    viewer.add_points(np.zeros((3, 2)), name="points")
    viewer.add_shapes([np.array([[0, 0], [10, 10], [0, 10]])], shape_type="polygon", name="shapes")
    training, prediction = TrainingWidget(viewer), PredictionWidget(viewer)
    offered = {training.layers.item(i).text() for i in range(training.layers.count())}
    assert offered == {"calibration", "noisy", "rgb"}
    assert {prediction.image.itemText(i) for i in range(prediction.image.count())} == offered


def test_nan_and_tiny_layers_are_refused_with_a_notification(qtbot, viewer, noisy, errors):
    image = noisy[0].copy()
    image[3, 3] = np.inf
    viewer.add_image(image, name="with inf")
    viewer.add_image(noisy[0][:8, :8], name="tiny")
    widget = TrainingWidget(viewer)
    widget.mode.setCurrentText("N2V")
    tiny_training(widget)
    for name in ("with inf", "tiny"):
        train(widget, layers=(name,))
        qtbot.waitUntil(lambda: widget.state is not State.TRAINING, timeout=60_000)
    assert len(errors) == 2 and "infinite" in errors[0] and "smaller than" in errors[1]
    assert widget.state is State.FAILED and len(viewer.layers) == 5
