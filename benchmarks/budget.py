"""Time to quality: PSNR of N2V and PN2V after equal wall-clock training budgets.

One training run per method and data set, snapshotting the best model (by validation loss,
what a user who presses Stop gets) when the training clock passes each budget; the snapshots
are evaluated afterwards, so evaluation never eats into training time.

    python -m benchmarks.budget --data fmd --method n2v --minutes 2,5,15,45
    python -m benchmarks.budget --data synthetic --method pn2v

Data sets: ``fmd`` — FMD Confocal BPAE (../shared/data), train on the raw frames of FOV 1–3,
test on FOV 4, histogram noise model from (raw, avg50) pairs, as in benchmarks.quality;
``synthetic`` — Poisson–Gaussian camera noise on synthetic cells, a calibration stack that
covers the signal range, test on scenes never trained on.
Validation (which picks each snapshot's best model) holds out a region — a strip of rows at the
bottom of every frame — on ``fmd``, whose training frames are 50 noisy copies of three scenes:
held-out frames would show the network the very content it memorises. ``synthetic`` holds
out a whole scene (``frames``). ``--holdout`` overrides.
Methods: ``n2v``; ``pn2v`` (this project's default: location-scale prior + N2V loss on the
location, prior spread chosen by SURE for prediction); ``pn2v-plain`` (location-scale, PN2V
loss alone); ``pn2v-published`` (the published head and loss). ``--set
spread_calibration=0 --name pn2v-trained-spread`` predicts with the spread as trained.
Writes benchmarks/results/budget-<data>-<method>[-seedN].json.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from napari_pn2v.backend import (
    HistogramNoiseModel,
    ModelConfig,
    PN2VModel,
    TrainConfig,
    predict,
)
from napari_pn2v.backend import synthetic as synth
from napari_pn2v.backend.metrics import psnr
from napari_pn2v.backend.noise.calibration import frame_signals
from napari_pn2v.jobs import TrainingJob
from napari_pn2v.jobs.training import TrainingRun

from .quality import (
    DATA,
    NETWORK,
    PRESETS,
    RESULTS,
    TEST_FOV,
    TRAIN_FOVS,
    cpu_name,
    load_fov,
    noise_model_from_pairs,
    summary,
)

#: method -> (model settings, training settings) on top of the CPU quality preset
METHODS: dict[str, tuple[dict, dict]] = {
    "n2v": (dict(mode="n2v"), {}),
    "pn2v": (dict(mode="pn2v"), {}),
    "pn2v-plain": (dict(mode="pn2v"), dict(location_weight=0.0, prior_mean_loss="joint")),
    "pn2v-published": (
        dict(mode="pn2v", prior="published"),
        dict(location_weight=0.0, prior_mean_loss="joint"),
    ),
}
HOLDOUT = {"fmd": "region", "synthetic": "frames"}


def fmd_data(test_frames: int) -> tuple[list[np.ndarray], HistogramNoiseModel, list, float]:
    """(training stacks, noise model, [(noisy test image, reference)], PSNR range).

    Each test frame's reference is avg50 fitted to that frame by a gain and an offset: the
    frames' brightness drifts — FOV 4's first frames are 8–10 % dimmer than their average at
    bright pixels — and a denoiser of one frame should find that frame's signal, not the
    average's brightness (against plain avg50, snapshots that brighten structures by mistake
    scored up to 2 dB higher).
    """
    train = [load_fov(DATA, f) for f in TRAIN_FOVS]
    raws, gts = [r for r, _ in train], [g for _, g in train]
    test_raw, test_gt = load_fov(DATA, TEST_FOV)
    frames = test_raw[:test_frames]
    tests = list(zip(frames, frame_signals(test_gt, frames), strict=True))
    return raws, noise_model_from_pairs(raws, gts), tests, 255.0


#: what each data set's test images are compared with
REFERENCE = {
    "fmd": "avg50 fitted to each test frame (gain, offset)",
    "synthetic": "the clean scene",
}


def synthetic_data(test_frames: int) -> tuple[list[np.ndarray], HistogramNoiseModel, list, float]:
    """Eight 256² training scenes, a 20-frame calibration ramp over [100, 640] that covers
    the scenes' [110, 600], and ``test_frames`` unseen scenes."""
    calibration = synth.calibration_stack(frames=20, shape=(128, 128))
    noise_model = HistogramNoiseModel.from_calibration(calibration, bins=256)
    _, train = synth.noisy_images(count=8, shape=(256, 256), seed=2)
    clean, noisy = synth.noisy_images(count=test_frames, shape=(256, 256), seed=100)
    return [train], noise_model, list(zip(noisy, clean, strict=True)), 490.0


