"""A viewer with the sample data, and a record of the notifications the widgets show."""

from __future__ import annotations

import gc
import time

import numpy as np
import pytest
from qtpy.QtCore import QTimer

from napari_pn2v._qt import common


@pytest.fixture
def errors(monkeypatch) -> list[str]:
    """Messages the widgets sent to napari's error notifications."""
    shown: list[str] = []
    monkeypatch.setattr(common, "show_error", shown.append)
    return shown


@pytest.fixture
def viewer(make_napari_viewer, calibration, noisy):
    viewer = make_napari_viewer()
    viewer.add_image(calibration, name="calibration")
    viewer.add_image(noisy[0], name="noisy", scale=(0.5, 0.25), translate=(10.0, -3.0))
    viewer.add_image(np.zeros((32, 32, 3), np.uint8), name="rgb", rgb=True)
    return viewer


def tiny_training(widget, epochs=2, steps=3) -> None:
    """Settings that train in about a second on a CPU."""
    widget.time_budget.value = 0  # no time budget: the epochs decide
    widget.epochs.value = epochs
    widget.steps_per_epoch.value = steps
    widget.batch_size.value = 4
    widget.patch_size.value = 32
    widget.val_fraction.value = 0.25
    widget.samples.value = 16
    widget.depth.value = 2
    widget.features.value = 8
    widget.device.setCurrentText("cpu")


class EventLoopTicks:
    """The longest gap between the ticks of a 50 ms timer on the GUI thread, by phase: how long
    the viewer could not answer, less Python's garbage collections in the gap (they hold every
    thread and grow with the heap, a long test session's included). The speed goals live in
    benchmarks/responsiveness.py; tests only catch work that blocks the viewer for seconds."""

    def __init__(self) -> None:
        self.phase = "start"
        self.longest: dict[str, float] = {}
        self._last = time.perf_counter()
        self._collecting = self._collected = 0.0
        gc.callbacks.append(self._collection)
        self.timer = QTimer()
        self.timer.timeout.connect(self._tick)
        self.timer.start(50)

    def _collection(self, event: str, _: dict) -> None:
        if event == "start":
            self._collecting = time.perf_counter()
        else:
            self._collected += time.perf_counter() - self._collecting

    def _tick(self) -> None:
        now = time.perf_counter()
        gap = now - self._last - 0.05 - self._collected
        self.longest[self.phase] = max(self.longest.get(self.phase, 0.0), gap)
        self._last, self._collected = now, 0.0

    def stop(self) -> None:
        self.timer.stop()
        gc.callbacks.remove(self._collection)


@pytest.fixture
def ticks():
    meter = EventLoopTicks()
    yield meter
    meter.stop()
