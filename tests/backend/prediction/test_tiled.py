import numpy as np
import pytest
import torch

from napari_pn2v.backend import PN2VError, PredictionConfig, TiledPrediction, predict


def test_outputs_are_float32_in_the_input_shape(pn2v_model, noisy):
    out = predict(pn2v_model, noisy[0].astype(np.uint16))
    assert set(out) == {"denoised", "prior_mean", "std"}
    for image in out.values():
        assert image.dtype == np.float32 and image.shape == noisy[0].shape
        assert np.isfinite(image).all()
    assert (out["std"] >= 0).all()


def test_n2v_has_one_output(n2v_model, noisy):
    out = predict(n2v_model, noisy[0])
    assert set(out) == {"denoised"}


@pytest.mark.parametrize(
    "model, augment",
    [
        ("pn2v_model", False),
        ("n2v_model", True),
        ("pn2v_model", True),
        ("shuffled_pn2v", False),
        ("shuffled_pn2v", True),
    ],
)
def test_tiled_equals_untiled(model, augment, request):
    """Also with test-time augmentation, whose views turn non-square windows, and for a
    shuffled model, whose tiles hold the sub-images' tiles and average over neighbours."""
    model = request.getfixturevalue(model)
    rng = np.random.default_rng(0)
    image = rng.uniform(150, 500, (70, 90)).astype(np.float32)
    whole = predict(model, image, tile=128, overlap=32, augment=augment)
    tiled = TiledPrediction(model, image, PredictionConfig(tile=48, overlap=32, augment=augment))
    assert tiled.n_tiles > 4
    for _ in tiled:
        pass
    for name in whole:
        # the posterior std is a second moment of sharply peaked weights: float differences
        # of the convolutions (another summation order in another tile) grow there, to a few
        # hundredths of an intensity unit (on intensities of 150–500)
        rtol, atol = (1e-2, 0.02) if name == "std" else (1e-4, 1e-3)
        np.testing.assert_allclose(tiled.outputs[name], whole[name], rtol=rtol, atol=atol)


def test_stacks_are_predicted_plane_by_plane(pn2v_model, noisy):
    stack = predict(pn2v_model, noisy.reshape(1, 2, 64, 64))
    assert stack["denoised"].shape == (1, 2, 64, 64)
    single = predict(pn2v_model, noisy[1])
    np.testing.assert_allclose(stack["denoised"][0, 1], single["denoised"], rtol=1e-5)


def test_mmse_is_the_likelihood_weighted_mean_of_the_samples(pn2v_model, noisy):
    image = noisy[0, :32, :32]
    out = predict(pn2v_model, image, tile=64, overlap=0)
    model = pn2v_model
    with torch.no_grad():
        x = torch.as_tensor(image)
        raw = model.net(model.normalise(x)[None, None])[0].flatten(1).T
        samples = model.prior(raw).samples()
        p = model.noise_model.log_likelihood(x.reshape(-1, 1), samples).exp()
        mmse = (p * samples).sum(1) / p.sum(1)
    np.testing.assert_allclose(out["denoised"], mmse.view(32, 32).numpy(), rtol=1e-4)
    np.testing.assert_allclose(out["prior_mean"], samples.mean(1).view(32, 32).numpy(), rtol=1e-4)


def test_progress_is_reported_per_tile(pn2v_model, noisy):
    seen = []
    predict(pn2v_model, noisy, tile=40, overlap=8, progress=lambda d, t: seen.append((d, t)))
    total = seen[-1][1]
    assert [d for d, _ in seen] == list(range(1, total + 1)) and total == 2 * 2 * 2  # cores of 32


def test_images_smaller_than_a_tile_work(pn2v_model):
    tiny = np.full((5, 7), 300.0, np.float32)
    assert predict(pn2v_model, tiny)["denoised"].shape == (5, 7)


def test_bad_prediction_input_is_refused(pn2v_model, noisy):
    with pytest.raises(PN2VError, match="multiple of 2"):
        predict(pn2v_model, noisy[0], tile=33)
    with pytest.raises(PN2VError, match="overlap"):
        predict(pn2v_model, noisy[0], overlap=7)
    with pytest.raises(PN2VError, match="outside the noise model"):
        predict(pn2v_model, noisy[0] + 1e5)
    with pytest.raises(PN2VError, match="1-D"):
        predict(pn2v_model, noisy[0, 0])
