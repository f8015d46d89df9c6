"""Low-SNR data without calibration: N2V against each PN2V noise model a user can make alone.

FMD test images of three more types (../shared/data/fmd-lowsnr: Confocal_MICE,
TwoPhoton_BPAE_B, WideField_BPAE_R), 4 noisy frames each of one scene, no calibration stack.
As a user without calibration data would: train on the 4 frames themselves (the quick preset,
one core), denoise them, compare with their 50-frame average fitted to each frame by a gain and
an offset (the frames drift; range 255). Methods: ``n2v``; ``pn2v-pg`` (Poisson–Gaussian
estimated from the frames, ``pn2v noise-model --kind poisson-gaussian --images``);
``pn2v-gmm`` and ``pn2v-histogram`` (bootstrapped: N2V first, then a fit to its predictions,
``pn2v train --bootstrap``); ``pn2v-frames`` (a histogram of the 4 frames taken as a
calibration stack: what a user with a few frames of a still scene can do).

Each row also gives the **Wiener bound**: what a per-pixel combination of the prior mean and
the pixel could gain at most if it knew the prior mean's error variance τ² and the noise
variance σ² in each band of the signal, 10·log10(MSE(prior mean) / Σ share·τ²σ²/(τ²+σ²)),
both measured against the reference — PN2V's whole margin over its prior mean.

    python -m benchmarks.lowsnr --type Confocal_MICE --method pn2v-pg [--seed 0]
        [--location-weight W] [--weight-average N] [--augment] [--save-model M.pt]
    python -m benchmarks.lowsnr --type ... --method ... --load-model M.pt --augment

Writes benchmarks/results/lowsnr-<type>-<method>[-lwW][-waN][-seedN][-TAG].json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import torch

from napari_pn2v.backend import (
    QUICK,
    ModelConfig,
    PN2VModel,
    TrainConfig,
    estimate_poisson_gaussian,
    predict,
)
from napari_pn2v.backend.data.images import read_image
from napari_pn2v.backend.metrics import psnr
from napari_pn2v.backend.noise.calibration import frame_signals
from napari_pn2v.jobs import NoiseModelJob, TrainingJob

from .quality import RESULTS, cpu_name, summary

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "fmd-lowsnr"
TYPES = ("Confocal_MICE", "TwoPhoton_BPAE_B", "WideField_BPAE_R")
METHODS = ("n2v", "pn2v-pg", "pn2v-gmm", "pn2v-histogram", "pn2v-frames")
#: signal bands (equal shares of the reference's pixels) of the Wiener bound
BANDS = 16


def load(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(the 4 raw frames as uint8, each frame's reference: avg50 fitted to it)."""
    folder = DATA / kind
    frames = sorted((folder / "raw").glob("*.png"))
    if not frames:
        raise SystemExit(f"no data under {folder}")
    raw = np.stack([read_image(f) for f in frames])
    average = read_image(folder / "gt" / "avg50.png").astype(np.float32)
    return raw, frame_signals(average, raw.astype(np.float32))


def wiener_gain(prior_mean: np.ndarray, raw: np.ndarray, reference: np.ndarray) -> float:
    """The Wiener bound (dB over the prior mean), in :data:`BANDS` bands of the reference."""
    edges = np.quantile(reference, np.linspace(0, 1, BANDS + 1)[1:-1])
    band = np.searchsorted(edges, reference, side="right")
    prior_error = (prior_mean - reference) ** 2
    noise = (raw - reference) ** 2
    combined = 0.0
    for b in range(BANDS):
        chosen = band == b
        if chosen.any():
            tau, sigma = prior_error[chosen].mean(), noise[chosen].mean()
            combined += chosen.mean() * tau * sigma / (tau + sigma)
    return float(10 * np.log10(prior_error.mean() / combined))


def train(kind: str, method: str, raw: np.ndarray, config: TrainConfig) -> tuple[PN2VModel, dict]:
    """The trained model and what its noise model was."""
    images = raw.astype(np.float32)
    info: dict = {}
    noise_model = None
    if method == "pn2v-pg":
        noise_model, levels = estimate_poisson_gaussian(raw)
        info["noise_correlation"] = levels.correlation
    elif method == "pn2v-frames":
        noise_model = NoiseModelJob("histogram", calibration=raw).run().model
    elif method in ("pn2v-gmm", "pn2v-histogram"):
        noise_model = (
            NoiseModelJob("bootstrap", images=[images], fit=method.split("-")[1], training=config)
            .run()
            .model
        )
    if noise_model is not None:
        info["noise_model"] = noise_model.summary()
    network = ModelConfig(mode="n2v" if method == "n2v" else "pn2v")
    model = TrainingJob([images], config, network, noise_model=noise_model).run()
    info["blind_radius"] = model.training["blind_radius"]  # as measured, where it was "auto"
    return model, info


