"""Building noise models through the job layer: every kind from its data, the rules about
which data each kind takes, and the bootstrap (N2V, then a fit to its predictions)."""

import re

import numpy as np
import pytest
import torch

from napari_pn2v.backend import (
    GaussianMixtureNoiseModel,
    HistogramNoiseModel,
    ModelConfig,
    PN2VError,
    PoissonGaussianNoiseModel,
    TrainConfig,
    Trainer,
    predict,
)
from napari_pn2v.backend.data import lazy as lazy_module
from napari_pn2v.backend.data.lazy import some_planes
from napari_pn2v.backend.noise import bootstrap as bootstrap_module
from napari_pn2v.jobs.noise_model import NoiseModelJob
from tests.conftest import TINY_NET, TINY_TRAINING


def noise_std(model, s):
    x = np.linspace(s - 200, s + 200, 4001)
    p = model.likelihood_curve(s, x)
    p = p / p.sum()
    return float(np.sqrt((p * (x - (p * x).sum()) ** 2).sum()))


def bootstrap(images, fit: str):
    training = TrainConfig(**{**TINY_TRAINING, "epochs": 6, "steps_per_epoch": 10, "lr": 3e-3})
    return NoiseModelJob(
        "bootstrap",
        images=images,
        fit=fit,
        training=training,
        network=ModelConfig(**TINY_NET),
        bins=48,
    )


@pytest.fixture(scope="module")
def boot(noisy):
    return {fit: bootstrap([noisy], fit).run() for fit in ("histogram", "gmm")}


@pytest.mark.parametrize(
    "fit, kind", [("histogram", HistogramNoiseModel), ("gmm", GaussianMixtureNoiseModel)]
)
def test_bootstrap_finds_the_noise_without_calibration(boot, fit, kind):
    result = boot[fit]
    assert isinstance(result.model, kind)
    assert any("percentiles" in m for m in result.warnings)
    # the synthetic camera: var = 2 (s − 100) + 36; the error of a 60-step N2V widens it
    found = [noise_std(result.model, s) for s in (200.0, 400.0)]
    true = [np.sqrt(2 * (s - 100) + 36) for s in (200.0, 400.0)]
    assert found[1] > found[0]  # shot noise: noisier where brighter
    for f, t in zip(found, true, strict=True):
        assert 0.8 * t < f < 2.0 * t


def test_the_bootstrap_yields_n2v_progress_and_can_be_stopped(noisy):
    steps = bootstrap([noisy], "gmm").steps()
    first = next(steps)
    assert first.epoch == 1 and first.steps == 10
    steps.close()  # a stop between two steps ends it without a model


def test_the_bootstrap_gives_its_n2v_the_same_as_n2v_trained_alone(boot, noisy):
    """The bootstrap's N2V is the PN2V training's paired baseline: the same seed and settings
    train the same network as an N2V training of its own."""
    result = boot["histogram"]
    training = TrainConfig(**{**TINY_TRAINING, "epochs": 6, "steps_per_epoch": 10, "lr": 3e-3})
    alone = Trainer([noisy], training, ModelConfig(mode="n2v", **TINY_NET)).run()
    assert result.n2v.config.mode == "n2v"
    np.testing.assert_array_equal(
        predict(result.n2v, noisy[0])["denoised"], predict(alone, noisy[0])["denoised"]
    )


def test_pn2v_trains_and_predicts_with_a_bootstrapped_gmm(boot, noisy):
    noise_model = boot["gmm"].model
    config = ModelConfig(mode="pn2v", samples=16, **TINY_NET)
    model = Trainer(noisy, TrainConfig(**TINY_TRAINING), config, noise_model=noise_model).run()
    out = predict(model, noisy[0], tile=32, overlap=8)
    assert np.isfinite(out["denoised"]).all() and out["denoised"].dtype == np.float32
    loss = model.noise_model.log_likelihood(torch.tensor([300.0]), torch.tensor([300.0]))
    assert torch.isfinite(loss).all()


