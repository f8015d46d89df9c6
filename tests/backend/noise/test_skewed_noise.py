"""Skewed photon-counting noise: measured from the images, modelled by a skew-normal p(x | s)."""

import numpy as np
import pytest
import torch

from napari_pn2v.backend import PoissonGaussianNoiseModel, estimate_poisson_gaussian, synthetic
from napari_pn2v.backend.network.prior import Prior, posterior
from napari_pn2v.backend.noise.registry import load_noise_model

GAIN = 4.0  # mean grey levels per photon


def _photomultiplier(clean: np.ndarray, seed: int = 0) -> np.ndarray:
    """Photon counts, each amplified by a random (exponential) gain: the sum of n photons is
    Gamma(n, GAIN), so var = 2·GAIN·s and κ3 = 6·GAIN²·s, a third cumulant 3·GAIN times the
    variance at every signal."""
    rng = np.random.default_rng(seed)
    photons = rng.poisson(clean / GAIN)
    return np.where(photons > 0, rng.gamma(np.maximum(photons, 1), GAIN), 0.0)


def _moments(model, signal: float) -> tuple[float, float, float, float]:
    """Mass, mean, variance and skewness of p(x | signal) by integration."""
    std = float(model.variance(torch.tensor([signal]))[0].sqrt())
    x = torch.linspace(signal - 12 * std, signal + 16 * std, 40001)
    p = model.likelihood(x, torch.full_like(x, signal)).double()
    dx = float(x[1] - x[0])
    x = x.double()
    mass = float(p.sum()) * dx
    mean = float((p * x).sum()) * dx / mass
    var = float((p * (x - mean) ** 2).sum()) * dx / mass
    third = float((p * (x - mean) ** 3).sum()) * dx / mass
    return mass, mean, var, third / var**1.5


@pytest.mark.parametrize("signal", [5.0, 40.0, 400.0])
def test_the_skewed_likelihood_has_the_models_mean_variance_and_skewness(signal):
    model = PoissonGaussianNoiseModel(2 * GAIN, 4.0, skew_ratio=3 * GAIN)
    mass, mean, var, skew = _moments(model, signal)
    assert mass == pytest.approx(1, abs=1e-3)
    assert mean == pytest.approx(signal, abs=0.01 * var**0.5)
    assert var == pytest.approx(float(model.variance(torch.tensor([signal]))[0]), rel=0.01)
    assert skew == pytest.approx(float(model.skewness(torch.tensor([signal]))[0]), abs=0.02)
    assert 0 < skew < 0.995  # a skew-normal's largest


def test_the_skewed_likelihood_has_gradients_in_the_signal():
    model = PoissonGaussianNoiseModel(2 * GAIN, 4.0, skew_ratio=3 * GAIN)
    signal = torch.tensor([3.0, 30.0, 300.0], requires_grad=True)
    model.log_likelihood(torch.tensor([0.0, 45.0, 250.0]), signal).sum().backward()
    assert torch.isfinite(signal.grad).all() and (signal.grad != 0).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_estimate_measures_the_skew_of_photomultiplier_noise(seed):
    """Within 25 %: a level's third moment from a few thousand residuals is noisy (on FMD's
    two-photon and mouse frames, a million pixels, the levels agree within ~10 %)."""
    shape = (384, 384)
    clean = np.stack(
        [synthetic.cells(shape, seed=10 * seed + s, low=5, high=400) for s in range(4)]
    )
    model, levels = estimate_poisson_gaussian(_photomultiplier(clean, seed))
    assert model.skew_ratio == pytest.approx(3 * GAIN, rel=0.25)
    assert np.isnan(levels.thirds[0])  # the darkest level is clipped at 0: its skew is hidden
    assert "skewed" in model.summary()


def test_gaussian_noise_stays_gaussian():
    rng = np.random.default_rng(0)
    clean = np.stack([synthetic.cells((256, 256), seed=s) for s in range(4)])
    model, _ = estimate_poisson_gaussian(clean + rng.normal(0, 8, clean.shape))
    assert model.skew_ratio == 0 and "skewed" not in model.summary()


def test_with_skewed_noise_the_skewed_likelihood_gives_the_better_mmse():
    """The posterior of an honest prior (its spread is its error) at a dark signal, where the
    noise is most skewed: weighing each pixel with the skew-normal likelihood beats the
    Gaussian of the same variance, which reads the noise's long bright tail as signal. (In
    training the larger effect is the prior's: under a Gaussian likelihood it absorbs the
    skew and comes out too wide.)"""
    rng = np.random.default_rng(1)
    signal = np.full(20000, 12.0)
    noisy = _photomultiplier(signal, seed=2)
    loc = torch.tensor(signal + rng.normal(0, 4.0, signal.shape), dtype=torch.float32)[:, None]
    u = torch.special.ndtri((torch.arange(64) + 0.5) / 64)[None].expand(len(signal), -1)
    prior = Prior(loc, torch.full_like(loc, 4.0), u)
    observed = torch.tensor(noisy, dtype=torch.float32)[:, None]
    errors = {}
    for skew_ratio in (0.0, 3 * GAIN):
        model = PoissonGaussianNoiseModel(2 * GAIN, 0.0, skew_ratio=skew_ratio)
        estimate = posterior(model, prior, observed)["denoised"].numpy()
        errors[skew_ratio] = float(np.mean((estimate - signal) ** 2))
    assert errors[3 * GAIN] < 0.95 * errors[0.0] < 0.95 * 16.0, errors  # 16: the prior's


def test_a_skewed_model_round_trips_and_older_readers_must_refuse_it(tmp_path):
    model = PoissonGaussianNoiseModel(2 * GAIN, 4.0, low=0.0, high=500.0, skew_ratio=3 * GAIN)
    model.save(tmp_path / "pg.npz")
    loaded = load_noise_model(tmp_path / "pg.npz")
    assert loaded == model
    x, s = torch.tensor([0.0, 20.0, 90.0]), torch.tensor([10.0, 10.0, 80.0])
    torch.testing.assert_close(loaded.log_likelihood(x, s), model.log_likelihood(x, s))
    with np.load(tmp_path / "pg.npz") as data:  # format 2 readers would read a Gaussian
        assert '"version": 3' in str(data["meta"])


def test_as_a_histogram_a_skewed_model_keeps_its_skew():
    model = PoissonGaussianNoiseModel(2 * GAIN, 4.0, low=0.0, high=300.0, skew_ratio=3 * GAIN)
    histogram = model.to_histogram(256, (-40.0, 400.0))
    for signal in (20.0, 150.0):
        _, mean, var, skew = _moments(histogram, signal)
        _, *expected = _moments(model, signal)
        assert mean == pytest.approx(expected[0], abs=1.0)
        assert var == pytest.approx(expected[1], rel=0.05)
        assert skew == pytest.approx(expected[2], abs=0.1)
