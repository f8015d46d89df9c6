"""Reading, checking and writing images.

Every front end hands user data through :func:`as_stack` so that bad input (1-D or RGB data,
NaN/inf, too few pixels) is refused with one clear message before any work starts.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import PN2VError
from .formats import open_with_bioio, read_by_bioio


def check_layout(shape: tuple[int, ...], dtype: np.dtype, name: str = "image") -> None:
    """Refuse, from shape and pixel type alone, what is no grey-scale image or stack: lazy
    data is checked here before any pixel is read."""
    if np.dtype(dtype).kind not in "biuf":
        raise PN2VError(f"{name}: unsupported pixel type {dtype}; expected a grey-scale image")
    if len(shape) < 2:
        raise PN2VError(f"{name}: {len(shape)}-D data; expected a 2-D image or a stack of them")
    if len(shape) >= 3 and shape[-1] in (3, 4) and min(shape[-3:-1]) > 4:
        raise PN2VError(
            f"{name}: looks like RGB(A) data (shape {tuple(shape)}); convert it to one channel "
            "first"
        )
    if 0 in shape:
        raise PN2VError(f"{name}: the image is empty (shape {tuple(shape)})")


def check_finite(values: np.ndarray, name: str) -> None:
    if np.asarray(values).dtype.kind in "biu":  # integers are always finite
        return
    if not np.isfinite(values).all():
        bad = int(np.size(values) - np.count_nonzero(np.isfinite(values)))
        raise PN2VError(f"{name}: {bad} pixel(s) are NaN or infinite; fix or mask them first")


def check_plane_size(shape: tuple[int, ...], min_size: int, name: str) -> None:
    if min(shape[-2:]) < min_size:
        raise PN2VError(
            f"{name}: planes of {shape[-2]}×{shape[-1]} pixels are smaller than "
            f"the {min_size}×{min_size} needed here"
        )


def check_dims(ndim: int, dims: int, name: str) -> None:
    """Refuse single planes where a 3-D network needs Z stacks."""
    if ndim < dims:
        raise PN2VError(
            f"{name}: a single {ndim}-D image; a 3-D network needs Z stacks "
            "(axes ZYX) — use a 2-D network for single planes"
        )


def plane_views(data: np.ndarray) -> np.ndarray:
    """``data`` as (N, Y, X) planes, every leading axis folded into N (a view where numpy can
    make one; 1-D data as one row): for work done plane by plane, without whole-size masks."""
    data = np.asarray(data)
    return data.reshape(1, -1) if data.ndim < 2 else data.reshape(-1, *data.shape[-2:])


def storage_type(dtype: np.dtype) -> np.dtype:
    """The pixel type a stack is kept in: integers of up to 32 bits, float16 and float32 as
    they are (an 8-bit stack stays a quarter of its float32 size), bool as uint8, the rest
    (float64, 64-bit integers) as float32."""
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return np.dtype(np.uint8)
    if (dtype.kind in "iu" and dtype.itemsize <= 4) or dtype in (np.float16, np.float32):
        return dtype
    return np.dtype(np.float32)


def as_planes(
    data: np.ndarray, name: str = "image", min_size: int = 1, dims: int = 2
) -> np.ndarray:
    """Return ``data`` as a stack of 2-D planes, shape (N, Y, X), or with ``dims=3`` of
    (Z, Y, X) volumes, shape (N, Z, Y, X), in its :func:`storage_type` (a view where it can).

    2-D images (3-D volumes) become one entry; every leading axis of a higher-dimensional array
    is folded into N. RGB(A) data, 1-D data, complex data and non-finite values are refused, as
    are planes smaller than ``min_size`` pixels along either axis.
    """
    array = np.asarray(data)
    check_layout(array.shape, array.dtype, name)
    check_dims(array.ndim, dims, name)
    stack = array.reshape((-1, *array.shape[-dims:]))
    stack = stack.astype(storage_type(stack.dtype), copy=False)
    check_finite(stack, name)
    check_plane_size(stack.shape, min_size, name)
    return stack


def as_stack(data: np.ndarray, name: str = "image", min_size: int = 1, dims: int = 2) -> np.ndarray:
    """:func:`as_planes` as float32."""
    return as_planes(data, name, min_size, dims).astype(np.float32, copy=False)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read a TIFF (any number of pages) or PNG file into a numpy array; other formats
    through bioio's readers (:mod:`.formats`)."""
    path = Path(path)
    if not path.is_file():
        raise PN2VError(f"{path}: no such file")
    if read_by_bioio(path):  # CZI, ND2, …: when bioio is installed
        return np.asarray(open_with_bioio(path)[0])
    suffix = path.suffix.lower()
    try:
        if suffix == ".png":
            import imageio.v3 as iio

            image = iio.imread(path)
        else:
            import tifffile

            image = tifffile.imread(path)
    except Exception as error:  # a reader's many failure types all mean "not readable"
        raise PN2VError(f"{path}: cannot be read as an image ({error})") from error
    if np.ndim(image) < 2 or np.size(image) == 0:
        raise PN2VError(f"{path}: cannot be read as an image (no image data found)")
    return image


def read_stack(paths: Sequence[str | os.PathLike], min_size: int = 1) -> np.ndarray:
    """Read one or more files into one (N, Y, X) float32 stack; all planes must share a shape."""
    if not paths:
        raise PN2VError("no input files given")
    stacks = [as_stack(read_image(p), name=str(p), min_size=min_size) for p in paths]
    shapes = {s.shape[1:] for s in stacks}
    if len(shapes) > 1:
        raise PN2VError(f"input images differ in size: {sorted(shapes)}")
    return np.concatenate(stacks, axis=0)


def write_tiff(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write a float32 TIFF atomically: a failure never leaves a half-written file behind."""
    import tifffile

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tif.part")
    os.close(handle)
    try:
        tifffile.imwrite(tmp, np.asarray(image, dtype=np.float32), photometric="minisblack")
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
