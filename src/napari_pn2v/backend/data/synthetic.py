"""Small synthetic microscopy-like data with Poisson–Gaussian noise, for the demo, the sample
data and tests: made locally in well under a second, no download."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class PoissonGaussian:
    """Camera noise: photon counts (Poisson) times a gain, plus Gaussian read noise."""

    gain: float = 2.0
    read_noise: float = 6.0
    offset: float = 100.0

    def __call__(self, signal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        photons = rng.poisson(np.maximum(signal - self.offset, 0) / self.gain)
        noisy = self.offset + self.gain * photons + rng.normal(0, self.read_noise, signal.shape)
        return noisy.astype(np.float32)


def _smooth(image: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur via the FFT (periodic) along every axis, enough for synthetic
    structures."""
    frequencies = np.meshgrid(*(np.fft.fftfreq(n) for n in image.shape), indexing="ij", sparse=True)
    kernel = np.exp(-2 * (np.pi * sigma) ** 2 * sum(f**2 for f in frequencies))
    return np.real(np.fft.ifftn(np.fft.fftn(image) * kernel))


def cells(
    shape: tuple[int, int] = (256, 256), seed: int = 0, low: float = 110.0, high: float = 600.0
) -> np.ndarray:
    """A clean image of blurred blobs and filaments between ``low`` and ``high``."""
    rng = np.random.default_rng(seed)
    height, width = shape
    yy, xx = np.mgrid[:height, :width]
    image = np.zeros(shape)
    for _ in range(max(4, height * width // 2500)):
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        radius = rng.uniform(4, 14)
        image += rng.uniform(0.4, 1.0) * (((yy - cy) ** 2 + (xx - cx) ** 2) < radius**2)
    for _ in range(max(2, height * width // 8000)):
        angle, y0, x0 = rng.uniform(0, np.pi), rng.uniform(0, height), rng.uniform(0, width)
        distance = np.abs((yy - y0) * np.cos(angle) - (xx - x0) * np.sin(angle))
        image += 0.5 * (distance < 1.5)
    image = _smooth(image, 1.5)
    image = (image - image.min()) / (np.ptp(image) + 1e-12)
    return (low + (high - low) * image).astype(np.float32)


def cell_volume(
    shape: tuple[int, int, int] = (32, 64, 64),
    seed: int = 0,
    low: float = 110.0,
    high: float = 600.0,
) -> np.ndarray:
    """A clean Z stack of blurred balls between ``low`` and ``high``: structure that
    continues from plane to plane, which a 3-D network can use and a 2-D one cannot."""
    rng = np.random.default_rng(seed)
    grid = np.mgrid[tuple(slice(n) for n in shape)]
    volume = np.zeros(shape)
    for _ in range(max(4, int(np.prod(shape)) // 4000)):
        centre = [rng.uniform(0, n) for n in shape]
        radius = rng.uniform(3, 8)
        volume += rng.uniform(0.4, 1.0) * (
            sum((g - c) ** 2 for g, c in zip(grid, centre, strict=True)) < radius**2
        )
    volume = _smooth(volume, 1.5)
    volume = (volume - volume.min()) / (np.ptp(volume) + 1e-12)
    return (low + (high - low) * volume).astype(np.float32)


def calibration_scene(
    shape: tuple[int, int] = (128, 128), low: float = 100.0, high: float = 640.0
) -> np.ndarray:
    """A smooth ramp (like a half-closed, out-of-focus field diaphragm) covering [low, high]."""
    ramp = np.linspace(0.0, 1.0, shape[1])[None, :] * np.ones((shape[0], 1))
    return (low + (high - low) * ramp).astype(np.float32)


def calibration_stack(
    frames: int = 20,
    shape: tuple[int, int] = (128, 128),
    noise: PoissonGaussian | None = None,
    seed: int = 1,
) -> np.ndarray:
    """Noisy frames of the static calibration scene."""
    rng = np.random.default_rng(seed)
    noise = noise or PoissonGaussian()
    scene = calibration_scene(shape)
    return np.stack([noise(scene, rng) for _ in range(frames)])


def noisy_images(
    count: int = 1,
    shape: tuple[int, int] = (256, 256),
    noise: PoissonGaussian | None = None,
    seed: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """(clean, noisy) stacks of ``count`` different synthetic scenes."""
    rng = np.random.default_rng(seed)
    noise = noise or PoissonGaussian()
    clean = np.stack([cells(shape, seed=seed + i) for i in range(count)])
    return clean, np.stack([noise(c, rng) for c in clean])
