"""The 8 rotations and mirror images of a tile, for test-time augmentation.

A blind-spot network is not exactly symmetric: each of the 8 views of a tile gives a slightly
different prior for every pixel. Prediction can run the network on all 8 (in the YX plane; a
3-D network's Z axis is sampled differently and is left alone), turn each result back and
combine them: N2V averages the 8 outputs; PN2V takes the mixture of the 8 priors (their
K samples together), so the MMSE weighs every view's samples by the same p(x | s).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

#: the plane the views turn and mirror
PLANE = (-2, -1)


@dataclass(frozen=True)
class View:
    """A quarter ``turns`` after an optional mirror image along X."""

    turns: int
    mirrored: bool

    def apply(self, x: torch.Tensor) -> torch.Tensor:
        if self.mirrored:
            x = x.flip(-1)
        return torch.rot90(x, self.turns, PLANE) if self.turns else x

    def undo(self, y: torch.Tensor) -> torch.Tensor:
        if self.turns:
            y = torch.rot90(y, -self.turns, PLANE)
        return y.flip(-1) if self.mirrored else y


#: the identity first: prediction without augmentation uses it alone
VIEWS = tuple(View(turns, mirrored) for mirrored in (False, True) for turns in range(4))
