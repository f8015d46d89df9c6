import numpy as np
import pytest
import torch

from napari_pn2v.backend import (
    GaussianMixtureNoiseModel,
    HistogramNoiseModel,
    ModelConfig,
    PN2VError,
    TrainConfig,
    Trainer,
    predict,
)
from napari_pn2v.backend.bootstrap import bootstrap_noise_model
from tests.conftest import TINY_NET, TINY_TRAINING


def noise_std(model, s):
    x = np.linspace(s - 200, s + 200, 4001)
    p = model.likelihood_curve(s, x)
    p = p / p.sum()
    return float(np.sqrt((p * (x - (p * x).sum()) ** 2).sum()))


@pytest.fixture(scope="module")
def boot(noisy):
    training = TrainConfig(**{**TINY_TRAINING, "epochs": 6, "steps_per_epoch": 10, "lr": 3e-3})
    network = ModelConfig(**TINY_NET)
    return {fit: bootstrap_noise_model(noisy, fit, training, network, bins=48)
            for fit in ("histogram", "gmm")}


@pytest.mark.parametrize("fit, kind", [("histogram", HistogramNoiseModel),
                                       ("gmm", GaussianMixtureNoiseModel)])
def test_bootstrap_finds_the_noise_without_calibration(boot, fit, kind):
    result = boot[fit]
    assert isinstance(result.noise_model, kind)
    assert result.n2v_model.config.mode == "n2v"
    assert any("percentiles" in m for m in result.messages)
    # the synthetic camera: var = 2 (s − 100) + 36; the error of a 60-step N2V widens it
    found = [noise_std(result.noise_model, s) for s in (200.0, 400.0)]
    true = [np.sqrt(2 * (s - 100) + 36) for s in (200.0, 400.0)]
    assert found[1] > found[0]  # shot noise: noisier where brighter
    for f, t in zip(found, true, strict=True):
        assert 0.8 * t < f < 2.0 * t


def test_pn2v_trains_and_predicts_with_a_bootstrapped_gmm(boot, noisy):
    noise_model = boot["gmm"].noise_model
    config = ModelConfig(mode="pn2v", samples=16, **TINY_NET)
    model = Trainer(noisy, TrainConfig(**TINY_TRAINING), config, noise_model=noise_model).run()
    out = predict(model, noisy[0], tile=32, overlap=8)
    assert np.isfinite(out["denoised"]).all() and out["denoised"].dtype == np.float32
    loss = model.noise_model.log_likelihood(torch.tensor([300.0]), torch.tensor([300.0]))
    assert torch.isfinite(loss).all()


def test_unknown_fit_is_refused(noisy):
    with pytest.raises(PN2VError, match="bootstrap fits"):
        bootstrap_noise_model(noisy, "poisson")


def test_lazy_data_gives_the_fit_evenly_spaced_planes(boot, noisy, monkeypatch):
    import dask.array as da

    from napari_pn2v.backend import bootstrap

    stack = np.concatenate([noisy] * 3).astype(np.uint16)  # 6 planes of 64×64
    lazy = da.from_array(stack, chunks=(1, 64, 64))
    monkeypatch.setattr(bootstrap, "LAZY_PAIRS", 3 * 64 * 64)
    picked = bootstrap._in_memory(lazy)
    assert isinstance(picked, np.ndarray) and picked.dtype == np.uint16
    np.testing.assert_array_equal(picked, stack[[0, 2, 5]])  # linspace(0, 5, 3) rounded
    signals, observations, _ = bootstrap.bootstrap_pairs(lazy, boot["gmm"].n2v_model)
    assert 0.95 * 3 * 64 * 64 < signals.size == observations.size <= 3 * 64 * 64
