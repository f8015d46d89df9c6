"""Denoise with PN2V from a Python script: noise model, training, prediction.

    python examples/denoise_with_python.py [NOISY.tif] [--calibration CALIB.tif] [-o OUT]

With files: the noise model comes from the calibration stack (frames of a static scene) or,
without one, is estimated from the noisy images (Poisson–Gaussian); PN2V trains on the noisy
images for a few minutes (the quick preset) and denoises them into OUT (default: the current
folder): ``<name>_denoised.tif`` and ``<name>_std.tif``, the posterior standard deviation.
Without files it makes synthetic data and prints the PSNR of each step. The same jobs run
behind ``pn2v`` and the napari widgets.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from napari_pn2v.backend import QUICK, ModelConfig, TrainConfig, synthetic
from napari_pn2v.backend.data.images import read_image, write_tiff
from napari_pn2v.backend.metrics import psnr
from napari_pn2v.jobs import NoiseModelJob, PredictionJob, TrainingJob


def denoise(noisy: np.ndarray, calibration: np.ndarray | None, minutes: float) -> dict:
    """The MMSE estimate and its posterior std of each plane of ``noisy`` (planes, Y, X)."""
    if calibration is not None:
        noise_model = NoiseModelJob("histogram", calibration=calibration).run().model
    else:
        noise_model = NoiseModelJob("poisson-gaussian", images=[noisy]).run().model
    print(noise_model.summary())
    training = TrainConfig(**QUICK, time_budget=minutes, seed=0)
    model = TrainingJob([noisy], training, ModelConfig("pn2v"), noise_model=noise_model).run()
    return PredictionJob(model, noisy, ("denoised", "std")).run()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("noisy", nargs="?", type=Path, help="noisy image or stack (TIFF, PNG)")
    parser.add_argument("--calibration", type=Path, help="frames of a static scene")
    parser.add_argument("-o", "--output", type=Path, default=Path("."), help="output folder")
    parser.add_argument("--minutes", type=float, default=3.0, help="training time")
    args = parser.parse_args(argv)

    if args.noisy is None:  # synthetic cells with their ground truth
        clean, noisy = synthetic.noisy_images(count=2, shape=(128, 128), seed=1)
        calibration = synthetic.calibration_stack(frames=20, shape=(96, 96))
        name = "synthetic"
    else:
        clean, noisy = None, read_image(args.noisy).astype(np.float32)
        calibration = None if args.calibration is None else read_image(args.calibration)
        name = args.noisy.stem
    result = denoise(noisy, calibration, args.minutes)
    args.output.mkdir(parents=True, exist_ok=True)
    for key in ("denoised", "std"):
        write_tiff(args.output / f"{name}_{key}.tif", result[key])
    if clean is not None:
        before, after = psnr(clean, noisy), psnr(clean, result["denoised"])
        print(f"PSNR noisy {before:.2f} dB, PN2V {after:.2f} dB")
    print(f"wrote {name}_denoised.tif and {name}_std.tif to {args.output}")


if __name__ == "__main__":
    main()
