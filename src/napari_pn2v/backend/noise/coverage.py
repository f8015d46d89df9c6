"""Does a noise model cover the data it is applied to?"""

from __future__ import annotations

import numpy as np

from ..data.images import plane_views
from ..errors import PN2VError
from .base import NoiseModel

#: above this fraction of out-of-range pixels the result is warned about
WARN_FRACTION = 0.001
#: above this fraction the noise model does not describe the data: refuse
MAX_FRACTION = 0.2


def check_coverage(noise_model: NoiseModel, data: np.ndarray, name: str) -> str | None:
    """Refuse data mostly outside the model's range; return a warning when some of it is."""
    # plane by plane: no whole-size masks
    fraction = float(np.mean([noise_model.fraction_out_of_range(p) for p in plane_views(data)]))
    where = noise_model.range_text()
    if fraction > MAX_FRACTION:
        raise PN2VError(
            f"{name}: {100 * fraction:.1f}% of the pixels lie outside the noise model's range "
            f"{where}; build a noise model that covers this data's intensities"
        )
    if fraction > WARN_FRACTION:
        return (
            f"{name}: {100 * fraction:.2f}% of the pixels lie outside the noise model's "
            f"range {where}; the posterior cannot weigh them, so they are denoised as their "
            "prior mean"
        )
    return None
