"""What validation and the spread's choice cost, as a share of training time (quick preset).

    python -m benchmarks.validation [--tag=-before]     # ~6 min on one core

Trains N2V and PN2V (Poisson–Gaussian noise model estimated from the frames) on the 4 frames
of FMD TwoPhoton_BPAE_B (../shared/data/fmd-lowsnr) with the quick preset's steps, batches and
validation, for 5 of its 20 epochs (early epochs improve almost every time, the worst case for
work done at each improvement), one core, seed 0. Timed: the validation passes, the spread's
choice (SURE over every factor, PN2V) wherever it runs, and the best model's hand-over
(``best_model()``: the guard's check, and the spread's choice where it is made then).
Goal (issue 20): validation ≤ 5 % of training time. Writes benchmarks/results/validation.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch

from napari_pn2v.backend import QUICK, ModelConfig, TrainConfig, estimate_poisson_gaussian
from napari_pn2v.backend.training import trainer as trainer_module
from napari_pn2v.jobs import TrainingJob

from .lowsnr import load
from .quality import RESULTS

EPOCHS = 5


def measure(mode: str) -> dict:
    raw, _ = load("TwoPhoton_BPAE_B")
    noise_model = estimate_poisson_gaussian(raw)[0] if mode == "pn2v" else None
    config = TrainConfig(**{**QUICK, "epochs": EPOCHS}, val_fraction=0.1, seed=0)
    job = TrainingJob([raw.astype(np.float32)], config, ModelConfig(mode=mode), noise_model)
    trainer = job.start().trainer
    spent = {"validation": 0.0, "spread": 0.0}

    def timed(name, function):
        def run(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start

        return run

    trainer.validate = timed("validation", trainer.validate)
    original = trainer_module.guarded_spread
    trainer_module.guarded_spread = timed("spread", original)
    try:
        start = time.perf_counter()
        for _ in trainer:
            pass
        training = time.perf_counter() - start
        during = dict(spent)
        start = time.perf_counter()
        trainer.best_model()
        hand_over = time.perf_counter() - start
    finally:
        trainer_module.guarded_spread = original
    return {
        "mode": mode,
        "epochs": EPOCHS,
        "steps": EPOCHS * config.steps_per_epoch,
        "training_seconds": training,
        "validation_seconds": during["validation"],
        "spread_seconds_during_training": during["spread"],
        "spread_seconds_at_hand_over": spent["spread"] - during["spread"],
        "hand_over_seconds": hand_over,
        "validation_share": during["validation"] / training,
        "epoch_end_share": (during["validation"] + during["spread"]) / training,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default="", help="suffix of the result file (before/after)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = [measure(mode) for mode in ("n2v", "pn2v")]
    for row in rows:
        print(row)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"validation{args.tag}.json").write_text(
        json.dumps(
            {
                "machine": f"{platform.processor() or platform.machine()}, 1 torch thread",
                "date": time.strftime("%Y-%m-%d"),
                "rows": rows,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
