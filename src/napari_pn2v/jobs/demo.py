"""The whole pipeline on synthetic data: calibration → noise model → PN2V → MMSE.

Runs on a laptop CPU in a few minutes and checks itself against the known clean image.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from ..backend.data import synthetic
from ..backend.data.images import write_tiff
from ..backend.metrics import psnr
from ..backend.network.config import ModelConfig
from ..backend.training.config import Progress, TrainConfig
from .noise_model import NoiseModelJob
from .prediction import PredictionJob
from .training import TrainingJob

DEMO_MODEL = ModelConfig(mode="pn2v", depth=3, features=32, samples=200)
DEMO_TRAINING = TrainConfig(
    epochs=16, steps_per_epoch=25, batch_size=8, patch_size=64, lr=1e-3, val_fraction=0.25, seed=0
)


@dataclass
class DemoResult:
    psnr_input: float
    psnr_prior_mean: float
    psnr_mmse: float
    files: list[Path]


def run_demo(
    out_dir: str | Path,
    training: TrainConfig = DEMO_TRAINING,
    model_config: ModelConfig = DEMO_MODEL,
    on_progress: Callable[[Iterator[Progress], int], Iterator[Progress]] | None = None,
) -> DemoResult:
    """Make data, build the noise model, train, predict; write everything to ``out_dir``.

    ``on_progress`` may wrap the training iterator (e.g. in a progress bar); it gets the
    iterator and the number of steps.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    calibration = synthetic.calibration_stack(frames=20, shape=(128, 128))
    noise_model = NoiseModelJob("histogram", calibration=calibration).run().model
    _, train_noisy = synthetic.noisy_images(count=4, shape=(256, 256), seed=2)
    clean, noisy = synthetic.noisy_images(count=1, shape=(256, 256), seed=40)

    run = TrainingJob([train_noisy], training, model_config, noise_model=noise_model).start()
    steps: Iterator[Progress] = iter(run)
    if on_progress is not None:
        steps = on_progress(steps, run.steps)
    for _ in steps:
        pass
    model = run.best_model()
    result = PredictionJob(model, noisy[0], ("denoised", "prior_mean", "std")).run()

    files = {
        "noise_model.npz": noise_model.save,
        "model.pt": model.save,
    }
    written = []
    for name, save in files.items():
        save(out / name)
        written.append(out / name)
    images = {
        "clean": clean[0],
        "noisy": noisy[0],
        "denoised": result["denoised"],
        "prior_mean": result["prior_mean"],
        "std": result["std"],
    }
    for name, image in images.items():
        write_tiff(out / f"{name}.tif", image)
        written.append(out / f"{name}.tif")
    return DemoResult(
        psnr_input=psnr(clean[0], noisy[0]),
        psnr_prior_mean=psnr(clean[0], result["prior_mean"]),
        psnr_mmse=psnr(clean[0], result["denoised"]),
        files=written,
    )
