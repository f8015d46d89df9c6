"""Formats read through bioio's plugins, and a clear message where a reader is missing."""

import sys

import numpy as np
import pytest
import tifffile

from napari_pn2v.backend.data.formats import open_with_bioio
from napari_pn2v.backend.data.images import read_image
from napari_pn2v.backend.data.metadata import ome_metadata, pixel_sizes
from napari_pn2v.backend.data.stores import open_stack
from napari_pn2v.backend.errors import PN2VError


def test_a_missing_reader_says_what_to_install(tmp_path, monkeypatch):
    path = tmp_path / "cells.czi"
    path.write_bytes(b"ZISRAWFILE")
    monkeypatch.setitem(sys.modules, "bioio", None)  # as where the extra is not installed
    for read in (read_image, open_stack):
        with pytest.raises(PN2VError, match=r"bioio.*napari-pn2v\[formats\]"):
            read(path)
    assert pixel_sizes(path) == {}


def test_a_format_no_installed_plugin_reads_is_refused_clearly(tmp_path):
    pytest.importorskip("bioio")
    path = tmp_path / "cells.czi"
    path.write_bytes(b"not really a CZI file")
    with pytest.raises(PN2VError, match=r"cannot be read.*napari-pn2v\[formats\]"):
        open_stack(path)


def test_bioio_gives_the_image_lazily_without_singleton_axes(tmp_path):
    pytest.importorskip("bioio_ome_tiff")
    stack = np.arange(3 * 2 * 8 * 12, dtype=np.uint16).reshape(3, 2, 8, 12)
    path = tmp_path / "cells.ome.tif"
    sizes = {"X": (0.2, "µm"), "Y": (0.2, "µm")}
    tifffile.imwrite(
        path, stack, ome=True, photometric="minisblack", metadata=ome_metadata("TZYX", sizes)
    )
    data, axes, physical = open_with_bioio(path)
    assert axes == "TZYX" and data.shape == stack.shape and not isinstance(data, np.ndarray)
    np.testing.assert_array_equal(np.asarray(data), stack)
    assert (physical.Y, physical.X) == (0.2, 0.2)
