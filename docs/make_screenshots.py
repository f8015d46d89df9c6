"""Refresh the user guide's screenshots of the real widgets in a real viewer.

Run under a (virtual) screen from the repository root:

    xvfb-run -a python docs/make_screenshots.py

It opens the sample data, builds the noise model, trains PN2V with the Quick preset for one
minute (the preset's 5 minutes, shortened), denoises the sample and saves PNGs into
docs/images/. Only Build, Train and Denoise are clicked: the widgets' defaults pick the layers.
"""

from __future__ import annotations

from pathlib import Path

import napari
from qtpy.QtWidgets import QApplication

from napari_pn2v._qt.training_widget import State

OUT = Path(__file__).parent / "images"


def wait(condition, timeout: float = 600.0) -> None:
    import time

    app = QApplication.instance()
    end = time.monotonic() + timeout
    while not condition():
        app.processEvents()
        time.sleep(0.02)
        if time.monotonic() > end:
            raise TimeoutError("the widget did not finish in time")
    app.processEvents()


def grab(widget, name: str) -> None:
    QApplication.instance().processEvents()
    widget.grab().save(str(OUT / name))


def main() -> None:
    OUT.mkdir(exist_ok=True)
    viewer = napari.Viewer(show=True)
    viewer.window.resize(1500, 1000)
    viewer.open_sample("napari-pn2v", "calibration")
    viewer.open_sample("napari-pn2v", "noisy")
    _, noise = viewer.window.add_plugin_dock_widget("napari-pn2v", "1. Noise model")
    noise.build_button.click()
    wait(lambda: noise.worker is None and noise.session.noise_model is not None)
    grab(noise, "noise_model_widget.png")

    _, training = viewer.window.add_plugin_dock_widget("napari-pn2v", "2. Training", tabify=True)
    training.time_budget.value = 1.0
    training.settings.expand(animate=False)
    training.train_button.click()
    wait(lambda: len(training.plot.val_x) >= 3 or training.state is not State.TRAINING)
    print("training:", training.status.text(), flush=True)
    grab(training, "training_widget_running.png")
    wait(lambda: training.state is not State.TRAINING)
    grab(training, "training_widget.png")

    _, denoise = viewer.window.add_plugin_dock_widget("napari-pn2v", "3. Denoise", tabify=True)
    denoise.with_std.setChecked(True)
    denoise.run_button.click()
    wait(lambda: denoise.worker is None and "noisy_denoised" in viewer.layers)
    grab(denoise, "prediction_widget.png")

    viewer.layers["noisy_std"].visible = False
    viewer.canvas.grid.enabled = False
    for layer in viewer.layers:
        layer.visible = layer.name in ("noisy", "noisy_denoised")
    viewer.layers["noisy"].visible = False
    viewer.reset_view()
    QApplication.instance().processEvents()
    viewer.screenshot(str(OUT / "viewer_denoised.png"), canvas_only=False)
    viewer.layers["noisy"].visible = True
    viewer.layers["noisy_denoised"].visible = False
    viewer.screenshot(str(OUT / "viewer_noisy.png"), canvas_only=False)
    viewer.close()


if __name__ == "__main__":
    main()
