"""Formats that need a reader from bioio's plugins (CZI, ND2, LIF, …): opened lazily, with their
axes and pixel sizes; a clear message when the reader is not installed (the ``formats`` extra).
TIFF, PNG and zarr are read without them (:mod:`.images`, :mod:`.stores`)."""

from __future__ import annotations

from pathlib import Path

from ..errors import PN2VError

#: suffixes read without bioio (:mod:`.images`, :mod:`.stores`); zarr is also a folder
NATIVE_SUFFIXES = (".tif", ".tiff", ".png", ".zarr")


def read_by_bioio(path: Path) -> bool:
    """Whether ``path`` is a format only bioio's readers open (CZI, ND2, LIF, …)."""
    return not path.is_dir() and path.suffix.lower() not in NATIVE_SUFFIXES


def open_with_bioio(path: Path) -> tuple:
    """(the image as a lazy dask array without its axes of length 1 other than Y and X, its
    axis order, the reader's physical pixel sizes) of a format bioio's plugins read (CZI, ND2,
    LIF, …); a clear message when bioio or the format's plugin is not installed."""
    install = "pip install 'napari-pn2v[formats]'"
    if not path.exists():
        raise PN2VError(f"{path}: no such file")
    try:
        from bioio import BioImage
    except ImportError:
        raise PN2VError(
            f"{path}: {path.suffix} files are read through bioio, which is not installed: "
            f"{install} (TIFF, PNG and zarr need nothing more)"
        ) from None
    try:
        image = BioImage(path)
        data, order = image.dask_data, image.dims.order
    except Exception as error:  # no plugin for the format, or not readable by the one there
        raise PN2VError(
            f"{path}: cannot be read ({type(error).__name__}: {error}); the readers for CZI, "
            f"ND2, LIF and OME-Zarr come with {install}"
        ) from error
    keep = [
        i
        for i, (axis, n) in enumerate(zip(order, data.shape, strict=True))
        if n > 1 or axis in "YX"
    ]
    index = tuple(slice(None) if i in keep else 0 for i in range(len(order)))
    return data[index], "".join(order[i] for i in keep), image.physical_pixel_sizes
