import numpy as np
import pytest
import torch

from napari_pn2v.backend import GaussianMixtureNoiseModel, PN2VError, load_noise_model
from napari_pn2v.backend.data.synthetic import PoissonGaussian


def mixture_std(model, s):
    return float(model.variance(torch.tensor([s])).sqrt())


@pytest.fixture(scope="module")
def camera_pairs():
    rng = np.random.default_rng(0)
    signal = np.linspace(150, 900, 40_000).astype(np.float32)
    return signal, PoissonGaussian(gain=2.0, read_noise=6.0, offset=100.0)(signal, rng)


@pytest.fixture(scope="module")
def fitted(camera_pairs):
    return GaussianMixtureNoiseModel.fit(*camera_pairs, steps=300, batch=4096)


def test_fit_recovers_the_noise_level_across_the_signal_range(fitted):
    for s in (200.0, 500.0, 850.0):
        true = np.sqrt(2.0 * (s - 100) + 36)
        assert mixture_std(fitted, s) == pytest.approx(true, rel=0.08)


def test_the_mixture_is_unbiased_and_a_density(fitted):
    alpha, means, _ = fitted.parameters(torch.tensor([300.0, 700.0]))
    torch.testing.assert_close(alpha.sum(-1), torch.ones(2))
    torch.testing.assert_close((alpha * means).sum(-1), torch.tensor([300.0, 700.0]))
    x = np.linspace(100, 500, 4001)
    p = fitted.likelihood_curve(300.0, x) * (x[1] - x[0])
    assert p.sum() == pytest.approx(1.0, abs=1e-3)
    assert mixture_std(fitted, 300.0) ** 2 == pytest.approx((p * (x - 300.0) ** 2).sum(), rel=1e-3)


def test_minimum_std_bounds_the_standard_deviation():
    rng = np.random.default_rng(1)
    signal = rng.uniform(0, 100, 20_000).astype(np.float32)
    observation = signal + rng.normal(0, 0.01, signal.shape).astype(np.float32)
    model = GaussianMixtureNoiseModel.fit(signal, observation, min_std=2.0, steps=60, batch=4096)
    _, _, std = model.parameters(torch.tensor([10.0, 90.0]))
    assert float(std.min()) >= 2.0 - 1e-6  # a standard deviation, not a variance


def test_log_likelihood_is_differentiable_in_the_signal(fitted):
    s = torch.tensor([400.0, 420.0], requires_grad=True)
    fitted.log_likelihood(torch.tensor([410.0, 410.0]), s).sum().backward()
    assert s.grad[0] > 0 > s.grad[1]  # each moves towards the observation


def test_clipped_observations_are_left_out():
    rng = np.random.default_rng(2)
    signal = rng.uniform(20, 250, (200, 200)).astype(np.float32)
    raw = np.clip(np.round(signal + rng.normal(0, 10, signal.shape)), 0, 255).astype(np.uint8)
    model = GaussianMixtureNoiseModel.fit(signal, raw, steps=5, batch=1024)
    assert model.n_pairs == int(((raw > 0) & (raw < 255)).sum())
    assert model.note and "clipped" in model.note


def test_file_round_trip_keeps_the_fitted_weights(fitted, tmp_path):
    fitted.save(tmp_path / "gmm.npz")
    loaded = load_noise_model(tmp_path / "gmm.npz")
    assert isinstance(loaded, GaussianMixtureNoiseModel)
    np.testing.assert_array_equal(loaded.coefficients, fitted.coefficients)
    x, s = torch.tensor([310.0]), torch.tensor([300.0])
    torch.testing.assert_close(loaded.likelihood(x, s), fitted.likelihood(x, s))


def test_bad_fits_are_refused():
    with pytest.raises(PN2VError, match="at least 100"):
        GaussianMixtureNoiseModel.fit(np.ones(10), np.ones(10))
    with pytest.raises(PN2VError, match="all be equal"):
        GaussianMixtureNoiseModel.fit(np.ones(1000), np.random.default_rng(0).normal(1, 1, 1000))
    with pytest.raises(PN2VError, match="at least 2 frames"):
        GaussianMixtureNoiseModel.from_calibration(np.ones((1, 32, 32)))


def test_balanced_fitting_follows_the_noise_where_pairs_are_few():
    """Mostly background pairs and noise that a degree-1 GMM cannot follow everywhere
    (variance quadratic in the signal): fitted as the pairs come, the bright end is missed;
    balanced over the signal range, it is matched much better."""
    rng = np.random.default_rng(0)
    s = np.concatenate([rng.uniform(0, 10, 180_000), rng.uniform(10, 200, 20_000)])
    s = s.astype(np.float32)
    x = (s + rng.normal(0, 1, s.size) * np.sqrt(0.5 + 0.02 * s**2)).astype(np.float32)
    true = 0.5 + 0.02 * 150.0**2

    def variance_at_150(model):
        grid = np.linspace(-100, 400, 5001, dtype=np.float32)
        p = model.likelihood_curve(150.0, grid)
        p = p / p.sum()
        return float((p * (grid - (p * grid).sum()) ** 2).sum())

    errors = {
        balance: abs(
            variance_at_150(GaussianMixtureNoiseModel.fit(s, x, steps=400, balance=balance)) / true
            - 1
        )
        for balance in (False, True)
    }
    assert errors[True] < 0.15 and errors[True] < errors[False] / 2, errors
