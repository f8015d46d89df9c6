"""Which torch device to compute on, and how to tell the user about it."""

from __future__ import annotations

import torch

from .errors import PN2VError
from .training.config import DEVICES


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
