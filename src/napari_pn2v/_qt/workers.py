"""The dock widgets' workers: one base class that starts, stops and waits for them, so that no
worker outlives its widget, the viewer or the interpreter."""

from __future__ import annotations

import atexit
import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass

from napari.qt.threading import create_worker
from qtpy.QtCore import QThreadPool, QTimer
from qtpy.QtWidgets import QApplication, QWidget

from ..session import session_for

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
