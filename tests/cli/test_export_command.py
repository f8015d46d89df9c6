"""pn2v export: bioimage.io packages that predict reads back, and what cannot be written."""

import numpy as np
import pytest
import tifffile

from tests.cli.helpers import run


def test_export_writes_a_package_that_predict_reads_back(files, capsys, pn2v_model):
    pytest.importorskip("bioimageio.spec")
    pn2v_model.save(files / "model.pt")
    code, out, err = run(
        ["export", files / "model.pt", "-o", files / "model.zip", "--image", files / "noisy.tif"],
        capsys,
    )
    assert code == 0 and "model.zip" in out, err
    import zipfile

    with zipfile.ZipFile(files / "model.zip") as archive:  # the settings the file records
        assert '"precision": "auto"' in archive.read("README.md").decode()
    code, _, err = run(["predict", files / "model.zip", files / "single.tif", "-o", files], capsys)
    assert code == 0, err
    packaged = tifffile.imread(files / "single_denoised.tif")
    code, _, _ = run(["predict", files / "model.pt", files / "single.tif", "-o", files], capsys)
    np.testing.assert_array_equal(packaged, tifffile.imread(files / "single_denoised.tif"))


@pytest.mark.parametrize(
    "target, extra, message",
    [
        ("model.txt", [], "is a .zip file"),
        ("model.zip", ["--result", "prior-mean"], "no prior mean"),
        ("missing/model.zip", [], "no such folder"),
    ],
)
def test_export_refuses_what_it_cannot_write(files, capsys, n2v_model, target, extra, message):
    n2v_model.save(files / "n2v.pt")
    argv = ["export", files / "n2v.pt", "--image", files / "noisy.tif", "-o", files / target]
    code, out, err = run(argv + extra, capsys)
    assert code == 1 and message in err and err.count("\n") == 1 and not out


def test_export_with_releases_known_not_to_work_together_is_one_line(
    files, capsys, n2v_model, monkeypatch
):
    from napari_pn2v.backend.packaging import bioimageio

    named = {"pydantic": "2.14.4", "bioimageio.spec": "0.5.12.0"}
    monkeypatch.setattr(bioimageio.metadata, "version", named.__getitem__)
    n2v_model.save(files / "n2v.pt")
    argv = ["export", files / "n2v.pt", "--image", files / "noisy.tif", "-o", files / "m.zip"]
    code, out, err = run(argv, capsys)
    assert code == 1 and not out and err.count("\n") == 1
    assert "pydantic 2.14.4" in err and "bioimageio.spec 0.5.12.0" in err
    assert not (files / "m.zip").exists()
