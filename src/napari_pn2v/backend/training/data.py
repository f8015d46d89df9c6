"""Training data, prepared once: images checked and grouped by size (or left lazy), split into
what trains and what validates, and the fixed patches that validate and choose the spread.

Testable without a network: :class:`TrainingData` needs only the configuration and the network's
size multiple; the trainer hands it the model's normalisation when it exists.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import numpy as np
import torch

from ..data.images import as_planes, check_dims, plane_views, storage_type
from ..data.lazy import LazyFrames, PlaneSource, is_lazy, some_planes, spaced_planes
from ..errors import PN2VError
from .config import NEIGHBOURHOOD, TrainConfig
from .masking import Batch, masked_batch, paired_batch, sample_patches

#: fewest rows a held-out region may have; validation patches shrink to fit it
MIN_HOLDOUT_ROWS = 16
#: pixels of the patches that choose the prior's spread and the guard's bands (once per run:
#: about 2 minutes of a CPU core with K = 800)
SPREAD_PIXELS = 2**17
#: pixels of whole planes a lazy image gives the guard's measurement of its noise
NOISE_PIXELS = 2**22

Normalise = Callable[[torch.Tensor], torch.Tensor]
Frames = torch.Tensor | LazyFrames
Span = tuple[range, range]  # (planes, rows) of a stack


def holdout_spans(
    n: int, height: int, fraction: float, patch: int, holdout: str = "frames", group: int = 1
) -> tuple[Span, Span]:
    """(planes, rows) to train on and to validate on: the last whole frames when there are
    enough (and ``holdout`` is "frames"), else a strip of rows at the bottom of every frame, at
    least :data:`MIN_HOLDOUT_ROWS` high. Frames come in groups of ``group`` consecutive planes
    (an image's pixel-shuffled sub-images, :mod:`..network.shuffle`), held out whole."""
    every_row = range(height)
    if fraction == 0:
        return (range(n), every_row), (range(0), every_row)
    n_val = round(n // group * fraction) * group
    if holdout == "frames" and 1 <= n_val < n:
        return (range(n - n_val), every_row), (range(n - n_val, n), every_row)
    rows = max(MIN_HOLDOUT_ROWS, round(height * fraction))
    if height - rows < patch:
        raise PN2VError(
            f"images of {height} rows are too small to hold out a validation strip of {rows} "
            f"rows and still train on {patch}-pixel patches; use more frames, a smaller patch "
            "size or val-fraction 0"
        )
    return (range(n), range(height - rows)), (range(n), range(height - rows, height))


def split_validation(
    stack: np.ndarray, fraction: float, patch: int, holdout: str = "frames", group: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """(training, validation) parts of an (N, [C,] Y, X) stack; see :func:`holdout_spans`."""
    spans = holdout_spans(stack.shape[0], stack.shape[-2], fraction, patch, holdout, group)
    return tuple(
        stack[planes.start : planes.stop, ..., rows.start : rows.stop, :] for planes, rows in spans
    )


Images = np.ndarray | Sequence[np.ndarray]

#: pixel types that stay as they are on an accelerator (torch's indexing there may lack the
#: other unsigned types); the rest go there as float32
DEVICE_TYPES = (np.uint8, np.int8, np.int16, np.int32, np.float16, np.float32)


def on_device(array: np.ndarray, device: torch.device) -> torch.Tensor:
    """``array`` as a tensor on ``device``: on the CPU without a copy, in its own type."""
    if device.type != "cpu" and array.dtype not in DEVICE_TYPES:
        array = array.astype(np.float32)
    with warnings.catch_warnings():  # read-only data (a file opened read-only) is only read
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        return torch.from_numpy(array).to(device)


def mean_std(samples: Sequence[np.ndarray]) -> tuple[float, float]:
    """Mean and standard deviation of all pixels of ``samples``, summed plane by plane in
    float64: no float copy of the whole data is made."""
    count, total, squares = 0, 0.0, 0.0
    for sample in samples:
        for plane in plane_views(sample):
            values = plane.astype(np.float64)
            count += values.size
            total += float(values.sum())
            squares += float(np.square(values).sum())
    mean = total / count
    return mean, math.sqrt(max(squares / count - mean**2, 0.0))


def as_list(images: Images) -> list[np.ndarray]:
    """One image (in memory or lazy) or a sequence of them, as a list."""
    return [images] if isinstance(images, np.ndarray) or is_lazy(images) else list(images)


def _pair(stack: np.ndarray, target: np.ndarray, name: str) -> np.ndarray:
    """(N, 2, Y, X) of inputs and clean targets; one target plane serves every input plane."""
    if target.shape[1:] != stack.shape[1:] or target.shape[0] not in (1, stack.shape[0]):
        raise PN2VError(
            f"{name}: the target ({target.shape[0]} plane(s) of "
            f"{target.shape[1]}×{target.shape[2]}) does not match the input "
            f"({stack.shape[0]} plane(s) of {stack.shape[1]}×{stack.shape[2]})"
        )
    pair = np.stack([stack, np.broadcast_to(target, stack.shape)], axis=1)
    return pair.astype(storage_type(pair.dtype), copy=False)


def group_by_shape(
    images: Images, patch: int, targets: Images | None, dims: int = 2
) -> tuple[list[np.ndarray], list[PlaneSource]]:
    """Checked arrays (N, C, Y, X) — (N, C, Z, Y, X) for a 3-D network —, one per plane
    (volume) size (C = 2 holds (input, target)), in their own pixel type (:func:`storage_type`:
    training memory stays near the data's size; batches are converted as they are cut), and
    the lazy images (dask, zarr, memory-mapped), which stay where they are."""
    arrays = as_list(images)
    if not arrays:
        raise PN2VError("no training images given")
    target_arrays = None if targets is None else as_list(targets)
    if target_arrays is not None and len(target_arrays) != len(arrays):
        raise PN2VError(f"{len(arrays)} training image(s) but {len(target_arrays)} target(s)")
    groups: dict[tuple[int, int], list[np.ndarray]] = {}
    lazy: list[PlaneSource] = []
    for i, array in enumerate(arrays):
        name = "training data" if len(arrays) == 1 else f"training image {i + 1}"
        if target_arrays is None and is_lazy(array):
            check_dims(len(array.shape), dims, name)
            lazy.append(PlaneSource(array, name=name, min_size=patch))
            continue
        stack = as_planes(array, name=name, min_size=patch, dims=dims)
        if target_arrays is None:
            planes = stack[:, None]
        else:
            planes = _pair(
                stack, as_planes(target_arrays[i], name=f"target of {name}", dims=dims), name
            )
        groups.setdefault(stack.shape[1:], []).append(planes)
    joined = [np.concatenate(g) if len(g) > 1 else g[0] for g in groups.values()]
    return [g.astype(storage_type(g.dtype), copy=False) for g in joined], lazy


class TrainingData:
    """The images of one training, checked (shape, pixel type, NaN/inf, patch fit) and split.

    ``images``: one array (a 2-D image or a stack, in memory or lazy) or a list; ``targets``:
    clean images for the supervised mode; ``validation``: noisy images of other scenes to
    validate on (then nothing of ``images`` is held out). ``multiple``: the network's size
    multiple, which patch sizes must respect.
    """

    def __init__(
        self,
        images: Images,
        config: TrainConfig,
        dims: int = 2,
        multiple: int = 1,
        targets: Images | None = None,
        validation: Images | None = None,
    ) -> None:
        if validation is not None and targets is not None:
            raise PN2VError(
                "separate validation images are for N2V and PN2V; the supervised "
                "mode holds out part of its (input, target) pairs"
            )
        self.config, self.dims, self.supervised = config, dims, targets is not None
        self.groups, self.lazy = group_by_shape(images, config.patch_size, targets, dims)
        #: planes (Z stacks, for a 3-D network) to train on
        self.n_planes = sum(g.shape[0] for g in self.groups) + sum(
            self._extent(s)[0] for s in self.lazy
        )
        #: pixels of the inputs: for normalisation and the noise model's range
        self.samples = [g[:, 0] for g in self.groups] + [s.sample() for s in self.lazy]
        #: the training patches' shape: (Y, X), or (Z, Y, X) for a 3-D network
        self.patch_shape = (config.patch_size,) * 2
        if dims == 3:
            self.patch_shape = (config.patch_depth, *self.patch_shape)
            depths = [g.shape[2] for g in self.groups] + [s.image_shape[-3] for s in self.lazy]
            shallow = [d for d in depths if d < config.patch_depth]
            if shallow:
                raise PN2VError(
                    f"Z stacks of {min(shallow)} planes are thinner than the patch "
                    f"depth {config.patch_depth}; lower the patch depth"
                )
        depth = int(math.log2(multiple)) + 1
        for name, size in (("size", config.patch_size), ("depth", self.patch_shape[0])):
            if size % multiple:
                raise PN2VError(
                    f"patch {name} {size} must be a multiple of {multiple} for a "
                    f"depth-{depth} network"
                )
        self.multiple = multiple
        self._validation = None if validation is None else as_list(validation)
        #: pixels of the separate validation images (for the noise model's range)
        self.validation_samples: list[np.ndarray] = []
        self._held_out: list[np.ndarray | PlaneSource] = []
        if self._validation is None:
            shuffled = (config.shuffle or 1) ** 2  # an image's sub-images are held out together
            self._splits = [
                split_validation(
                    g, config.val_fraction, config.patch_size, config.holdout, shuffled
                )
                for g in self.groups
            ]
            self._spans = [
                holdout_spans(
                    *self._extent(s), config.val_fraction, config.patch_size, config.holdout
                )
                for s in self.lazy
            ]
            return
        self._splits = [(g, None) for g in self.groups]
        self._spans = [(self._whole(s), None) for s in self.lazy]
        for i, image in enumerate(self._validation):
            name = f"validation image {i + 1}"
            if is_lazy(image):
                source = PlaneSource(image, name=name, min_size=MIN_HOLDOUT_ROWS)
                self._held_out.append(source)
                self.validation_samples.append(source.sample())
            else:
                stack = as_planes(image, name=name, min_size=MIN_HOLDOUT_ROWS, dims=dims)
                self._held_out.append(stack[:, None])
                self.validation_samples.append(stack)

    def _extent(self, source: PlaneSource) -> tuple[int, int]:
        """(frames, rows) of a lazy image: planes, or Z stacks for a 3-D network."""
        return source.count(self.dims), source.shape[1]

    def _whole(self, source: PlaneSource) -> Span:
        frames, rows = self._extent(source)
        return range(frames), range(rows)

    def _lazy(self, source: PlaneSource, span: Span, device: torch.device) -> LazyFrames:
        depth = source.image_shape[-3] if self.dims == 3 else None
        return LazyFrames(source, *span, device, depth)

    def frames(
        self, normalise: Normalise, device: torch.device
    ) -> tuple[list[Frames], list[Frames]]:
        """(frames to train on, held-out frames) on ``device``, in their own pixel type (lazy
        ones read patch by patch); every batch cut from them is normalised by ``normalise``."""
        self._normalise = normalise
        train: list[Frames] = [on_device(t, device) for t, _ in self._splits]
        held_out: list[Frames] = []
        if self._validation is None:
            held_out = [on_device(v, device) for _, v in self._splits if v.shape[0]]
        else:
            held_out = [
                self._lazy(p, self._whole(p), device)
                if isinstance(p, PlaneSource)
                else on_device(p, device)
                for p in self._held_out
            ]
        for source, (span, val) in zip(self.lazy, self._spans, strict=True):
            train.append(self._lazy(source, span, device))
            if val is not None and len(val[0]) and len(val[1]):
                held_out.append(self._lazy(source, val, device))
        return train, held_out

    def batch(
        self,
        frames: Frames,
        size: int,
        generator: torch.Generator,
        patch: tuple[int, ...] | None = None,
    ) -> Batch:
        """A masked batch (N2V, PN2V) or an (input, target) batch (supervised), normalised."""
        shape = patch or self.patch_shape
        if self.supervised:
            return paired_batch(frames, size, shape, generator).map(self._normalise)
        batch = masked_batch(
            frames, size, shape, generator, self.config.blind_radius or 0, self.config.replacement
        )
        return batch.map(self._normalise)

    def validation_batches(self, held_out: list[Frames]) -> list[Batch]:
        """A fixed set of patches, so validation losses compare across epochs. Patches shrink
        (to a multiple the network takes) where a held-out strip is lower than one."""
        generator = torch.Generator().manual_seed(12345)
        batch = self.config.batch_size
        count = max(self.config.val_patches, batch) // max(len(held_out), 1) + 1
        multiple = self.multiple
        batches = []
        for part in held_out:
            side = min(self.config.patch_size, *part.shape[-2:]) // multiple * multiple
            size = (side, side)
            if self.dims == 3:
                size = (min(self.config.patch_depth, part.shape[-3]) // multiple * multiple, *size)
            if min(size) < NEIGHBOURHOOD:
                depth = int(math.log2(multiple)) + 1
                raise PN2VError(
                    f"validation data of {'×'.join(map(str, part.shape[-self.dims :]))} pixels "
                    f"is too small for a depth-{depth} network; hold out more "
                    "(val-fraction) or give larger validation images"
                )
            batches += [
                self.batch(part, min(batch, count - i), generator, size)
                for i in range(0, count, batch)
            ]
        return batches

    def spread_patches(self, validation: list[Batch], train: list[Frames]) -> torch.Tensor:
        """Unmasked patches, ~:data:`SPREAD_PIXELS` pixels (at most as many as the training
        images hold), for choosing the spread: the held-out ones (the network never trained
        on their noise), then training ones. A held-out strip alone is too small a sample: on
        FMD's confocal frames its 16 k pixels kept an MMSE 0.4 dB below the prior mean that
        SURE over 147 k pixels of the frames rightly gave up (docs/method.md)."""
        # held-out parts may differ in size: the first one's patches are used
        shape = validation[0].patches.shape[1:] if validation else self.patch_shape
        held = [b.patches for b in validation if b.patches.shape[1:] == shape]
        pixels = min(SPREAD_PIXELS, sum(f.numel() for f in train))
        count = -(-pixels // math.prod(shape))
        patches = torch.cat(held)[:count] if held else None
        fitting = [f for f in train if self._holds(f, shape)]
        missing = count - (0 if patches is None else len(patches))
        if missing <= 0 or not fitting:
            return patches
        generator = torch.Generator().manual_seed(54321)
        each = -(-missing // len(fitting))
        drawn = [self._normalise(sample_patches(f, each, shape, generator)) for f in fitting]
        drawn = [d[:, 0] if d.dim() == self.dims + 2 else d for d in drawn]  # (B, *space)
        more = torch.cat(drawn)[:missing]
        return more if patches is None else torch.cat([patches, more.to(patches.device)])

    def _holds(self, frames: Frames, shape: Sequence[int]) -> bool:
        """Whether ``frames`` are at least ``shape`` in every spatial axis."""
        space = frames.shape[-self.dims :]
        return all(n >= m for n, m in zip(space, shape, strict=True))

    def noise_planes(self) -> list[np.ndarray]:
        """Whole planes of the inputs, for measuring the noise they show (:mod:`.guard`): up to
        :data:`NOISE_PIXELS` pixels of each image, evenly spaced."""
        planes = [plane_views(g[:, 0]) for g in self.groups]
        return [p[spaced_planes(len(p), p.shape[1] * p.shape[2], NOISE_PIXELS)] for p in planes] + [
            some_planes(s.data, NOISE_PIXELS) for s in self.lazy
        ]
