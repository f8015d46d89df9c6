import numpy as np

from napari_pn2v._qt.common import guarded
from napari_pn2v._qt.noise_model_widget import N_CURVES, NoiseModelWidget
from napari_pn2v.backend import HistogramNoiseModel


def build(qtbot, widget):
    widget.build_button.click()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=20_000)


def test_build_from_the_calibration_layer_and_show_it(qtbot, viewer, errors):
    widget = NoiseModelWidget(viewer)
    widget.calibration.setCurrentText("calibration")
    widget.bins.setValue(64)
    build(qtbot, widget)
    model = widget.session.noise_model
    assert errors == [] and model is not None and model.bins == 64
    assert "64 bins" in widget.summary.text() and "outside" in widget.summary.text()
    assert widget.plot.image.image.shape == (64, 64)
    assert len(widget.plot.curves) == N_CURVES
    for curve in widget.plot.curves:
        x, y = curve.getData()
        assert len(x) > 0 and np.isfinite(y).all() and y.max() > 0


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
