"""Channels: each is denoised with its own model and noise model (a confocal and a widefield
channel, or two cameras' gains, share nothing), so a multi-channel image is handled as one
image per channel, read lazily, and its results are put back in one array with the input's
axes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import PN2VError

CHANNEL = "C"


def numbered(count: int) -> list[str]:
    """Names for channels a file does not name: "channel 0", "channel 1", …"""
    return [f"channel {c}" for c in range(count)]


def named(names: Sequence[str], messages: Iterable[Iterable[str]]) -> list[str]:
    """Each channel's messages, with its name: "GFP: …"."""
    return [f"{name}: {m}" for name, ms in zip(names, messages, strict=True) for m in ms]


def channel_axis(axes: str) -> int | None:
    """Where ``axes`` hold C, or None."""
    return axes.index(CHANNEL) if CHANNEL in axes else None


def with_channel(values: tuple, axis: int | None, value: int) -> tuple:
    """A shape (chunks) of one channel with the channel axis's ``value`` put back at
    ``axis``; as it is without one."""
    return values if axis is None else (*values[:axis], value, *values[axis:])


def channel_count(shape: tuple[int, ...], axes: str) -> int:
    """How many channels ``axes`` (with ``shape``) hold: 1 without a C axis."""
    return int(shape[axes.index(CHANNEL)]) if CHANNEL in axes else 1


def channel_views(data, axis: int | None) -> list:
    """``data`` split along its channel ``axis`` into one array per channel, without that axis
    (views for numpy and memory maps, lazy for dask; zarr is wrapped in dask so nothing is
    read); no axis: ``[data]``."""
    if axis is None:
        return [data]
    if not isinstance(data, np.ndarray) and not hasattr(data, "dask"):
        import dask.array as da

        data = da.from_array(data, chunks=getattr(data, "chunks", "auto"))
    head = (slice(None),) * axis
    return [data[(*head, c)] for c in range(data.shape[axis])]


def channels_first(data, axes: str):
    """``data`` with its C axis first (a view; lazy data stays lazy), for the jobs, which
    take multi-channel data that way."""
    axis = axes.index(CHANNEL)
    if axis == 0:
        return data
    order = [axis, *(i for i in range(len(axes)) if i != axis)]
    if hasattr(data, "transpose"):
        return data.transpose(order)
    import dask.array as da

    return da.from_array(data, chunks=data.chunks).transpose(order)


def check_channels(counts: list[int], what: str = "images") -> int:
    """The channel count all ``counts`` share; refuses files that differ."""
    if len(set(counts)) > 1:
        raise PN2VError(
            f"the {what} differ in channels ({', '.join(map(str, counts))}); give files of one kind"
        )
    return counts[0]


def open_files(paths, axes: str | None = None, dims: int = 2) -> tuple[list, int, list[str]]:
    """Files (a folder: the images in it) opened lazily (:func:`.stores.open_stack`), with
    their channels first when they have more than one: (the arrays, the channel count they
    share, the first file's channel names or "channel 0", "channel 1", …)."""
    from .formats import image_files
    from .metadata import channel_names
    from .stores import open_stack

    paths = image_files(paths)
    opened = [open_stack(path, axes, dims, channels=True) for path in paths]
    count = check_channels([channel_count(a.shape, ax) for a, ax in opened], "files")
    arrays = [channels_first(a, ax) if count > 1 else a for a, ax in opened]
    names = channel_names(paths[0], count) if paths else None
    return arrays, count, names or numbered(count)


class NamedChannels:
    """Something per channel (models, noise models), in channel order, with the channels'
    names."""

    #: what each channel has, and how it came to its channels, for messages
    what = "model"
    made = "was trained on"
    #: what to do instead when one channel's is given for several
    advice = ""

    def __init__(self, models: Sequence, names: Sequence[str] | None = None) -> None:
        if len(models) < 2:
            raise PN2VError(f"a multi-channel {self.what} needs two channels or more")
        self.models = list(models)
        self.names = list(names) if names else numbered(len(models))
        if len(self.names) != len(self.models):
            raise PN2VError(f"{len(self.names)} channel names for {len(self.models)} channels")

    def __len__(self) -> int:
        return len(self.models)

    def __getitem__(self, channel: int):
        return self.models[channel]

    @classmethod
    def each(cls, value, channels: int) -> list:
        """One per channel of an image of ``channels`` (None each without ``value``): this
        container's members, or a single one for one channel; refuses any other count."""
        if value is None:
            return [None] * channels
        members = list(value.models) if isinstance(value, cls) else [value]
        if len(members) != channels:
            made = "one channel" if len(members) == 1 else f"{len(members)} channels"
            advice = cls.advice if len(members) == 1 else ""
            raise PN2VError(f"the {cls.what} {cls.made} {made}; the image has {channels}{advice}")
        return members


class ChannelSlot:
    """Channel ``index`` of an output array along ``axis``, for writing results into tile by
    tile: ``slot[key] = values`` writes ``array[..., index, ...][key]`` (zarr arrays take no
    views; numpy arrays get a plain view instead, see :func:`channel_slot`). Write-only: what
    is written is read back from the file."""

    def __init__(self, array, axis: int, index: int) -> None:
        self.array, self.axis, self.index = array, axis, index
        self.shape = tuple(s for i, s in enumerate(array.shape) if i != axis)
        self.dtype = array.dtype

    def _key(self, key) -> tuple:
        key = key if isinstance(key, tuple) else (key,)
        full = list(key) + [slice(None)] * (len(self.shape) - len(key))
        full.insert(self.axis, self.index)
        return tuple(full)

    def __setitem__(self, key, values) -> None:
        self.array[self._key(key)] = values


def channel_slot(array, axis: int, index: int):
    """Channel ``index`` of ``array`` along ``axis``, writable: a view of a numpy array (memory
    maps too), a :class:`ChannelSlot` of anything else."""
    if isinstance(array, np.ndarray):
        return array[(slice(None),) * axis + (index,)]
    return ChannelSlot(array, axis, index)
