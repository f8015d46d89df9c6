"""Choosing the prior's spread without clean data (backend/spread.py)."""

import numpy as np
import pytest
import torch
from torch import nn

from napari_pn2v.backend import ModelConfig, PN2VError, PN2VModel, predict
from napari_pn2v.backend.data.lazy import reflect
from napari_pn2v.backend.network.prior import Prior, posterior
from napari_pn2v.backend.noise.histogram import HistogramNoiseModel
from napari_pn2v.backend.noise.poisson_gaussian import PoissonGaussianNoiseModel
from napari_pn2v.backend.training.spread import SCALES, choose_spread, features, sure_by_scale
from tests.backend.training.test_trainer import make_trainer

NOISE_STD, ERROR_STD, SAMPLES = 5.0, 3.0, 200


class LeaningPrior(nn.Module):
    """A stand-in network with a Gaussian prior about ``guess`` (the signal plus an error of
    std ERROR_STD) of spread ``spread``, whose location leans on the observed pixel with weight
    ``lean`` — as a blind-spot network does when it predicts with the pixel in view."""

    multiple = 1

    def __init__(self, guess: torch.Tensor, spread: float, lean: float, model: PN2VModel):
        super().__init__()
        self.guess, self.lean, self.model = model.normalise(guess), lean, model
        self.log_spread = float(np.log(spread / model.std))

    def body(self, x: torch.Tensor) -> torch.Tensor:
        guess = self.guess
        margin = (x.shape[-1] - guess.shape[-1]) // 2  # mirrored context, as x has
        for axis, n in enumerate(guess.shape[1:], start=1):
            guess = guess.index_select(
                axis, torch.as_tensor(reflect(np.arange(-margin, n + margin), n))
            )
        location = (1 - self.lean) * guess[:, None] + self.lean * x
        return torch.cat([location, torch.full_like(location, self.log_spread)], 1)

    def head_at(self, features: torch.Tensor) -> torch.Tensor:
        return torch.cat([features, features.new_zeros(len(features), SAMPLES)], 1)


def leaning_model(
    spread: float,
    lean: float,
    clean: torch.Tensor | None = None,
    noise_model: PoissonGaussianNoiseModel | None = None,
):
    """(model, noisy patches, clean patches) with Gaussian noise of std NOISE_STD; the noise
    model defaults to the right one."""
    generator = torch.Generator().manual_seed(1)
    if clean is None:
        clean = 100 + 20 * torch.rand(4, 64, 64, generator=generator)
    noisy = clean + NOISE_STD * torch.randn(clean.shape, generator=generator)
    guess = clean + ERROR_STD * torch.randn(clean.shape, generator=generator)
    noise_model = noise_model or PoissonGaussianNoiseModel(0.0, NOISE_STD**2)
    model = PN2VModel(ModelConfig(samples=SAMPLES, depth=1, features=2), 110.0, 10.0, noise_model)
    model.net = LeaningPrior(guess, spread, lean, model)
    return model, noisy, clean


def true_error(model: PN2VModel, noisy: torch.Tensor, clean: torch.Tensor, scale: float):
    features = model.net.body(model.normalise(noisy)[:, None])
    raw = model.net.head_at(features.movedim(1, -1).reshape(-1, 2))
    estimate = posterior(
        model.noise_model, model.prior(raw, calibrated=False).scaled(scale), noisy.reshape(-1, 1)
    )["denoised"]
    return float(((estimate - clean.reshape(-1)) ** 2).mean())


def band_errors(model: PN2VModel, noisy: torch.Tensor, clean: torch.Tensor, choice):
    """True mean squared errors of the MMSE and the prior mean in each band of the choice."""
    features = model.net.body(model.normalise(noisy)[:, None])
    raw = model.net.head_at(features.movedim(1, -1).reshape(-1, 2))
    out = posterior(
        model.noise_model,
        model.prior(raw, calibrated=False).scaled(choice.scale),
        noisy.reshape(-1, 1),
    )
    band = np.searchsorted(choice.edges, out["prior_mean"].numpy(), side="right")
    errors = {
        k: (out[k].numpy() - clean.reshape(-1).numpy()) ** 2 for k in ("denoised", "prior_mean")
    }
    return tuple(
        np.array([errors[k][band == b].mean() for b in range(len(choice.trusted))])
        for k in ("denoised", "prior_mean")
    )


@pytest.mark.parametrize("lean", [0.0, 0.3])
def test_sure_estimates_the_error_of_each_spread_without_the_clean_image(lean):
    model, noisy, clean = leaning_model(spread=2 * ERROR_STD, lean=lean)
    estimates = sure_by_scale(model, model.normalise(noisy), torch.Generator().manual_seed(0))
    truth = {c: true_error(model, noisy, clean, c) for c in SCALES}
    for c in SCALES:
        assert estimates[c] == pytest.approx(truth[c], rel=0.05)
    best = min(truth, key=truth.get)
    choice = choose_spread(model, model.normalise(noisy), torch.Generator().manual_seed(0))
    assert choice.scale == best
    # a band gives up its MMSE only where the prior mean is truly better there
    mmse, prior_mean = band_errors(model, noisy, clean, choice)
    for b, trusted in enumerate(choice.trusted):
        assert trusted or prior_mean[b] < mmse[b]
    if lean == 0:  # the noise model is right and nothing leaks: the MMSE wins every band
        assert all(choice.trusted) and (mmse < prior_mean).all()
    if lean == 0:  # the prior's right spread is the guess's error: half the spread given
        assert best == 0.5
    else:  # a prior that already leans on the pixel must be narrower to not count it twice
        assert best < 0.5


