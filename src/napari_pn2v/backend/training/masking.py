"""Blind-spot training batches (Noise2Void, Krull et al. 2019), vectorised in torch.

Patches are cut on the fly from any number of frames with random positions and one of the 8
rotations/flips; no patch set is ever extracted up front. In each patch a stratified random set
of pixels is masked: each is replaced by a random other pixel of its 5×5 neighbourhood (never
itself, also at the borders) or by the median of those 24 pixels (N2V2), and the network must
predict the original value there. Patches
of a 3-D network are (Z, Y, X) blocks with 5×5×5 neighbourhoods and the same density of
masked voxels.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..data.lazy import LazyFrames
from .config import NEIGHBOURHOOD

#: masked pixels per 100×100 patch, as in the paper; scaled with the patch area
MASKED_PER_10K = 312


Shape = tuple[int, ...]  # a patch's size along each spatial axis: (Y, X) or (Z, Y, X)


@dataclass
class Batch:
    """A training batch: inputs, the masked pixels' flat indices and what to predict there."""

    inputs: torch.Tensor  # (B, 1, *shape) with masked pixels replaced by neighbours
    index: torch.Tensor  # (B, M) flat (C-order) indices of the masked pixels in a patch
    targets: torch.Tensor  # (B, M) original values there; (B, *shape) clean targets if supervised
    patches: torch.Tensor  # (B, *shape) the unmasked patches

    def map(self, values: Callable[[torch.Tensor], torch.Tensor]) -> Batch:
        """The batch with ``values`` applied to every pixel value (normalisation): masking
        only moves values, so it commutes with any per-value map."""
        return Batch(values(self.inputs), self.index, values(self.targets), values(self.patches))


def patch_shape(size: int | Shape) -> Shape:
    """A patch's shape: an int means a square 2-D patch."""
    return (size, size) if isinstance(size, int) else tuple(int(n) for n in size)


def n_masked(size: int | Shape) -> int:
    """Masked pixels per patch: 312 per 100×100 pixels, in proportion to the patch's pixels (or
    voxels), at least one."""
    return max(1, round(MASKED_PER_10K * math.prod(patch_shape(size)) / 100**2))


