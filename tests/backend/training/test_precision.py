"""Training's arithmetic: the body in bfloat16 when asked (on a CPU with AMX units 2–4× the
steps a minute), float32 weights and losses either way."""

import math

import pytest
import torch

from napari_pn2v.backend import PN2VError, TrainConfig

from .test_trainer import make_trainer


@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_the_body_computes_in_the_precision_asked_for(noisy, noise_model, precision):
    trainer = make_trainer(noisy, noise_model, device="cpu", precision=precision)
    seen = []
    conv = trainer.model.net.down[0][0]
    hook = conv.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    events = list(trainer)
    hook.remove()
    assert seen[0] == (torch.bfloat16 if precision == "bfloat16" else torch.float32)
    assert all(math.isfinite(e.train_loss) for e in events)
    assert all(p.dtype == torch.float32 for p in trainer.model.net.parameters())


def test_auto_trains_a_cpu_in_float32_and_bad_values_are_refused(noisy, noise_model):
    trainer = make_trainer(noisy, noise_model, device="cpu")
    seen = []
    trainer.model.net.down[0][0].register_forward_hook(lambda m, a, out: seen.append(out.dtype))
    next(iter(trainer))
    assert seen[0] == torch.float32
    with pytest.raises(PN2VError, match="precision must be one of"):
        TrainConfig(precision="half")
