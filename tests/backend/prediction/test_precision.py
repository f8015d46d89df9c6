"""The network's arithmetic: float32 by default on a CPU (the exact values), bfloat16 when
asked (fast on CPUs with AMX units), which must not change what the user sees."""

import numpy as np
import pytest

import napari_pn2v.backend.devices as devices
from napari_pn2v.backend import PN2VError, PredictionConfig, predict, synthetic
from napari_pn2v.backend.metrics import psnr
from napari_pn2v.backend.prediction.tiled import TiledPrediction


@pytest.fixture(scope="module")
def pair():
    clean, noisy = synthetic.noisy_images(count=1, shape=(96, 96), seed=5)
    return clean[0], noisy[0]


def test_auto_on_a_cpu_is_float32(pn2v_model, pair, monkeypatch):
    """Also on a CPU with AMX units, where training takes bfloat16: a model file predicts the
    values it always did."""
    monkeypatch.setattr(devices, "bfloat16_units", lambda: ["AMX"])
    image = pair[1]
    auto = predict(pn2v_model, image, device="cpu")
    exact = predict(pn2v_model, image, device="cpu", precision="float32")
    for name in exact:
        np.testing.assert_array_equal(auto[name], exact[name])


@pytest.mark.parametrize("model", ["pn2v_model", "n2v_model"])
def test_bfloat16_denoises_as_well_as_float32(model, pair, request):
    model = request.getfixturevalue(model)
    clean, image = pair
    exact = predict(model, image, device="cpu", precision="float32")["denoised"]
    fast = predict(model, image, device="cpu", precision="bfloat16")["denoised"]
    assert fast.dtype == np.float32
    assert not np.array_equal(fast, exact)  # it did compute in bfloat16
    assert np.abs(fast - exact).mean() < 0.01 * image.std()
    assert psnr(clean, fast) == pytest.approx(psnr(clean, exact), abs=0.05)


def test_precision_is_checked_and_emulation_named(pn2v_model, pair, monkeypatch):
    with pytest.raises(PN2VError, match="precision must be one of"):
        TiledPrediction(pn2v_model, pair[1], PredictionConfig(device="cpu", precision="float16"))
    monkeypatch.setattr(devices, "cpu_has_bfloat16", lambda: False)
    run = TiledPrediction(pn2v_model, pair[1], PredictionConfig(device="cpu", precision="bfloat16"))
    assert run.bfloat16
    assert any("emulated" in warning for warning in run.warnings)
    assert not TiledPrediction(pn2v_model, pair[1], PredictionConfig(device="cpu")).warnings
