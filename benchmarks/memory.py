"""Peak memory as the data grows: training and noise models, against the data's own size.

    python -m benchmarks.memory            # ~4 min on 2 CPU cores

Each case runs in a fresh process, so its peak resident memory (``ru_maxrss``) is its own.
*Above imports*: the peak minus the resident memory once torch and the package are imported —
what the data and the work cost. The data are synthetic uint8 stacks of 512 × 512 planes, as
an 8-bit microscope writes them (memory does not depend on the pixel values):

- ``train-n2v`` / ``train-pn2v``: the quick preset's network and batches, 3 steps and one
  validation (PN2V also chooses its spread and measures the images' noise), on N frames;
- ``noise-model``: a histogram from a 50-frame calibration stack of 512 × W pixels.

Goals (issue 20): training's peak grows with the data by no more than the data's float32
size, and the 250-Mpixel case peaks at ≤ 1.5 GB; a noise model costs ≤ 0.5 GB above its stack
at any size. Writes benchmarks/results/memory.json; `python -m benchmarks.report` adds it to
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch

from .speed import RESULTS, _peak_rss_mib, in_fresh_processes

PLANE = 512
#: (case, size): frames for training, calibration-stack width for noise models
CASES = [
    ("train-n2v", 100),
    ("train-n2v", 400),
    ("train-n2v", 950),
    ("train-pn2v", 400),
    ("noise-model", 512),
    ("noise-model", 2048),
    ("noise-model", 4096),
]
CALIBRATION_FRAMES = 50


def _data(shape: tuple[int, ...]) -> np.ndarray:
    """A uint8 stack filled plane by plane (no float copy is ever made here)."""
    rng = np.random.default_rng(0)
    data = np.empty(shape, np.uint8)
    for plane in data:
        plane[:] = rng.integers(0, 256, plane.shape, dtype=np.uint8)
    return data


def run_case(case: str, size: int) -> dict:
    from napari_pn2v.backend import (
        QUICK,
        ModelConfig,
        PoissonGaussianNoiseModel,
        TrainConfig,
    )
    from napari_pn2v.jobs import TrainingJob
    from napari_pn2v.jobs.noise_model import NoiseModelJob

    torch.set_num_threads(1)
    imported = _peak_rss_mib()
    if case == "noise-model":
        data = _data((CALIBRATION_FRAMES, PLANE, size))
        with_data = _peak_rss_mib()
        start = time.perf_counter()
        NoiseModelJob("histogram", calibration=data).run()
    else:
        data = _data((size, PLANE, PLANE))
        with_data = _peak_rss_mib()
        config = TrainConfig(**{**QUICK, "epochs": 1, "steps_per_epoch": 3}, seed=0)
        mode = case.split("-")[1]
        camera = PoissonGaussianNoiseModel.from_camera(1.0, 0.0, 2.0)  # any range
        noise = camera if mode == "pn2v" else None
        start = time.perf_counter()
        TrainingJob([data], config, ModelConfig(mode=mode), noise_model=noise).run()
    seconds = time.perf_counter() - start
    peak = _peak_rss_mib()
    data_mib = data.nbytes / 2**20
    return {
        "case": case,
        "size": size,
        "shape": list(data.shape),
        "megapixels": data.size / 1e6,
        "data_mib": data_mib,
        "float32_mib": 4 * data_mib,
        "imported_mib": imported,
        "with_data_mib": with_data,
        "peak_rss_mib": peak,
        "above_imports_mib": peak - imported,
        "above_data_mib": peak - with_data,
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", nargs=2, help=argparse.SUPPRESS)  # internal: one case
    parser.add_argument("--tag", default="", help="suffix of the result file (before/after)")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case[0], int(args.case[1]))))
        return
    in_fresh_processes(
        "benchmarks.memory",
        CASES,
        RESULTS / f"memory{args.tag}.json",
        f"{platform.processor() or platform.machine()}, 1 torch thread",
        plane=PLANE,
    )


if __name__ == "__main__":
    main()
