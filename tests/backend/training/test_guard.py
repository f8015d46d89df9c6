"""The guard against a wrong noise model (backend/guard.py)."""

import numpy as np
import pytest
import torch
from scipy import ndimage

from napari_pn2v.backend import PN2VModel, PoissonGaussianNoiseModel, predict, synthetic
from napari_pn2v.backend.noise.diagnostics import NoiseCheck
from napari_pn2v.backend.noise.estimate import CORRELATED_RATIO
from napari_pn2v.backend.training.guard import (
    ImageNoise,
    check_noise,
    checked_variance,
    guarded_spread,
)
from napari_pn2v.backend.training.spread import choose_spread
from tests.backend.training.test_spread import ERROR_STD, NOISE_STD, band_errors, leaning_model
from tests.backend.training.test_trainer import make_trainer

SMOOTH = torch.as_tensor(
    np.stack([synthetic.cells((128, 128), seed=i, low=100, high=160) for i in range(4)])
)


def stand_in(noise_variance: float):
    """A prior of the right spread about a guess with error ERROR_STD, on smooth cells with
    Gaussian noise of std NOISE_STD, and a noise model of ``noise_variance``."""
    model, noisy, clean = leaning_model(
        ERROR_STD, 0.0, SMOOTH, PoissonGaussianNoiseModel(0.0, noise_variance)
    )
    return model, noisy, clean, ImageNoise.measure([noisy.numpy()])


def test_the_images_show_their_noise():
    image_noise = stand_in(NOISE_STD**2)[3]
    assert image_noise.levels.blind_radius == 0
    variance = image_noise.variance(torch.tensor([105.0, 110.0, 120.0, 130.0, 140.0]))
    torch.testing.assert_close(variance, torch.full((5,), NOISE_STD**2), rtol=0.2, atol=0)


def test_a_noise_model_with_too_little_noise_gets_the_prior_mean_not_a_worse_mmse():
    model, noisy, clean, image_noise = stand_in(1.0)  # the truth is 25
    patches = model.normalise(noisy)
    unguarded = choose_spread(model, patches, torch.Generator().manual_seed(0))
    mmse, prior_mean = band_errors(model, noisy, clean, unguarded)
    assert all(unguarded.trusted) and (mmse > prior_mean).all()  # SURE is fooled
    guarded = guarded_spread(model, patches, torch.Generator().manual_seed(0), image_noise)
    assert sum(guarded.trusted) <= len(guarded.trusted) // 2
    mmse, prior_mean = band_errors(model, noisy, clean, guarded)
    for b, trusted in enumerate(guarded.trusted):  # kept only where not clearly worse
        assert not trusted or mmse[b] < 1.1 * prior_mean[b]
    check = check_noise(model, guarded, image_noise, [])
    assert check.under_predicted() == list(range(len(guarded.trusted)))
    text = " ".join(check.messages())
    assert "too little noise" in text and "prior mean is predicted instead" in text


def test_a_right_noise_model_gives_up_only_bands_where_the_prior_mean_is_better():
    """This stand-in's Gaussian prior is too wide where its guess lands near the flat
    background (the truth is 100 there): only such bands may go to the prior mean."""
    model, noisy, clean, image_noise = stand_in(NOISE_STD**2)
    guarded = guarded_spread(
        model, model.normalise(noisy), torch.Generator().manual_seed(0), image_noise
    )
    mmse, prior_mean = band_errors(model, noisy, clean, guarded)
    assert sum(guarded.trusted) >= len(guarded.trusted) // 2
    for b, trusted in enumerate(guarded.trusted):
        assert trusted or prior_mean[b] < mmse[b]
    assert not check_noise(model, guarded, image_noise, []).under_predicted()


