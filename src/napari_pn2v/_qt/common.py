"""Pieces the three dock widgets share: layer pickers, plain-data extraction, messages."""

from __future__ import annotations

import atexit
import contextlib
import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from napari.layers import Image
from napari.qt.threading import create_worker
from napari.utils.notifications import show_error, show_warning
from qtpy.QtCore import Qt, QThreadPool, QTimer
from qtpy.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QWidget,
)

from ..backend.data.axes import SPATIAL, check_axes, guess_axes
from ..backend.data.channels import channel_count, channels_first, check_channels, numbered
from ..backend.data.stores import axes_hint
from ..backend.errors import PN2VError
from ..session import session_for

NOISE_MODEL_FILTER = "PN2V noise model (*.npz)"
MODEL_FILTER = "PN2V model (*.pt)"
PACKAGE_FILTER = "bioimage.io package (*.zip)"


#: how long closing napari (or the interpreter) waits for running workers to stop (ms)
STOP_WAIT_MS = 15_000
#: how long after a widget docks its first imports start (ms; see :func:`warm_up_once`)
WARM_UP_DELAY_MS = 1500


@dataclass(eq=False)
class Running:
    """A worker a dock widget runs, and how to ask it to stop."""

    worker: object
    stop: Callable[[], None]

    def halt(self) -> None:
        """Ask it to stop (it stops at its next check, within about a second)."""
        with contextlib.suppress(RuntimeError):  # its Qt objects may be gone already
            self.stop()


#: every worker running now, in any viewer: stopped and waited for when napari or the
#: interpreter goes (a worker thread left running then crashed the process at exit)
_RUNNING: set[Running] = set()


def halt_all(wait_ms: int = STOP_WAIT_MS) -> None:
    """Stop every running worker and wait for their threads."""
    for running in list(_RUNNING):
        running.halt()
    QThreadPool.globalInstance().waitForDone(wait_ms)


def _halt_all_and_close() -> None:
    """At interpreter exit: stop the workers, then close the viewers while Python is whole.
    Left to PyQt's own clean-up at exit, a viewer that had trained crashed the process
    (SIGSEGV in PyQt's exit handler, about 1 exit in 4)."""
    halt_all()
    from napari import Viewer

    with contextlib.suppress(RuntimeError):
        Viewer.close_all()


@functools.cache
def _stop_workers_at_exit() -> None:
    atexit.register(_halt_all_and_close)
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(halt_all)


