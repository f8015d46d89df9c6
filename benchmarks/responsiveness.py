"""How long napari's event loop stalls while the widgets build, train and denoise.

A 50 ms timer on the GUI thread records the gaps between its ticks while, on the sample data,
(after the docked training widget's first imports: the phase "after docking") the
noise-model widget builds a histogram, the training widget trains (the Quick preset, for
``--seconds``) and the denoise widget denoises the noisy image; when its result arrives, the
phase "result appears" holds napari adding the layer, and "napari adds a layer" the same
``add_image`` alone in the idle viewer, for reference. The longest gap is how long the viewer
felt stuck; Python's garbage collections are timed too (a full one holds every thread).
Goal (issue 18): ≤ 100 ms on a quiet machine, ≤ 250 ms with another process busy. Each of
``--runs`` runs is a fresh process (the longest gap of one run is noisy). Run under a display
(xvfb-run -a python -m benchmarks.responsiveness).

Writes benchmarks/results/responsiveness[-NAME].json (``--name busy`` for a run beside
another process).
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import subprocess
import sys
import time

import numpy as np

from .quality import RESULTS

TICK_MS = 50
#: seconds a phase goes on after its work is done (see :func:`run`)
SETTLE = 1.0


class StallMeter:
    """Gaps between the ticks of a timer on the GUI thread, by phase."""

    def __init__(self) -> None:
        from qtpy.QtCore import QTimer

        self.gaps: dict[str, list[float]] = {}
        self.collections: dict[str, float] = {}
        self.phase = "idle"
        self._last = time.perf_counter()
        self._collecting = 0.0
        gc.callbacks.append(self._collection)
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.setdefault(self.phase, []).append(1000 * (now - self._last) - TICK_MS)
        self._last = now

    def _collection(self, event: str, _: dict) -> None:
        if event == "start":
            self._collecting = time.perf_counter()
            return
        took = 1000 * (time.perf_counter() - self._collecting)
        self.collections[self.phase] = max(self.collections.get(self.phase, 0.0), took)

    def summary(self) -> dict:
        gc.callbacks.remove(self._collection)
        return {
            phase: {
                "ticks": len(gaps),
                "longest_stall_ms": float(max(gaps)),
                "p99_stall_ms": float(np.percentile(gaps, 99)),
                "longest_collection_ms": self.collections.get(phase, 0.0),
            }
            for phase, gaps in self.gaps.items()
            if gaps
        }


def wait(app, condition, seconds: float) -> None:
    start = time.perf_counter()
    while not condition() and time.perf_counter() - start < seconds:
        app.processEvents()
        time.sleep(0.005)


def run(seconds: float) -> dict:
    import napari
    from qtpy.QtWidgets import QApplication

    from napari_pn2v._qt import common
    from napari_pn2v._qt.training_widget import State

    viewer = napari.Viewer(show=True)
    app = QApplication.instance()
    viewer.open_sample("napari-pn2v", "calibration")
    viewer.open_sample("napari-pn2v", "noisy")
    _, noise = viewer.window.add_plugin_dock_widget("napari-pn2v", "1. Noise model")
    _, training = viewer.window.add_plugin_dock_widget("napari-pn2v", "2. Training")
    _, denoise = viewer.window.add_plugin_dock_widget("napari-pn2v", "3. Denoise")
    meter = StallMeter()
    # the training widget makes a first training's imports in a worker once docked
    meter.phase = "after docking"
    wait(app, lambda: not common._RUNNING, 60)
    meter.phase = "idle"
    wait(app, lambda: False, 1.0)
    # each phase ends SETTLE seconds after its work, as a user's next click comes: what the
    # GUI does when a worker returns (a plot appears, layers are added) belongs to its phase
    meter.phase = "build noise model"
    noise.build_button.click()
    wait(app, lambda: noise.worker is None, 120)
    wait(app, lambda: False, SETTLE)
    meter.phase = "train"
    training.train_button.click()
    wait(app, lambda: training.state is not State.TRAINING, seconds)
    meter.phase = "stop"
    training.train_button.click()
    wait(app, lambda: training.state is not State.TRAINING, 60)
    wait(app, lambda: False, SETTLE)
    meter.phase = "denoise"

    def appears(_: object) -> None:
        meter.phase = "result appears"

    viewer.layers.events.inserted.connect(appears)
    denoise.run_button.click()
    wait(app, lambda: denoise.worker is None, 300)
    wait(app, lambda: False, SETTLE)
    viewer.layers.events.inserted.disconnect(appears)
    meter.phase = "idle after"
    wait(app, lambda: False, 1.0)
    meter.phase = "napari adds a layer"
    viewer.add_image(np.zeros(viewer.layers["noisy"].data.shape, np.float32), name="same size")
    wait(app, lambda: False, SETTLE)
    meter.timer.stop()
    result = meter.summary()
    viewer.close()
    return result


def _in_fresh_process(seconds: float) -> dict:
    """One run in its own interpreter: the first imports and collections as a user meets them."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.responsiveness", "--one", "--seconds", str(seconds)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def combine(runs: list[dict]) -> dict:
    """Per phase: the median and the worst of the runs' longest stalls, the median p99."""
    phases = {}
    for phase in runs[0]:
        rows = [run[phase] for run in runs if phase in run]
        longest = [row["longest_stall_ms"] for row in rows]
        phases[phase] = {
            "ticks": int(np.median([row["ticks"] for row in rows])),
            "longest_stall_ms": float(np.median(longest)),
            "worst_stall_ms": float(max(longest)),
            "p99_stall_ms": float(np.median([row["p99_stall_ms"] for row in rows])),
            "longest_collection_ms": float(max(row["longest_collection_ms"] for row in rows)),
        }
    return phases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="training time")
    parser.add_argument("--runs", type=int, default=3, help="runs, each a fresh process")
    parser.add_argument("--name", help="result file suffix, e.g. busy")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # a child run: its phases as the last line of its output
        print(json.dumps(run(args.seconds)))
        return
    runs = [_in_fresh_process(args.seconds) for _ in range(args.runs)]
    phases = combine(runs)
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": platform.machine(),
        "tick_ms": TICK_MS,
        "condition": args.name or "quiet",
        "runs": len(runs),
        "phases": phases,
    }
    RESULTS.mkdir(exist_ok=True)
    suffix = f"-{args.name}" if args.name else ""
    path = RESULTS / f"responsiveness{suffix}.json"
    path.write_text(json.dumps(result, indent=2))
    print(json.dumps(phases, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
