"""Live plot of the training and validation loss."""

from __future__ import annotations

import time

import pyqtgraph as pg
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QLabel, QStackedWidget

from ..backend.training.config import Progress

#: redraw at most this often (seconds); every epoch end is drawn regardless
REDRAW_INTERVAL = 0.25


class LossPlot(QStackedWidget):
    """Running mean training loss per step and validation loss per epoch, against epochs;
    before the first step a hint in the same space (an empty plot's axes say nothing, and
    a plot that appears would resize the dock, and napari's canvas with it, mid-training)."""

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumHeight(180)
        hint = QLabel("The training and validation losses are drawn here as training runs.")
        hint.setWordWrap(True)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.canvas = pg.PlotWidget()
        self.canvas.setLabel("bottom", "epoch")
        self.canvas.setLabel("left", "loss")
        self.canvas.addLegend(offset=(-5, 5))
        self.canvas.showGrid(x=True, y=True, alpha=0.3)
        self.train_curve = self.canvas.plot(
            [], [], pen=pg.mkPen("#4fa3ff", width=2), name="training"
        )
        self.val_curve = self.canvas.plot(
            [], [], pen=pg.mkPen("#ff9f40", width=2), symbol="o", symbolSize=5, name="validation"
        )
        self.addWidget(hint)
        self.addWidget(self.canvas)
        self.clear_points()

    def clear_points(self) -> None:
        """Empty: the hint shows."""
        self.setCurrentIndex(0)
        self.train_x: list[float] = []
        self.train_y: list[float] = []
        self.val_x: list[float] = []
        self.val_y: list[float] = []
        self._epoch_offset = 0.0
        self._last_draw = 0.0
        self._redraw()

    def start_run(self) -> None:
        """A continued run draws on after the last epoch of the previous one."""
        self._epoch_offset = self.val_x[-1] if self.val_x else 0.0

    def add(self, event: Progress) -> None:
        self.setCurrentIndex(1)
        x = self._epoch_offset + event.epoch - 1 + event.step / event.steps
        self.train_x.append(x)
        self.train_y.append(event.train_loss)
        if event.val_loss is not None:
            self.val_x.append(x)
            self.val_y.append(event.val_loss)
        now = time.monotonic()
        if event.val_loss is not None or now - self._last_draw > REDRAW_INTERVAL:
            self._redraw()
            self._last_draw = now

    def _redraw(self) -> None:
        self.train_curve.setData(self.train_x, self.train_y)
        self.val_curve.setData(self.val_x, self.val_y)
