import shutil
import subprocess
import sys

import numpy as np
import pytest

from napari_pn2v._qt.noise_model_widget import NoiseModelWidget
from napari_pn2v._qt.prediction_widget import PredictionWidget
from napari_pn2v._qt.training_widget import TrainingWidget


def test_manifest_validates_with_imports():
    npe2 = shutil.which("npe2") or pytest.skip("npe2 command not installed")
    result = subprocess.run(
        [npe2, "validate", "napari-pn2v", "--imports"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_widgets_dock_from_the_plugins_menu_and_share_one_session(make_napari_viewer):
    viewer = make_napari_viewer()
    widgets = []
    for name, kind in (
        ("1. Noise model", NoiseModelWidget),
        ("2. Training", TrainingWidget),
        ("3. Denoise", PredictionWidget),
    ):
        _, widget = viewer.window.add_plugin_dock_widget("napari-pn2v", name)
        assert isinstance(widget, kind)
        widgets.append(widget)
    assert widgets[0].session is widgets[1].session is widgets[2].session
    other = make_napari_viewer()
    _, widget = other.window.add_plugin_dock_widget("napari-pn2v", "2. Training")
    assert widget.session is not widgets[1].session


def test_sample_data_opens(make_napari_viewer):
    viewer = make_napari_viewer()
    viewer.open_sample("napari-pn2v", "calibration")
    viewer.open_sample("napari-pn2v", "noisy")
    assert viewer.layers["calibration"].data.shape == (20, 128, 128)
    assert viewer.layers["noisy"].data.shape == (256, 256)
    assert "ground_truth" in viewer.layers


def test_backend_never_imports_qt_or_napari():
    code = (
        "import sys, napari_pn2v.backend, napari_pn2v.cli, napari_pn2v.session; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('napari', 'qtpy', 'PyQt6', 'PyQt5', 'PySide6', 'magicgui')]; "
        "print(bad); sys.exit(bool(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_layer_pickers_follow_the_layer_list(viewer):
    from napari_pn2v._qt.prediction_widget import PredictionWidget
    from napari_pn2v._qt.training_widget import TrainingWidget

    prediction, training = PredictionWidget(viewer), TrainingWidget(viewer)
    combo, checklist = prediction.image, training.layers
    names = ["calibration", "noisy", "rgb"]
    assert [combo.itemText(i) for i in range(combo.count())] == names
    viewer.layers["noisy"].name = "renamed"
    viewer.layers.remove("rgb")
    viewer.add_image(np.zeros((8, 8)), name="new")
    expected = ["calibration", "renamed", "new"]
    assert [combo.itemText(i) for i in range(combo.count())] == expected
    assert [checklist.item(i).text() for i in range(checklist.count())] == expected
