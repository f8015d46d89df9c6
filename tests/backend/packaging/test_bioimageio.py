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


@pytest.mark.parametrize("which", ["pn2v_model", "n2v_model", "shuffled_pn2v"])
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
    assert ("every 2nd pixel" in readme) == (model.shuffle == 2)
    sizes = rdf["inputs"][0]["axes"][-1]["size"]  # Y and X: whole sub-images of the pooling
    assert sizes == {"min": 24 * model.shuffle, "step": model.net.multiple * model.shuffle}


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


def _pretend(monkeypatch, **releases):
    """importlib.metadata answers ``releases`` (name with _ for .) for those packages."""
    from napari_pn2v.backend.packaging import bioimageio

    real = bioimageio.metadata.version
    named = {name.replace("_", "."): version for name, version in releases.items()}
    monkeypatch.setattr(bioimageio.metadata, "version", lambda n: named.get(n) or real(n))


def test_releases_known_to_break_export_are_named_before_any_work(monkeypatch, n2v_model, noisy):
    from napari_pn2v.jobs.export import ExportJob

    _pretend(monkeypatch, pydantic="2.14.4", bioimageio_spec="0.5.12.0")
    job = ExportJob(n2v_model, noisy, "model.zip")
    with pytest.raises(PN2VError) as caught:
        job.check()
    message = str(caught.value)
    assert "pydantic 2.14.4" in message and "bioimageio.spec 0.5.12.0" in message
    assert "pip install 'pydantic<2.14'" in message and "\n" not in message
    _pretend(monkeypatch, pydantic="2.14.4", bioimageio_spec="0.5.14.3")  # a mended spec
    job.check()


def test_an_unknown_break_inside_the_writer_is_one_line_naming_the_versions(
    monkeypatch, n2v_model, noisy, tmp_path
):
    from pydantic import BaseModel

    class Broken(BaseModel):
        value: int

    def fails(*args, **kwargs):
        Broken(value="not a number")

    monkeypatch.setattr("bioimageio.spec.save_bioimageio_package", fails)
    with pytest.raises(PN2VError) as caught:
        write_package(n2v_model, noisy, tmp_path / "model.zip")
    message = str(caught.value)
    assert "\n" not in message and "validation error" not in message
    assert "pydantic " in message and "bioimageio.spec " in message and "valid integer" in message
    assert not (tmp_path / "model.zip").exists()


#: a consumer without napari-pn2v (deepImageJ, bioimageio.core elsewhere): its import fails
WITHOUT_NAPARI_PN2V = """
import sys
sys.modules["napari_pn2v"] = None  # import napari_pn2v now fails, as where it is not installed
from bioimageio.core import test_model
print(test_model(sys.argv[1], weight_format=sys.argv[2]).status)
"""


def test_the_torchscript_weights_run_where_napari_pn2v_is_not_installed(
    pn2v_model, noisy, tmp_path
):
    import subprocess
    import sys

    path = write_package(pn2v_model, noisy, tmp_path / "model.zip")
    status = {}
    for weights in ("torchscript", "pytorch_state_dict"):
        result = subprocess.run(
            [sys.executable, "-c", WITHOUT_NAPARI_PN2V, str(path), weights],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        lines = result.stdout.split()
        status[weights] = lines[-1] if lines else result.stderr[-2000:]
    # the TorchScript module holds the whole MMSE; the state dict needs napari-pn2v's classes
    # (its test cannot run there: the check that the block works)
    assert status["torchscript"] == "passed", status
    assert status["pytorch_state_dict"] != "passed", status
