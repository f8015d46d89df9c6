"""PN2V started from an N2V model (the bootstrap's): its prior's location is N2V's estimate
before any PN2V training, so PN2V trains on from there."""

import numpy as np
import pytest

from napari_pn2v.backend import ModelConfig, PN2VError, PN2VModel, predict
from tests.conftest import TINY_NET


def test_the_prior_starts_at_n2vs_estimate(n2v_model, noise_model, noisy):
    config = ModelConfig(mode="pn2v", samples=16, **TINY_NET)
    started = PN2VModel.from_n2v(n2v_model, config, noise_model, spread=0.1)
    assert (started.mean, started.std) == (n2v_model.mean, n2v_model.std)
    n2v = predict(n2v_model, noisy[0])["denoised"]
    prior = predict(started, noisy[0])["prior_mean"]
    # the residuals start at zero and the quantiles are symmetric: the prior mean is N2V's
    np.testing.assert_allclose(prior, n2v, rtol=1e-4, atol=1e-3 * float(np.ptp(n2v)))
    fresh = predict(PN2VModel(config, n2v_model.mean, n2v_model.std, noise_model), noisy[0])
    assert np.abs(fresh["prior_mean"] - n2v).mean() > 10 * np.abs(prior - n2v).mean()


def test_only_a_matching_n2v_model_is_a_start(n2v_model, pn2v_model, noise_model):
    config = ModelConfig(mode="pn2v", samples=16, **TINY_NET)
    with pytest.raises(PN2VError, match="starts from an N2V model"):
        PN2VModel.from_n2v(pn2v_model, config, noise_model, spread=0.1)
    wider = ModelConfig(mode="pn2v", samples=16, depth=2, features=16)
    with pytest.raises(PN2VError, match="another network"):
        PN2VModel.from_n2v(n2v_model, wider, noise_model, spread=0.1)
    n2v2 = ModelConfig(mode="pn2v", samples=16, n2v2=True, **TINY_NET)
    with pytest.raises(PN2VError, match="another network"):
        PN2VModel.from_n2v(n2v_model, n2v2, noise_model, spread=0.1)