def test_scaling_keeps_the_prior_mean_and_scales_the_spread_about_it():
    generator = torch.Generator().manual_seed(0)
    prior = Prior(
        torch.randn(5, 1, generator=generator),
        torch.rand(5, 1, generator=generator),
        torch.randn(5, 7, generator=generator) + 0.3,
    )
    scaled = prior.scaled(0.25)
    torch.testing.assert_close(scaled.samples().mean(1), prior.samples().mean(1))
    torch.testing.assert_close(scaled.samples().std(1), 0.25 * prior.samples().std(1))
    assert prior.scaled(1.0) is prior


def test_the_trainer_chooses_a_spread_for_the_best_model_only(noisy, noise_model):
    trainer = make_trainer(noisy, noise_model)
    for _ in trainer:
        pass
    assert trainer.spread.scale in SCALES
    assert trainer.best_model().spread_scale == trainer.spread.scale
    assert trainer.model.spread_scale == 1.0  # the one being trained keeps its spread
    unvalidated = make_trainer(noisy, noise_model, val_fraction=0)  # training patches then
    for _ in unvalidated:
        pass
    assert unvalidated.best_model().spread_scale in SCALES
    published = make_trainer(noisy, noise_model, spread_calibration=False)
    for _ in published:
        pass
    assert published.best_model().spread_scale == 1.0


def test_the_training_loss_ignores_a_loaded_models_spread_scale(noisy, noise_model):
    trainer = make_trainer(noisy, noise_model)
    batch = trainer._val[0]
    before = trainer.loss(batch, training=False)
    trainer.model.spread_scale = 0.25
    torch.testing.assert_close(trainer.loss(batch, training=False), before)


def test_model_files_keep_the_spread_scale(tmp_path, pn2v_model, noisy):
    model = pn2v_model.copy()
    model.spread_scale = 0.5
    model.save(tmp_path / "model.pt")
    loaded = PN2VModel.load(tmp_path / "model.pt")
    assert loaded.spread_scale == 0.5
    np.testing.assert_array_equal(
        predict(loaded, noisy[0])["denoised"], predict(model, noisy[0])["denoised"]
    )
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    state["spread_scale"] = -1.0
    torch.save(state, tmp_path / "bad.pt")
    with pytest.raises(PN2VError, match="damaged"):
        PN2VModel.load(tmp_path / "bad.pt")
    del state["spread_scale"]  # files from before the spread was chosen
    torch.save(state, tmp_path / "old.pt")
    assert PN2VModel.load(tmp_path / "old.pt").spread_scale == 1.0


def test_histogram_and_poisson_gaussian_noise_models_know_their_variance(calibration):
    """Against the synthetic camera's (gain 2 per photon above offset 100, read noise 6); the
    GMM's is tested with its fit. A histogram's bins add their width's variance (w²/12 for the
    signal and again for the observation): 128 bins over the stack's range keep that ≈ 2 %
    (64 bins: ≈ 8 %, as much as the tolerance)."""
    signal = torch.tensor([200.0, 300.0, 450.0])
    expected = 2 * (signal - 100) + 36
    camera = PoissonGaussianNoiseModel.from_camera(2.0, 100.0, 6.0)
    torch.testing.assert_close(camera.variance(signal), expected)
    histogram = HistogramNoiseModel.from_calibration(calibration, bins=128)
    torch.testing.assert_close(histogram.variance(signal), expected, rtol=0.1, atol=0)


def test_the_spread_is_chosen_on_priors_as_prediction_makes_them(pn2v_model, noisy):
    """Patch borders see mirrored context, as prediction's tiles do."""
    patch = torch.as_tensor(noisy[0][:32, :48])
    with torch.no_grad():
        raw = pn2v_model.net.head_at(features(pn2v_model, patch[None]))
    prior_mean = pn2v_model.prior(raw, calibrated=False).scaled(0.0).loc.reshape(32, 48)
    expected = predict(pn2v_model, patch.numpy())["prior_mean"]
    np.testing.assert_allclose(prior_mean.numpy(), expected, rtol=1e-4, atol=1e-3)


def test_the_uncertainty_is_scaled_to_the_spread_as_trained():
    """A prior leaning on the pixel gets a narrow factor for its MMSE; its posterior std would
    then understate the error: each band's std is scaled up to the trained spread's."""
    model, noisy, clean = leaning_model(spread=ERROR_STD, lean=0.3)
    choice = choose_spread(model, model.normalise(noisy), torch.Generator().manual_seed(0))
    assert choice.scale < 1 and all(f > 1 for f in choice.std_factors)
    model.spread_scale, model.trust_edges = choice.scale, choice.edges
    model.trusted, model.std_factors = (True,) * len(choice.trusted), choice.std_factors
    features = model.net.body(model.normalise(noisy)[:, None])
    out = model.estimate(
        model.net.head_at(features.movedim(1, -1).reshape(-1, 2)), noisy.reshape(-1, 1)
    )
    error = float(((out["denoised"] - clean.reshape(-1)) ** 2).mean().sqrt())
    raw_std = (
        out["std"]
        / torch.tensor(choice.std_factors)[
            torch.bucketize(out["prior_mean"], torch.tensor(choice.edges), right=True)
        ]
    )
    assert abs(float(out["std"].square().mean().sqrt()) / error - 1) < abs(
        float(raw_std.square().mean().sqrt()) / error - 1
    )
