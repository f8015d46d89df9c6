"""Small synthetic data and tiny trained models shared by the tests."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from napari_pn2v.backend import HistogramNoiseModel, ModelConfig, TrainConfig, Trainer, synthetic

torch.set_num_threads(2)

TINY_NET = dict(depth=2, features=8)
TINY_TRAINING = dict(
    epochs=2,
    steps_per_epoch=3,
    batch_size=4,
    patch_size=32,
    lr=1e-3,
    val_fraction=0.25,
    seed=0,
    val_patches=4,
)


@pytest.fixture(scope="session")
def calibration() -> np.ndarray:
    return synthetic.calibration_stack(frames=10, shape=(64, 64))


@pytest.fixture(scope="session")
def noise_model(calibration) -> HistogramNoiseModel:
    return HistogramNoiseModel.from_calibration(calibration, bins=64)


@pytest.fixture(scope="session")
def noisy() -> np.ndarray:
    return synthetic.noisy_images(count=2, shape=(64, 64))[1]


@pytest.fixture(scope="session")
def pn2v_model(noisy, noise_model):
    config = ModelConfig(mode="pn2v", samples=16, **TINY_NET)
    return Trainer(noisy, TrainConfig(**TINY_TRAINING), config, noise_model=noise_model).run()


@pytest.fixture(scope="session")
def n2v_model(noisy):
    config = ModelConfig(mode="n2v", **TINY_NET)
    return Trainer(noisy, TrainConfig(**TINY_TRAINING), config).run()
