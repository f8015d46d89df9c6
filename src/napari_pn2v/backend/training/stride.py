"""The pixel-shuffle stride a training uses (:mod:`..network.shuffle`): for noise correlated
between neighbouring pixels, the network trains on sub-images whose pixels lie that many pixels
apart. Where the training images' noise correlates (the measure the blind-spot radius comes
from, :mod:`.guard`), automatic gives the smallest stride at which the sub-images' noise no
longer does; on FMD's widefield frames 3 (PN2V 32.93 → 34.15 dB, docs/method.md)."""

from __future__ import annotations

import numpy as np

from ..data.images import plane_views
from ..data.lazy import is_lazy, spaced_planes
from ..network.config import ModelConfig
from ..network.model import PN2VModel
from ..network.shuffle import every, sub_images
from .config import TrainConfig
from .data import MIN_HOLDOUT_ROWS, NOISE_PIXELS, as_list
from .guard import ImageNoise

#: the widest stride automatic tries: each sub-image holds 1/16 of the pixels
MAX_STRIDE = 4


def choose_stride(
    images: list,
    validation: list,
    config: TrainConfig,
    network: ModelConfig,
    trained: PN2VModel | None,
    warnings: list[str],
) -> int:
    """The stride for training on ``images`` (and validating on separate ``validation`` ones):
    that of the model ``trained`` on (or started from), else the configuration's, else
    automatic, from the training images' noise (1 where any image is lazy, a blind-spot
    radius is set, or the ``network`` is 3-D or supervised)."""
    if trained is not None:
        return trained.shuffle
    if config.shuffle is not None:
        return config.shuffle
    plain = network.dims != 2 or network.mode == "supervised"
    if plain or config.blind_radius is not None or any(map(is_lazy, [*images, *validation])):
        return 1
    sample = [_noise_sample(i) for i in images]
    measured = ImageNoise.measure(sample)
    if measured is None or not measured.levels.blind_radius:
        return 1
    # sub-images must hold a patch and a validation strip below it
    side = min(min(np.shape(i)[-2:]) for i in images)
    for stride in range(2, MAX_STRIDE + 1):
        if side // stride < config.patch_size + MIN_HOLDOUT_ROWS:
            break
        parts = ImageNoise.measure([sub_images(p, stride) for p in sample])
        if parts is not None and not parts.levels.blind_radius:
            warnings.append(
                "the noise correlates between neighbouring pixels: the network trains on the "
                f"images' {stride}² sub-images of {every(stride)} along Y and X, whose noise "
                "does not (pixel shuffle), and each estimate is averaged with its neighbours' "
                f"over {stride} × {stride} pixels"
            )
            return stride
    return 1


def _noise_sample(image) -> np.ndarray:
    """Evenly spaced whole planes of an in-memory image, up to :data:`.data.NOISE_PIXELS` (the
    trainer's own sample of the noise): each stride tried copies that much, not the image."""
    planes = plane_views(image)
    return planes[spaced_planes(len(planes), planes.shape[1] * planes.shape[2], NOISE_PIXELS)]


def shuffled_images(images, stride: int):
    """``images`` (an array or a list, or None) as the network trains on them: each one's
    sub-images (a stack) at ``stride``; as they are at 1."""
    if images is None or stride == 1:
        return images
    return [sub_images(np.asarray(image), stride) for image in as_list(images)]