class DockWidget(QWidget):
    """Base of the three dock widgets: the viewer, the session it shares, the running worker.

    A widget's worker is stopped and waited for when the widget goes (its dock or the viewer
    closed), napari quits or the interpreter exits; session signals reach it only while it is
    alive.
    """

    def __init__(self, napari_viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        self.session = session_for(napari_viewer)
        self.worker = None
        self._current: list[Running] = []  # no reference to self: used after it is deleted
        self.destroyed.connect(functools.partial(_halt_and_wait, self._current))

    def start_worker(self, worker, stop: Callable[[], None] | None = None) -> None:
        """Start ``worker``; ``stop`` asks it to stop (default: at its next yield)."""
        running = Running(worker, stop or worker.quit)
        _RUNNING.add(running)
        self._current[:] = [running]
        worker.finished.connect(functools.partial(_RUNNING.discard, running))
        _stop_workers_at_exit()
        self.worker = worker
        worker.start()

    def stop_worker(self) -> None:
        for running in self._current:
            running.halt()

    def listen(self, signal, slot: Callable) -> None:
        """Connect a session signal to ``slot`` while this widget is alive (a deleted widget's
        Qt objects raise when touched)."""

        def call(*args: object) -> None:
            if alive(self):
                slot(*args)
            else:
                signal.disconnect(call)

        signal.connect(call)


def warm_up_once(work: Callable[[], None], delay_ms: int = WARM_UP_DELAY_MS) -> None:
    """Run ``work`` once per process in a worker thread (waited for at exit like any worker),
    ``delay_ms`` after the event loop gets here: for imports that would otherwise stall the
    viewer when a first run makes them. Not at once: while napari lays out a new dock, each of
    its many Python calls would wait for the worker to let go of the GIL (0.77 s of stall
    then, against 0.11 s when the viewer is idle)."""
    if work in _WARMED:
        return
    _WARMED.add(work)
    worker = create_worker(work, _start_thread=False)
    running = Running(worker, lambda: None)  # seconds of imports: nothing to stop
    _RUNNING.add(running)
    worker.finished.connect(functools.partial(_RUNNING.discard, running))
    _stop_workers_at_exit()
    QTimer.singleShot(delay_ms, worker.start)


_WARMED: set[Callable[[], None]] = set()


def alive(widget: QWidget) -> bool:
    try:
        widget.objectName()
    except RuntimeError:  # wrapped C/C++ object has been deleted
        return False
    return True


def _halt_and_wait(current: list[Running], *_: object) -> None:
    if any(running in _RUNNING for running in current):
        for running in current:
            running.halt()
        QThreadPool.globalInstance().waitForDone(STOP_WAIT_MS)


class _FollowsLayers:
    """Calls ``refresh`` when image layers come, go, move or are renamed.

    Bound methods only: napari holds them weakly, so a closed widget is not called again.
    """

    def _follow(self, viewer) -> None:
        events = viewer.layers.events
        for event in (events.inserted, events.removed, events.reordered):
            event.connect(self.refresh)
        events.inserted.connect(self._follow_names)
        self._follow_names()

    def _follow_names(self, *_: object) -> None:
        for layer in self._viewer.layers:
            layer.events.name.connect(self.refresh)  # connecting twice is a no-op

    def refresh(self, *_: object) -> None:
        raise NotImplementedError


class LayerCombo(_FollowsLayers, QComboBox):
    """A drop-down of the viewer's image layers, kept in step with the layer list; ``fixed``
    choices that are not layers come first."""

    def __init__(self, viewer, parent: QWidget | None = None, fixed: Sequence[str] = ()) -> None:
        super().__init__(parent)
        self._viewer = viewer
        self._fixed = list(fixed)
        self._follow(viewer)
        self.refresh()

    def refresh(self, *_: object) -> None:
        current = self.currentText()
        names = [layer.name for layer in self._viewer.layers if isinstance(layer, Image)]
        self.blockSignals(True)
        self.clear()
        self.addItems(self._fixed + names)
        if current in self._fixed + names:
            self.setCurrentText(current)
        self.blockSignals(False)
        if self.currentText() != current:  # e.g. the first layer arrived
            self.currentTextChanged.emit(self.currentText())

    def layer(self) -> Image | None:
        """The chosen layer; None for a fixed choice."""
        name = self.currentText()
        if name in self._fixed:
            return None
        return next((layer for layer in self._viewer.layers if layer.name == name), None)


def image_data(layer: Image | None, what: str) -> np.ndarray:
    """The layer's pixel array for a worker; refuses what PN2V can't use.

    Not converted here: a lazy (dask, zarr) array is read inside the worker, off the GUI thread.
    """
    if layer is None:
        raise PN2VError(f"choose an image layer for the {what}")
    if not isinstance(layer, Image):
        raise PN2VError(f"{layer.name}: the {what} must be an image layer")
    if layer.rgb:
        raise PN2VError(f"{layer.name}: RGB layers are not supported; split the channels first")
    return layer.data[0] if layer.multiscale else layer.data


def layer_axes(
    layer: Image, dims: int = 2, channels: bool = False, given: str | None = None
) -> str:
    """The layer's axis order: ``given`` (the widget's Axes field), else its axis labels when
    they are letters of TZCYX (as a reader may set them), else the order its file states
    (napari's own reader names no axes), else a guess by dimension (and network: 3-D data is
    a Z stack for a 3-D network). Channels
    (C > 1) are refused unless ``channels``, and so is a layer whose Y and X (Z, Y and X for
    a 3-D network) are not its last axes, as napari and the network hold them."""
    if layer.rgb:
        raise PN2VError(f"{layer.name}: RGB layers are not supported; split the channels first")
    shape = tuple((layer.data[0] if layer.multiscale else layer.data).shape)
    labels = [str(label).upper() for label in layer.axis_labels]
    # napari's default labels ("axis -1", …) are no letters: then the file or the dimensions
    hint = "".join(labels) if all(len(label) == 1 for label in labels) else None
    axes = given or guess_axes(len(shape), hint or _file_axes(layer.source.path), dims)
    axes = check_axes(axes, shape, layer.name, dims, channels)
    spatial = SPATIAL[dims]
    if not axes.endswith(spatial):
        raise PN2VError(
            f"{layer.name}: axes {axes}; {', '.join(spatial)} must be the last "
            "axes (transpose the layer first)"
        )
    return axes


@functools.lru_cache(maxsize=64)
def _file_axes(path: str | None) -> str | None:
    """The axis order a layer's file states (its header, read once)."""
    return axes_hint(path) if path else None


def layer_images(
    layers: Sequence[Image], dims: int, what: str, given: str | None = None
) -> tuple[list, list[str] | None]:
    """(the layers' pixel arrays for a job, with their channels first when they have more than
    one, those channels' names — None without channels); all must have as many. ``given``:
    their axes, as :func:`layer_axes` takes them."""
    arrays, counts = [], []
    for layer in layers:
        data = image_data(layer, what)  # refuses a missing layer first
        axes = layer_axes(layer, dims, channels=True, given=given)
        counts.append(channel_count(data.shape, axes))
        arrays.append(channels_first(data, axes) if counts[-1] > 1 else data)
    count = check_channels(counts, what) if counts else 1
    return arrays, (numbered(count) if count > 1 else None)


def describe_stack(layer: Image, dims: int = 2, given: str | None = None) -> str:
    """E.g. "3 planes of 512×512 (axes TYX)", "1 Z stack of 32×512×512 (axes ZYX)" or
    "2 channels of 3 planes of 512×512 (axes TCYX)" — what a ``dims``-D network will
    denoise."""
    axes = layer_axes(layer, dims, channels=True, given=given)
    shape = layer.data[0].shape if layer.multiscale else layer.data.shape
    channels = channel_count(shape, axes)
    count = int(np.prod(shape[:-dims], dtype=np.int64)) // channels
    unit = "Z stack" if dims == 3 else "plane"
    what = f"1 {unit}" if count == 1 else f"{count} {unit}s"
    what = f"{channels} channels of {what}" if channels > 1 else what
    return f"{what} of {'×'.join(map(str, shape[-dims:]))} (axes {axes})"


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


class LayerChecklist(_FollowsLayers, QListWidget):
    """Checkable list of the viewer's image layers, for picking several at once."""

    def __init__(self, viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._viewer = viewer
        self.setMaximumHeight(90)
        self._follow(viewer)
        self.refresh()

    def refresh(self, *_: object) -> None:
        checked = set(self.checked_names())
        self.clear()
        for layer in self._viewer.layers:
            if isinstance(layer, Image):
                item = QListWidgetItem(layer.name, self)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(
                    Qt.CheckState.Checked if layer.name in checked else Qt.CheckState.Unchecked
                )

    def checked_names(self) -> list[str]:
        return [
            self.item(i).text()
            for i in range(self.count())
            if self.item(i).checkState() == Qt.CheckState.Checked
        ]

    def set_checked(self, names: list[str]) -> None:
        for i in range(self.count()):
            item = self.item(i)
            item.setCheckState(
                Qt.CheckState.Checked if item.text() in names else Qt.CheckState.Unchecked
            )

    def layers(self) -> list[Image]:
        return [self._viewer.layers[n] for n in self.checked_names() if n in self._viewer.layers]
