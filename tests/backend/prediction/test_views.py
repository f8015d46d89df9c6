"""Test-time augmentation: the 8 views of a tile, combined."""

import numpy as np
import torch

from napari_pn2v.backend import predict
from napari_pn2v.backend.prediction.views import VIEWS


def test_the_eight_views_are_distinct_and_undone():
    x = torch.arange(2 * 3 * 5, dtype=torch.float32).reshape(2, 3, 5)  # non-square planes
    seen = {tuple(view.apply(x).flatten().tolist()) for view in VIEWS}
    assert len(VIEWS) == 8 and len(seen) == 8
    for view in VIEWS:
        assert torch.equal(view.undo(view.apply(x)), x)
        assert view.apply(x).shape[0] == 2  # a stack's Z axis is left alone


def _turned(image: np.ndarray, view) -> np.ndarray:
    return view.apply(torch.from_numpy(image)).contiguous().numpy()


def test_n2v_averages_the_views_turned_back(n2v_model, noisy):
    image = noisy[0]
    augmented = predict(n2v_model, image, tile=128, augment=True)["denoised"]
    each = [
        view.undo(torch.from_numpy(predict(n2v_model, _turned(image, view))["denoised"]))
        for view in VIEWS
    ]
    np.testing.assert_allclose(augmented, torch.stack(each).mean(0).numpy(), rtol=1e-5, atol=1e-3)
    plain = predict(n2v_model, image, tile=128)["denoised"]
    assert np.abs(augmented - plain).max() > 1e-2  # the network is not symmetric


def _view_samples(model, image: np.ndarray, calibrated: bool = True) -> torch.Tensor:
    """(pixels, 8·K) prior samples of every view, turned back to the image's pixels, with the
    spread as calibrated or as trained."""
    x = torch.as_tensor(image)
    samples = []
    with torch.no_grad():
        for view in VIEWS:
            raw = view.undo(model.net(model.normalise(view.apply(x))[None, None]))
            samples.append(model.prior(raw[0].flatten(1).T, calibrated).samples())
    return torch.cat(samples, dim=1)


def test_pn2v_weighs_the_mixture_of_the_views_priors(pn2v_model, noisy):
    image = noisy[0, :32, :32]
    out = predict(pn2v_model, image, tile=64, overlap=0, augment=True)
    samples = _view_samples(pn2v_model, image)
    observed = torch.as_tensor(image).reshape(-1, 1)
    p = pn2v_model.noise_model.log_likelihood(observed, samples).exp()
    mmse = (p * samples).sum(1) / p.sum(1)
    np.testing.assert_allclose(out["denoised"], mmse.view(32, 32).numpy(), rtol=1e-4)
    np.testing.assert_allclose(out["prior_mean"], samples.mean(1).view(32, 32).numpy(), rtol=1e-4)
    guarded = pn2v_model.copy()
    # one band, not trusted: the guard's prior mean is the views' mixture's too
    guarded.trust_edges, guarded.trusted, guarded.std_factors = (), (False,), (1.0,)
    guarded.spread_scale = 0.5
    out = predict(guarded, image, tile=64, overlap=0, augment=True)
    np.testing.assert_allclose(out["denoised"], out["prior_mean"])
    # its uncertainty: the spread of the views' priors as trained (not the calibrated
    # mixture's spread over the factor, which would stretch the views' disagreement too)
    as_trained = _view_samples(guarded, image, calibrated=False).std(1)
    np.testing.assert_allclose(out["std"], as_trained.view(32, 32).numpy(), rtol=1e-4)
