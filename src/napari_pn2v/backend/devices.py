"""Which torch device to compute on, and how to tell the user about it."""

from __future__ import annotations

import torch

from .errors import PN2VError
from .training.config import DEVICES, PRECISIONS


def choose_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple's MPS, then the CPU; a named device must be available."""
    if name not in DEVICES:
        raise PN2VError(f"device must be one of {DEVICES}, got {name!r}")
    cuda = torch.cuda.is_available()
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if (name == "cuda" and not cuda) or (name == "mps" and not mps):
        raise PN2VError(f"device {name!r} is not available to this torch ({torch.__version__})")
    return torch.device(name)


def describe_device(device: torch.device) -> str:
    """A one-line description, e.g. for the training widget's device label."""
    if device.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "GPU: Apple MPS"
    return "CPU only (no CUDA GPU found by this torch)"


def uses_bfloat16(
    device: torch.device, precision: str, warnings: list[str], training: bool = False
) -> bool:
    """Whether the U-Net's body computes in bfloat16 (its head, the noise model and the
    posterior stay in float32): by default on a CUDA GPU, and for ``training`` on a CPU with
    AMX units too (2-4× the steps a minute there, at the same PSNR on FMD; prediction stays
    float32 on a CPU, so a model file predicts the values it always did); asked for, on any
    CPU. Where it is not used or only emulated, ``warnings`` says so."""
    if precision not in PRECISIONS:
        raise PN2VError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "auto":
        amx = training and device.type == "cpu" and "AMX" in bfloat16_units()
        return device.type == "cuda" or amx
    if precision != "bfloat16":
        return False
    if device.type not in ("cuda", "cpu"):
        warnings.append(f"bfloat16 is not used on {device.type}: computing in float32")
        return False
    if device.type == "cpu" and not cpu_has_bfloat16():
        warnings.append(
            "this CPU has no bfloat16 units (AMX or AVX512-BF16): bfloat16 is emulated, "
            "likely slower than float32"
        )
    return True


#: the CPU's bfloat16 units, by name, and torch's check for each
BFLOAT16_UNITS = {"AMX": "_is_amx_tile_supported", "AVX512-BF16": "_is_avx512_bf16_supported"}


def bfloat16_units() -> list[str]:
    """The bfloat16 units this CPU has (checks this torch lacks count as absent)."""
    return [name for name, check in BFLOAT16_UNITS.items() if getattr(torch.cpu, check, bool)()]


def cpu_has_bfloat16() -> bool:
    """Whether this CPU computes in bfloat16 natively (AMX tiles or AVX512-BF16), so that
    oneDNN's bfloat16 convolutions are faster than float32 ones."""
    return bool(bfloat16_units())
