import dask.array as da
import numpy as np
import pytest
import tifffile
import zarr

from napari_pn2v.backend import PN2VError
from napari_pn2v.backend.data.axes import check_axes, guess_axes, planes_axes, spatial_last
from napari_pn2v.backend.data.stores import axes_hint, open_stack


def test_guesses_from_the_file_or_the_dimensions():
    assert guess_axes(2) == "YX" and guess_axes(3) == "TYX" and guess_axes(4) == "TZYX"
    assert guess_axes(3, "ZYX") == "ZYX" and guess_axes(3, "QYX") == "TYX"
    assert guess_axes(3, "SYX") == "TYX"  # tifffile's planar guess for a short stack
    assert guess_axes(3, "YXS") == "YXS"  # RGB: refused by check_axes
    with pytest.raises(PN2VError, match="state its axis order"):
        guess_axes(6)


@pytest.mark.parametrize(
    ("axes", "shape", "message"),
    [
        ("TYX", (2, 8, 8, 8), "name 3 dimensions"),
        ("TTX", (2, 8, 8), "distinct"),
        ("TZY", (2, 8, 8), "need a Y and an X"),
        ("CYX", (3, 8, 8), "3 channels"),
        ("YXS", (8, 8, 3), "RGB"),
    ],
)
def test_axes_that_do_not_fit_are_refused(axes, shape, message):
    with pytest.raises(PN2VError, match=message):
        check_axes(axes, shape)


def test_y_and_x_move_last_lazily():
    data = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(4, 5, 2, 3)  # YXTZ
    expected = np.moveaxis(data, (0, 1), (2, 3))
    assert planes_axes("YXTZ") == "TZYX"
    for array in (data, da.from_array(data), zarr.array(data)):
        moved = spatial_last(array, "YXTZ")
        np.testing.assert_array_equal(np.asarray(moved), expected)
    assert spatial_last(data, "TZYX") is data and np.shares_memory(spatial_last(data, "YXTZ"), data)


def test_a_3d_network_takes_z_stacks_with_z_y_x_last(tmp_path):
    assert guess_axes(3, dims=3) == "ZYX" and guess_axes(3) == "TYX"
    assert guess_axes(4, dims=3) == "TZYX"
    with pytest.raises(PN2VError, match="no Z"):
        check_axes("TYX", (2, 16, 16), dims=3)
    data = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(3, 2, 4, 5)  # ZTYX
    assert planes_axes("ZTYX", dims=3) == "TZYX" and planes_axes("ZTYX") == "ZTYX"
    np.testing.assert_array_equal(spatial_last(data, "ZTYX", dims=3), data.transpose(1, 0, 2, 3))
    tifffile.imwrite(tmp_path / "zt.tif", data, metadata={"axes": "ZTYX"})
    image, axes = open_stack(tmp_path / "zt.tif", dims=3)
    assert axes == "TZYX" and image.shape == (2, 3, 4, 5)


def test_open_stack_reads_the_files_axes(tmp_path):
    stack = np.zeros((3, 2, 16, 16), np.uint16)
    tifffile.imwrite(tmp_path / "tz.tif", stack, metadata={"axes": "ZTYX"})
    assert axes_hint(tmp_path / "tz.tif") == "ZTYX"
    image, axes = open_stack(tmp_path / "tz.tif")
    assert axes == "ZTYX" and image.shape == stack.shape
    tifffile.imwrite(
        tmp_path / "yxz.tif", np.zeros((16, 24, 3), np.uint16), photometric="minisblack"
    )
    image, axes = open_stack(tmp_path / "yxz.tif", "YXZ")
    assert axes == "ZYX" and image.shape == (3, 16, 24)
    group = zarr.open_group(tmp_path / "o.ome.zarr", mode="w")
    group.create_array("0", data=np.zeros((2, 16, 16), np.float32))
    group.attrs["multiscales"] = [
        {
            "axes": [
                {"name": "z", "type": "space"},
                {"name": "y", "type": "space"},
                {"name": "x", "type": "space"},
            ],
            "datasets": [{"path": "0"}],
        }
    ]
    assert open_stack(tmp_path / "o.ome.zarr")[1] == "ZYX"