def run(
    kind: str,
    method: str,
    seed: int,
    location_weight: float | None = None,
    weight_average: int | None = None,
    blind_radius: int | None = None,
    body_weight: float | None = None,
    save_model: Path | None = None,
    augment: bool = False,
) -> dict:
    raw, reference = load(kind)
    config = TrainConfig(**QUICK, val_fraction=0.1, seed=seed)
    if location_weight is not None:  # a lever of issue 21: N2V's error on the location
        config = dataclasses.replace(config, location_weight=location_weight)
    if weight_average is not None:  # a lever of issue 21: the kept weights averaged
        config = dataclasses.replace(config, weight_average=weight_average)
    if blind_radius is not None:  # correlated noise: hide the block around each masked pixel
        config = dataclasses.replace(config, blind_radius=blind_radius)
    if body_weight is not None:  # a lever of issue 21: the likelihood trains the body less
        config = dataclasses.replace(config, likelihood_body_weight=body_weight)
    start = time.perf_counter()
    model, result = train(kind, method, raw, config)
    if save_model is not None:  # for later evaluation (e.g. with test-time augmentation)
        model.save(save_model)
    result.update(
        type=kind,
        method=method,
        seed=seed,
        location_weight=config.location_weight,
        prior_mean_loss=config.prior_mean_loss,
        weight_average=config.weight_average,
        likelihood_body_weight=config.likelihood_body_weight,
        date=time.strftime("%Y-%m-%d"),
        train_seconds=time.perf_counter() - start,
        machine=f"{cpu_name()}, {torch.get_num_threads()} threads, cpu",
    )
    return result | evaluate(model, raw, reference, augment)


def _scores(model: PN2VModel, raw: np.ndarray, reference: np.ndarray, augment: bool) -> dict:
    """PSNR of the denoised frames (and prior means), the Wiener bound, seconds per frame."""
    scores: dict[str, list[float]] = {}
    bounds = []
    start = time.perf_counter()
    for frame, ref in zip(raw, reference, strict=True):
        out = predict(model, frame.astype(np.float32), augment=augment)
        for key in ("denoised", "prior_mean"):
            if key in out:
                scores.setdefault(key, []).append(psnr(ref, out[key], 255))
        prior = out.get("prior_mean", out["denoised"])
        bounds.append(wiener_gain(prior, frame.astype(np.float32), ref))
    seconds = (time.perf_counter() - start) / len(raw)
    return {
        **{key: summary(values) for key, values in scores.items()},
        "wiener_gain": float(np.mean(bounds)),
        "predict_seconds": seconds,
    }


def evaluate(model: PN2VModel, raw: np.ndarray, reference: np.ndarray, augment: bool) -> dict:
    """Scores of a trained model on the frames (``augmented``: with test-time augmentation
    too, a lever of issue 21) and what its guard decided."""
    result = {
        "reference": "avg50 fitted to each frame (gain, offset)",
        "input": summary([psnr(r, f, 255) for f, r in zip(raw, reference, strict=True)]),
        **_scores(model, raw, reference, augment=False),
    }
    if augment:
        result["augmented"] = _scores(model, raw, reference, augment=True)
    if model.is_probabilistic:
        result["spread_scale"] = model.spread_scale
        check = model.noise_check
        result["guard"] = {
            "trusted_share": float(
                sum(s for s, t in zip(check.shares, check.trusted, strict=True) if t)
            ),
            "messages": check.messages(),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--type", choices=TYPES, required=True)
    parser.add_argument("--method", choices=METHODS, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--location-weight", type=float, help="train with this location weight (a lever)"
    )
    parser.add_argument(
        "--weight-average", type=int, help="keep weights averaged over N steps (a lever)"
    )
    parser.add_argument(
        "--blind-radius", type=int, help="hide the (2r+1)² block around masked pixels (a lever)"
    )
    parser.add_argument(
        "--body-weight",
        type=float,
        help="PN2V: the likelihood's weight on the network's body, 0–1 (a lever)",
    )
    parser.add_argument("--save-model", type=Path, help="also save the trained model here")
    parser.add_argument(
        "--tag", help="a name for this machine's runs, kept beside the others' (…-seedN-TAG.json)"
    )
    parser.add_argument(
        "--augment", action="store_true", help="score with test-time augmentation too (a lever)"
    )
    parser.add_argument(
        "--load-model",
        type=Path,
        help="score this model, saved by an earlier run of the same row (--save-model), "
        "instead of training: the row's file keeps its training facts",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    RESULTS.mkdir(exist_ok=True)
    seed = f"-seed{args.seed}" if args.seed or args.tag else ""
    lever = "" if args.location_weight is None else f"-lw{args.location_weight:g}"
    lever += "" if args.weight_average is None else f"-wa{args.weight_average}"
    lever += "" if args.blind_radius is None else f"-br{args.blind_radius}"
    lever += "" if args.body_weight is None else f"-body{args.body_weight:g}"
    tag = f"-{args.tag}" if args.tag else ""
    path = RESULTS / f"lowsnr-{args.type}-{args.method}{lever}{seed}{tag}.json"
    if args.load_model is not None:
        if not path.exists():
            raise SystemExit(f"{path}: no earlier run of this row to add the scores to")
        raw, reference = load(args.type)
        model = PN2VModel.load(args.load_model)
        result = json.loads(path.read_text()) | evaluate(model, raw, reference, args.augment)
    else:
        result = run(
            args.type,
            args.method,
            args.seed,
            args.location_weight,
            args.weight_average,
            args.blind_radius,
            args.body_weight,
            args.save_model,
            args.augment,
        )
    path.write_text(json.dumps(result, indent=2))
    print(
        json.dumps({k: result.get(k) for k in ("denoised", "prior_mean", "wiener_gain", "guard")})
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
