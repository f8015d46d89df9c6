"""Speed and memory of training steps and MMSE prediction at the paper's configuration.

    python -m benchmarks.speed            # all cases, ~10 min on 2 CPU cores
    python -m benchmarks.speed --quick    # fewer repeats
    python -m benchmarks.speed --noise-models   # 512² prediction with each kind, ~3 min
    python -m benchmarks.speed --precision      # 512² prediction, float32 and bfloat16
    python -m benchmarks.speed --augment        # 512² prediction with test-time augmentation

Each case runs in a fresh process so its peak resident memory is its own. Writes
benchmarks/results/speed.json (speed-noise-models.json); `python -m benchmarks.report` turns it
into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

RESULTS = Path(__file__).parent / "results"
#: the paper's network: the engine's defaults
PAPER_NET = dict(mode="pn2v")


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def in_fresh_processes(
    module: str, cases: list[tuple[str, int]], path: Path, machine: str, **fields
) -> None:
    """Run each (case, size) as ``python -m module --case case size`` in a process of its own
    (so its peak memory is its own) and write the JSON line each prints, in order, as the
    ``rows`` of ``path`` with the machine, the date and ``fields``."""
    rows = []
    for case, size in cases:
        print(f"{case} {size} …", file=sys.stderr, flush=True)
        command = [sys.executable, "-m", module, "--case", case, str(size)]
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(output.strip().splitlines()[-1]))
        print(f"  {rows[-1]}", file=sys.stderr, flush=True)
    path.parent.mkdir(exist_ok=True)
    record = {"machine": machine, "date": time.strftime("%Y-%m-%d"), **fields, "rows": rows}
    path.write_text(json.dumps(record, indent=2))


def _noise_model(kind: str = "histogram"):
    """A noise model of the synthetic camera: fitted to its calibration frames (histogram,
    GMM), or its Poisson–Gaussian law, skewed as photon counting is on FMD's two-photon
    frames (skewness ≈ 1 in the dark) and clipped at 0."""
    from napari_pn2v.backend import (
        GaussianMixtureNoiseModel,
        HistogramNoiseModel,
        PoissonGaussianNoiseModel,
        synthetic,
    )

    if kind == "pg-skewed":
        return PoissonGaussianNoiseModel(2.0, 30.0, skew_ratio=10.0, clip_low=0.0, step=1.0)
    fit = {"histogram": HistogramNoiseModel, "gmm": GaussianMixtureNoiseModel}[kind]
    torch.manual_seed(0)
    return fit.from_calibration(synthetic.calibration_stack(20, (128, 128)))


def matmul_peak(repeats: int) -> dict:
    """Best-case float32 GFLOP/s of this machine: the fastest of several large matmuls."""
    n = 4096
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return {
        "gflops": 2 * n**3 / min(times) / 1e9,
        "gflops_median": 2 * n**3 / statistics.median(times) / 1e9,
    }


def train_step(batch: int, sparse: bool, repeats: int) -> dict:
    from torch.utils.flop_counter import FlopCounterMode

    from napari_pn2v.backend import ModelConfig, TrainConfig, synthetic
    from napari_pn2v.jobs import TrainingJob

    _, images = synthetic.noisy_images(count=2, shape=(256, 256))
    config = TrainConfig(
        epochs=1,
        steps_per_epoch=1,
        batch_size=batch,
        patch_size=100,
        val_fraction=0.0,
        seed=0,
        sparse_head=sparse,
        device="cpu",
    )
    job = TrainingJob(list(images), config, ModelConfig(**PAPER_NET), noise_model=_noise_model())
    trainer = job.start().trainer
    generator = torch.Generator().manual_seed(0)

    def step() -> None:
        loss = trainer.loss(trainer.data.batch(trainer._train[0], batch, generator, (100, 100)))
        trainer.optimizer.zero_grad()
        loss.backward()
        trainer.optimizer.step()

    step()  # warm-up
    with FlopCounterMode(display=False) as counter:
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    flops = counter.get_total_flops()
    return {
        "seconds": seconds,
        "gflop": flops / 1e9,
        "gflops": flops / seconds / 1e9,
        "repeats": repeats,
    }


def prediction(
    size: int,
    repeats: int,
    noise: str = "histogram",
    precision: str = "auto",
    mode: str = "pn2v",
    augment: bool = False,
) -> dict:
    """An untrained network (PN2V, or N2V with ``mode``), in the given ``precision``; with a
    noise model other than the histogram, its prior's spread is set to half the noise's std at
    the image's mean (trained priors are narrower: medians of 0.02–0.37 of it, four models
    trained on FMD's low-SNR frames), since those models' cost depends on it."""
    from napari_pn2v.backend import ModelConfig, PN2VModel, predict
    from napari_pn2v.backend.prediction.config import OVERLAP, TILE

    torch.manual_seed(0)
    noise_model = _noise_model(noise)
    network = ModelConfig(**{**PAPER_NET, "mode": mode})
    model = PN2VModel(network, mean=300.0, std=100.0, noise_model=noise_model)
    image = np.random.default_rng(0).uniform(150, 600, (size, size)).astype(np.float32)
    if noise != "histogram":
        model.spread_scale = 0.5 * _noise_std(noise_model, 375.0) / _prior_std(model, image)
    baseline = _peak_rss_mib()
    options = dict(device="cpu", precision=precision, augment=augment)
    predict(model, image[:256, :256], **options)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict(model, image, **options)
        times.append(time.perf_counter() - start)
    seconds = statistics.median(times)
    return {
        "noise_model": noise_model.summary() if mode == "pn2v" else None,
        "precision": precision,
        "augment": augment,
        "seconds": seconds,
        "mpixel_per_s": size * size / seconds / 1e6,
        "repeats": repeats,
        "rss_before_mib": baseline,
        "tile": TILE[2],
        "overlap": OVERLAP,
    }


def _noise_std(noise_model, signal: float) -> float:
    return float(noise_model.variance(torch.tensor([signal])).sqrt())


@torch.no_grad()
def _prior_std(model, image: np.ndarray) -> float:
    """The untrained prior's median std over a corner of ``image``."""
    x = model.normalise(torch.as_tensor(image[:64, :64]))[None, None]
    raw = model.net.head_at(model.net.body(x)[0].flatten(1).T)
    prior = model.prior(raw, calibrated=False)
    return float((prior.scale[:, 0] * prior.u.std(1)).median())


