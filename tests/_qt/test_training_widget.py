import numpy as np
import pytest

from napari_pn2v._qt.training_widget import State, TrainingWidget
from napari_pn2v.backend import PN2VModel, predict
from tests._qt.conftest import tiny_training


def start(widget, layers=("noisy",)):
    widget.layers.set_checked(list(layers))
    widget.train_button.click()


def wait_idle(qtbot, widget):
    qtbot.waitUntil(lambda: widget.state is not State.TRAINING, timeout=60_000)


def test_train_to_the_end_with_a_live_plot(qtbot, viewer, noise_model, errors):
    widget = TrainingWidget(viewer)
    widget.session.noise_model = noise_model
    tiny_training(widget)
    assert widget.train_button.text() == "Train" and not widget.save_button.isEnabled()
    start(widget)
    assert widget.state is State.TRAINING and widget.train_button.text() == "Stop"
    assert not widget.continue_button.isEnabled() and not widget.layers.isEnabled()
    shown = []
    widget.status.setText = lambda text, set_text=widget.status.setText: (
        shown.append(text),
        set_text(text),
    )
    wait_idle(qtbot, widget)
    assert errors == [] and widget.state is State.DONE
    assert any("choosing the prior's spread" in text for text in shown)  # said while it ran
    assert f"prior spread ×{widget.model.spread_scale:.3g}" in widget.status.text()
    assert len(widget.plot.train_x) == 2 * 3 and len(widget.plot.val_x) == 2
    x, y = widget.plot.train_curve.getData()
    assert len(x) == 6 and list(y) == widget.plot.train_y  # the last points were drawn
    assert widget.session.model is widget.model and widget.model.config.samples == 16
    assert widget.epoch_bar.value() == 2 and widget.step_bar.value() == 3
    assert widget.save_button.isEnabled() and widget.continue_button.isEnabled()


def test_pn2v_starts_from_the_bootstraps_n2v_where_it_fits(
    qtbot, viewer, noise_model, n2v_model, errors, monkeypatch
):
    started = []
    original = PN2VModel.from_n2v
    monkeypatch.setattr(
        PN2VModel, "from_n2v", lambda n2v, *rest: started.append(n2v) or original(n2v, *rest)
    )
    widget = TrainingWidget(viewer)
    widget.session.noise_model = noise_model
    widget.session.n2v = n2v_model  # as the noise-model panel's bootstrap leaves it
    tiny_training(widget)
    start(widget)
    wait_idle(qtbot, widget)
    assert errors == [] and started == [n2v_model]
    widget.features.value = 16  # another network than the N2V's: from scratch
    start(widget)
    wait_idle(qtbot, widget)
    assert errors == [] and started == [n2v_model]


def test_stop_keeps_the_best_model_and_continue_goes_on(qtbot, viewer, noise_model, errors):
    widget = TrainingWidget(viewer)
    widget.session.noise_model = noise_model
    tiny_training(widget, epochs=500, steps=2)
    start(widget)
    qtbot.waitUntil(lambda: len(widget.plot.val_x) >= 2, timeout=60_000)
    widget.train_button.click()  # Stop
    wait_idle(qtbot, widget)
    assert widget.state is State.STOPPED and widget.model is not None
    trained = widget.model.epochs_trained  # the best epoch, which may be the first
    assert 1 <= trained <= widget.run.trainer.model.epochs_trained < 500
    assert widget.run.trainer.model.epochs_trained >= 2
    points = len(widget.plot.train_x)
    tiny_training(widget, epochs=1, steps=2)
    widget.continue_button.click()
    wait_idle(qtbot, widget)
    assert widget.state is State.DONE and widget.model.epochs_trained >= trained
    assert len(widget.plot.train_x) == points + 2
    assert widget.plot.train_x[-1] > widget.plot.train_x[points - 1]  # drawn after, not over
    widget.reset_button.click()
    assert widget.state is State.IDLE and widget.model is None and widget.plot.train_x == []
    assert errors == []


def test_n2v_needs_no_noise_model_and_saves(qtbot, viewer, tmp_path, errors):
    widget = TrainingWidget(viewer)
    widget.mode.setCurrentText("N2V")
    tiny_training(widget)
    start(widget)
    wait_idle(qtbot, widget)
    assert errors == [] and widget.state is State.DONE
    widget.save_to(str(tmp_path / "m.pt"))
    assert PN2VModel.load(tmp_path / "m.pt").config.mode == "n2v"


def test_export_for_bioimageio_runs_in_a_worker_and_reads_back(qtbot, viewer, tmp_path, errors):
    pytest.importorskip("bioimageio.spec")
    widget = TrainingWidget(viewer)
    widget.mode.setCurrentText("N2V")
    tiny_training(widget)
    start(widget)
    wait_idle(qtbot, widget)
    widget.export_to(str(tmp_path / "package"))  # .zip is added
    assert not widget.export_button.isEnabled() and not widget.train_button.isEnabled()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60_000)
    assert errors == [] and widget.export_button.isEnabled()
    exported = PN2VModel.load(tmp_path / "package.zip")
    image = viewer.layers["noisy"].data
    np.testing.assert_array_equal(
        predict(exported, image)["denoised"], predict(widget.model, image)["denoised"]
    )


