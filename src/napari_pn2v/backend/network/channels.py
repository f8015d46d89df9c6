"""One trained model per channel, in one file: each channel of a multi-channel image has its
own network, normalisation and noise model (channels share no noise, and often no structure
either), and they travel together so that the image is denoised as one."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..data.channels import NamedChannels
from ..errors import PN2VError
from ..noise.channels import ChannelNoiseModels
from .model import FORMAT, SHUFFLED_VERSION, PN2VModel, read_state, write_state


class ChannelModels(NamedChannels):
    """The models of a multi-channel image's channels, in channel order; all of one mode and
    network dimensionality."""

    def __init__(self, models: Sequence[PN2VModel], names: Sequence[str] | None = None) -> None:
        super().__init__(models, names)
        kinds = {(m.config.mode, m.config.dims) for m in models}
        if len(kinds) > 1:
            raise PN2VError(f"the channels' models differ in mode or dimensions: {sorted(kinds)}")

    @property
    def config(self):
        """The first channel's configuration: mode and dimensions are those of every channel."""
        return self.models[0].config

    @property
    def is_probabilistic(self) -> bool:
        return self.models[0].is_probabilistic

    @property
    def epochs_trained(self) -> int:
        """The fewest epochs any channel's model trained."""
        return min(m.epochs_trained for m in self.models)

    @property
    def noise_model(self) -> ChannelNoiseModels | None:
        if not self.is_probabilistic:
            return None
        return ChannelNoiseModels([m.noise_model for m in self.models], self.names)

    def copy(self) -> ChannelModels:
        return ChannelModels([m.copy() for m in self.models], self.names)

    def save(self, path: str | os.PathLike) -> None:
        """Format version 2 (3 where a channel's network needs shuffling): every channel's
        state, and the channels' names."""
        shuffled = any(m.shuffle > 1 for m in self.models)
        state = {
            "format": FORMAT,
            "version": SHUFFLED_VERSION if shuffled else 2,
            "names": self.names,
            "channels": [m.to_state() for m in self.models],
        }
        write_state(state, path)


def load_model(path: str | os.PathLike) -> PN2VModel | ChannelModels:
    """A model file of one channel or of several."""
    state = read_state(path)
    if "channels" not in state:
        return PN2VModel.from_state(state, str(path))
    try:
        members, names = list(state["channels"]), state.get("names")
    except TypeError as error:
        raise PN2VError(f"{path}: damaged napari-pn2v model file ({error})") from error
    models = [PN2VModel.from_state(m, f"{Path(path)} (channel {c})") for c, m in enumerate(members)]
    return ChannelModels(models, names)


def models_for(model: PN2VModel | ChannelModels, shape: tuple[int, ...], axis: int | None):
    """(one model per channel of an image of ``shape`` whose channel axis is ``axis``, the
    channel axis to split, or None): a single channel along a C axis is a leading axis like
    any other for a model of one channel; other mismatches are refused."""
    if axis is not None and shape[axis] == 1 and not isinstance(model, ChannelModels):
        axis = None
    return ChannelModels.each(model, 1 if axis is None else shape[axis]), axis
