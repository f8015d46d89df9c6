"""The rule of which weights a training keeps (backend/training/selection.py)."""

import torch

from napari_pn2v.backend.training.selection import KeptWeights


def weights(value: float):
    return lambda: {"w": torch.full((2,), value)}


def test_without_a_bound_the_lowest_loss_is_kept():
    kept = KeptWeights()
    for epoch, loss in enumerate([3.0, 2.0, 2.5, 2.0], start=1):
        kept.offer(loss, None, weights(epoch), epoch)
    assert (kept.val_loss, kept.epochs) == (2.0, 2) and kept.state["w"][0] == 2


def test_with_a_bound_only_errors_up_to_it_are_kept():
    kept = KeptWeights(bound=1.0)
    kept.offer(5.0, 1.0, weights(0), 0)  # the start: its own error is the bound
    kept.offer(1.0, 1.01, weights(1), 1)  # a far better loss, its prior mean further off
    assert kept.epochs == 0
    kept.offer(4.0, 1.0, weights(2), 2)  # as close: the better loss counts
    kept.offer(3.0, None, weights(3), 3)  # not validated: never kept under a bound
    assert (kept.val_loss, kept.epochs) == (4.0, 2) and kept.state["w"][0] == 2
