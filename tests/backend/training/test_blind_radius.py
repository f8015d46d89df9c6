"""Noise correlated between neighbouring pixels: the blind spot grows to hide it (auto)."""

import numpy as np
import pytest
from scipy import ndimage

from napari_pn2v.backend import ModelConfig, TrainConfig, Trainer, predict, synthetic
from napari_pn2v.backend.metrics import psnr

TINY = dict(depth=2, features=8)
TRAINING = dict(epochs=8, steps_per_epoch=15, batch_size=8, patch_size=32, lr=2e-3, seed=0)


def correlated_noise(shape: tuple[int, ...], std: float, seed: int) -> np.ndarray:
    """Gaussian noise of standard deviation ``std``, blurred so that neighbours correlate 0.6
    (about FMD's widefield camera's: 0.62 at one pixel, 0.22 at two)."""
    white = np.random.default_rng(seed).normal(0.0, 1.0, shape)
    blurred = np.stack([ndimage.gaussian_filter(w, 0.7) for w in white])
    return blurred * std / blurred.std()


@pytest.fixture(scope="module")
def scene():
    clean = np.stack([synthetic.cells((96, 96), seed=i, low=20, high=120) for i in range(4)])
    return clean, (clean + correlated_noise(clean.shape, 15.0, 1)).astype(np.float32)


@pytest.fixture(scope="module")
def trained(scene):
    """N2V with the blind spot of one pixel, and with the radius the noise asks for, on the
    images themselves (no pixel shuffle: tests/backend/training/test_stride.py)."""
    noisy = scene[1]
    return {
        radius: Trainer(
            noisy,
            TrainConfig(**TRAINING, blind_radius=radius, shuffle=1),
            ModelConfig(mode="n2v", **TINY),
        )
        for radius in (0, None)
    }


def test_auto_measures_how_far_the_noise_correlates_and_says_so(trained):
    auto = trained[None]
    assert auto.config.blind_radius >= 1
    assert any("blind-spot radius" in w for w in auto.warnings)
    assert trained[0].config.blind_radius == 0 and not trained[0].warnings


def test_independent_noise_keeps_the_one_pixel_blind_spot(noisy):
    config = TrainConfig(epochs=1, steps_per_epoch=1, batch_size=2, patch_size=32)
    trainer = Trainer(noisy, config, ModelConfig(mode="n2v", **TINY))
    assert trainer.config.blind_radius == 0


def test_hiding_the_correlated_neighbours_denoises_what_one_pixel_cannot(scene, trained):
    clean, noisy = scene
    scores = {r: [] for r in trained}
    for radius, trainer in trained.items():
        model = trainer.run()
        denoised = [predict(model, n)["denoised"] for n in noisy]
        scores[radius] = np.mean([psnr(c, d, 100.0) for c, d in zip(clean, denoised, strict=True)])
    noisy_psnr = np.mean([psnr(c, n, 100.0) for c, n in zip(clean, noisy, strict=True)])
    assert scores[None] > scores[0] + 1.0, (noisy_psnr, scores)
    assert scores[None] > noisy_psnr + 2.0, (noisy_psnr, scores)
