"""Training's arithmetic: the body in bfloat16 on a CUDA GPU, on a CPU with AMX units (2–4× the
steps a minute) and when asked; float32 weights and losses either way."""

import math

import pytest
import torch

import napari_pn2v.backend.devices as devices
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


@pytest.mark.parametrize("units", [[], ["AVX512-BF16"], ["AMX", "AVX512-BF16"]])
def test_auto_trains_a_cpu_in_bfloat16_where_it_has_amx_units(
    noisy, noise_model, units, monkeypatch
):
    monkeypatch.setattr(devices, "bfloat16_units", lambda: units)
    trainer = make_trainer(noisy, noise_model, device="cpu")
    seen = []
    trainer.model.net.down[0][0].register_forward_hook(lambda m, a, out: seen.append(out.dtype))
    next(iter(trainer))
    arithmetic = "bfloat16" if "AMX" in units else "float32"
    assert seen[0] == getattr(torch, arithmetic) and not trainer.warnings
    training = trainer.last_model().training
    assert training["arithmetic"] == arithmetic and training["precision"] == "auto"


def test_bad_precisions_are_refused():
    with pytest.raises(PN2VError, match="precision must be one of"):
        TrainConfig(precision="half")
