import numpy as np
import pytest
import tifffile

from napari_pn2v.backend import PN2VError
from napari_pn2v.backend.data.images import as_stack, read_image, read_stack, write_tiff


def test_shapes_become_stacks_of_planes():
    assert as_stack(np.zeros((8, 9), np.uint8)).shape == (1, 8, 9)
    assert as_stack(np.zeros((2, 3, 8, 9))).shape == (6, 8, 9)
    assert as_stack(np.zeros((8, 9), np.uint16)).dtype == np.float32


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (np.zeros(10), "1-D"),
        (np.zeros((32, 32, 3)), "RGB"),
        (np.array([[1.0, np.inf], [0.0, 1.0]]), "NaN or infinite"),
        (np.array([["a", "b"]]), "pixel type"),
        (np.zeros((0, 5)), "empty"),
    ],
)
def test_bad_arrays_are_refused(data, message):
    with pytest.raises(PN2VError, match=message):
        as_stack(data)


def test_too_small_planes_are_refused():
    with pytest.raises(PN2VError, match="smaller than the 16×16"):
        as_stack(np.zeros((8, 40)), min_size=16)


def test_tiff_and_png_round_trip(tmp_path):
    import imageio.v3 as iio

    stack = np.random.default_rng(0).uniform(0, 1000, (3, 16, 20)).astype(np.float32)
    write_tiff(tmp_path / "out" / "s.tif", stack)
    np.testing.assert_array_equal(read_image(tmp_path / "out" / "s.tif"), stack)
    iio.imwrite(tmp_path / "p.png", (stack[0] / 4).astype(np.uint8))
    assert read_stack([tmp_path / "p.png", tmp_path / "p.png"]).shape == (2, 16, 20)
    assert list((tmp_path / "out").iterdir()) == [tmp_path / "out" / "s.tif"]  # no temp left


def test_unreadable_files_are_refused(tmp_path):
    (tmp_path / "bad.tif").write_bytes(b"II*\x00garbage")
    (tmp_path / "x.jpg").write_bytes(b"")
    tifffile.imwrite(tmp_path / "a.tif", np.zeros((4, 4)))
    tifffile.imwrite(tmp_path / "b.tif", np.zeros((5, 4)))
    for paths, message in (
        ([tmp_path / "missing.tif"], "no such file"),
        ([tmp_path / "bad.tif"], "cannot be read"),
        ([tmp_path / "x.jpg"], "cannot be read|bioio"),
        ([tmp_path / "a.tif", tmp_path / "b.tif"], "differ in size"),
        ([], "no input"),
    ):
        with pytest.raises(PN2VError, match=message):
            read_stack(paths)
