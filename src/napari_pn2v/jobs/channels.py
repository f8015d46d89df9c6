"""One job per channel, for every job alike: a multi-channel job (its data with the channel axis
first) is cut into the same job on each channel's data alone, and their progress is named by
channel. Each channel of a microscope image has its own noise, so its own noise model and
network; prediction's counterpart is :func:`..backend.prediction.tiled.per_channel`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from ..backend.data.channels import check_channels
from ..backend.training.config import Progress


def count_channels(job, arrays: Sequence[str] = (), lists: Sequence[str] = (), what="data") -> int:
    """The channels ``job``'s data share: the fields named in ``arrays`` hold one channel-first
    array (or None), those in ``lists`` lists of them (or None); data that differ are refused."""
    counts = [np.shape(getattr(job, name))[0] for name in arrays if getattr(job, name) is not None]
    counts += [np.shape(image)[0] for name in lists for image in getattr(job, name) or []]
    return check_channels(counts, what)


def split_by_channel(
    job,
    count: int,
    arrays: Sequence[str] = (),
    lists: Sequence[str] = (),
    each: dict[str, list] | None = None,
    **same: object,
):
    """``count`` copies of ``job`` of one channel each (``channels=False``): the fields named in
    ``arrays`` and ``lists`` cut to that channel, those in ``each`` given that channel's entry,
    ``same`` set on all."""

    def cut(name: str, c: int):
        value = getattr(job, name)
        if value is None:
            return None
        return value[c] if name in arrays else [image[c] for image in value]

    return [
        dataclasses.replace(
            job,
            channels=False,
            **{name: cut(name, c) for name in (*arrays, *lists)},
            **{name: values[c] for name, values in (each or {}).items()},
            **same,
        )
        for c in range(count)
    ]


def channel_progress(event: Progress, names: Sequence[str], index: int, **changes) -> Progress:
    """``event`` of channel ``index``, named for the user: "GFP (1/2)"."""
    return dataclasses.replace(
        event, channel=f"{names[index]} ({index + 1}/{len(names)})", **changes
    )
