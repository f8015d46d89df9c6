"""The likelihood at prediction's K samples, tabulated along s per pixel (noise/sampling.py),
gives the posterior of the direct evaluation, from far fewer model evaluations."""

from pathlib import Path

import pytest
import torch

from napari_pn2v.backend import PoissonGaussianNoiseModel, load_noise_model
from napari_pn2v.backend.network.prior import Prior, posterior
from napari_pn2v.backend.noise.sampling import tabulated_likelihood

FIXTURES = Path(__file__).parents[2] / "fixtures"
K = 800


def _models() -> dict:
    return {
        "gmm file": load_noise_model(FIXTURES / "gmm-v1.npz"),
        "pg file": load_noise_model(FIXTURES / "pg-v1.npz"),
        "pg curve, clipped": PoissonGaussianNoiseModel(
            2.0,
            30.0,
            low=200.0,
            high=400.0,
            curve=(300.0, 420.0, 600.0, 830.0),
            clip_high=300.0,
            step=1.0,
        ),
        "pg skewed, clipped": PoissonGaussianNoiseModel(
            2.0, 30.0, skew_ratio=3.0, clip_low=150.0, step=1.0
        ),
    }


class Counting:
    """A noise model that counts the signals its log-likelihood is evaluated at."""

    def __init__(self, model) -> None:
        self.model, self.evaluated = model, 0

    def log_likelihood(self, observation, signal):
        self.evaluated += torch.broadcast_shapes(observation.shape, signal.shape).numel()
        return self.model.log_likelihood(observation, signal)

    def likelihood(self, observation, signal):
        return self.log_likelihood(observation, signal).exp()

    def finest_scale(self, signal):
        return self.model.finest_scale(signal)


def _prior(model, pixels: int, spread: float, seed: int = 0) -> tuple[Prior, torch.Tensor]:
    """Priors about signals 160–290 whose std is ``spread`` × the noise's, with uneven
    residuals, and observations drawn about them (some far out)."""
    g = torch.Generator().manual_seed(seed)
    loc = 160 + 130 * torch.rand(pixels, 1, generator=g)
    noise = model.variance(loc).sqrt()
    z = torch.special.ndtri((torch.arange(K) + 0.5) / K)
    u = z + 0.3 * torch.randn(pixels, K, generator=g)
    observed = (loc + noise * 2.5 * torch.randn(pixels, 1, generator=g)).round()
    return Prior(loc, spread * noise, u), observed


@pytest.mark.parametrize("name", list(_models()))
def test_tabulated_posterior_equals_the_direct_one(name):
    model = _models()[name]
    prior, observed = _prior(model, 600, spread=0.5)
    counting = Counting(model)
    p = tabulated_likelihood(counting, observed, prior.loc, prior.scale, prior.u)
    direct = model.likelihood(observed, prior.samples())
    assert counting.evaluated <= direct.numel() // 4  # the point: a short table per pixel
    tabulated = posterior(_Fixed(p), prior, observed)
    exact = posterior(_Fixed(direct), prior, observed)
    noise = model.variance(prior.loc).sqrt()[:, 0]
    for key in ("denoised", "std"):
        error = (tabulated[key] - exact[key]).abs() / noise
        # within 0.2 % of the noise's std at every pixel (a table of 2 points per width
        # instead of 8 errs by 0.3-0.6 %)
        assert error.max() < 2e-3, key
        assert error.mean() < 2e-4, key


def test_wide_priors_are_evaluated_directly_and_a_mixed_chunk_splits():
    model = _models()["pg file"]
    narrow, observed = _prior(model, 200, spread=0.5)
    wide = Prior(narrow.loc, narrow.scale * 200, narrow.u)  # a table longer than K/4
    p = tabulated_likelihood(model, observed, wide.loc, wide.scale, wide.u)
    torch.testing.assert_close(p, model.likelihood(observed, wide.samples()), rtol=0, atol=0)

    mixed = Prior(
        torch.cat([narrow.loc, wide.loc]),
        torch.cat([narrow.scale, wide.scale]),
        torch.cat([narrow.u, wide.u]),
    )
    both = torch.cat([observed, observed])
    p = tabulated_likelihood(model, both, mixed.loc, mixed.scale, mixed.u)
    direct = model.likelihood(both, mixed.samples())
    torch.testing.assert_close(p[200:], direct[200:], rtol=0, atol=0)
    torch.testing.assert_close(p[:200], direct[:200], rtol=0.02, atol=1e-9)


class _Fixed:
    """A noise model stand-in that hands out likelihoods computed beforehand."""

    def __init__(self, p: torch.Tensor) -> None:
        self.p = p

    def sample_likelihood(self, observation, loc, scale, u):
        return self.p.clone()
