"""Pixel-shuffle sub-images, for noise correlated between neighbouring pixels.

A blind-spot network assumes each pixel's noise independent of its neighbours'. Where a camera
or its processing correlates the noise over a few pixels, taking every s-th pixel along Y and X
gives s² sub-images whose neighbours lie s pixels apart in the image, past the correlation
(pixel-shuffle downsampling: Zhou et al. 2020; AP-BSN, Lee et al. 2022). The network trains on
those and denoises each; every pixel's estimate then comes from its own sub-image, blind to its
own noise. Neighbouring pixels belong to different sub-images, whose estimates err
independently, so each pixel's estimate is averaged with its neighbours' over one pixel of every
sub-image (:func:`phase_average`). On FMD's widefield frames the default path's PN2V gained
1.2 dB (docs/method.md).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch.nn import functional as F


def sub_images(image: np.ndarray, stride: int) -> np.ndarray:
    """(..., Y, X) → (planes · stride², Y // stride, X // stride): each plane's pixels at every
    offset (dy, dx), every ``stride``-th along Y and X (rows and columns beyond the last whole
    step are left out)."""
    if stride == 1:
        return image.reshape(-1, *image.shape[-2:])
    h, w = (n // stride for n in image.shape[-2:])
    planes = image.reshape(-1, *image.shape[-2:])[:, : h * stride, : w * stride]
    split = planes.reshape(-1, h, stride, w, stride).transpose(0, 2, 4, 1, 3)
    return split.reshape(-1, h, w)


def shuffled(body: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, stride: int):
    """``body`` (N, 1, y, x) → (N, C, y, x) run on the sub-images of (B, 1, Y, X) ``x`` (Y and
    X multiples of ``stride``), its outputs put back in place: (B, C, Y, X)."""
    if stride == 1:
        return body(x)
    batch = x.shape[0]
    parts = F.pixel_unshuffle(x, stride)  # (B, s², Y/s, X/s), offsets row by row
    out = body(parts.reshape(-1, 1, *parts.shape[-2:]))
    out = out.reshape(batch, stride**2, *out.shape[1:]).transpose(1, 2)
    return F.pixel_shuffle(out.reshape(batch, -1, *out.shape[-2:]), stride)


def reach(stride: int) -> int:
    """Pixels :func:`phase_average` takes on each side."""
    return stride // 2


def phase_average(y: torch.Tensor, stride: int) -> torch.Tensor:
    """(B, C, Y, X) → (B, C, Y − 2r, X − 2r), r = :func:`reach`: each pixel the mean over the
    window that holds one pixel of every sub-image around it, s × s (odd s), or s + 1 wide with
    half weights at its ends (even s), so the window stays centred."""
    if stride == 1:
        return y
    taps = torch.ones(2 * reach(stride) + 1, dtype=y.dtype, device=y.device)
    if stride % 2 == 0:
        taps[0] = taps[-1] = 0.5
    kernel = torch.outer(taps, taps) / stride**2
    channels = y.shape[1]
    return F.conv2d(y, kernel.expand(channels, 1, *kernel.shape), groups=channels)


def every(stride: int) -> str:
    """E.g. "every 3rd pixel", for messages."""
    return f"every {stride}{ {2: 'nd', 3: 'rd'}.get(stride, 'th') } pixel"  # strides 2–8
