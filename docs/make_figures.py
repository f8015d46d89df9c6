"""The user guide's real-data figures: before/after and uncertainty on FMD Confocal_MICE.

    python docs/make_figures.py [--seed 0]

As a user without calibration data would, through the job layer: estimate a Poisson–Gaussian
noise model from the 4 noisy frames, train PN2V on them (the quick preset), denoise the first
frame with its posterior standard deviation. The 50-frame average (fitted to the frame's
brightness, as benchmarks/lowsnr.py does) is only used to score and to show the error. Writes
docs/images/real_before_after.png and docs/images/real_uncertainty.png, and prints the PSNRs
quoted in their titles. Reads ../shared/data (never copied into the project); minutes on a CPU.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the benchmarks' data loader

from benchmarks.lowsnr import load  # noqa: E402

from napari_pn2v.backend import QUICK, ModelConfig, TrainConfig  # noqa: E402
from napari_pn2v.backend.metrics import psnr  # noqa: E402
from napari_pn2v.jobs.noise_model import NoiseModelJob  # noqa: E402
from napari_pn2v.jobs.prediction import PredictionJob  # noqa: E402
from napari_pn2v.jobs.training import TrainingJob  # noqa: E402

IMAGES = ROOT / "docs" / "images"
KIND = "Confocal_MICE"
#: the crop shown (rows, columns): cells and background, 256² of the 512² frame
CROP = (slice(128, 384), slice(96, 352))


def denoise(raw: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """The first frame's MMSE, prior mean and posterior std, from a model trained on all."""
    noise = NoiseModelJob("poisson-gaussian", images=[raw]).run().model
    config = TrainConfig(**QUICK, val_fraction=0.1, seed=seed)
    model = TrainingJob([raw], config, ModelConfig(mode="pn2v"), noise_model=noise).run()
    return PredictionJob(model, raw[0], ("denoised", "prior_mean", "std")).run()


def _show(ax, image, title, limits, cmap="gray") -> None:
    ax.imshow(image[CROP], cmap=cmap, vmin=limits[0], vmax=limits[1])
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()


def figures(raw: np.ndarray, reference: np.ndarray, out: dict[str, np.ndarray]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    noisy, clean = raw[0].astype(np.float32), reference[0]
    estimates = {"noisy": noisy, "denoised": out["denoised"], "prior mean": out["prior_mean"]}
    scores = {name: psnr(clean, image) for name, image in estimates.items()}
    limits = np.percentile(clean, [0.5, 99.5])
    fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.9), dpi=100)
    _show(axes[0], noisy, f"Noisy frame ({scores['noisy']:.1f} dB)", limits)
    _show(axes[1], out["denoised"], f"PN2V, no calibration ({scores['denoised']:.1f} dB)", limits)
    _show(axes[2], clean, "Average of 50 frames (reference)", limits)
    fig.suptitle(f"FMD {KIND}, test field of view: PSNR against the 50-frame average", fontsize=11)
    fig.tight_layout()
    fig.savefig(IMAGES / "real_before_after.png")
    plt.close(fig)

    error = np.abs(out["denoised"] - clean)
    top = float(np.percentile(error, 99.5))
    corr = float(np.corrcoef(out["std"].ravel(), error.ravel())[0, 1])
    fig, axes = plt.subplots(1, 2, figsize=(7.5, 4.0), dpi=100)
    _show(axes[0], out["std"], "PN2V posterior std (its own estimate)", (0, top), "magma")
    _show(axes[1], error, "|PN2V − reference| (the true error)", (0, top), "magma")
    fig.suptitle(
        f"Where PN2V is unsure: correlation of the two maps {corr:.2f}, same scale", fontsize=11
    )
    fig.tight_layout()
    fig.savefig(IMAGES / "real_uncertainty.png")
    plt.close(fig)
    for name, value in scores.items():
        print(f"{name}: {value:.2f} dB")
    print(f"correlation of std and |error|: {corr:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    raw, reference = load(KIND)
    figures(raw, reference, denoise(raw.astype(np.float32), args.seed))


if __name__ == "__main__":
    main()