def test_bad_requests_become_notifications(qtbot, viewer, noise_model, errors):
    widget = TrainingWidget(viewer)
    tiny_training(widget)
    start(widget, layers=())  # nothing ticked
    start(widget)  # PN2V without a noise model
    widget.session.noise_model = noise_model
    start(widget, layers=("rgb",))
    widget.patch_size.value = 128  # larger than the 64×64 image
    start(widget)
    wait_idle(qtbot, widget)
    assert len(errors) == 4, errors
    assert "tick at least one" in errors[0] and "needs a noise model" in errors[1]
    assert "RGB" in errors[2] and "smaller than" in errors[3]
    assert widget.state is State.FAILED and widget.model is None
    assert len(viewer.layers) == 3


def test_device_label_says_what_is_used(viewer):
    widget = TrainingWidget(viewer)
    widget.device.setCurrentText("cpu")
    assert "CPU" in widget.device_label.text()
    assert "CUDA" in widget.device_label.toolTip()


def test_validation_on_a_region_or_on_another_layer(qtbot, viewer, noisy, errors):
    widget = TrainingWidget(viewer)
    widget.mode.setCurrentText("N2V")
    tiny_training(widget)
    assert widget.validation.currentText() == "held-out frames"
    widget.validation.setCurrentText("held-out region")
    assert widget.train_config().holdout == "region"
    viewer.add_image(noisy[1], name="other scene")
    widget.validation.setCurrentText("other scene")
    start(widget)
    wait_idle(qtbot, widget)
    assert errors == [] and widget.state is State.DONE
    assert widget.run.trainer._train[0].shape[-2:] == noisy.shape[-2:]  # nothing held out
    widget.validation.setCurrentText("noisy")
    start(widget)
    assert len(errors) == 1 and "ticked for training too" in errors[0]


def test_a_big_lazy_layer_trains_patch_by_patch(qtbot, viewer, noisy, errors, monkeypatch):
    import dask.array as da

    import napari_pn2v.backend.data.lazy as lazy

    monkeypatch.setattr(lazy, "LOAD_BYTES", 0)
    viewer.add_image(da.from_array(noisy, chunks=(1, 32, 32)), name="lazy")
    widget = TrainingWidget(viewer)
    widget.mode.setCurrentText("N2V")
    tiny_training(widget)
    start(widget, layers=("lazy",))
    wait_idle(qtbot, widget)
    assert errors == [] and widget.state is State.DONE
    assert isinstance(widget.run.trainer._train[0], lazy.LazyFrames)


def test_a_3d_network_trains_on_a_z_stack_layer_and_denoises_it(qtbot, viewer, errors):
    from napari_pn2v._qt.prediction_widget import PredictionWidget
    from napari_pn2v.backend import synthetic

    volume = synthetic.PoissonGaussian()(
        synthetic.cell_volume((16, 48, 48)), np.random.default_rng(0)
    )
    viewer.add_image(volume, name="stack", scale=(2.0, 0.5, 0.5))
    widget = TrainingWidget(viewer)
    widget.mode.setCurrentText("N2V")
    tiny_training(widget, epochs=1, steps=2)
    widget.patch_size.value = 16
    assert not widget.patch_depth.enabled
    widget.network.setCurrentText("3-D (Z stacks)")
    assert widget.patch_depth.enabled
    widget.patch_depth.value = 8
    start(widget, layers=("noisy",))  # one 2-D plane: no Z stack
    assert len(errors) == 1 and "Z stacks" in errors[0]
    start(widget, layers=("stack",))
    wait_idle(qtbot, widget)
    assert len(errors) == 1 and widget.state is State.DONE
    assert widget.model.config.dims == 3 and widget.model.net.dims == 3
    predictor = PredictionWidget(viewer)
    predictor.image.setCurrentText("stack")
    assert predictor.image_label.text() == "1 Z stack of 16×48×48 (axes ZYX)"
    assert "3-D" in predictor.model_label.text()
    predictor.run_button.click()
    qtbot.waitUntil(lambda: predictor.worker is None, timeout=60_000)
    result = viewer.layers["stack_denoised"]
    assert result.data.shape == volume.shape and result.data.dtype == np.float32
    assert tuple(result.scale) == (2.0, 0.5, 0.5) and len(errors) == 1


def test_any_kind_of_noise_model_is_shown(viewer, calibration):
    from napari_pn2v.backend import GaussianMixtureNoiseModel

    widget = TrainingWidget(viewer)
    widget.session.noise_model = GaussianMixtureNoiseModel.from_calibration(calibration, steps=5)
    assert widget.noise_label.text().startswith("gmm, signals")


def test_averaged_weights_are_an_advanced_setting(viewer):
    widget = TrainingWidget(viewer)
    assert widget.train_config().weight_average == 0
    widget.panel.advanced_form.set_values({"weight_average": 100})
    assert widget.train_config().weight_average == 100


def test_fitting_the_network_to_the_budget_is_an_advanced_setting(viewer):
    widget = TrainingWidget(viewer)
    assert widget.train_config().fit_network_to_budget
    widget.panel.advanced_form.set_values({"fit_network_to_budget": False})
    assert not widget.train_config().fit_network_to_budget


def test_the_widget_says_when_a_short_budget_trains_a_smaller_network(
    qtbot, viewer, noise_model, errors, monkeypatch
):
    from napari_pn2v._qt import common

    warned: list[str] = []
    monkeypatch.setattr(common, "show_warning", warned.append)
    widget = TrainingWidget(viewer)
    widget.session.noise_model = noise_model
    tiny_training(widget)
    widget.features.value = 16
    widget.time_budget.value = 0.02  # a second or so: far fewer steps than the rule's
    start(widget)
    wait_idle(qtbot, widget)
    assert errors == [] and widget.model.config.features == 8
    assert any("8 features instead" in message for message in warned), warned
