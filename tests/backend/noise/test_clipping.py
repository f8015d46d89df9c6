import numpy as np

from napari_pn2v.backend.noise.clipping import clip_limits, clipped_mask


def test_integer_limits_and_pile_ups_are_found():
    rng = np.random.default_rng(0)
    values = rng.normal(100, 60, (128, 128))
    u8 = np.clip(np.round(values), 0, 255).astype(np.uint8)
    assert clip_limits(u8) == [0.0, 255.0]
    as_float = u8.astype(np.float32)  # the type is lost, the pile-ups are not
    assert clip_limits(as_float) == [0.0, 255.0]
    mask, message = clipped_mask(u8)
    assert mask.sum() == ((u8 == 0) | (u8 == 255)).sum() and "clipped" in message


def test_unclipped_data_has_no_limits():
    rng = np.random.default_rng(1)
    assert clip_limits(rng.normal(500, 20, (128, 128)).astype(np.float32)) == []
    counts = np.round(rng.normal(500, 20, (128, 128))).astype(np.uint16)  # no 0, no 65535
    assert clip_limits(counts) == []
    assert clipped_mask(counts)[1] is None
