"""One noise model per channel, in one file: the channels of one image come from different
detectors, gains or modalities (a confocal and a widefield channel), so each has its own
p(x | s), of any kind."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np

from ..data.channels import NamedChannels
from ..errors import PN2VError
from .base import FORMAT, NoiseModel, save_state

KIND = "channels"


class ChannelNoiseModels(NamedChannels):
    """The noise models of a multi-channel image's channels, in channel order."""

    kind = KIND
    what = "noise model"
    made = "was made for"
    # the channels' noise differs
    advice = (
        ": build one noise model per channel from multi-channel calibration data (or noisy images)"
    )

    def __init__(self, models: Sequence[NoiseModel], names: Sequence[str] | None = None) -> None:
        if any(isinstance(m, ChannelNoiseModels) for m in models):
            raise PN2VError("a channel's noise model cannot itself hold channels")
        super().__init__(models, names)

    @property
    def signal_range(self) -> tuple[float, float]:
        """From the lowest channel's lowest signal to the highest's highest."""
        ranges = [m.signal_range for m in self.models]
        return min(lo for lo, _ in ranges), max(hi for _, hi in ranges)

    def summary(self) -> str:
        return "; ".join(
            f"{n}: {m.summary()}" for n, m in zip(self.names, self.models, strict=True)
        )

    def to_state(self) -> dict:
        """Each channel's state under ``c<i>.``: arrays as arrays, the rest as JSON."""
        state: dict = {"kind": KIND, "names": self.names, "channels": []}
        versions = [1]
        for c, model in enumerate(self.models):
            member = model.to_state()
            versions.append(int(member.pop("version", 1)))
            state["channels"].append(
                {k: v for k, v in member.items() if not isinstance(v, np.ndarray)}
            )
            state.update({f"c{c}.{k}": v for k, v in member.items() if isinstance(v, np.ndarray)})
        # a member that needs a newer reader makes the file need it too
        state["version"] = max(versions)
        return state

    def save(self, path: str | os.PathLike) -> None:
        save_state(self.to_state(), path)

    @classmethod
    def from_state(
        cls, state: dict, read: Callable[[dict, str], NoiseModel], source: str = "noise model"
    ) -> ChannelNoiseModels:
        """``read`` turns one channel's state into its noise model (:mod:`.registry`)."""
        try:
            members = state["channels"]
            models = []
            for c, meta in enumerate(members):
                prefix = f"c{c}."
                arrays = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
                member = {"format": FORMAT, "version": state.get("version", 1), **meta, **arrays}
                models.append(read(member, f"{source} ({prefix[:-1]})"))
            return cls(models, state.get("names"))
        except PN2VError:
            raise
        except (KeyError, TypeError, ValueError) as error:
            raise PN2VError(f"{source}: damaged multi-channel noise model ({error})") from error
