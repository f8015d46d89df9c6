"""Value types of the ``pn2v`` command line's arguments: a bad value is a one-line usage
error, never a traceback."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def minutes(text: str) -> float:
    """A duration in minutes from e.g. "90s", "10m", "1.5h" or "10" (minutes)."""
    units = {"s": 1 / 60, "m": 1.0, "h": 60.0}
    scale = units.get(text[-1:].lower())
    try:
        value = float(text[:-1] if scale else text) * (scale or 1.0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 10m, 1h)") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def blind_radius(text: str) -> int | None:
    """A blind-spot radius in pixels, or "auto" (None: measured from the images' noise)."""
    if text.lower() == "auto":
        return None
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a radius: {text!r} (0–4 or auto)") from None
    if not 0 <= value <= 4:
        raise argparse.ArgumentTypeError(f"must be 0–4 or auto, got {text}")
    return value
