import pickle

import numpy as np
import pytest
import torch

from napari_pn2v.backend import ModelConfig, PN2VError, PN2VModel, predict
from tests.conftest import with_noise_model


@pytest.mark.parametrize("name", ["pn2v_model", "n2v_model"])
def test_round_trip_predicts_the_same(tmp_path, request, noisy, name):
    model = request.getfixturevalue(name)
    path = tmp_path / "model.pt"
    model.save(path)
    loaded = PN2VModel.load(path)
    assert loaded.config == model.config
    assert (loaded.mean, loaded.std, loaded.epochs_trained) == (
        model.mean,
        model.std,
        model.epochs_trained,
    )
    np.testing.assert_array_equal(
        predict(loaded, noisy[0])["denoised"], predict(model, noisy[0])["denoised"]
    )


def test_saved_settings_of_other_versions_give_the_network_they_were_saved_with():
    # a file from before N2V2's option holds the plain network, whatever the default
    assert ModelConfig.from_saved({"mode": "n2v", "depth": 2}).n2v2 is False
    assert ModelConfig.from_saved({"mode": "n2v", "n2v2": True}).n2v2 is True
    # a later version's unknown setting is ignored
    assert ModelConfig.from_saved({"mode": "n2v", "later": 1}) == ModelConfig(mode="n2v")


class Exploit:
    def __reduce__(self):
        import os

        return (os.system, ("touch pwned",))


def test_loading_never_runs_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pt"
    with open(path, "wb") as handle:
        pickle.dump({"format": "napari-pn2v-model", "x": Exploit()}, handle)
    torch.save({"format": "napari-pn2v-model", "x": Exploit()}, tmp_path / "evil2.pt")
    for evil in ("evil.pt", "evil2.pt"):
        with pytest.raises(PN2VError, match="not a napari-pn2v model"):
            PN2VModel.load(tmp_path / evil)
    assert not (tmp_path / "pwned").exists()


def test_corrupt_foreign_and_damaged_files_are_refused(tmp_path, pn2v_model):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00" * 100)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    damaged = tmp_path / "damaged.pt"
    pn2v_model.save(damaged)
    state = torch.load(damaged, weights_only=True)
    state["weights"].popitem()
    torch.save(state, damaged)
    truncated = tmp_path / "truncated.pt"
    pn2v_model.save(truncated)
    truncated.write_bytes(truncated.read_bytes()[:500])
    for path, message in (
        (garbage, "not a napari-pn2v"),
        (foreign, "not a napari-pn2v"),
        (damaged, "damaged"),
        (truncated, "not a napari-pn2v"),
        (tmp_path / "missing.pt", "no such file"),
    ):
        with pytest.raises(PN2VError, match=message):
            PN2VModel.load(path)


@pytest.mark.parametrize("kind", ["gmm", "poisson-gaussian"])
def test_a_model_keeps_its_noise_model_of_any_kind(tmp_path, pn2v_model, calibration, kind):
    model = with_noise_model(pn2v_model, calibration, kind)
    model.save(tmp_path / "model.pt")
    loaded = PN2VModel.load(tmp_path / "model.pt")
    assert type(loaded.noise_model) is type(model.noise_model)
    x, s = torch.tensor([400.0]), torch.tensor([390.0])
    torch.testing.assert_close(
        loaded.noise_model.likelihood(x, s), model.noise_model.likelihood(x, s)
    )
