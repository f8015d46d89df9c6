"""File > Open Sample > napari-pn2v: synthetic data made on the spot, no download."""

from __future__ import annotations

from .backend.data import synthetic


def calibration_sample() -> list[tuple]:
    """20 noisy frames of a static ramp: what a calibration recording looks like."""
    return [
        (
            synthetic.calibration_stack(frames=20, shape=(128, 128)),
            {"name": "calibration", "colormap": "gray"},
        )
    ]


def noisy_sample() -> list[tuple]:
    """A noisy synthetic cell image with the same camera noise as the calibration sample."""
    clean, noisy = synthetic.noisy_images(count=1, shape=(256, 256), seed=40)
    return [
        (noisy[0], {"name": "noisy", "colormap": "gray"}),
        (clean[0], {"name": "ground_truth", "colormap": "gray", "visible": False}),
    ]
