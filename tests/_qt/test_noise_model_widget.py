import numpy as np
import pytest

from napari_pn2v._qt.common import guarded
from napari_pn2v._qt.noise_model_widget import NoiseModelWidget
from napari_pn2v._qt.noise_plot import N_CURVES
from napari_pn2v.backend import (
    GaussianMixtureNoiseModel,
    HistogramNoiseModel,
    ModelConfig,
    PoissonGaussianNoiseModel,
    TrainConfig,
)


def build(qtbot, widget):
    widget.build_button.click()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=180_000)


def test_build_from_the_calibration_layer_and_show_it(qtbot, viewer, errors):
    widget = NoiseModelWidget(viewer)
    widget.calibration.setCurrentText("calibration")
    widget.bins.value = 64
    build(qtbot, widget)
    model = widget.session.noise_model
    assert errors == [] and model is not None and model.bins == 64
    assert "64 bins" in widget.summary.text() and "outside" in widget.summary.text()
    assert widget.plot.image.image.shape == (64, 64)
    assert len(widget.plot.curves) == N_CURVES
    for curve in widget.plot.curves:
        x, y = curve.getData()
        assert len(x) > 0 and np.isfinite(y).all() and y.max() > 0


def test_the_noise_plot_shows_what_was_measured_and_marks_the_rest(qtbot, viewer, errors):
    """No fake axes before there is a model; the model's noise std is drawn solid over the
    calibration's signals (where it follows the measured points) and dashed beyond them,
    where it once seemed to collapse to 0."""
    widget = NoiseModelWidget(viewer)
    assert not widget.plot.isVisibleTo(widget) and "build one" in widget.summary.text()
    widget.calibration.setCurrentText("calibration")
    build(qtbot, widget)
    assert widget.plot.isVisibleTo(widget)
    model = widget.session.noise_model
    low, high = model.signal_range
    x, y = widget.plot.std_line.getData()
    assert x.min() >= low and x.max() <= high and (y > 0).all()
    signals, stds = widget.plot.std_points.getData()
    inside = (signals > low) & (signals < high)
    np.testing.assert_allclose(np.interp(signals[inside], x, y), stds[inside], rtol=0.3)
    ex, ey = widget.plot.std_extrapolated.getData()
    assert np.isfinite(ey).sum() > 0 and (ex[np.isfinite(ey)] > high).any()
    assert errors == []


def test_a_drifting_calibration_stack_is_noted(qtbot, viewer, errors, calibration, monkeypatch):
    from napari_pn2v._qt import noise_model_widget

    warned: list[str] = []
    monkeypatch.setattr(noise_model_widget, "warn", warned.append)
    drift = np.linspace(0.9, 1.1, len(calibration))[:, None, None]
    viewer.add_image(calibration * drift, name="drifting")
    widget = NoiseModelWidget(viewer)
    widget.calibration.setCurrentText("drifting")
    build(qtbot, widget)
    assert errors == [] and widget.session.noise_model is not None
    assert any("drifts" in message for message in warned)
    warned.clear()
    widget.calibration.setCurrentText("calibration")  # a steady stack: nothing to say
    build(qtbot, widget)
    assert not any("drifts" in message for message in warned)


def test_build_from_signal_and_observations_with_a_range(qtbot, viewer, errors, calibration):
    viewer.add_image(calibration.mean(0), name="signal")
    widget = NoiseModelWidget(viewer)
    widget.from_pairs.setChecked(True)
    widget.signal.setCurrentText("signal")
    widget.observations.setCurrentText("calibration")
    widget.auto_range.setChecked(False)
    widget.range_min.setValue(0)
    widget.range_max.setValue(1000)
    build(qtbot, widget)
    model = widget.session.noise_model
    assert errors == [] and (model.low, model.high) == (0.0, 1000.0)


def test_save_and_load_round_trip(qtbot, viewer, tmp_path, noise_model):
    widget = NoiseModelWidget(viewer)
    assert not widget.save_button.isEnabled()
    widget.session.noise_model = noise_model
    assert widget.save_button.isEnabled()
    widget.save_to(str(tmp_path / "nm.npz"))
    widget.session.noise_model = None
    widget.load_from(str(tmp_path / "nm.npz"))
    np.testing.assert_array_equal(widget.session.noise_model.density, noise_model.density)
    assert isinstance(HistogramNoiseModel.load(tmp_path / "nm.npz"), HistogramNoiseModel)


def test_bad_layers_and_files_become_notifications(qtbot, viewer, errors, tmp_path):
    widget = NoiseModelWidget(viewer)
    for name in ("noisy", "rgb"):  # one 2-D frame; RGB data
        widget.calibration.setCurrentText(name)
        build(qtbot, widget)
    (tmp_path / "bad.npz").write_bytes(b"junk")
    guarded(lambda: widget.load_from(str(tmp_path / "bad.npz")))()  # as the Load button does
    assert len(errors) == 3
    assert "at least 2 frames" in errors[0] and "RGB" in errors[1]
    assert "not a napari-pn2v noise-model file" in errors[2]
    assert widget.session.noise_model is None and len(viewer.layers) == 3