def test_unknown_fit_is_refused(noisy):
    with pytest.raises(PN2VError, match="bootstrap fits"):
        NoiseModelJob("bootstrap", images=[noisy], fit="poisson").run()


def test_lazy_data_gives_the_fit_evenly_spaced_planes(noisy, monkeypatch):
    import dask.array as da

    stack = np.concatenate([noisy] * 3).astype(np.uint16)  # 6 planes of 64×64
    lazy = da.from_array(stack, chunks=(1, 64, 64))
    picked = some_planes(lazy, 3 * 64 * 64)
    assert isinstance(picked, np.ndarray) and picked.dtype == np.uint16
    np.testing.assert_array_equal(picked, stack[[0, 2, 5]])  # linspace(0, 5, 3) rounded
    monkeypatch.setattr(bootstrap_module, "LAZY_PAIRS", 3 * 64 * 64)
    monkeypatch.setattr(lazy_module, "LOAD_BYTES", 0)  # it stays lazy, however small
    result = bootstrap([lazy], "histogram").run()
    kept = int(re.search(r"kept ([\d,]+)", result.warnings[-1]).group(1).replace(",", ""))
    assert 0.95 * 3 * 64 * 64 < kept <= 3 * 64 * 64


def test_each_kind_is_built_from_its_own_data(calibration, noisy):
    histogram = NoiseModelJob("histogram", calibration=calibration, bins=64, plot_data=True).run()
    assert isinstance(histogram.model, HistogramNoiseModel) and histogram.model.bins == 64
    assert histogram.pairs is not None and histogram.levels.signals.size > 5
    pairs = NoiseModelJob(
        "gmm", signal=calibration.mean(0), observations=calibration, components=2
    ).run()
    assert pairs.model.coefficients.shape[1] == 2
    camera = NoiseModelJob(
        "poisson-gaussian", camera=(2.0, 100.0, 6.0), images=[noisy], plot_data=True
    ).run()
    assert camera.model.gain == 2.0 and camera.levels.signals.size >= 2  # shown against it
    estimated = NoiseModelJob("poisson-gaussian", images=[noisy]).run().model
    assert isinstance(estimated, PoissonGaussianNoiseModel) and estimated.origin == "estimated"
    as_histogram = (
        NoiseModelJob(
            "poisson-gaussian", camera=(2.0, 100.0, 6.0), as_histogram=True, value_range=(0, 1000)
        )
        .run()
        .model
    )
    assert isinstance(as_histogram, HistogramNoiseModel)


@pytest.mark.parametrize(
    "job, message",
    [
        (
            dict(kind="gmm", images=[0]),
            "gmm noise model is built from a calibration stack or a signal image with noisy "
            "observations of it, not noisy images",
        ),
        (dict(kind="histogram", camera=(1, 0, 1)), "not camera parameters"),
        (dict(kind="bootstrap", calibration=0), "built from noisy images"),
        (dict(kind="histogram"), "built from"),
        (dict(kind="histogram", signal=0), "a signal image needs noisy observations"),
        (
            dict(kind="poisson-gaussian", camera=(1, 0, 1), as_histogram=True),
            "needs the intensity range",
        ),
        (dict(kind="median", images=[0]), "kind must be one of"),
    ],
)
def test_wrong_sources_are_refused_before_any_work(job, message):
    with pytest.raises(PN2VError, match=re.escape(message)):
        NoiseModelJob(**job).source()


def test_a_calibration_stack_of_few_frames_is_warned_about(calibration):
    """10 frames pass; 4 noisy frames taken as a calibration stack are named."""
    assert NoiseModelJob("histogram", calibration=calibration, bins=64).run().warnings == []
    few = NoiseModelJob("histogram", calibration=calibration[:4], bins=64).run()
    assert len(few.warnings) == 1 and "only 4 calibration frames" in few.warnings[0]
