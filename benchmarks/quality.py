"""Denoising quality on real confocal noise (FMD Confocal BPAE, ../shared/data).

Protocol (PN2V paper / FMD): train self-supervised on the raw frames of FOV 1–3, test on the
50 raw frames of FOV 4, PSNR against its 50-frame average with range 255; mean ± SEM over test
frames. Every learned method gets the same network and the same training budget.

    python -m benchmarks.quality                      # all methods, CPU preset (~1 h on 2 cores)
    python -m benchmarks.quality --method pn2v        # one method
    python -m benchmarks.quality --preset gpu         # the paper's settings, on a GPU

Each method writes benchmarks/results/quality-<preset>-<method>.json;
`python -m benchmarks.report` collects them into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from napari_pn2v.backend import PRESETS as ENGINE_PRESETS
from napari_pn2v.backend import (
    GaussianMixtureNoiseModel,
    HistogramNoiseModel,
    ModelConfig,
    TrainConfig,
    estimate_poisson_gaussian,
    predict,
)
from napari_pn2v.backend.data.images import read_image
from napari_pn2v.backend.devices import bfloat16_units, choose_device, describe_device
from napari_pn2v.backend.metrics import psnr
from napari_pn2v.backend.noise.calibration import frame_signals
from napari_pn2v.jobs import NoiseModelJob, TrainingJob

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "fmd-confocal-bpae-b"
RESULTS = Path(__file__).parent / "results"
TRAIN_FOVS, TEST_FOV = ("1", "2", "3"), "4"
METHODS = ("input", "n2v", "pn2v", "supervised", "bm3d", "pn2v-gmm", "pn2v-pg", "pn2v-bootstrap")
#: PN2V with a noise model made without a histogram of calibration data (issue 5)
NOISE_VARIANTS = {
    "pn2v-gmm": "PN2V (MMSE), GMM of the (raw, avg50) pairs",
    "pn2v-pg": "PN2V (MMSE), Poisson–Gaussian estimated from the raw frames",
    "pn2v-bootstrap": "PN2V (MMSE), bootstrapped GMM (no calibration data)",
}
PRESETS = {
    # ~15 minutes per learned method on 2 CPU cores
    "cpu": dict(epochs=30, steps_per_epoch=50, batch_size=4, patch_size=96, lr=5e-4, seed=0),
    # the paper's settings (Krull et al. 2020, section 5.3): the engine's "paper" preset
    "gpu": dict(ENGINE_PRESETS["paper"], seed=0),
}
#: the paper's network: the engine's defaults
NETWORK = {name: getattr(ModelConfig(), name) for name in ("depth", "features", "samples")}


def load_fov(data: Path, fov: str) -> tuple[np.ndarray, np.ndarray]:
    """(raw frames (50, 512, 512), ground truth avg50 (512, 512)) as float32."""
    frames = sorted((data / "raw" / fov).glob("*.png"))
    if not frames:
        raise SystemExit(f"no FMD data under {data}; pass --data")
    raw = np.stack([read_image(f) for f in frames]).astype(np.float32)
    return raw, read_image(data / "gt" / fov / "avg50.png").astype(np.float32)


def noise_model_from_pairs(raws: list[np.ndarray], gts: list[np.ndarray]) -> HistogramNoiseModel:
    """The paper's FMD noise model: 256 bins from (raw frame, avg50) pairs, with avg50 fitted
    to each frame by a gain and an offset (:func:`frame_signals`): the frames' brightness
    drifts (±9 %), which is no noise.

    The bins span [-0.5, 255.5) rather than the paper's [0, 256): avg50 is rounded to integers,
    and a signal row sits at its bin's centre, so integer signals must be the centres.
    [0, 256) would model every signal v with the observations of v − 0.5.
    """
    signals = [frame_signals(gt, raw) for raw, gt in zip(raws, gts, strict=True)]
    return HistogramNoiseModel.from_pairs(
        np.concatenate(signals, axis=2),
        np.concatenate(raws, axis=2),
        bins=256,
        value_range=(-0.5, 255.5),
    )


def poisson_gaussian_fit(pairs: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, float]:
    """(gain a, variance offset b) of var(x | s) = a·s + b, fitted on (raw, avg50) pairs."""
    signal = np.concatenate([np.broadcast_to(g, r.shape).ravel() for r, g in pairs])
    residual = np.concatenate([(r - g).ravel() for r, g in pairs])
    levels = np.arange(5, 250, 5)
    index = np.digitize(signal, levels)
    means, variances = [], []
    for i in np.unique(index):
        chosen = index == i
        if chosen.sum() > 1000:
            means.append(signal[chosen].mean())
            variances.append(residual[chosen].var())
    a, b = np.polyfit(means, variances, 1)
    return float(a), float(b)


def vst_bm3d(image: np.ndarray, gain: float, offset_var: float) -> np.ndarray:
    """Generalised Anscombe transform, BM3D at σ = 1, closed-form unbiased inverse
    (Mäkitalo & Foi 2013)."""
    import bm3d

    mu, sigma2 = 0.0, offset_var
    if offset_var < 0:  # the offset is a shift of the signal, not read noise
        mu, sigma2 = -offset_var / gain, 0.0
    z = (image - mu) / gain
    s2 = sigma2 / gain**2
    d = 2 * np.sqrt(np.maximum(z + 3 / 8 + s2, 0))
    e = np.maximum(bm3d.bm3d(d, sigma_psd=1.0), 1.0)  # the closed form is 0 at 1, wild below
    c = np.sqrt(1.5)
    inverse = e**2 / 4 + c / (4 * e) - 11 / (8 * e**2) + 5 * c / (8 * e**3) - 1 / 8 - s2
    return (gain * np.maximum(inverse, 0) + mu).astype(np.float32)


def cpu_name() -> str:
    """The CPU's model name: trainings of the same seed differ between CPUs (their float
    rounding), by up to 0.6 dB in benchmarks.lowsnr; and its AMX units, where it has them
    (training's ``precision`` auto takes bfloat16 there)."""
    amx = ", AMX" if "AMX" in bfloat16_units() else ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return f"{platform.machine()} ({line.split(':', 1)[1].strip()}{amx})"
    return f"{platform.machine()}{amx}"


def summary(values: list[float]) -> dict:
    v = np.asarray(values)
    return {
        "psnr": float(v.mean()),
        "sem": float(v.std(ddof=1) / np.sqrt(len(v))),
        "frames": len(v),
    }


def run(
    method: str, preset: str, data: Path, bm3d_frames: int, device: str, test_frames: int = 50
) -> dict:
    train = [load_fov(data, f) for f in TRAIN_FOVS]
    raws, gts = [r for r, _ in train], [g for _, g in train]
    test_raw, test_gt = load_fov(data, TEST_FOV)
    result: dict = {
        "method": method,
        "preset": preset,
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{cpu_name()}, {torch.get_num_threads()} threads, "
        f"{describe_device(choose_device(device))}",
    }
    if method == "input":
        result["rows"] = {"input": summary([psnr(test_gt, f, 255) for f in test_raw])}
        return result
    if method == "bm3d":
        gain, offset = poisson_gaussian_fit(train)
        start = time.perf_counter()
        scores = [psnr(test_gt, vst_bm3d(f, gain, offset), 255) for f in test_raw[:bm3d_frames]]
        result["seconds_per_frame"] = (time.perf_counter() - start) / bm3d_frames
        result["noise_fit"] = {"gain": gain, "offset_variance": offset}
        result["rows"] = {"VST + BM3D": summary(scores)}
        return result

    config = TrainConfig(**PRESETS[preset], device=device)
    network = ModelConfig(mode=method.split("-")[0], **NETWORK)
    targets = [np.broadcast_to(g, r.shape) for r, g in train] if method == "supervised" else None
    start = time.perf_counter()
    noise_model = None
    if method == "pn2v":
        noise_model = noise_model_from_pairs(raws, gts)
    elif method == "pn2v-gmm":
        noise_model = GaussianMixtureNoiseModel.from_pairs(
            np.concatenate(gts, axis=1), np.concatenate(raws, axis=2)
        )
    elif method == "pn2v-pg":
        noise_model, _ = estimate_poisson_gaussian(np.concatenate(raws))
    elif method == "pn2v-bootstrap":  # N2V first, at the same budget: twice the training
        noise_model = (
            NoiseModelJob("bootstrap", images=raws, fit="gmm", training=config, network=network)
            .run()
            .model
        )
    if noise_model is not None:
        result["noise_model"] = noise_model.summary()
    model = TrainingJob(raws, config, network, noise_model=noise_model, targets=targets).run()
    result["train_seconds"] = time.perf_counter() - start
    result["training"] = {
        **asdict(config),
        **NETWORK,
        "patches_seen": config.epochs * config.steps_per_epoch * config.batch_size,
    }
    if model.is_probabilistic:
        result["spread_scale"] = model.spread_scale
    outputs: dict[str, list[float]] = {}
    start = time.perf_counter()
    for frame in test_raw[:test_frames]:
        out = predict(model, frame, device=device)
        outputs.setdefault(method, []).append(psnr(test_gt, out["denoised"], 255))
        if "prior_mean" in out:  # what the network learned, before the noise model's MMSE
            outputs.setdefault(f"{method} prior mean", []).append(
                psnr(test_gt, out["prior_mean"], 255)
            )
    result["predict_seconds_per_frame"] = (time.perf_counter() - start) / min(
        test_frames, len(test_raw)
    )
    names = {
        "n2v": "N2V",
        "pn2v": "PN2V (MMSE)",
        "supervised": "supervised U-Net",
        "pn2v prior mean": "PN2V prior mean",
        **NOISE_VARIANTS,
        **{
            f"{k} prior mean": v.replace("(MMSE)", "(prior mean)")
            for k, v in NOISE_VARIANTS.items()
        },
    }
    result["rows"] = {names[k]: summary(v) for k, v in outputs.items()}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=(*METHODS, "all"), default="all")
    parser.add_argument("--preset", choices=tuple(PRESETS), default="cpu")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--bm3d-frames",
        type=int,
        default=10,
        help="test frames for BM3D, which is slow on a CPU (default: 10)",
    )
    parser.add_argument(
        "--test-frames",
        type=int,
        default=50,
        help="test frames for the learned methods (default: all 50)",
    )
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    for method in METHODS if args.method == "all" else (args.method,):
        print(f"{method} …", flush=True)
        result = run(
            method, args.preset, args.data, args.bm3d_frames, args.device, args.test_frames
        )
        path = RESULTS / f"quality-{args.preset}-{method}.json"
        path.write_text(json.dumps(result, indent=2))
        print(json.dumps(result["rows"]), flush=True)


if __name__ == "__main__":
    main()
