"""bioimage.io packages (backend/packaging/bioimageio.py): valid by bioimageio.core's own test,
offline, and read back by napari-pn2v with the same values."""

import io
import zipfile

import numpy as np
import pytest
import yaml

from napari_pn2v.backend import PN2VError, PN2VModel, predict
from napari_pn2v.backend.packaging.bioimageio import input_tensor, write_package

pytest.importorskip("bioimageio.core")


def _member(path, name):
    with zipfile.ZipFile(path) as archive:
        return archive.read(name)


@pytest.mark.parametrize("which", ["pn2v_model", "n2v_model"])
def test_a_package_passes_bioimageio_cores_model_test(which, request, noisy, tmp_path):
    from bioimageio.core import test_model

    model = request.getfixturevalue(which)
    path = write_package(model, noisy, tmp_path / "model.zip", authors=("A. Tester",))
    summary = test_model(path)
    assert summary.status == "passed", summary.format()
    rdf = yaml.safe_load(_member(path, "rdf.yaml"))
    assert rdf["format_version"].startswith("0.5")
    # both weight formats were tested: TorchScript, and the state dict with its architecture
    assert set(rdf["weights"]) == {"torchscript", "pytorch_state_dict"}
    reproduced = {d.loc[-1] for d in summary.details if d.name.startswith("Reproduce test")}
    assert reproduced == {"torchscript", "pytorch_state_dict"}
    assert rdf["weights"]["pytorch_state_dict"]["architecture"]["callable"] == "PackagedDenoiser"
    assert rdf["authors"][0]["name"] == "A. Tester"
    assert any(c.get("doi") == "10.3389/fcomp.2020.00005" for c in rdf["cite"]) == (
        model.is_probabilistic
    )
    readme = _member(path, "README.md").decode()
    assert model.config.mode in readme and "Krull" in readme


def test_the_package_holds_the_users_data_and_reads_back_the_same(pn2v_model, noisy, tmp_path):
    path = write_package(pn2v_model, noisy, tmp_path / "model.zip")
    given = np.load(io.BytesIO(_member(path, "input.npy")))
    expected = np.load(io.BytesIO(_member(path, "output.npy")))
    np.testing.assert_array_equal(given, input_tensor(pn2v_model, noisy))
    assert given.shape == (1, 1, 64, 64) and given.dtype == np.float32
    back = PN2VModel.load(path)  # the attached model file
    np.testing.assert_array_equal(predict(back, given[0, 0])["denoised"], expected[0, 0])
    np.testing.assert_array_equal(
        predict(back, noisy[1])["denoised"], predict(pn2v_model, noisy[1])["denoised"]
    )


def test_a_foreign_package_is_named(tmp_path):
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("rdf.yaml", "type: model\n")
    with pytest.raises(PN2VError, match="without a napari-pn2v model"):
        PN2VModel.load(path)


def test_a_test_image_too_small_or_with_nan_is_refused(pn2v_model):
    with pytest.raises(PN2VError, match="at least"):
        input_tensor(pn2v_model, np.zeros((8, 8), np.float32))
    bad = np.zeros((64, 64), np.float32)
    bad[30, 30] = np.nan
    with pytest.raises(PN2VError, match="NaN"):
        input_tensor(pn2v_model, bad)
