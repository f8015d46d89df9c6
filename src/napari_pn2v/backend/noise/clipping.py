"""Find clipped (saturated or zero-floored) pixels, which no noise model fit should see.

A camera or a conversion that clips piles every value beyond a limit onto it; a model fitted
to such pixels learns the pile-up as noise. A value counts as a clipping limit when it is an
integer type's 0 or maximum, or when it is the data's own minimum or maximum and holds a
pile-up: more than 0.1 % of the pixels, and (for integer data) more than twice the pixels of
the next value inwards.
"""

from __future__ import annotations

import numpy as np

PILE_UP_FRACTION = 1e-3


def clip_limits(data: np.ndarray) -> list[float]:
    """The values at which ``data`` looks clipped (possibly none)."""
    data = np.asarray(data)
    limits: set[float] = set()
    if np.issubdtype(data.dtype, np.integer):
        info = np.iinfo(data.dtype)
        limits.update(v for v in (0, info.max) if np.any(data == v))
    finite = data[np.isfinite(data)] if data.dtype.kind == "f" else data
    if finite.size == 0:
        return sorted(limits)
    integer_valued = data.dtype.kind in "iu" or bool(
        np.all(finite.ravel()[:10000] == np.round(finite.ravel()[:10000]))
    )
    for end, inward in ((float(finite.min()), 1), (float(finite.max()), -1)):
        count = np.count_nonzero(finite == end)
        if count <= PILE_UP_FRACTION * finite.size:
            continue
        if integer_valued and count <= 2 * np.count_nonzero(finite == end + inward):
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
