"""The model as one TorchScript module (backend/packaging/denoiser.py): the values of
``predict``, for every kind of noise model and output, at sizes it was not traced at."""

import io

import numpy as np
import pytest
import torch
import yaml

from napari_pn2v.backend import (
    ModelConfig,
    PN2VError,
    PN2VModel,
    predict,
)
from napari_pn2v.backend.packaging.denoiser import (
    PackagedDenoiser,
    mirror,
    package_arguments,
    package_state,
    to_torchscript,
)
from tests.conftest import TINY_NET, with_noise_model


def test_mirroring_is_numpys_symmetric_padding():
    x = torch.arange(24.0).reshape(1, 1, 4, 6)
    expected = np.pad(x.numpy(), ((0, 0), (0, 0), (3, 3), (3, 3)), mode="symmetric")
    np.testing.assert_array_equal(mirror(x, 3).numpy(), expected)


def _trace_and_compare(model, noisy, output="denoised"):
    traced = to_torchscript(model, torch.as_tensor(noisy[0, :64, :64])[None, None], output)
    other = noisy[1, :96, :128]  # another size than traced at
    with torch.no_grad():
        got = traced(torch.as_tensor(other)[None, None])[0, 0].numpy()
    want = predict(model, other)[output]
    assert got.shape == other.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-3)
    return got


@pytest.mark.parametrize("output", ["denoised", "prior_mean"])
def test_a_traced_pn2v_model_gives_what_predict_gives(pn2v_model, noisy, output):
    got = _trace_and_compare(pn2v_model, noisy, output)
    assert np.std(got) < np.std(noisy[1, :96, :128])  # it denoises


def test_a_traced_n2v_model_gives_what_predict_gives(n2v_model, noisy):
    _trace_and_compare(n2v_model, noisy)


@pytest.mark.parametrize("kind", ["gmm", "poisson-gaussian", "skewed"])
def test_other_noise_models_and_the_guard_are_traced_too(pn2v_model, noisy, calibration, kind):
    """The guard's untrusted band (prior mean above 300) is fixed into the module too."""
    model = with_noise_model(pn2v_model, calibration, kind)
    model.trust_edges, model.trusted, model.std_factors = (300.0,), (True, False), (1.0, 1.0)
    _trace_and_compare(model, noisy)


def test_3d_models_are_refused():
    model = PN2VModel(ModelConfig(mode="n2v", dims=3, **TINY_NET), 0.0, 1.0)
    with pytest.raises(PN2VError, match="2-D"):
        to_torchscript(model, torch.zeros(1, 1, 8, 16, 16))


@pytest.mark.parametrize("kind", ["histogram", "gmm", "poisson-gaussian", "skewed", None])
def test_the_state_dict_weights_give_what_predict_gives(
    pn2v_model, n2v_model, noisy, calibration, kind
):
    """bioimage.io's pytorch_state_dict: arguments through YAML (as rdf.yaml holds them), the
    tensors through a weights-only torch file, the guard's bands kept."""
    models = {None: n2v_model, "histogram": pn2v_model}
    model = models[kind] if kind in models else with_noise_model(pn2v_model, calibration, kind)
    if kind == "gmm":
        model.trust_edges, model.trusted, model.std_factors = (300.0,), (True, False), (1.0, 1.0)
    arguments = yaml.safe_load(yaml.safe_dump(package_arguments(model)))
    file = io.BytesIO()
    torch.save(package_state(model), file)
    file.seek(0)
    module = PackagedDenoiser(**arguments)
    with pytest.raises(PN2VError, match="state dict first"):
        module(torch.zeros(1, 1, 32, 32))
    result = module.load_state_dict(torch.load(file, weights_only=True))
    assert not result.missing_keys and not result.unexpected_keys
    image = noisy[1, :96, :128]
    with torch.no_grad():
        got = module(torch.as_tensor(image)[None, None])[0, 0].numpy()
    np.testing.assert_allclose(got, predict(model, image)["denoised"], rtol=1e-5, atol=1e-3)


def test_n2v2s_network_is_traced_and_packaged_as_predict_runs_it(noisy):
    torch.manual_seed(0)
    config = ModelConfig(mode="n2v", n2v2=True, **TINY_NET)
    model = PN2VModel(config, float(noisy.mean()), float(noisy.std()))
    _trace_and_compare(model, noisy)
    arguments = yaml.safe_load(yaml.safe_dump(package_arguments(model)))
    assert arguments["state"]["config"]["n2v2"] is True
    module = PackagedDenoiser(**arguments)
    file = io.BytesIO()
    torch.save(package_state(model), file)
    file.seek(0)
    module.load_state_dict(torch.load(file, weights_only=True))
    image = noisy[1, :96, :128]
    with torch.no_grad():
        got = module(torch.as_tensor(image)[None, None])[0, 0].numpy()
    np.testing.assert_allclose(got, predict(model, image)["denoised"], rtol=1e-5, atol=1e-3)
