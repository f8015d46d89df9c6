"""Small pieces the three dock widgets share: file filters, messages, guarded actions, rows."""

from __future__ import annotations

from collections.abc import Callable

from napari.utils.notifications import show_error, show_warning
from qtpy.QtWidgets import QFileDialog, QHBoxLayout, QWidget

from ..backend.errors import PN2VError

NOISE_MODEL_FILTER = "PN2V noise model (*.npz)"
MODEL_FILTER = "PN2V model (*.pt)"
PACKAGE_FILTER = "bioimage.io package (*.zip)"


def report(error: BaseException) -> None:
    """Show an error as a napari notification; a traceback only for what we did not expect."""
    if isinstance(error, PN2VError):
        show_error(str(error))
    elif isinstance(error, MemoryError) or "out of memory" in str(error).lower():
        show_error("Out of memory: use a smaller batch size, patch size or tile size.")
    else:
        show_error(f"{type(error).__name__}: {error}")


def warn(message: str) -> None:
    show_warning(message)


def guarded(action: Callable[[], None]) -> Callable[[], None]:
    """Wrap a button handler so bad input becomes a notification, never an exception."""

    def run(*_: object) -> None:
        try:
            action()
        except (PN2VError, OSError, MemoryError) as error:
            report(error)

    return run


def file_action(
    parent: QWidget, title: str, file_filter: str, save: bool, action: Callable[[str], None]
) -> Callable[[], None]:
    """A button handler: ask for a file, then ``action(path)``; bad files become notifications."""
    dialog = QFileDialog.getSaveFileName if save else QFileDialog.getOpenFileName

    def ask() -> None:
        path, _ = dialog(parent, title, "", file_filter)
        if path:
            action(path)

    return guarded(ask)


def hbox(*widgets: QWidget) -> QHBoxLayout:
    """Widgets side by side, for one form row."""
    row = QHBoxLayout()
    for widget in widgets:
        row.addWidget(widget)
    return row
