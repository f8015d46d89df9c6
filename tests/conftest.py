"""Small synthetic data and tiny trained models shared by the tests."""

from __future__ import annotations

import dataclasses
import os
import sys
import tracemalloc
from collections.abc import Callable

import numpy as np
import pytest
import torch

from napari_pn2v.backend import (
    GaussianMixtureNoiseModel,
    HistogramNoiseModel,
    ModelConfig,
    PN2VModel,
    PoissonGaussianNoiseModel,
    TrainConfig,
    Trainer,
    synthetic,
)

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


@pytest.fixture
def shuffled_pn2v(pn2v_model):
    """A model that sees sub-images of every 2nd pixel (backend/network/shuffle.py)."""
    model = pn2v_model.copy()
    model.shuffle = 2
    return model


@pytest.fixture(scope="session")
def n2v_model(noisy):
    config = ModelConfig(mode="n2v", **TINY_NET)
    return Trainer(noisy, TrainConfig(**TINY_TRAINING), config).run()


def with_noise_model(model: PN2VModel, calibration: np.ndarray, kind: str) -> PN2VModel:
    """A copy of ``model`` with a noise model of another kind: a GMM fitted briefly to the
    calibration stack, or the synthetic camera's Poisson–Gaussian model (``skewed``: with its
    photon counting's skew, a third cumulant of gain × variance)."""
    model = model.copy()
    if kind == "gmm":
        model.noise_model = GaussianMixtureNoiseModel.from_calibration(calibration, steps=50)
    else:
        model.noise_model = PoissonGaussianNoiseModel.from_camera(2.0, 100.0, 6.0)
        if kind == "skewed":
            model.noise_model = dataclasses.replace(model.noise_model, skew_ratio=2.0)
    return model


def numpy_peak(work: Callable[[], object]) -> int:
    """Peak bytes numpy (and Python) allocate while ``work()`` runs; torch's own allocations
    are not traced."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def pytest_sessionfinish(session, exitstatus) -> None:
    session.config.stash[_EXIT_STATUS] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config) -> None:
    """End the test process once pytest has reported, before the interpreter's finalisation.
    The cluster test leaves dask.distributed's and zarr's asyncio loop threads running (daemon
    threads) beside Qt and torch, and finalising them crashed the process (SIGSEGV after "365
    passed" in 3 of 4 clean runs on 2026-11-30), which CI would read as a failure. The exit
    status is pytest's own."""
    status = config.stash.get(_EXIT_STATUS, None)
    if status is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)


_EXIT_STATUS = pytest.StashKey[int]()
