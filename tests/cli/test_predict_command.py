"""pn2v predict: lazy reading and writing, clusters, augmentation, axes, pixel sizes."""

import numpy as np
import pytest
import tifffile

from napari_pn2v.backend import predict
from napari_pn2v.backend.data.stores import open_zarr
from napari_pn2v.cli import main
from tests.cli.helpers import one_line_error, run


def test_predict_refuses_far_out_of_range_data_before_writing(files, capsys, pn2v_model):
    pn2v_model.save(files / "m.pt")
    tifffile.imwrite(files / "bright.tif", np.full((64, 64), 1e5, np.float32))
    code, _, err = run(
        [
            "predict",
            files / "m.pt",
            files / "noisy.tif",
            files / "bright.tif",
            "-o",
            files / "outdir",
        ],
        capsys,
    )
    one_line_error(code, err)
    assert "outside the noise model" in err and not (files / "outdir").exists()


def test_unknown_save_option_is_refused(files, capsys, n2v_model):
    n2v_model.save(files / "m.pt")
    code, _, err = run(
        ["predict", files / "m.pt", files / "single.tif", "-o", files / "d", "--save", "std"],
        capsys,
    )
    one_line_error(code, err)
    code, _, err = run(
        ["predict", files / "m.pt", files / "single.tif", "-o", files / "d", "--save", "median"],
        capsys,
    )
    one_line_error(code, err)


def test_predict_reads_lazily_and_writes_zarr_or_nothing(files, capsys, n2v_model, noisy):
    import zarr

    n2v_model.save(files / "n2v.pt")
    tifffile.imwrite(
        files / "packed.tif", noisy.astype(np.uint16), compression="zlib", tile=(32, 32)
    )
    zarr.save_array(files / "stack.zarr", noisy)
    code, out, err = run(
        [
            "predict",
            files / "n2v.pt",
            files / "packed.tif",
            files / "stack.zarr",
            "-o",
            files / "o",
            "--format",
            "zarr",
        ],
        capsys,
    )
    assert code == 0, err
    assert out.count("_denoised.zarr") == 2
    for stem in ("packed", "stack"):
        result = open_zarr(files / "o" / f"{stem}_denoised.zarr")
        assert result.shape == noisy.shape and result.dtype == np.float32
        assert np.isfinite(result[:]).all() and result[:].std() > 0
    broken = noisy.copy()
    broken[1, 3, 3] = np.nan  # found only when the second plane is read
    zarr.save_array(files / "broken.zarr", broken)
    code, _, err = run(
        ["predict", files / "n2v.pt", files / "broken.zarr", "-o", files / "p"], capsys
    )
    error = err.splitlines()[-1]  # after the progress bar of the first plane
    one_line_error(code, error + "\n")
    assert "broken.zarr: image (plane 2)" in error and "NaN" in error
    assert list((files / "p").iterdir()) == []


def test_predict_on_a_local_cluster(files, capsys, n2v_model):

    n2v_model.save(files / "n2v.pt")
    code, out, err = run(
        [
            "predict",
            files / "n2v.pt",
            files / "noisy.tif",
            "-o",
            files / "c",
            "--cluster",
            "local",
            "--workers",
            1,
            "--device",
            "cpu",
            "--precision",
            "bfloat16",
            "--augment",
        ],
        capsys,
    )
    assert code == 0, err
    assert "noisy_denoised.zarr" in out
    result = open_zarr(files / "c" / "noisy_denoised.zarr")
    assert result.shape == (2, 64, 64) and np.isfinite(result[:]).all()
    code, _, err = run(
        [
            "predict",
            files / "n2v.pt",
            files / "noisy.tif",
            "-o",
            files / "d",
            "--cluster",
            "local",
            "--format",
            "tiff",
        ],
        capsys,
    )
    one_line_error(code, err)
    assert not (files / "d").exists()
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", str(files / "n2v.pt"), "x.tif", "-o", "e", "--precision", "fp8"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and "--precision" in err


def test_predict_augment_combines_the_eight_views(files, capsys, n2v_model, noisy):
    n2v_model.save(files / "n2v.pt")
    code, _, err = run(
        ["predict", files / "n2v.pt", files / "noisy.tif", "-o", files / "a", "--augment"], capsys
    )
    assert code == 0, err
    written = tifffile.imread(files / "a" / "noisy_denoised.tif")
    expected = predict(n2v_model, noisy, augment=True)["denoised"]
    np.testing.assert_allclose(written, expected, rtol=1e-5, atol=1e-4)
    assert np.abs(written - predict(n2v_model, noisy)["denoised"]).max() > 1e-2


def test_predict_takes_a_stated_axis_order(files, capsys, n2v_model, noisy):
    n2v_model.save(files / "n2v.pt")
    tifffile.imwrite(files / "yxt.tif", np.moveaxis(noisy, 0, -1), photometric="minisblack")
    code, out, err = run(
        ["predict", files / "n2v.pt", files / "yxt.tif", "-o", files / "o", "--axes", "yxt"], capsys
    )
    assert code == 0, err
    assert "(axes TYX)" in out
    with tifffile.TiffFile(files / "o" / "yxt_denoised.tif") as tif:
        assert tif.series[0].axes == "TYX" and tif.series[0].shape == noisy.shape
    tifffile.imwrite(files / "cyx.tif", np.stack([noisy[0]] * 3), photometric="minisblack")
    code, _, err = run(
        ["predict", files / "n2v.pt", files / "cyx.tif", "-o", files / "p", "--axes", "CYX"], capsys
    )
    one_line_error(code, err)
    assert "trained on one channel; the image has 3" in err


def test_predict_keeps_an_ome_tiffs_axes_and_pixel_sizes(files, capsys, n2v_model, noisy):
    from napari_pn2v.backend.data.metadata import ome_metadata, pixel_sizes

    n2v_model.save(files / "n2v.pt")
    sizes = {"X": (0.108, "µm"), "Y": (0.108, "µm")}
    tifffile.imwrite(
        files / "cells.ome.tif",
        noisy.astype(np.float32),
        ome=True,
        photometric="minisblack",
        metadata=ome_metadata("TYX", sizes),
    )
    code, out, err = run(
        ["predict", files / "n2v.pt", files / "cells.ome.tif", "-o", files], capsys
    )
    assert code == 0, err
    assert "(axes TYX, pixels 0.108 × 0.108 µm)" in out
    result = files / "cells_denoised.tif"
    assert pixel_sizes(result) == sizes
    with tifffile.TiffFile(result) as tif:
        assert tif.is_ome and tif.series[0].axes == "TYX" and tif.series[0].shape == noisy.shape
