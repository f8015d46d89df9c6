"""An exponential moving average of the network's weights: the model that is validated and kept.

Short trainings on few noisy images jump from step to step (batch 8, a constant rate): on FMD's
four-frame two-photon set N2V's snapshots one epoch apart differed by up to 5 dB. The average
over the last ~``window`` steps is what a longer, cooled-down run would give, at no extra
arithmetic (one multiply-add per weight per step).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


def _copy_of(net: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


class WeightAverage:
    """The average of ``net``'s weights, each step's weight (1 − decay) with decay = 1 − 1/window;
    the first steps average with shorter windows (decay ≤ (1 + n)/(10 + n)), so an early
    average does not hold on to the random start."""

    def __init__(self, net: nn.Module, window: int) -> None:
        self.window = window
        self.steps = 0
        self.state = _copy_of(net)

    def update(self, net: nn.Module) -> None:
        """Fold in the weights after one more optimiser step."""
        self.steps += 1
        decay = min(1.0 - 1.0 / self.window, (1 + self.steps) / (10 + self.steps))
        with torch.no_grad():
            for key, value in net.state_dict().items():
                average = self.state[key]
                if average.is_floating_point():
                    average.lerp_(value, 1.0 - decay)
                else:
                    average.copy_(value)

    @contextmanager
    def applied(self, net: nn.Module) -> Iterator[None]:
        """``net`` holds the averaged weights inside the block, its own again after it."""
        own = _copy_of(net)
        net.load_state_dict(self.state)
        try:
            yield
        finally:
            net.load_state_dict(own)
