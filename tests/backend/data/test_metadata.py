"""Physical pixel sizes read from the files microscopes write, and written with results."""

import numpy as np
import pytest
import tifffile
import zarr

from napari_pn2v.backend.data.metadata import describe, ome_metadata, pixel_sizes
from napari_pn2v.backend.data.stores import OutputFiles, axes_hint, open_zarr

STACK = np.arange(2 * 16 * 24, dtype=np.uint16).reshape(2, 16, 24)


def test_ome_tiff_sizes(tmp_path):
    path = tmp_path / "a.ome.tif"
    tifffile.imwrite(
        path,
        STACK,
        ome=True,
        photometric="minisblack",
        metadata={"axes": "ZYX", **ome_metadata("ZYX", {"X": (0.2, "µm"), "Y": (0.25, "µm")})},
    )
    assert pixel_sizes(path) == {"X": (0.2, "µm"), "Y": (0.25, "µm")}


def test_imagej_tiff_sizes(tmp_path):
    path = tmp_path / "ij.tif"
    tifffile.imwrite(
        path,
        STACK,
        imagej=True,
        resolution=(1 / 0.3, 1 / 0.3),
        metadata={"axes": "ZYX", "unit": "micron", "spacing": 1.5},
    )
    sizes = pixel_sizes(path)
    assert sizes["X"][0] == pytest.approx(0.3) and sizes["Y"][0] == pytest.approx(0.3)
    assert sizes["Z"] == (1.5, "µm") and sizes["X"][1] == "µm"
    assert describe(sizes) == "pixels 0.3 × 0.3 µm, Z step 1.5 µm"


def test_ome_zarr_sizes(tmp_path):
    group = zarr.open_group(tmp_path / "a.ome.zarr", mode="w")
    group.create_array("0", shape=STACK.shape, dtype=STACK.dtype)
    group.attrs["multiscales"] = [
        {
            "axes": [
                {"name": "z", "type": "space", "unit": "micrometer"},
                {"name": "y", "type": "space", "unit": "micrometer"},
                {"name": "x", "type": "space", "unit": "micrometer"},
            ],
            "datasets": [
                {
                    "path": "0",
                    "coordinateTransformations": [{"type": "scale", "scale": [2, 0.5, 0.5]}],
                }
            ],
        }
    ]
    assert pixel_sizes(tmp_path / "a.ome.zarr") == {
        "Z": (2.0, "µm"),
        "Y": (0.5, "µm"),
        "X": (0.5, "µm"),
    }


def test_files_without_sizes_give_none(tmp_path):
    tifffile.imwrite(tmp_path / "plain.tif", STACK)
    (tmp_path / "broken.tif").write_bytes(b"not a tiff")
    assert pixel_sizes(tmp_path / "plain.tif") == {}
    assert pixel_sizes(tmp_path / "broken.tif") == {}
    assert describe({}) == ""


@pytest.mark.parametrize("fmt", ["tiff", "zarr"])
def test_results_carry_the_axes_and_sizes(tmp_path, fmt):
    sizes = {"X": (0.2, "µm"), "Y": (0.2, "µm"), "Z": (1.0, "µm")}
    files = OutputFiles(tmp_path, "a", ["denoised"], STACK.shape, fmt, axes="ZYX", sizes=sizes)
    files["denoised"][:] = STACK
    (path,) = files.commit()
    if fmt == "tiff":
        assert pixel_sizes(path) == sizes
        with tifffile.TiffFile(path) as tif:
            assert tif.is_ome and tif.series[0].axes == "ZYX"
            np.testing.assert_array_equal(tif.asarray(), STACK)
            # and in the resolution tags every TIFF reader knows: 0.2 µm = 50 000 px/cm
            tags = tif.pages[0].tags
            numerator, denominator = tags["XResolution"].value
            assert numerator / denominator == pytest.approx(50_000, rel=1e-6)
            assert tags["ResolutionUnit"].value == tifffile.RESUNIT.CENTIMETER
    else:  # OME-Zarr: what reads OME-Zarr reads the axes and sizes back
        assert pixel_sizes(path) == sizes and axes_hint(path) == "ZYX"
        attrs = dict(zarr.open_group(path, mode="r").attrs)["ome"]
        assert attrs["multiscales"][0]["axes"][0] == {
            "name": "z",
            "type": "space",
            "unit": "micrometer",
        }
        np.testing.assert_array_equal(open_zarr(path)[:], STACK)


def test_zarr_results_ngff_cannot_name_keep_their_axes_as_attributes(tmp_path):
    """NGFF orders axes [T][C][Z]YX: a Z before a T stays a plain array, its axes noted."""
    shape = (2, *STACK.shape)
    files = OutputFiles(tmp_path, "a", ["denoised"], shape, "zarr", axes="ZTYX")
    (path,) = files.commit()
    attrs = dict(zarr.open_array(path, mode="r").attrs)
    assert attrs["axes"] == "ZTYX" and open_zarr(path).shape == shape


@pytest.mark.parametrize("unit", ["nm", "µm", "mm"])
def test_tiff_results_keep_the_inputs_unit(tmp_path, unit):
    """An ImageJ TIFF in nanometres gives an OME-TIFF in nanometres, not micrometres."""
    source = tmp_path / "ij.tif"
    ij_unit = {"µm": "micron"}.get(unit, unit)
    tifffile.imwrite(
        source, STACK, imagej=True, resolution=(1 / 0.4, 1 / 0.4), metadata={"unit": ij_unit}
    )
    sizes = pixel_sizes(source)
    assert sizes["X"] == (pytest.approx(0.4), unit)
    files = OutputFiles(tmp_path, "a", ["denoised"], STACK.shape, axes="ZYX", sizes=sizes)
    (path,) = files.commit()
    assert pixel_sizes(path)["X"] == (pytest.approx(0.4), unit)
