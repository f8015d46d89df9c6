"""The U-Net of PN2V/N2V with a head that can run at chosen pixels only.

Depth counts resolution levels (depth 3 = two poolings), as in the published PN2V code; skips
are concatenated (Ronneberger et al. 2015), upsampling is a transposed convolution. ``n2v2``
makes it N2V2's (Höck et al. 2022): max-blur pooling (Zhang 2019) instead of max pooling and
no skip at full resolution, the two changes that paper found to remove blind-spot networks'
checkerboard artefacts. The 1×1
head is kept apart from the body so training can gather decoder features at the few masked
pixels and run the K-output head only there (:meth:`UNet.head_at`). ``dims=3`` builds the same
network from 3-D convolutions, pooling and upsampling, for Z stacks (as N2V's 3-D networks do).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

CONV = {2: nn.Conv2d, 3: nn.Conv3d}
UPSAMPLE = {2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
POOL = {2: F.max_pool2d, 3: F.max_pool3d}
CONV_FN = {2: F.conv2d, 3: F.conv3d}
#: channels-last layouts: oneDNN's convolutions run 10–20 % faster on them on a CPU (measured
#: on the paper's network: a 304² prediction tile 0.49 -> 0.38 s, a batch-4 training step
#: 0.59 -> 0.52 s), and tensor cores prefer them on a GPU
CHANNELS_LAST = {2: torch.channels_last, 3: torch.channels_last_3d}
#: max-blur pooling's blur: the binomial [1, 2, 1] / 4 along every axis
BLUR = torch.tensor([1.0, 2.0, 1.0]) / 4


def _conv_block(cin: int, cout: int, dims: int) -> nn.Sequential:
    conv = CONV[dims]
    return nn.Sequential(
        conv(cin, cout, 3, padding=1),
        nn.ReLU(inplace=True),
        conv(cout, cout, 3, padding=1),
        nn.ReLU(inplace=True),
    )


def max_blur_pool(x: torch.Tensor, dims: int) -> torch.Tensor:
    """Halve every spatial size: a max over 2 (or 2×2×2) pixels at every position, then a
    binomial blur sampled at every second one (Zhang 2019), so that the pooled features no
    longer jump with a one-pixel shift of the input as a strided max does."""
    x = POOL[dims](x, 2, stride=1)
    x = F.pad(x, (1, 1) * dims, mode="replicate")
    kernel = BLUR.to(x)
    for _ in range(dims - 1):
        kernel = kernel[..., None] * BLUR.to(x)
    channels = x.shape[1]
    weight = kernel.expand(channels, 1, *[3] * dims)
    return CONV_FN[dims](x, weight, stride=2, groups=channels)


class UNet(nn.Module):
    """U-Net body plus a 1×1 head with ``out_channels`` outputs, on images (``dims=2``) or
    volumes (``dims=3``); with ``n2v2`` N2V2's pooling and no full-resolution skip."""

    def __init__(
        self,
        depth: int = 3,
        features: int = 64,
        out_channels: int = 800,
        in_channels: int = 1,
        dims: int = 2,
        n2v2: bool = False,
    ) -> None:
        super().__init__()
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        if dims not in CONV:
            raise ValueError(f"dims must be 2 or 3, got {dims}")
        self.depth, self.dims, self.n2v2 = depth, dims, n2v2
        widths = [features * 2**i for i in range(depth)]
        self.down = nn.ModuleList()
        cin = in_channels
        for width in widths:
            self.down.append(_conv_block(cin, width, dims))
            cin = width
        self.upsample = nn.ModuleList()
        self.up = nn.ModuleList()
        for level, width in reversed(list(enumerate(widths[:-1]))):
            self.upsample.append(UPSAMPLE[dims](cin, width, 2, stride=2))
            skipped = n2v2 and level == 0  # N2V2: no skip at full resolution
            self.up.append(_conv_block(width if skipped else 2 * width, width, dims))
            cin = width
        self.head = CONV[dims](cin, out_channels, 1)
        self.to(memory_format=CHANNELS_LAST[dims])

    @property
    def multiple(self) -> int:
        """Sizes along every spatial axis must be multiples of this."""
        return 2 ** (self.depth - 1)

    def body(self, x: torch.Tensor) -> torch.Tensor:
        """Decoder features at full resolution, (B, features, [Z,] Y, X)."""
        x = x.contiguous(memory_format=CHANNELS_LAST[self.dims])
        skips = []
        for i, block in enumerate(self.down):
            if i:
                x = max_blur_pool(x, self.dims) if self.n2v2 else POOL[self.dims](x, 2)
            x = block(x)
            skips.append(x)
        for upsample, block, skip in zip(self.upsample, self.up, reversed(skips[:-1]), strict=True):
            x = upsample(x)
            if not (self.n2v2 and skip is skips[0]):
                x = torch.cat([x, skip], dim=1)
            x = block(x)
        return x

    def head_at(self, features: torch.Tensor) -> torch.Tensor:
        """The 1×1 head on gathered feature vectors (N, C) -> (N, out_channels)."""
        weight = self.head.weight.flatten(1)
        return F.linear(features, weight, self.head.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))
