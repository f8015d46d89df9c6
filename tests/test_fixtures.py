"""Users' files are sacred: files written by earlier versions load and give the same values.

The files in tests/fixtures were written by napari-pn2v at commit 4dbaa93 (see
tests/fixtures/make_fixtures.py) and are never regenerated.
"""

from pathlib import Path

import numpy as np
import pytest
import torch

from napari_pn2v.backend import PN2VModel, load_model, load_noise_model, predict

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED = np.load(FIXTURES / "expected-v1.npz")


def tolerance(name: str) -> dict:
    """The posterior std is a second moment of sharply peaked weights: the convolutions' float
    rounding, which differs between CPUs, moves it most (2 % at 2 of 1,920 pixels on an AMD
    EPYC against the Intel CPU that wrote the files); the estimates themselves stay close."""
    return dict(rtol=1e-2, atol=0.02) if name == "std" else dict(rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize("kind", ["histogram", "gmm", "pg"])
def test_noise_model_files_give_the_same_likelihood(kind):
    model = load_noise_model(FIXTURES / f"{kind}-v1.npz")
    x, s = (torch.as_tensor(EXPECTED[k], dtype=torch.float32) for k in ("x", "s"))
    np.testing.assert_allclose(
        model.likelihood(x, s).numpy(), EXPECTED[f"{kind}_likelihood"], rtol=1e-5, atol=1e-12
    )


@pytest.mark.parametrize("mode", ["pn2v", "n2v"])
def test_model_files_predict_the_same_values(mode):
    model = PN2VModel.load(FIXTURES / f"{mode}-v1.pt")
    outputs = predict(model, EXPECTED["image"], tile=32, overlap=8)
    names = ("denoised", "prior_mean", "std") if mode == "pn2v" else ("denoised",)
    assert set(outputs) == set(names)
    for name in names:
        np.testing.assert_allclose(
            outputs[name], EXPECTED[f"{mode}_{name}"], err_msg=name, **tolerance(name)
        )


def test_multi_channel_files_give_the_same_values():
    """Written when one model (and noise model) per channel came: tests/fixtures/
    make_channel_fixtures.py."""
    expected = np.load(FIXTURES / "expected-channels.npz")
    noise = load_noise_model(FIXTURES / "channels-v1.npz")
    model = load_model(FIXTURES / "channels-v2.pt")
    assert noise.names == model.names == ["GFP", "mCherry"]
    x, s = (torch.as_tensor(expected[k], dtype=torch.float32) for k in ("x", "s"))
    for c in range(2):
        np.testing.assert_allclose(
            noise[c].likelihood(x, s).numpy(), expected[f"likelihood_{c}"], rtol=1e-5, atol=1e-12
        )
        outputs = predict(model[c], expected["image"][c], tile=32, overlap=8)
        for name in ("denoised", "prior_mean", "std"):
            np.testing.assert_allclose(
                outputs[name], expected[f"{name}_{c}"], err_msg=name, **tolerance(name)
            )


def test_model_files_from_before_training_settings_were_recorded_load_without_them():
    assert PN2VModel.load(FIXTURES / "pn2v-v1.pt").training == {}
