"""The first ten minutes in napari: defaults that work with no other click, a Stop that
answers, and an exit nothing can crash (issue 18)."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from napari_pn2v._qt import workers
from napari_pn2v._qt.training_widget import State


def test_build_train_stop_denoise_with_the_defaults(make_napari_viewer, qtbot, errors, ticks):
    """The sample data, the three widgets docked, and only Build, Train, Stop, Denoise; the
    viewer answers all along (each of these on the GUI thread would block it for seconds)."""
    viewer = make_napari_viewer()
    viewer.open_sample("napari-pn2v", "calibration")
    viewer.open_sample("napari-pn2v", "noisy")
    _, noise = viewer.window.add_plugin_dock_widget("napari-pn2v", "1. Noise model")
    _, training = viewer.window.add_plugin_dock_widget("napari-pn2v", "2. Training")
    _, denoise = viewer.window.add_plugin_dock_widget("napari-pn2v", "3. Denoise")
    qtbot.waitUntil(lambda: not workers._RUNNING, timeout=60_000)  # the first imports
    qtbot.wait(300)  # napari lays out the new docks: their stall belongs to no phase below
    ticks.phase = "build"
    noise.build_button.click()
    qtbot.waitUntil(lambda: noise.worker is None, timeout=60_000)
    assert training.layers.checked_names() == ["noisy"]  # not the calibration stack
    ticks.phase = "train"
    training.train_button.click()
    qtbot.waitUntil(lambda: len(training.plot.train_x) >= 3, timeout=60_000)
    ticks.phase = "stop"
    training.train_button.click()  # Stop
    qtbot.waitUntil(lambda: training.state is not State.TRAINING, timeout=10_000)
    assert training.state is State.STOPPED and training.model is not None
    assert denoise.image.currentText() == "noisy"  # what the model was trained on
    ticks.phase = "denoise"
    denoise.run_button.click()
    qtbot.waitUntil(lambda: "noisy_denoised" in viewer.layers, timeout=60_000)
    result = viewer.layers["noisy_denoised"].data
    assert result.dtype == np.float32 and result.shape == viewer.layers["noisy"].data.shape
    assert errors == []
    phases = ("build", "train", "stop", "denoise")  # not "start": napari docking the widgets
    # a phase shorter than a tick has no gap of its own: work that blocked it would have
    # delayed a tick while the test waited in it
    assert all(ticks.longest.get(phase, 0.0) < 1.0 for phase in phases), ticks.longest


def test_the_denoise_widget_follows_the_selected_layer(make_napari_viewer, noisy):
    from napari_pn2v._qt.prediction_widget import PredictionWidget

    viewer = make_napari_viewer()
    viewer.add_image(noisy[0], name="first")
    viewer.add_image(noisy[1], name="second")
    widget = PredictionWidget(viewer)
    viewer.layers.selection.active = viewer.layers["first"]
    assert widget.image.currentText() == "first"
    viewer.layers.selection.active = viewer.layers["second"]
    assert widget.image.currentText() == "second"


def test_a_denoise_widget_docked_after_training_takes_the_trained_layer(
    make_napari_viewer, noisy, n2v_model
):
    from napari_pn2v._qt.prediction_widget import PredictionWidget
    from napari_pn2v.session import session_for

    viewer = make_napari_viewer()
    viewer.add_image(noisy[0], name="first")
    viewer.add_image(noisy[1], name="second")
    viewer.layers.selection.active = viewer.layers["second"]
    assert PredictionWidget(viewer).image.currentText() == "second"  # the selected one
    session = session_for(viewer)
    session.trained_on, session.model = ["first"], n2v_model
    assert PredictionWidget(viewer).image.currentText() == "first"


def test_the_selected_layer_is_ticked_for_training(make_napari_viewer, noisy):
    from napari_pn2v._qt.training_widget import TrainingWidget

    viewer = make_napari_viewer()
    viewer.add_image(noisy[0], name="first")
    viewer.add_image(noisy[1], name="second")
    viewer.layers.selection.active = viewer.layers["first"]
    widget = TrainingWidget(viewer)
    assert widget.layers.checked_names() == ["first"]
    widget.layers.set_checked([])
    viewer.add_image(noisy[0], name="third")  # a new layer is selected: it is ticked
    assert widget.layers.checked_names() == ["third"]


EXIT_SCRIPT = """
import sys, time
import napari
from qtpy.QtWidgets import QApplication

viewer = napari.Viewer(show=True)
viewer.open_sample("napari-pn2v", "calibration")
viewer.open_sample("napari-pn2v", "noisy")
_, noise = viewer.window.add_plugin_dock_widget("napari-pn2v", "1. Noise model")
_, training = viewer.window.add_plugin_dock_widget("napari-pn2v", "2. Training")
viewer.window.add_plugin_dock_widget("napari-pn2v", "3. Denoise")
app = QApplication.instance()

def wait(condition, seconds):
    start = time.time()
    while not condition() and time.time() - start < seconds:
        app.processEvents()
        time.sleep(0.02)

noise.build_button.click()
wait(lambda: noise.worker is None, 60)
training.train_button.click()
wait(lambda: len(training.plot.train_x) >= 2, 60)
print("training", training.worker is not None, flush=True)
if sys.argv[1] == "close":
    viewer.close()
"""


@pytest.mark.parametrize("how", ["exit with the viewer open", "close", "exit again"])
def test_leaving_napari_while_training_neither_crashes_nor_complains(tmp_path, how):
    """A worker thread left running at exit crashed the process (SIGSEGV, 2 of 3 tries) or
    touched deleted Qt objects; now it is stopped and waited for."""
    script = tmp_path / "leave.py"
    script.write_text(textwrap.dedent(EXIT_SCRIPT))
    done = subprocess.run(
        [sys.executable, str(script), how.split()[0]], capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "training True" in done.stdout
    assert "Error" not in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
