"""How to predict: plain Python (no torch), read by the engine, the ``pn2v`` help and the
denoise widget's form."""

from __future__ import annotations

from dataclasses import dataclass

from ..network.config import CONTEXT
from ..options import option
from ..training.config import DEVICES, PRECISIONS

#: default tile edges by network dimensionality. 320 cuts a 512² plane into 2×2 tiles of 304²
#: (1.4× its pixels through the network, against 1.7× for 3×3 tiles of 224²); a 3-D tile of
#: 128³ holds as many voxels as 20 2-D tiles of 320², which bounds memory similarly (the Z
#: extent shrinks to fit a stack)
TILE = {2: 320, 3: 128}
#: default overlap of neighbouring tiles: each tile's pixels see half of it as context
#: (:data:`.network.config.CONTEXT`), which covers most of the default U-Net's receptive field
OVERLAP = 2 * CONTEXT


@dataclass
class PredictionConfig:
    """Tiling, device and arithmetic of a prediction."""

    tile: int | None = option(
        None,
        f"tile edge in pixels (default: {TILE[2]}; {TILE[3]} for a 3-D network); images "
        "are denoised in tiles of this size to bound memory: lower it if memory runs out "
        "(a model that sees pixel-shuffled sub-images of every s-th pixel denoises s² such "
        "tiles at once, in tiles s times this size, overlapping s times as much)",
        label="Tile size",
        min=0,
        max=8192,
        step=32,
        none="auto",
    )
    overlap: int = option(
        OVERLAP,
        "overlap of neighbouring tiles in pixels, a multiple of 2^(depth-1); only "
        "each tile's centre is kept, so no seams appear",
        label="Tile overlap",
        min=0,
        max=1024,
        step=4,
    )
    device: str = option("auto", "auto = CUDA, then Apple MPS, then CPU", choices=DEVICES)
    precision: str = option(
        "auto",
        "the network's arithmetic: auto = bfloat16 on a CUDA GPU, float32 elsewhere (the "
        "exact values); bfloat16 on a CPU with AMX units (recent Xeons): N2V 3x, PN2V 1.4x "
        "faster, within 0.02 dB",
        choices=PRECISIONS,
    )
    augment: bool = option(
        False,
        "test-time augmentation: combine the network's results on the 8 rotations and "
        "mirror images of the image (PN2V: the mixture of their priors); 8x the time",
        label="Test-time augmentation",
    )