def sample_patches(
    frames: torch.Tensor | LazyFrames,
    batch: int,
    size: int | Shape,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Random crops of (N, *space) or (N, C, *space) ``frames``: (B, [C,] *shape), where
    ``size`` gives the crop's ``shape`` over the last 2 or 3 (spatial) axes.

    Every channel of a frame is cut at the same place under the same random rotation/flip (in
    the YX plane), so (input, target) pairs stay aligned. :class:`.lazy.LazyFrames` are read
    crop by crop.
    """
    shape = patch_shape(size)
    space = frames.shape[-len(shape) :]
    channels = frames.dim() == len(shape) + 2
    dev = frames.device
    f = torch.randint(frames.shape[0], (batch,), generator=generator)
    starts = [
        torch.randint(n - p + 1, (batch,), generator=generator)
        for n, p in zip(space, shape, strict=True)
    ]
    if isinstance(frames, LazyFrames):
        patches = frames.crops(f, *starts, shape=shape)[:, None]
    else:
        # one advanced index per spatial axis, broadcast against the others: (B, *shape)
        index = [f.to(dev).view(-1, *[1] * len(shape))]
        for axis, (start, p) in enumerate(zip(starts, shape, strict=True)):
            view = [-1] + [1] * len(shape)
            view[axis + 1] = p
            index.append(
                start.to(dev).view(-1, *[1] * len(shape)) + torch.arange(p, device=dev).view(view)
            )
        planes = frames if channels else frames[:, None]
        # cut in the frames' own type (uint8 …), then float: memory stays near the data's size
        patches = planes[(index[0], slice(None), *index[1:])].movedim(-1, 1).float()
    patches = augment(patches, torch.randint(8, (batch,), generator=generator))
    return patches if channels else patches[:, 0]


def augment(patches: torch.Tensor, transform: torch.Tensor) -> torch.Tensor:
    """Apply dihedral transform t (rot90 by t % 4, then a mirror if t >= 4) to each patch, in
    the YX plane (Z, often sampled more coarsely, is never turned into Y or X)."""
    out = torch.empty_like(patches)
    for t in range(8):
        chosen = (transform == t).nonzero().flatten().to(patches.device)
        if chosen.numel():
            p = torch.rot90(patches[chosen], t % 4, dims=(-2, -1))
            out[chosen] = torch.flip(p, dims=(-1,)) if t >= 4 else p
    return out


def mask_positions(
    batch: int, size: int | Shape, count: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Stratified random pixels: one per cell of a grid, ``count`` cells chosen at random.

    The grid has about as many cells per unit length along every axis. Returns (B, count) flat
    C-order indices into a patch of shape ``size``, distinct within each patch.
    """
    shape = patch_shape(size)
    density = (count / math.prod(shape)) ** (1 / len(shape))
    # 1e-9: an exact root (e.g. 17 cells a side for 289) must not round up to the next cell
    per_axis = [max(1, math.ceil(n * density - 1e-9)) for n in shape]
    cells = math.prod(per_axis)
    if cells < count:
        raise ValueError(f"cannot mask {count} pixels of a {shape} patch")
    chosen = torch.rand(batch, cells, generator=generator).argsort(dim=1)[:, :count]
    cell_index = torch.unravel_index(chosen, per_axis)
    flat = torch.zeros(batch, count, dtype=torch.long)
    for n, cells_n, cell in zip(shape, per_axis, cell_index, strict=True):
        edges = torch.linspace(0, n, cells_n + 1).round().long()  # whole pixels: disjoint
        lo, extent = edges[:-1], edges[1:] - edges[:-1]
        u = torch.rand(batch, count, generator=generator)
        flat = flat * n + lo[cell] + (u * extent[cell]).long()
    return flat


def shifted_positions(
    index: torch.Tensor, shape: Shape, offsets: torch.Tensor, mirror: bool
) -> torch.Tensor:
    """Flat indices of the pixels at ``index`` moved by ``offsets`` ((..., dims), broadcast
    against ``index``). An offset that would leave the patch is mirrored (y - dy instead of
    y + dy) or, without ``mirror``, stops at the patch's edge."""
    position = torch.unravel_index(index, shape)
    offsets = offsets.to(index.device)
    flat = torch.zeros(
        torch.broadcast_shapes(index.shape, offsets.shape[:-1]),
        dtype=torch.long,
        device=index.device,
    )
    for axis, (n, p) in enumerate(zip(shape, position, strict=True)):
        d = offsets[..., axis]
        moved = p + d
        if mirror:
            flat = flat * n + torch.where((moved < 0) | (moved >= n), p - d, moved)
        else:
            flat = flat * n + moved.clamp(0, n - 1)
    return flat


def _neighbour_offsets(dims: int) -> torch.Tensor:
    """Offsets to every other pixel of a 5×5 (5×5×5) window: (24 or 124, dims)."""
    half = NEIGHBOURHOOD // 2
    return torch.tensor(
        [o for o in itertools.product(range(-half, half + 1), repeat=dims) if any(o)]
    )


def neighbour_positions(
    index: torch.Tensor, size: int | Shape, generator: torch.Generator | None = None
) -> torch.Tensor:
    """For each flat index, a random other pixel of its 5×5 (or 5×5×5) window, inside the
    patch.

    An offset that would leave the patch is mirrored; since the offset is never all zeros the
    replacement is never the pixel itself.
    """
    shape = patch_shape(size)
    offsets = _neighbour_offsets(len(shape))
    pick = torch.randint(len(offsets), index.shape, generator=generator)
    return shifted_positions(index, shape, offsets[pick], mirror=True)


def neighbour_median(flat: torch.Tensor, index: torch.Tensor, shape: Shape) -> torch.Tensor:
    """The median of the other pixels of each indexed pixel's 5×5 (5×5×5) window (mirrored at
    the patch's edges) in (B, pixels) ``flat`` patches: (B, M). N2V2's replacement: the
    masked pixel's own value and noise never reach the input."""
    window = shifted_positions(index[..., None], shape, _neighbour_offsets(len(shape)), True)
    values = flat.gather(1, window.flatten(1)).view(*window.shape)
    return values.median(dim=-1).values


def block_positions(index: torch.Tensor, size: int | Shape, radius: int) -> torch.Tensor:
    """For each flat index, the flat indices of its (2·radius+1)² (or ³) block, clamped to the
    patch: (..., block pixels)."""
    shape = patch_shape(size)
    offsets = torch.tensor(list(itertools.product(range(-radius, radius + 1), repeat=len(shape))))
    return shifted_positions(index[..., None], shape, offsets, mirror=False)


def masked_batch(
    frames: torch.Tensor | LazyFrames,
    batch: int,
    size: int | Shape,
    generator: torch.Generator | None = None,
    blind_radius: int = 0,
    replacement: str = "neighbour",
) -> Batch:
    """Sample, augment and mask one batch from (N, *space) or (N, 1, *space) ``frames``;
    masked pixels show a random neighbour or (``replacement`` "median") their neighbours'
    median.

    ``blind_radius`` r > 0 hides the whole (2r+1)² block around each masked pixel (each of its
    pixels takes the value of a random pixel of the patch), for noise correlated between
    neighbours (structured N2V, Broaddus et al. 2020): the network then learns to predict a
    pixel from pixels whose noise is independent of its own. Fewer pixels are masked, so that
    about as many are hidden as by a 3×3 block at the usual density.
    """
    shape = patch_shape(size)
    if min(shape) < NEIGHBOURHOOD:
        raise ValueError(f"patch size must be at least {NEIGHBOURHOOD}, got {shape}")
    if not isinstance(frames, LazyFrames):
        frames = frames.reshape(-1, *frames.shape[-len(shape) :])
    patches = sample_patches(frames, batch, shape, generator)
    count = n_masked(shape)
    if blind_radius:
        count = max(1, round(count * (3 / (2 * blind_radius + 1)) ** len(shape)))
    index = mask_positions(batch, shape, count, generator).to(frames.device)
    flat = patches.reshape(batch, -1)
    targets = flat.gather(1, index)
    inputs = flat.clone()
    if blind_radius:
        hidden = block_positions(index, shape, blind_radius).reshape(batch, -1)
        source = torch.randint(flat.shape[1], hidden.shape, generator=generator)
        inputs.scatter_(1, hidden, flat.gather(1, source.to(flat.device)))
    elif replacement == "median":
        inputs.scatter_(1, index, neighbour_median(flat, index, shape))
    else:
        source = neighbour_positions(index, shape, generator)
        inputs.scatter_(1, index, flat.gather(1, source))
    return Batch(inputs.view(batch, 1, *shape), index, targets, patches)


def paired_batch(
    frames: torch.Tensor, batch: int, size: int | Shape, generator: torch.Generator | None = None
) -> Batch:
    """An unmasked batch of (input, target) crops from (N, 2, *space) ``frames``, for the
    supervised baseline: the loss covers every pixel, so ``index`` is empty."""
    patches = sample_patches(frames, batch, size, generator)
    return Batch(
        patches[:, :1], torch.empty(batch, 0, dtype=torch.long), patches[:, 1], patches[:, 0]
    )
