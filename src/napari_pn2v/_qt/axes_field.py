"""The layers' axis order, typed in where napari and the file do not tell it: the widgets'
counterpart of the command line's ``--axes``."""

from __future__ import annotations

from qtpy.QtCore import QRegularExpression
from qtpy.QtGui import QRegularExpressionValidator
from qtpy.QtWidgets import QLineEdit, QWidget

AXES_TIP = (
    "the layer's axis order, letters of TZCYX (e.g. TZYX, CYX, ZCYX); every axis but C, Y and "
    "X is folded into planes, and each channel (C) gets its own model and noise model. Empty: "
    "the layer's axis labels, else its file's, else a guess by dimension"
)


class AxesField(QLineEdit):
    """Empty (auto), or the letters of TZCYX in the layer's order."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText("auto")
        self.setToolTip(AXES_TIP)
        self.setValidator(QRegularExpressionValidator(QRegularExpression("[TZCYXtzcyx]{0,5}")))

    def axes(self) -> str | None:
        """The axes typed in, upper case; None for auto."""
        return self.text().strip().upper() or None
