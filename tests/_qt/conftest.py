"""A viewer with the sample data, and a record of the notifications the widgets show."""

from __future__ import annotations

import numpy as np
import pytest

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