def test_correlated_noise_gets_the_prior_mean_everywhere():
    _, noisy, _, _ = stand_in(NOISE_STD**2)
    rng = np.random.default_rng(0)
    blurred = np.stack(
        [ndimage.gaussian_filter(rng.normal(0, 10.0, (128, 128)), 1.0) for _ in range(4)]
    )
    image_noise = ImageNoise.measure([SMOOTH.numpy() + 3.5 * blurred])
    assert image_noise.levels.correlation > CORRELATED_RATIO
    model = stand_in(NOISE_STD**2)[0]
    guarded = guarded_spread(
        model, model.normalise(noisy), torch.Generator().manual_seed(0), image_noise
    )
    assert not any(guarded.trusted)
    assert any("correlated" in m for m in check_noise(model, guarded, image_noise, []).messages())
    # a network trained with a blind spot as wide as the correlation: the bands are SURE's
    radius = image_noise.levels.blind_radius
    assert radius >= 1
    patches = model.normalise(noisy)
    hidden = guarded_spread(model, patches, torch.Generator().manual_seed(0), image_noise, radius)
    variance = checked_variance(model.noise_model, image_noise)
    sure = choose_spread(model, patches, torch.Generator().manual_seed(0), variance)
    assert hidden.trusted == sure.trusted


@pytest.fixture(scope="module")
def trained():
    """Tiny PN2V models trained with the synthetic camera's noise model, and with one that
    gives a quarter of its noise. 12 epochs: after 6 the prior's spread still lagged its
    mean's error in two bands, which the check rightly names ("train longer")."""
    train = synthetic.noisy_images(count=2, shape=(96, 96), seed=5)[1]
    models = {}
    for name, camera in (("right", (2.0, 100.0, 6.0)), ("wrong", (0.5, 100.0, 3.0))):
        noise_model = PoissonGaussianNoiseModel.from_camera(*camera)
        models[name] = make_trainer(
            train, noise_model, epochs=12, steps_per_epoch=25, val_patches=16
        ).run()
    return models


def test_a_trained_model_checks_its_noise_model_on_held_out_pixels(trained, tmp_path):
    """The right noise model: nothing flagged; the held-out pixels scatter no more around the
    prior than the model and the prior's spread allow (bands without a clear MMSE gain may
    still give the prior mean, and say so). The check travels with the file."""
    model = trained["right"]
    check = model.noise_check
    assert isinstance(check, NoiseCheck) and len(check.trusted) == len(model.trusted)
    assert sum(check.shares) == pytest.approx(1)
    assert np.isfinite(check.scatter).sum() >= 4
    assert check.under_predicted() == [] and check.overconfident() == []
    assert all("MMSE showed no clear gain" in m for m in check.messages())
    model.save(tmp_path / "m.pt")
    loaded = PN2VModel.load(tmp_path / "m.pt")
    assert loaded.noise_check == check and loaded.trusted == model.trusted
    assert loaded.trust_edges == model.trust_edges


def test_training_with_too_little_noise_is_flagged(trained):
    check = trained["wrong"].noise_check
    assert len(check.under_predicted()) >= len(check.shares) // 2
    assert any("too little noise" in m for m in check.messages())


def test_prediction_gives_the_prior_mean_in_untrusted_bands(pn2v_model, noisy):
    model = pn2v_model.copy()
    model.trust_edges, model.trusted, model.std_factors = (), (True,), (1.0,)
    plain = predict(model, noisy[0])
    middle = float(np.median(plain["prior_mean"]))
    model.trust_edges, model.trusted, model.std_factors = (middle,), (False, True), (1.0, 1.0)
    out = predict(model, noisy[0])
    low = plain["prior_mean"] < middle
    np.testing.assert_allclose(out["denoised"][low], plain["prior_mean"][low], rtol=1e-6)
    np.testing.assert_allclose(out["denoised"][~low], plain["denoised"][~low], rtol=1e-6)
    assert (out["std"][low] > 0).all()  # the prior's own spread, not a posterior's
    np.testing.assert_allclose(out["std"][~low], plain["std"][~low], rtol=1e-6)
