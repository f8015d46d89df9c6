"""A progress bar that paints with the rest of the window."""

from __future__ import annotations

from qtpy.QtWidgets import QProgressBar


class ProgressBar(QProgressBar):
    """``QProgressBar.setValue`` repaints the bar at once, and in napari's window (with its
    OpenGL canvas) each such repaint took ~10 ms of the GUI thread under Xvfb: two bars set on
    every training step were most of the viewer's stall while training. Here the new value
    is painted with the window's next update instead."""

    def setValue(self, value: int) -> None:
        self.setUpdatesEnabled(False)  # setValue's immediate repaint then does nothing
        super().setValue(value)
        self.setUpdatesEnabled(True)  # and this schedules an ordinary update
