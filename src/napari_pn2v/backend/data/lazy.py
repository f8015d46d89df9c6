"""Images larger than memory: read tiles on demand from any array that slices lazily.

napari holds big data as dask or zarr arrays, TIFF files can be memory-mapped: all of them
read only what a slice asks for. :class:`PlaneSource` gives prediction an (N, Y, X) view of
such an array (leading axes folded into N, as :func:`.images.as_planes` does for arrays in
memory) and reads one tile window at a time, so memory stays flat however big the input is.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .images import as_planes, check_finite, check_layout, check_plane_size

#: pixels read to check a lazy input against the noise model's range
SAMPLE_PIXELS = 2**20
#: lazy training data up to this size (as float32) is loaded: batches cut from memory are
#: faster than batches read patch by patch
LOAD_BYTES = 2**31


def is_lazy(data: object) -> bool:
    """True for arrays whose pixels are read on demand (dask, zarr, memory-mapped files)."""
    return isinstance(data, np.memmap) or (
        not isinstance(data, np.ndarray)
        and hasattr(data, "shape")
        and hasattr(data, "dtype")
        and hasattr(data, "__getitem__")
    )


def load_if_small(data, limit: int | None = None):
    """``data`` itself if lazy and larger than ``limit`` (default :data:`LOAD_BYTES`) bytes as
    float32, else in memory."""
    limit = LOAD_BYTES if limit is None else limit
    if is_lazy(data) and math.prod(data.shape) * 4 > limit:
        return data
    return np.asarray(data)


def some_planes(image, pixels: int) -> np.ndarray:
    """``image`` itself if in memory; of a lazy image, evenly spaced whole planes holding up to
    ``pixels`` pixels, read in their own pixel type (which clipping is judged by)."""
    if not is_lazy(image):
        return np.asarray(image)
    source = PlaneSource(image)
    planes = spaced_planes(source.shape[0], source.shape[1] * source.shape[2], pixels)
    return np.stack([np.asarray(image[source.index(p)]) for p in planes])


def spaced_planes(n: int, plane_pixels: int, pixels: int) -> np.ndarray:
    """Indices of evenly spaced planes among ``n`` holding up to ``pixels`` pixels (one at
    least)."""
    count = max(1, min(n, pixels // plane_pixels))
    return np.unique(np.linspace(0, n - 1, count).round().astype(int))


def reflect(index: np.ndarray, length: int) -> np.ndarray:
    """Indices into an axis of ``length`` that np.pad's "symmetric" mode would read."""
    folded = np.mod(index, 2 * length)
    return np.where(folded >= length, 2 * length - 1 - folded, folded)


class PlaneSource:
    """An (N, Y, X) view of an image or stack, in memory or lazy, read window by window.

    Arrays in memory are checked once and kept in their own type (:func:`.images.as_planes`);
    lazy arrays are checked from their shape and type, and each window for NaN/inf as it is
    read. Windows come out as float32.
    """

    def __init__(self, data, name: str = "image", min_size: int = 1) -> None:
        self.name = name
        self.lazy = is_lazy(data)
        if self.lazy:
            check_layout(tuple(data.shape), data.dtype, name)
            check_plane_size(tuple(data.shape), min_size, name)
            self.data = data
        else:
            stack = as_planes(data, name, min_size)
            self.data = stack.reshape(np.shape(data))
        self.image_shape: tuple[int, ...] = tuple(self.data.shape)
        self.leading = self.image_shape[:-2]
        self.shape = (math.prod(self.leading), *self.image_shape[-2:])

    def index(self, plane: int, dims: int = 2) -> tuple[int, ...]:
        """The leading-axes index of plane number ``plane`` (of Z stack number ``plane`` when
        ``dims`` is 3: the axes before Z, Y and X)."""
        leading = self.image_shape[:-dims]
        return tuple(int(i) for i in np.unravel_index(plane, leading)) if leading else ()

    def count(self, dims: int = 2) -> int:
        """How many planes (Z stacks, when ``dims`` is 3) the source holds."""
        return math.prod(self.image_shape[:-dims])

    def block(self, plane: int, y: int, x: int, height: int, width: int) -> np.ndarray:
        """float32 pixels of a rectangle of ``plane``; lazy data is checked as it is read."""
        block = np.asarray(
            self.data[(*self.index(plane), slice(y, y + height), slice(x, x + width))],
            dtype=np.float32,
        )
        if self.lazy:
            check_finite(block, f"{self.name} (plane {plane + 1})")
        return block

    def window(self, plane: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """float32 pixels of ``plane`` at ``rows`` × ``cols`` (indices inside the plane);
        only their bounding box is read."""
        r0, c0 = int(rows.min()), int(cols.min())
        block = self.block(plane, r0, c0, int(rows.max()) + 1 - r0, int(cols.max()) + 1 - c0)
        return block[np.ix_(rows - r0, cols - c0)]

    def sample(self, pixels: int = SAMPLE_PIXELS) -> np.ndarray:
        """About ``pixels`` pixels on a regular grid through the whole stack (for range checks)."""
        if not self.lazy:
            return self.data
        n, height, width = self.shape
        planes = np.unique(np.linspace(0, n - 1, min(n, 8)).round().astype(int))
        step = max(1, math.ceil(math.sqrt(height * width * len(planes) / pixels)))
        parts = [
            np.asarray(
                self.data[(*self.index(p), slice(None, None, step), slice(None, None, step))],
                dtype=np.float32,
            )
            for p in planes
        ]
        sample = np.stack(parts)
        check_finite(sample, self.name)
        return sample


class LazyFrames:
    """Training frames that stay where they are: planes ``planes`` and rows ``rows`` of a lazy
    source, with patches read batch by batch (:func:`.masking.sample_patches` calls
    :meth:`crops`), so training memory does not grow with the data. With ``depth`` (a 3-D
    network) the frames are Z stacks of ``depth`` consecutive planes of the source, and
    ``planes`` numbers stacks."""

    def __init__(
        self,
        source: PlaneSource,
        planes: range,
        rows: range,
        device: torch.device | str = "cpu",
        depth: int | None = None,
    ) -> None:
        self.source, self.planes, self.rows, self.depth = source, planes, rows, depth
        self.device = torch.device(device)
        stack = () if depth is None else (depth,)
        self.shape = (len(planes), *stack, len(rows), source.shape[2])

    def dim(self) -> int:
        return len(self.shape)

    def numel(self) -> int:
        return math.prod(self.shape)

    def crops(
        self, frame: torch.Tensor, *corner: torch.Tensor, shape: tuple[int, ...]
    ) -> torch.Tensor:
        """(B, *shape) float32 crops at (frame, [z,] y, x), read from the source (a Z stack's
        crop plane by plane)."""
        out = np.empty((len(frame), *shape), np.float32)
        height, width = shape[-2:]
        for i, (f, *start) in enumerate(
            zip(frame.tolist(), *(c.tolist() for c in corner), strict=True)
        ):
            y0, x0 = self.rows[start[-2]], start[-1]
            if self.depth is None:
                out[i] = self.source.block(self.planes[f], y0, x0, height, width)
                continue
            first = self.planes[f] * self.depth + start[0]
            for z in range(shape[0]):
                out[i, z] = self.source.block(first + z, y0, x0, height, width)
        return torch.from_numpy(out).to(self.device)
