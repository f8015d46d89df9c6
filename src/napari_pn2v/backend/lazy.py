"""Images larger than memory: read tiles on demand from any array that slices lazily.

napari holds big data as dask or zarr arrays, TIFF files can be memory-mapped: all of them
read only what a slice asks for. :class:`PlaneSource` gives prediction an (N, Y, X) view of
such an array (leading axes folded into N, as :func:`.images.as_stack` does for arrays in
memory) and reads one tile window at a time, so memory stays flat however big the input is.
"""

from __future__ import annotations

import math

import numpy as np

from .images import as_stack, check_finite, check_layout, check_plane_size

#: pixels read to check a lazy input against the noise model's range
SAMPLE_PIXELS = 2**20


def is_lazy(data: object) -> bool:
    """True for arrays whose pixels are read on demand (dask, zarr, memory-mapped files)."""
    return isinstance(data, np.memmap) or (
        not isinstance(data, np.ndarray) and hasattr(data, "shape") and hasattr(data, "dtype")
        and hasattr(data, "__getitem__")
    )


def reflect(index: np.ndarray, length: int) -> np.ndarray:
    """Indices into an axis of ``length`` that np.pad's "symmetric" mode would read."""
    folded = np.mod(index, 2 * length)
    return np.where(folded >= length, 2 * length - 1 - folded, folded)


class PlaneSource:
    """An (N, Y, X) view of an image or stack, in memory or lazy, read window by window.

    Arrays in memory are checked and converted once (:func:`.images.as_stack`); lazy arrays
    are checked from their shape and type, and each window for NaN/inf as it is read.
    """

    def __init__(self, data, name: str = "image", min_size: int = 1) -> None:
        self.name = name
        self.lazy = is_lazy(data)
        if self.lazy:
            check_layout(tuple(data.shape), data.dtype, name)
            check_plane_size(tuple(data.shape), min_size, name)
            self.data = data
        else:
            stack = as_stack(data, name, min_size)
            self.data = stack.reshape(np.shape(data))
        self.image_shape: tuple[int, ...] = tuple(self.data.shape)
        self.leading = self.image_shape[:-2]
        self.shape = (math.prod(self.leading), *self.image_shape[-2:])

    def index(self, plane: int) -> tuple[int, ...]:
        """The leading-axes index of plane number ``plane``."""
        return tuple(int(i) for i in np.unravel_index(plane, self.leading)) if self.leading else ()

    def window(self, plane: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """float32 pixels of ``plane`` at ``rows`` × ``cols`` (indices inside the plane);
        only their bounding box is read."""
        r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
        block = np.asarray(self.data[(*self.index(plane), slice(r0, r1), slice(c0, c1))],
                           dtype=np.float32)
        if self.lazy:
            check_finite(block, f"{self.name} (plane {plane + 1})")
        return block[np.ix_(rows - r0, cols - c0)]

    def sample(self, pixels: int = SAMPLE_PIXELS) -> np.ndarray:
        """About ``pixels`` pixels on a regular grid through the whole stack (for range checks)."""
        if not self.lazy:
            return self.data
        n, height, width = self.shape
        planes = np.unique(np.linspace(0, n - 1, min(n, 8)).round().astype(int))
        step = max(1, math.ceil(math.sqrt(height * width * len(planes) / pixels)))
        parts = [np.asarray(self.data[(*self.index(p), slice(None, None, step),
                                       slice(None, None, step))], dtype=np.float32)
                 for p in planes]
        sample = np.stack(parts)
        check_finite(sample, self.name)
        return sample
