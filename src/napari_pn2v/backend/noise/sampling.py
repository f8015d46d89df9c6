"""p(x | s) at each pixel's K prior samples, from a short table along s.

Prediction weighs K = 800 samples of every pixel by p(x_i | s_ik). For a Gaussian mixture or a
skewed, clipped Poisson–Gaussian model that is 10–30 elementwise passes per sample: a 512²
image took 12.6 s with a GMM and 4.4 s with a skewed Poisson–Gaussian model, 2.5 s with a
histogram's two lookups (``benchmarks/speed.py --noise-models``). For one pixel, p(x_i | s)
is a smooth function of s that changes shape over the noise's own width
(:meth:`finest_scale`); tabulated on G evenly spaced signals across the pixel's samples,
:data:`POINTS_PER_WIDTH` per width, and interpolated linearly at the K samples, it costs G
model evaluations plus a histogram's lookup. Linear interpolation of a Gaussian at a spacing of
width/8 errs by at most (1/8)²/8 ≈ 0.2 % of the density at its peak, and tabulating log p
keeps that error relative in the tails too. Where a pixel's samples span so many widths that
its table would hold more than K/4 signals, its samples are evaluated directly.
"""

from __future__ import annotations

from typing import Protocol

import torch

#: table points per :meth:`finest_scale` of the noise
POINTS_PER_WIDTH = 8


class Likelihood(Protocol):
    """What the table needs of a noise model (:class:`.base.NoiseModel`, which imports this
    module, so it is not named here)."""

    def likelihood(self, observation: torch.Tensor, signal: torch.Tensor) -> torch.Tensor: ...

    def log_likelihood(self, observation: torch.Tensor, signal: torch.Tensor) -> torch.Tensor: ...

    def finest_scale(self, signal: torch.Tensor) -> torch.Tensor: ...


def table_lengths(
    model: Likelihood, loc: torch.Tensor, scale: torch.Tensor, low: torch.Tensor, span: torch.Tensor
) -> torch.Tensor:
    """(N,) signals each pixel's table needs to be spaced ≤ its noise's width / 8: the width
    at its lowest sample, at its highest and at ``loc``, whichever is narrowest (inf where the
    width is not finite or not positive)."""
    ends = torch.cat(
        [torch.addcmul(loc, scale, low), torch.addcmul(loc, scale, low + span), loc], 1
    )
    width = model.finest_scale(ends).amin(1)
    needed = (scale * span)[:, 0] / width * POINTS_PER_WIDTH + 2
    return torch.where(width > 0, needed, torch.inf).nan_to_num(nan=torch.inf)


@torch.no_grad()
def tabulated_likelihood(
    model: Likelihood,
    observation: torch.Tensor,
    loc: torch.Tensor,
    scale: torch.Tensor,
    u: torch.Tensor,
) -> torch.Tensor:
    """p(x | loc + scale·u) of (N, 1) observations at (N, K) samples: tabulated along s for
    the pixels whose table is at most K/4 long, evaluated directly for the others (see the
    module's note); the same as ``model.likelihood`` to the table's error."""
    low = u.amin(1, keepdim=True)
    span = u.amax(1, keepdim=True) - low
    needed = table_lengths(model, loc, scale, low, span)
    short = needed <= u.shape[1] // 4
    if short.all():
        return _tabulated(model, observation, loc, scale, u, low, span, needed)
    direct = ~short
    if direct.all():
        return model.likelihood(observation, torch.addcmul(loc, scale, u))
    p = torch.empty_like(u)
    p[direct] = model.likelihood(
        observation[direct], torch.addcmul(loc[direct], scale[direct], u[direct])
    )
    rows = (t[short] for t in (observation, loc, scale, u, low, span, needed))
    p[short] = _tabulated(model, *rows)
    return p


def _tabulated(
    model: Likelihood,
    observation: torch.Tensor,
    loc: torch.Tensor,
    scale: torch.Tensor,
    u: torch.Tensor,
    low: torch.Tensor,
    span: torch.Tensor,
    needed: torch.Tensor,
) -> torch.Tensor:
    """The likelihood tabulated on as many signals as the pixel that needs most: each pixel's
    row of log p from ``low`` to ``low + span`` in u, interpolated at its samples."""
    points = int(needed.amax().ceil())
    grid = torch.linspace(0.0, 1.0, points, device=u.device, dtype=u.dtype)
    signals = torch.addcmul(torch.addcmul(loc, scale, low), scale * span, grid)  # (N, G)
    table = model.log_likelihood(observation, signals).reshape(-1)
    # each sample's place in its pixel's row of the table: whole part and fraction
    step = (points - 1) / span.clamp(min=torch.finfo(u.dtype).tiny)
    position = torch.sub(u, low).mul_(step).clamp_(0, points - 1)
    row = position.floor().clamp_(max=points - 2)
    frac = position.sub_(row)
    kind = torch.int64 if table.numel() >= 2**31 - 1 else torch.int32
    first = torch.arange(0, table.numel(), points, device=u.device, dtype=kind)[:, None]
    flat = row.to(kind).add_(first).reshape(-1)
    log_low = table.index_select(0, flat).view(u.shape)
    log_high = table.index_select(0, flat + 1).view(u.shape)
    return torch.lerp(log_low, log_high, frac).exp_()
