"""Axis orders of stacks: T (time), Z (depth), C (channel), Y and X.

The 2-D network denoises YX planes, so Y and X are moved last and every other axis is folded
into planes; the 3-D network denoises ZYX stacks, so Z, Y and X are moved last. An axis order
is stated (``--axes``), read from the file (TIFF series axes), or guessed from the number of
dimensions (and the network: three dimensions are a time series of planes for a 2-D network,
one Z stack for a 3-D network). Channels are denoised one by one (:mod:`.channels`); where a
front end takes one channel only, more are refused here.
"""

from __future__ import annotations

from ..errors import PN2VError

KNOWN = "TZCYX"
#: tifffile's letters for generic or sequence axes, read as time
AS_TIME = {"Q": "T", "I": "T", "R": "T", "V": "T"}
GUESSES = {2: "YX", 3: "TYX", 4: "TZYX", 5: "TZCYX"}
GUESSES_3D = {**GUESSES, 3: "ZYX"}
#: the axes each network sees, last
SPATIAL = {2: "YX", 3: "ZYX"}


def guess_axes(ndim: int, hint: str | None = None, dims: int = 2) -> str:
    """``hint`` (e.g. tifffile's series axes) with generic letters read as T, else the usual
    order for ``ndim`` dimensions (for a ``dims``-D network)."""
    if hint and len(hint) == ndim:
        hint = hint.upper()
        # tifffile calls a short leading axis "S" (planar samples) when unsure: RGB only last
        hint = hint[:-1].replace("S", "T") + hint[-1]
        axes = "".join(AS_TIME.get(a, a) for a in hint)
        if len(set(axes)) == ndim and set(axes) <= set(KNOWN + "S"):
            return axes
    guesses = GUESSES_3D if dims == 3 else GUESSES
    if ndim not in guesses:
        raise PN2VError(f"{ndim}-D data: state its axis order (axes, e.g. TZYX)")
    return guesses[ndim]


def check_axes(
    axes: str, shape: tuple[int, ...], name: str = "image", dims: int = 2, channels: bool = False
) -> str:
    """``axes`` in upper case, after refusing what does not fit ``shape`` or the network (or
    more than one channel, unless ``channels``)."""
    axes = axes.upper()
    if len(axes) != len(shape):
        raise PN2VError(
            f"{name}: axes {axes!r} name {len(axes)} dimensions, the data has "
            f"{len(shape)} (shape {tuple(shape)})"
        )
    unknown = set(axes) - set(KNOWN)
    if "S" in unknown:
        raise PN2VError(f"{name}: RGB(A) samples (axis S); convert to one channel first")
    if unknown or len(set(axes)) != len(axes):
        raise PN2VError(f"{name}: axes {axes!r} must be distinct letters of {KNOWN}")
    if "Y" not in axes or "X" not in axes:
        raise PN2VError(f"{name}: axes {axes!r} need a Y and an X")
    if dims == 3 and "Z" not in axes:
        raise PN2VError(f"{name}: axes {axes!r} have no Z; a 3-D network denoises Z stacks")
    if not channels and "C" in axes and shape[axes.index("C")] > 1:
        raise PN2VError(
            f"{name}: {shape[axes.index('C')]} channels (axis C); this takes one channel at "
            "a time (pn2v train and predict, and the widgets, take them all)"
        )
    return axes


def spatial_last(data, axes: str, dims: int = 2):
    """``data`` with Y and X (Z, Y and X for ``dims=3``) moved to the end, the other axes in
    their order: a view for numpy and dask arrays (zarr arrays are wrapped in dask when they
    must move)."""
    spatial = SPATIAL[dims]
    order = [i for i, a in enumerate(axes) if a not in spatial] + [axes.index(a) for a in spatial]
    if order == sorted(order):
        return data
    if hasattr(data, "transpose"):  # numpy (memory-mapped too) and dask: a view
        return data.transpose(order)
    import dask.array as da

    return da.from_array(data, chunks=data.chunks).transpose(order)


def planes_axes(axes: str, dims: int = 2) -> str:
    """The axis order after :func:`spatial_last`."""
    return "".join(a for a in axes if a not in SPATIAL[dims]) + SPATIAL[dims]