def test_kinds_show_their_own_settings(qtbot, viewer):
    widget = NoiseModelWidget(viewer)
    qtbot.addWidget(widget)
    widget.show()

    def visible(name):
        return widget.rows[name][1].isVisible()

    assert visible("calibration") and visible("bins") and not visible("images")
    widget.kind.setCurrentText("GMM (calibration data)")
    assert visible("components") and not visible("bins")
    widget.kind.setCurrentText("Poisson–Gaussian (camera or images)")
    assert visible("images") and visible("camera") and not visible("calibration")
    assert not widget.gain.isEnabled()
    widget.use_camera.setChecked(True)
    assert widget.gain.isEnabled()
    widget.kind.setCurrentText("Bootstrap (noisy images only)")
    assert visible("fit") and visible("images") and widget.stop_button.isVisible()


def test_gmm_from_calibration_is_plotted_against_its_data(qtbot, viewer, errors):
    widget = NoiseModelWidget(viewer)
    widget.kind.setCurrentText("GMM (calibration data)")
    widget.calibration.setCurrentText("calibration")
    build(qtbot, widget)
    model = widget.session.noise_model
    assert errors == [] and isinstance(model, GaussianMixtureNoiseModel)
    assert "GMM noise model" in widget.summary.text()
    assert len(widget.plot.curves) == N_CURVES
    assert all(len(points.getData()[0]) == 40 for points in widget.plot.data_points)
    line_s, line_std = widget.plot.std_line.getData()
    data_s, data_std = widget.plot.std_points.getData()
    assert len(data_s) >= 10
    # a good fit: the model's noise std runs through the measured points
    np.testing.assert_allclose(np.interp(data_s, line_s, line_std), data_std, rtol=0.25)


def test_poisson_gaussian_from_camera_and_estimated(qtbot, viewer, errors, calibration):
    viewer.add_image(calibration[:4], name="frames")
    widget = NoiseModelWidget(viewer)
    widget.kind.setCurrentText("Poisson–Gaussian (camera or images)")
    widget.images.setCurrentText("frames")
    widget.use_camera.setChecked(True)
    widget.gain.setValue(2.0)
    widget.offset.setValue(100.0)
    widget.read_noise.setValue(6.0)
    build(qtbot, widget)
    model = widget.session.noise_model
    assert isinstance(model, PoissonGaussianNoiseModel) and model.gain == 2.0
    assert len(widget.plot.std_points.getData()[0]) >= 2  # the images, against the camera
    widget.use_camera.setChecked(False)
    build(qtbot, widget)
    estimated = widget.session.noise_model
    assert errors == [] and estimated.origin == "estimated" and estimated is not model
    assert estimated.gain == pytest.approx(2.0, rel=0.2)


def test_bootstrap_trains_n2v_and_can_be_stopped(qtbot, viewer, errors, monkeypatch):
    from napari_pn2v._qt import noise_model_widget

    training = dict(
        epochs=1,
        steps_per_epoch=2,
        batch_size=4,
        patch_size=32,
        lr=3e-3,
        val_fraction=0.25,
        seed=0,
        val_patches=4,
    )
    monkeypatch.setattr(noise_model_widget, "BOOTSTRAP_TRAINING", TrainConfig(**training))
    monkeypatch.setattr(
        noise_model_widget, "BOOTSTRAP_NETWORK", ModelConfig("n2v", depth=2, features=8)
    )
    widget = NoiseModelWidget(viewer)
    widget.kind.setCurrentText("Bootstrap (noisy images only)")
    widget.images.setCurrentText("noisy")
    widget.fit.value = "histogram"
    widget.bins.value = 48
    build(qtbot, widget)  # two steps: N2V has learned nothing yet
    assert len(errors) == 1 and "train it longer" in errors[0]
    assert widget.session.noise_model is None

    monkeypatch.setattr(
        noise_model_widget,
        "BOOTSTRAP_TRAINING",
        TrainConfig(**dict(training, epochs=6, steps_per_epoch=10)),
    )
    build(qtbot, widget)
    assert len(errors) == 1 and isinstance(widget.session.noise_model, HistogramNoiseModel)
    assert widget.progress.value() == widget.progress.maximum() == 60
    assert widget.session.n2v is widget.built.n2v and widget.built.n2v.config.mode == "n2v"

    monkeypatch.setattr(
        noise_model_widget,
        "BOOTSTRAP_TRAINING",
        TrainConfig(epochs=1000, steps_per_epoch=3, batch_size=4, patch_size=32, val_fraction=0.25),
    )
    widget.session.noise_model = None
    assert widget.session.n2v is None  # another noise model: not its bootstrap's N2V
    errors.clear()
    widget.build_button.click()
    qtbot.waitUntil(lambda: widget.progress.value() > 0, timeout=120_000)
    widget.stop_button.click()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=180_000)
    assert widget.session.noise_model is None and "Stopped" in widget.summary.text()
    assert errors == []
