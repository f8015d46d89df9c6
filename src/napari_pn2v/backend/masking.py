"""Blind-spot training batches (Noise2Void, Krull et al. 2019), vectorised in torch.

Patches are cut on the fly from any number of frames with random positions and one of the 8
rotations/flips; no patch set is ever extracted up front. In each patch a stratified random set
of pixels is masked: each is replaced by a random other pixel of its 5×5 neighbourhood (never
itself, also at the borders), and the network must predict the original value there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .lazy import LazyFrames

#: masked pixels per 100×100 patch, as in the paper; scaled with the patch area
MASKED_PER_10K = 312
NEIGHBOURHOOD = 5


@dataclass
class Batch:
    """A training batch: inputs, the masked pixels' flat indices and what to predict there."""

    inputs: torch.Tensor  # (B, 1, P, P) with masked pixels replaced by neighbours
    index: torch.Tensor  # (B, M) flat indices y * P + x of the masked pixels
    targets: torch.Tensor  # (B, M) original values there; (B, P, P) clean targets if supervised
    patches: torch.Tensor  # (B, P, P) the unmasked patches


def n_masked(patch_size: int) -> int:
    """Masked pixels per patch: 312 per 100×100, in proportion to the area, at least one."""
    return max(1, round(MASKED_PER_10K * patch_size**2 / 100**2))


def sample_patches(frames: torch.Tensor | LazyFrames, batch: int, size: int,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Random crops of (N, Y, X) or (N, C, Y, X) ``frames``: (B, [C,] size, size).

    Every channel of a frame is cut at the same place under the same random rotation/flip, so
    (input, target) pairs stay aligned. :class:`.lazy.LazyFrames` are read crop by crop.
    """
    n, height, width = frames.shape[0], frames.shape[-2], frames.shape[-1]
    dev = frames.device
    f = torch.randint(n, (batch,), generator=generator)
    y0 = torch.randint(height - size + 1, (batch,), generator=generator)
    x0 = torch.randint(width - size + 1, (batch,), generator=generator)
    if isinstance(frames, LazyFrames):
        patches = frames.crops(f, y0, x0, size)[:, None]
    else:
        f, y0, x0 = f.to(dev), y0.to(dev), x0.to(dev)
        r = torch.arange(size, device=dev)
        ys = (y0[:, None] + r)[:, :, None]
        xs = (x0[:, None] + r)[:, None, :]
        planes = frames if frames.dim() == 4 else frames[:, None]
        patches = planes[f[:, None, None], :, ys, xs].permute(0, 3, 1, 2)  # (B, C, P, P)
    patches = augment(patches, torch.randint(8, (batch,), generator=generator))
    return patches if frames.dim() == 4 else patches[:, 0]


def augment(patches: torch.Tensor, transform: torch.Tensor) -> torch.Tensor:
    """Apply dihedral transform t (rot90 by t % 4, then a mirror if t >= 4) to each patch."""
    out = torch.empty_like(patches)
    for t in range(8):
        chosen = (transform == t).nonzero().flatten().to(patches.device)
        if chosen.numel():
            p = torch.rot90(patches[chosen], t % 4, dims=(-2, -1))
            out[chosen] = torch.flip(p, dims=(-1,)) if t >= 4 else p
    return out


def mask_positions(batch: int, size: int, count: int,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Stratified random pixels: one per cell of a grid, ``count`` cells chosen at random.

    Returns (B, count) flat indices y * size + x, distinct within each patch.
    """
    per_axis = max(1, math.ceil(math.sqrt(count)))
    edges = torch.linspace(0, size, per_axis + 1).round().long()  # whole pixels: disjoint cells
    lo, extent = edges[:-1], edges[1:] - edges[:-1]
    cells = per_axis * per_axis
    cy = torch.arange(cells) // per_axis
    cx = torch.arange(cells) % per_axis
    chosen = torch.rand(batch, cells, generator=generator).argsort(dim=1)[:, :count]
    cy, cx = cy[chosen], cx[chosen]
    uy = torch.rand(batch, count, generator=generator)
    ux = torch.rand(batch, count, generator=generator)
    y = lo[cy] + (uy * extent[cy]).long()
    x = lo[cx] + (ux * extent[cx]).long()
    return y * size + x


def neighbour_positions(index: torch.Tensor, size: int,
                        generator: torch.Generator | None = None) -> torch.Tensor:
    """For each flat index, a random other pixel of its 5×5 window, inside the patch.

    An offset that would leave the patch is mirrored (y - dy instead of y + dy); since the
    offset is never (0, 0) the replacement is never the pixel itself.
    """
    half = NEIGHBOURHOOD // 2
    offsets = torch.tensor([(dy, dx) for dy in range(-half, half + 1)
                            for dx in range(-half, half + 1) if (dy, dx) != (0, 0)])
    pick = torch.randint(len(offsets), index.shape, generator=generator)
    dy, dx = offsets[pick, 0].to(index.device), offsets[pick, 1].to(index.device)
    y, x = index // size, index % size
    ny, nx = y + dy, x + dx
    ny = torch.where((ny < 0) | (ny >= size), y - dy, ny)
    nx = torch.where((nx < 0) | (nx >= size), x - dx, nx)
    return ny * size + nx


def masked_batch(frames: torch.Tensor | LazyFrames, batch: int, size: int,
                 generator: torch.Generator | None = None) -> Batch:
    """Sample, augment and mask one batch from (N, Y, X) or (N, 1, Y, X) ``frames``."""
    if size < NEIGHBOURHOOD:
        raise ValueError(f"patch size must be at least {NEIGHBOURHOOD}, got {size}")
    if not isinstance(frames, LazyFrames):
        frames = frames.reshape(-1, *frames.shape[-2:])
    patches = sample_patches(frames, batch, size, generator)
    index = mask_positions(batch, size, n_masked(size), generator).to(frames.device)
    source = neighbour_positions(index, size, generator)
    flat = patches.reshape(batch, -1)
    targets = flat.gather(1, index)
    inputs = flat.clone()
    inputs.scatter_(1, index, flat.gather(1, source))
    return Batch(inputs.view(batch, 1, size, size), index, targets, patches)


def paired_batch(frames: torch.Tensor, batch: int, size: int,
                 generator: torch.Generator | None = None) -> Batch:
    """An unmasked batch of (input, target) crops from (N, 2, Y, X) ``frames``, for the
    supervised baseline: the loss covers every pixel, so ``index`` is empty."""
    patches = sample_patches(frames, batch, size, generator)
    return Batch(patches[:, :1], torch.empty(batch, 0, dtype=torch.long), patches[:, 1],
                 patches[:, 0])