def train_with_snapshots(
    run: TrainingRun, minutes: list[float]
) -> list[tuple[float, int, PN2VModel]]:
    """Train until the last budget; (minutes, steps, best model) at each budget."""
    marks, snapshots = sorted(minutes), []
    start = time.perf_counter()
    for steps, _ in enumerate(run, start=1):
        elapsed = time.perf_counter() - start
        while marks and elapsed >= 60 * marks[0]:
            snapshots.append((marks.pop(0), steps, run.best_model()))
        if not marks:
            break
    return snapshots


def run(
    data: str,
    method: str,
    minutes: list[float],
    test_frames: int,
    overrides: dict | None = None,
    seed: int = 0,
    save: Path | None = None,
    network_overrides: dict | None = None,
) -> dict:
    images, noise_model, tests, data_range = (fmd_data if data == "fmd" else synthetic_data)(
        test_frames
    )
    model_settings, train_settings = METHODS[method]
    # the clock, not the epochs, ends training; the seed draws the weights and the patches
    preset = dict(PRESETS["cpu"], epochs=100_000, seed=seed)
    train_settings = {"holdout": HOLDOUT[data], **train_settings, **(overrides or {})}
    config = TrainConfig(**preset, **train_settings)
    network = ModelConfig(**{**NETWORK, **model_settings, **(network_overrides or {})})
    run = TrainingJob(
        images, config, network, noise_model=noise_model if network.mode == "pn2v" else None
    ).start()
    rows = []
    for budget, steps, model in train_with_snapshots(run, minutes):
        if save is not None:  # for studying prediction-side choices on the same snapshots
            save.mkdir(parents=True, exist_ok=True)
            model.save(save / f"{data}-{method}-seed{seed}-{budget:g}min.pt")
        scores: dict[str, list[float]] = {}
        for noisy, clean in tests:
            out = predict(model, noisy)
            for key in ("denoised", "prior_mean"):
                if key in out:
                    scores.setdefault(key, []).append(psnr(clean, out[key], data_range))
        row = {"minutes": budget, "steps": steps, "epochs": model.epochs_trained}
        if model.is_probabilistic:
            row["spread_scale"] = model.spread_scale
        row.update({key: summary(values) for key, values in scores.items()})
        rows.append(row)
        print(json.dumps(row), flush=True)
    input_scores = [psnr(clean, noisy, data_range) for noisy, clean in tests]
    return {
        "data": data,
        "method": method,
        "seed": seed,
        "date": time.strftime("%Y-%m-%d"),
        "reference": REFERENCE[data],
        "machine": f"{cpu_name()}, {torch.get_num_threads()} threads, cpu",
        "training": {**asdict(config), **asdict(network)},
        "input": summary(input_scores),
        "rows": rows,
    }


def _number_or_text(value: str) -> float | str:
    """A ``--set`` value: a number where it reads as one (precision=bfloat16 stays text)."""
    try:
        return float(value)
    except ValueError:
        return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("fmd", "synthetic"), default="fmd")
    parser.add_argument("--method", choices=tuple(METHODS), default="pn2v")
    parser.add_argument(
        "--minutes",
        default="2,5,15,45",
        help="comma-separated training budgets (default: 2,5,15,45)",
    )
    parser.add_argument("--test-frames", type=int, default=10)
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="NAME=VALUE",
        help="override training settings, e.g. residual_delay=1000000 (for ablations)",
    )
    parser.add_argument(
        "--holdout",
        choices=("frames", "region"),
        help="validation holdout (default: region for fmd, frames for synthetic)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="training seed (default: 0); repeat with others to see the spread "
        "between runs: results of one method and data set are averaged over "
        "seeds in the report",
    )
    parser.add_argument(
        "--network",
        nargs="*",
        default=[],
        metavar="NAME=VALUE",
        help="override network settings, e.g. features=32 (a smaller, faster network)",
    )
    parser.add_argument("--name", help="result file suffix (default: the method)")
    parser.add_argument(
        "--save-models", type=Path, metavar="DIR", help="also save each snapshot's model file there"
    )
    args = parser.parse_args()
    minutes = [float(m) for m in args.minutes.split(",")]
    overrides: dict = {k: _number_or_text(v) for k, v in (i.split("=", 1) for i in args.set)}
    if args.holdout:
        overrides["holdout"] = args.holdout
    network = {k: int(v) for k, v in (item.split("=", 1) for item in args.network)}
    result = run(
        args.data,
        args.method,
        minutes,
        args.test_frames,
        overrides,
        args.seed,
        args.save_models,
        network,
    )
    RESULTS.mkdir(exist_ok=True)
    seed = f"-seed{args.seed}" if args.seed else ""
    path = RESULTS / f"budget-{args.data}-{args.name or args.method}{seed}.json"
    path.write_text(json.dumps(result, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
