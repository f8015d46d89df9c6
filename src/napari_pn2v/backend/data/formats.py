"""Formats that need a reader from bioio's plugins (CZI, ND2, LIF, …): opened lazily, with their
axes and pixel sizes; a clear message when the reader is not installed (the ``formats`` extra).
TIFF, PNG and zarr are read without them (:mod:`.images`, :mod:`.stores`)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import PN2VError

#: suffixes read without bioio (:mod:`.images`, :mod:`.stores`); zarr is also a folder
NATIVE_SUFFIXES = (".tif", ".tiff", ".png", ".zarr")
#: what a folder of images is read for: these files, and zarr stores (a folder of its own)
FOLDER_SUFFIXES = (".tif", ".tiff", ".png", ".czi", ".nd2", ".lif")


def is_zarr(path: Path) -> bool:
    """Whether ``path`` is a zarr store (v3 or v2), not a folder of images."""
    markers = ("zarr.json", ".zarray", ".zgroup")
    return path.suffix.lower() == ".zarr" or any((path / m).exists() for m in markers)


def _is_image(path: Path) -> bool:
    if path.name.startswith("."):
        return False
    if path.is_dir():
        return is_zarr(path)
    return path.suffix.lower() in FOLDER_SUFFIXES


def image_files(paths: Iterable[str | os.PathLike]) -> list[Path]:
    """``paths`` with each folder (other than a zarr store) replaced by the images in it: its
    TIFF, PNG, CZI, ND2 and LIF files and zarr stores, in name order; hidden files skipped."""
    found: list[Path] = []
    for path in map(Path, paths):
        if not path.is_dir() or is_zarr(path):
            found.append(path)
            continue
        inside = sorted(p for p in path.iterdir() if _is_image(p))
        if not inside:
            raise PN2VError(f"{path}: a folder without images (TIFF, PNG, CZI, ND2, LIF, zarr)")
        found += inside
    return found


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
