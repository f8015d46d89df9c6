"""Which weights a training keeps: those of the lowest validation loss so far; for PN2V
started from an N2V model only weights whose prior mean is as close to the validation data as
the start's (N2V's estimate), so PN2V's prior never ends further from the validation data than
the N2V it began as. Only as far as those patches tell: on few of them (4,680 masked pixels on
the FMD frames' quick preset) an epoch slightly worse on the whole images can pass."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass
class KeptWeights:
    """The best weights so far (on the CPU), their validation loss and epochs trained."""

    val_loss: float | None = None
    state: dict[str, torch.Tensor] | None = None
    epochs: int = 0
    #: the start's prior-mean error (N2V's loss on the validation patches) that a kept
    #: epoch's may not exceed; None: no bound (a fresh network, a resumed model)
    bound: float | None = None

    def offer(
        self,
        val_loss: float,
        error: float | None,
        state: Callable[[], dict[str, torch.Tensor]],
        epochs: int,
    ) -> None:
        """Keep these weights (``state`` copied only then) if they are the best allowed."""
        if self.bound is not None and (error is None or error > self.bound):
            return
        if self.val_loss is not None and not val_loss < self.val_loss:
            return
        self.val_loss, self.epochs = val_loss, epochs
        self.state = {k: v.detach().cpu().clone() for k, v in state().items()}