CASES = {
    "matmul": lambda r: matmul_peak(max(r, 5)),
    "train_b4_sparse": lambda r: train_step(4, True, r),
    "train_b4_dense": lambda r: train_step(4, False, r),
    "train_b80_sparse": lambda r: train_step(80, True, max(1, r // 3)),
    "train_b80_dense": lambda r: train_step(80, False, max(1, r // 3)),
    "predict_512": lambda r: prediction(512, r),
    "predict_2048": lambda r: prediction(2048, 1),
}
#: prediction with each kind of noise model (``--noise-models``): what the kind costs
NOISE_CASES = {
    "predict_512": CASES["predict_512"],
    "predict_512_gmm": lambda r: prediction(512, r, "gmm"),
    "predict_512_pg_skewed": lambda r: prediction(512, r, "pg-skewed"),
}


#: prediction in float32 and bfloat16 (``--precision``): what the arithmetic costs
PRECISION_CASES = {
    f"predict_512_{mode}_{precision}": (
        lambda r, m=mode, p=precision: prediction(512, r, precision=p, mode=m)
    )
    for mode in ("pn2v", "n2v")
    for precision in ("float32", "bfloat16")
}


#: prediction with test-time augmentation (``--augment``): what the 8 views cost
AUGMENT_CASES = {
    f"predict_512_{mode}{'_augment' if augment else ''}": (
        lambda r, m=mode, a=augment: prediction(512, r, mode=m, augment=a)
    )
    for mode in ("pn2v", "n2v")
    for augment in (False, True)
}


def _cpu_units() -> str:
    """Which bfloat16 units this CPU has (they decide what bfloat16 gains)."""
    from napari_pn2v.backend.devices import bfloat16_units

    units = bfloat16_units()
    return f"bfloat16 units: {', '.join(units)}" if units else "no bfloat16 units"


def run_case(name: str, repeats: int) -> dict:
    result = {**CASES, **NOISE_CASES, **PRECISION_CASES, **AUGMENT_CASES}[name](repeats)
    result["peak_rss_mib"] = _peak_rss_mib()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats instead of 7")
    parser.add_argument(
        "--noise-models",
        action="store_true",
        help="only 512² prediction with each kind of noise model (speed-noise-models.json)",
    )
    parser.add_argument(
        "--precision",
        action="store_true",
        help="only 512² prediction in float32 and bfloat16 (speed-precision.json)",
    )
    parser.add_argument(
        "--augment",
        action="store_true",
        help="only 512² prediction with and without test-time augmentation (speed-augment.json)",
    )
    parser.add_argument("--case", help=argparse.SUPPRESS)  # internal: run one case, print JSON
    args = parser.parse_args()
    repeats = 3 if args.quick else 7
    if args.case:
        print(json.dumps(run_case(args.case, repeats)))
        return
    results = {}
    cases, file_name = CASES, "speed.json"
    for wanted, only, file in (
        (args.noise_models, NOISE_CASES, "speed-noise-models.json"),
        (args.precision, PRECISION_CASES, "speed-precision.json"),
        (args.augment, AUGMENT_CASES, "speed-augment.json"),
    ):
        if wanted:
            cases, file_name = only, file
    for name in cases:
        print(f"{name} …", file=sys.stderr, flush=True)
        command = [sys.executable, "-m", "benchmarks.speed", "--case", name]
        if args.quick:
            command.append("--quick")
        output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        results[name] = json.loads(output.strip().splitlines()[-1])
        print(f"  {results[name]}", file=sys.stderr, flush=True)
    from .quality import cpu_name

    RESULTS.mkdir(exist_ok=True)
    (RESULTS / file_name).write_text(
        json.dumps(
            {
                "machine": f"{cpu_name()}, {torch.get_num_threads()} torch threads",
                "torch": torch.__version__,
                "date": time.strftime("%Y-%m-%d"),
                "cpu": _cpu_units(),
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
