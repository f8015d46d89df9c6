"""Find clipped (saturated or zero-floored) pixels, which no noise model fit should see.

A camera or a conversion that clips piles every value beyond a limit onto it; a model fitted
to such pixels learns the pile-up as noise. A value counts as a clipping limit when it is an
integer type's 0 or maximum, or when it is the data's own minimum or maximum and holds a
pile-up: more than 0.1 % of the pixels, and (for integer data) more than twice the pixels of
the next value inwards.
"""

from __future__ import annotations

import numpy as np

from ..data.images import plane_views

PILE_UP_FRACTION = 1e-3


def _finite(plane: np.ndarray) -> np.ndarray:
    return plane[np.isfinite(plane)] if plane.dtype.kind == "f" else plane.ravel()


def clip_limits(data: np.ndarray) -> list[float]:
    """The values at which ``data`` looks clipped (possibly none); counted plane by plane."""
    planes = plane_views(data)
    limits: set[float] = set()
    if np.issubdtype(planes.dtype, np.integer):
        info = np.iinfo(planes.dtype)
        limits.update(v for v in (0, info.max) if any(np.any(p == v) for p in planes))
    ends = [(float(f.min()), float(f.max()), f.size) for f in map(_finite, planes) if f.size]
    if not ends:
        return sorted(limits)
    size = sum(n for *_, n in ends)
    head = _finite(planes[0]).ravel()[:10000]
    integer_valued = planes.dtype.kind in "iu" or bool(np.all(head == np.round(head)))
    for end, inward in ((min(e[0] for e in ends), 1), (max(e[1] for e in ends), -1)):
        count = sum(np.count_nonzero(p == end) for p in planes)
        if count <= PILE_UP_FRACTION * size:
            continue
        if integer_valued and count <= 2 * sum(np.count_nonzero(p == end + inward) for p in planes):
            continue
        limits.add(float(end))
    return sorted(float(v) for v in limits)


def clipped_mask(data: np.ndarray) -> tuple[np.ndarray, str | None]:
    """(mask of clipped pixels, a message saying how many, or None when there are none)."""
    data = np.asarray(data)
    limits = clip_limits(data)
    mask = np.isin(data, limits) if limits else np.zeros(data.shape, bool)
    count = int(mask.sum())
    if not count:
        return mask, None
    where = " and ".join(f"{v:g}" for v in limits)
    return mask, (
        f"left out {count:,} clipped pixel(s) ({100 * count / mask.size:.2f}%) at {where}"
    )
