"""2-D against 3-D networks on Z stacks: what the third dimension buys, and what it costs.

    python -m benchmarks.three_d          # ~15 min on 2 CPU cores

N2V is trained on one synthetic Z stack (blurred 3-D balls, Poisson–Gaussian camera noise)
with a 2-D network (plane by plane) and with the 3-D network, for the same number of steps and
the same pixels per step (2-D: 64 patches of 64²; 3-D: 4 patches of 16 × 64²), and both
denoise another stack of the same kind. Writes benchmarks/results/three_d.json;
`python -m benchmarks.report` adds it to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch

from napari_pn2v.backend import ModelConfig, TrainConfig, predict, synthetic
from napari_pn2v.backend.metrics import psnr
from napari_pn2v.jobs import TrainingJob

from .speed import RESULTS

SHAPE = (32, 128, 128)
NETWORK = dict(depth=3, features=16)
CASES = {
    2: dict(batch_size=64, patch_size=64),
    3: dict(batch_size=4, patch_size=64, patch_depth=16),
}


def stack(seed: int) -> tuple[np.ndarray, np.ndarray]:
    clean = synthetic.cell_volume(SHAPE, seed=seed)
    return clean, synthetic.PoissonGaussian()(clean, np.random.default_rng(seed + 100))


def run(dims: int, steps: int) -> dict:
    _, train = stack(0)
    clean, test = stack(1)
    value_range = float(np.ptp(clean))
    config = TrainConfig(
        epochs=steps // 10, steps_per_epoch=10, lr=1e-3, seed=0, holdout="region", **CASES[dims]
    )
    start = time.perf_counter()
    model = TrainingJob([train], config, ModelConfig(mode="n2v", dims=dims, **NETWORK)).run()
    train_seconds = time.perf_counter() - start
    start = time.perf_counter()
    denoised = predict(model, test)["denoised"]
    return {
        "dims": dims,
        "steps": steps,
        **CASES[dims],
        "train_seconds": train_seconds,
        "seconds_per_step": train_seconds / steps,
        "predict_seconds": time.perf_counter() - start,
        "psnr_input": psnr(clean, test, value_range),
        "psnr": psnr(clean, denoised, value_range),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    rows = []
    for dims in (2, 3):
        rows.append(run(dims, args.steps))
        print(json.dumps(rows[-1]), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "three_d.json").write_text(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d"),
                "shape": SHAPE,
                "network": NETWORK,
                "machine": f"{platform.machine()}, {torch.get_num_threads()} threads",
                "rows": rows,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
