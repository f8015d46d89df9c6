"""How long napari's event loop stalls while the widgets build, train and denoise.

A 50 ms timer on the GUI thread records the gaps between its ticks while, on the sample data,
(after the docked training widget's first imports: the phase "after docking") the
noise-model widget builds a histogram, the training widget trains (the Quick preset, for
``--seconds``) and the denoise widget denoises the noisy image. The longest gap is how long the
viewer felt stuck. Goal (issue 18): ≤ 100 ms on a quiet machine, ≤ 250 ms with another
process busy. Run under a display (xvfb-run -a python -m benchmarks.responsiveness).

Writes benchmarks/results/responsiveness[-NAME].json (``--name busy`` for a run beside
another process).
"""

from __future__ import annotations

import argparse
import json
import platform
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
        self.phase = "idle"
        self._last = time.perf_counter()
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.setdefault(self.phase, []).append(1000 * (now - self._last) - TICK_MS)
        self._last = now

    def summary(self) -> dict:
        return {
            phase: {
                "ticks": len(gaps),
                "longest_stall_ms": float(max(gaps)),
                "p99_stall_ms": float(np.percentile(gaps, 99)),
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
    denoise.run_button.click()
    wait(app, lambda: denoise.worker is None, 300)
    wait(app, lambda: False, SETTLE)
    meter.phase = "idle after"
    wait(app, lambda: False, 1.0)
    meter.timer.stop()
    result = meter.summary()
    viewer.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="training time")
    parser.add_argument("--name", help="result file suffix, e.g. busy")
    args = parser.parse_args()
    phases = run(args.seconds)
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": platform.machine(),
        "tick_ms": TICK_MS,
        "condition": args.name or "quiet",
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
