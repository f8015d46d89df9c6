"""Prediction from lazy inputs (dask, zarr, memory-mapped TIFF) into files, tile by tile."""

from functools import partial

import dask.array as da
import numpy as np
import pytest
import tifffile
import zarr

from napari_pn2v.backend import PN2VError, predict
from napari_pn2v.backend.data.lazy import PlaneSource, is_lazy, reflect
from napari_pn2v.backend.data.stores import OutputFiles, open_image
from tests.conftest import numpy_peak


def test_reflect_reads_what_np_pad_symmetric_pads():
    line = np.arange(5)
    for pad in (0, 3, 5, 12):
        padded = np.pad(line, pad, mode="symmetric")
        np.testing.assert_array_equal(line[reflect(np.arange(-pad, 5 + pad), 5)], padded)


def test_lazy_sources_read_the_same_windows_as_memory(noisy):
    stack = noisy.reshape(2, 1, 64, 64)
    eager = PlaneSource(stack)
    rows, cols = reflect(np.arange(-4, 20), 64), reflect(np.arange(50, 70), 64)
    for data in (da.from_array(stack, chunks=(1, 1, 32, 32)), zarr.array(stack)):
        source = PlaneSource(data)
        assert is_lazy(data) and source.lazy and source.shape == (2, 64, 64)
        assert source.index(1) == (1, 0)
        np.testing.assert_array_equal(source.window(1, rows, cols), eager.window(1, rows, cols))
        sample = source.sample(pixels=256)  # a regular grid through every plane
        assert sample.shape[0] == 2 and 64 <= sample.size <= 256
        np.testing.assert_array_equal(sample[1], stack[1, 0, ::6, ::6])


def test_lazy_bad_data_is_refused_by_shape_or_when_read():
    with pytest.raises(PN2VError, match="RGB"):
        PlaneSource(da.zeros((64, 64, 3)))
    with pytest.raises(PN2VError, match="1-D"):
        PlaneSource(da.zeros(64))
    broken = np.ones((3, 32, 32), np.float32)
    broken[2, 5, 5] = np.nan
    source = PlaneSource(da.from_array(broken))
    rows = np.arange(32)
    source.window(0, rows, rows)  # clean planes read fine
    with pytest.raises(PN2VError, match=r"plane 3\): 1 pixel\(s\) are NaN"):
        source.window(2, rows, rows)


@pytest.mark.parametrize("fmt", ["zarr", "tiff"])
def test_a_lazy_stack_is_denoised_into_files_equal_to_memory(pn2v_model, noisy, tmp_path, fmt):
    stack = noisy.reshape(2, 1, 64, 64)
    whole = predict(pn2v_model, stack, tile=48, overlap=16)
    files = OutputFiles(tmp_path, "noisy", ["denoised", "std"], stack.shape, fmt)
    out = predict(
        pn2v_model, da.from_array(stack, chunks=(1, 1, 64, 64)), tile=48, overlap=16, outputs=files
    )
    assert "prior_mean" in out and out["prior_mean"].shape == stack.shape  # made in memory
    unwanted = predict(pn2v_model, stack, outputs={"std": None, "prior_mean": None})
    assert set(unwanted) == {"denoised"}
    paths = files.commit()
    assert [p.name for p in paths] == [
        f"noisy_denoised.{fmt[:3] if fmt == 'tiff' else fmt}",
        f"noisy_std.{fmt[:3] if fmt == 'tiff' else fmt}",
    ]
    assert not list(tmp_path.glob("*.part"))
    for name, path in zip(["denoised", "std"], paths, strict=True):
        written = np.asarray(open_image(path)[:])
        assert written.dtype == np.float32
        np.testing.assert_allclose(written, whole[name], rtol=1e-4, atol=1e-3)


def test_outputs_must_match_the_image(pn2v_model, n2v_model, noisy, tmp_path):
    with pytest.raises(PN2VError, match="shape"):
        predict(pn2v_model, noisy, outputs={"denoised": np.zeros((1, 64, 64), np.float32)})
    with pytest.raises(PN2VError, match="no output 'std'"):
        predict(n2v_model, noisy, outputs={"std": np.zeros(noisy.shape, np.float32)})


def test_a_failed_run_leaves_no_files(n2v_model, noisy, tmp_path):
    broken = noisy.copy()
    broken[1, 40, 40] = np.inf
    files = OutputFiles(tmp_path, "x", ["denoised"], broken.shape, "zarr")
    with pytest.raises(PN2VError, match="plane 2"):
        predict(n2v_model, da.from_array(broken, chunks=(1, 64, 64)), outputs=files)
    files.discard()
    assert list(tmp_path.iterdir()) == []


def test_memory_does_not_grow_with_the_number_of_planes(n2v_model, noisy, tmp_path):
    """numpy's peak while denoising a memory-mapped stack into a memory-mapped TIFF: about one
    tile's worth, whether the stack has 2 planes or 32. (Python's allocator keeps some
    hundred kB of small objects in free lists, so the planes are large enough that holding
    the stack — 2 MB — would stand out.)"""
    peaks = []
    plane = np.tile(noisy[0], (2, 2))  # 128×128
    for planes in (2, 32):
        path = tmp_path / f"in{planes}.tif"
        tifffile.imwrite(path, np.resize(plane, (planes, *plane.shape)))
        image = open_image(path)
        assert isinstance(image, np.memmap)
        files = OutputFiles(tmp_path, f"out{planes}", ["denoised"], image.shape, "tiff")
        work = partial(predict, n2v_model, image, tile=64, overlap=8, outputs=files)
        peaks.append(numpy_peak(work))
        files.commit()
    stack = 32 * plane.nbytes
    assert peaks[1] < peaks[0] + stack / 8, peaks
    assert peaks[1] < stack / 4, peaks


def test_open_image_reads_tiff_zarr_and_ome_zarr_lazily(noisy, tmp_path):
    tifffile.imwrite(tmp_path / "plain.tif", noisy)
    tifffile.imwrite(
        tmp_path / "packed.tif", noisy.astype(np.uint16), compression="zlib", tile=(32, 32)
    )
    zarr.save_array(tmp_path / "a.zarr", noisy)
    group = zarr.open_group(tmp_path / "b.ome.zarr", mode="w")
    group.create_array("0", data=noisy)
    group.create_array("1", data=noisy[:, ::2, ::2])
    group.attrs["multiscales"] = [{"datasets": [{"path": "0"}, {"path": "1"}]}]
    for name, expected in (
        ("plain.tif", noisy),
        ("packed.tif", noisy.astype(np.uint16)),
        ("a.zarr", noisy),
        ("b.ome.zarr", noisy),
    ):
        image = open_image(tmp_path / name)
        assert is_lazy(image) and image.shape == noisy.shape, name
        np.testing.assert_array_equal(np.asarray(image[1, 3:9, 10:12]), expected[1, 3:9, 10:12])
    (tmp_path / "junk.tif").write_bytes(b"not a tiff")
    with pytest.raises(PN2VError, match="cannot be read"):
        open_image(tmp_path / "junk.tif")
    (tmp_path / "empty.zarr").mkdir()
    with pytest.raises(PN2VError, match="zarr"):
        open_image(tmp_path / "empty.zarr")
