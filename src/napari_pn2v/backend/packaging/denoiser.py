"""A trained model as one plain torch module, (B, 1, Y, X) intensities in, one output out.

Other tools (bioimage.io consumers: deepImageJ, ilastik, bioimageio.core) run a network on a
tensor and know nothing of noise models. For PN2V the module therefore holds the whole
estimate — network, the prior's samples, the noise model's likelihood, the guard's bands — so
that they get the MMSE, not just a prior mean. It mirrors its input at the edges as
:mod:`..prediction.tiled` does, so a single tile gives the same values as ``pn2v predict``.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn

from ..errors import PN2VError
from ..network.model import PN2VModel
from ..prediction.config import OVERLAP

#: what a package can give: the MMSE (N2V: its prediction) or, for PN2V, the prior mean
OUTPUTS = ("denoised", "prior_mean")
#: pixels mirrored on each side, as many as tiled prediction's tiles see beyond their core
MARGIN = OVERLAP // 2


def check_exportable(model: PN2VModel, output: str) -> None:
    """What a package cannot hold, named before any work (the export job asks too)."""
    if output not in OUTPUTS:
        raise PN2VError(f"a package gives {' or '.join(OUTPUTS)}, not {output!r}")
    if output == "prior_mean" and not model.is_probabilistic:
        raise PN2VError("an N2V model has no prior mean; export its denoised image")
    if model.config.dims != 2:
        raise PN2VError("only 2-D models can be exported so far; this one is 3-D")


def mirror(x: torch.Tensor, margin: int) -> torch.Tensor:
    """``x`` padded by ``margin`` on both sides of its last two axes, np.pad's "symmetric"."""
    for axis in (-2, -1):
        head = x.narrow(axis, 0, margin).flip(axis)
        tail = x.narrow(axis, x.shape[axis] - margin, margin).flip(axis)
        x = torch.cat([head, x, tail], dim=axis)
    return x


class Denoiser(nn.Module):
    """A 2-D model's ``output`` for (B, 1, Y, X) float32 intensities; Y and X multiples of
    the network's pooling and at least :data:`MARGIN` (mirroring needs that many pixels)."""

    def __init__(self, model: PN2VModel, output: str = "denoised") -> None:
        super().__init__()
        check_exportable(model, output)
        self.model, self.output = model, output
        self.net = model.net.cpu().eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = x.shape
        model, m = self.model, MARGIN
        raw = self.net(model.normalise(mirror(x, m)))[:, :, m : m + height, m : m + width]
        if not model.is_probabilistic:
            return model.denormalise(raw[:, :1])
        raw = raw.permute(0, 2, 3, 1).reshape(-1, raw.shape[1])
        result = model.estimate(raw, x.reshape(-1, 1))[self.output]
        return result.reshape(batch, 1, height, width)


def to_torchscript(model: PN2VModel, example: torch.Tensor, output: str = "denoised"):
    """The :class:`Denoiser` traced on ``example`` (B, 1, Y, X); it takes other sizes too
    (the trace keeps no size). Tracing records tensor operations only: the guard's choices
    and the noise model's kind are fixed into the module, as they are in the model."""
    module = Denoiser(model, output).eval()
    with torch.no_grad(), warnings.catch_warnings():
        # tracing is what TorchScript consumers load; torch calls it deprecated in favour of
        # torch.export, which bioimage.io consumers do not read yet
        warnings.simplefilter("ignore")
        return torch.jit.trace(module, example, check_trace=False)
