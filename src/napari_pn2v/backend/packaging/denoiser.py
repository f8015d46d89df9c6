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
from ..network.config import ModelConfig
from ..network.model import PN2VModel
from ..network.shuffle import phase_average, reach, shuffled
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


def margin(model: PN2VModel) -> int:
    """Pixels a package mirrors on each side: :data:`MARGIN` in the network's sub-images."""
    return MARGIN * model.shuffle


def side_step(model: PN2VModel) -> int:
    """What a package's input sides must be multiples of: the network's pooling, in its
    sub-images where it sees pixel-shuffled ones (:mod:`..network.shuffle`)."""
    return model.net.multiple * model.shuffle


def mirror(x: torch.Tensor, margin: int) -> torch.Tensor:
    """``x`` padded by ``margin`` on both sides of its last two axes, np.pad's "symmetric"."""
    for axis in (-2, -1):
        head = x.narrow(axis, 0, margin).flip(axis)
        tail = x.narrow(axis, x.shape[axis] - margin, margin).flip(axis)
        x = torch.cat([head, x, tail], dim=axis)
    return x


def denoise(model: PN2VModel, net: nn.Module, x: torch.Tensor, output: str) -> torch.Tensor:
    """``output`` of (B, 1, Y, X) intensities, as tiled prediction gives it for one tile."""
    batch, _, height, width = x.shape
    stride, r = model.shuffle, reach(model.shuffle)  # r: the shuffled model's average's
    m = margin(model)
    padded = mirror(x, m)
    inner = (slice(None), slice(None), slice(m - r, m + height + r), slice(m - r, m + width + r))
    raw = shuffled(net, model.normalise(padded), stride)[inner]
    if not model.is_probabilistic:
        return phase_average(model.denormalise(raw[:, :1]), stride)
    raw = raw.permute(0, 2, 3, 1).reshape(-1, raw.shape[1])
    result = model.estimate(raw, padded[inner].reshape(-1, 1))[output]
    return phase_average(result.reshape(batch, 1, height + 2 * r, width + 2 * r), stride)


class Denoiser(nn.Module):
    """A 2-D model's ``output`` for (B, 1, Y, X) float32 intensities; Y and X multiples of
    :func:`side_step` and at least :func:`margin` (mirroring needs that many pixels)."""

    def __init__(self, model: PN2VModel, output: str = "denoised") -> None:
        super().__init__()
        check_exportable(model, output)
        self.model, self.output = model, output
        self.net = model.net.cpu().eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return denoise(self.model, self.net, x, self.output)


class PackagedDenoiser(nn.Module):
    """The :class:`Denoiser` as bioimage.io's ``pytorch_state_dict`` weights: made from plain
    arguments (:func:`package_arguments`: the model file's state without its tensors), its
    state dict holds the tensors (the network's weights, the noise model's arrays as
    buffers); loading it restores the model, so a consumer with napari-pn2v installed runs the
    same MMSE as the TorchScript weights."""

    def __init__(self, state: dict, arrays: dict, output: str = "denoised") -> None:
        super().__init__()
        self.state, self.output = state, output
        self.net = PN2VModel._new_net(ModelConfig.from_saved(state["config"]))
        for key, (shape, dtype) in arrays.items():  # filled by load_state_dict
            self.register_buffer(f"noise_{key}", torch.zeros(shape, dtype=getattr(torch, dtype)))
        self.model: PN2VModel | None = None
        self.register_load_state_dict_post_hook(PackagedDenoiser._restore)

    @staticmethod
    def _restore(module: PackagedDenoiser, _incompatible) -> None:
        """The model, from the arguments and the loaded tensors (sharing the network)."""
        state = dict(module.state)
        if state.get("noise_model") is not None:
            arrays = {
                name.removeprefix("noise_"): buffer.cpu()
                for name, buffer in module.named_buffers()
                if name.startswith("noise_")
            }
            state["noise_model"] = {**state["noise_model"], **arrays}
        model = PN2VModel.from_state({**state, "weights": module.net.state_dict()}, "package")
        model.net = module.net
        module.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.model is None:
            raise PN2VError("load the package's state dict first (load_state_dict)")
        return denoise(self.model, self.net, x, self.output)


def package_arguments(model: PN2VModel, output: str = "denoised") -> dict:
    """:class:`PackagedDenoiser`'s arguments for ``model``: everything but its tensors, which
    :func:`package_state` gives."""
    state = model.to_state()
    del state["weights"], state["noise_check"]  # the guard's findings are for the user
    arrays = {}
    if state["noise_model"] is not None:
        noise = state["noise_model"]
        arrays = {
            key: [list(v.shape), str(v.dtype).removeprefix("torch.")]
            for key, v in noise.items()
            if isinstance(v, torch.Tensor)
        }
        state["noise_model"] = {k: v for k, v in noise.items() if k not in arrays}
    return {"state": state, "arrays": arrays, "output": output}


def package_state(model: PN2VModel) -> dict[str, torch.Tensor]:
    """:class:`PackagedDenoiser`'s state dict for ``model``: tensors only."""
    tensors = {f"net.{k}": v.detach().cpu() for k, v in model.net.state_dict().items()}
    if model.noise_model is not None:
        for key, value in model.noise_model.to_state().items():
            if hasattr(value, "dtype"):  # the arrays, as the model file holds them
                tensors[f"noise_{key}"] = torch.from_numpy(value)
    return tensors


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
