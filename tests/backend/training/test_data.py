"""Training data kept in its own pixel type: the same batches, a fraction of the memory."""

import numpy as np
import pytest
import torch

from napari_pn2v.backend import ModelConfig, TrainConfig, Trainer
from napari_pn2v.backend.noise.poisson_gaussian import PoissonGaussianNoiseModel
from napari_pn2v.backend.training import data as data_module
from napari_pn2v.backend.training.data import TrainingData, mean_std
from napari_pn2v.backend.training.masking import neighbour_median
from tests.conftest import TINY_NET, TINY_TRAINING, numpy_peak


def _uint8_stack(frames=6, size=64):
    return np.random.default_rng(0).integers(0, 256, (frames, size, size), dtype=np.uint8)


def _batches(images, config, supervised=False):
    data = TrainingData(images, config, targets=images if supervised else None)
    train, held_out = data.frames(lambda x: (x - 100.0) / 40.0, torch.device("cpu"))
    generator = torch.Generator().manual_seed(3)
    return train, [data.batch(train[0], 4, generator) for _ in range(3)] + data.validation_batches(
        held_out
    )


@pytest.mark.parametrize("supervised", [False, True])
def test_integer_frames_stay_integers_and_give_the_same_batches(supervised):
    stack = _uint8_stack()
    config = TrainConfig(**TINY_TRAINING)
    train, batches = _batches(stack, config, supervised)
    assert train[0].dtype == torch.uint8  # no float copy of the data
    _, expected = _batches(stack.astype(np.float32), config, supervised)
    for got, want in zip(batches, expected, strict=True):
        assert got.inputs.dtype == torch.float32
        for name in ("inputs", "targets", "patches", "index"):
            torch.testing.assert_close(getattr(got, name), getattr(want, name), rtol=0, atol=0)


@pytest.mark.parametrize("dtype", [np.uint16, np.float64, np.int16])
def test_other_pixel_types_train(dtype):
    stack = (_uint8_stack(4, 48).astype(np.float64) * 3).astype(dtype)
    config = TrainConfig(**{**TINY_TRAINING, "epochs": 1, "steps_per_epoch": 1})
    trainer = Trainer(stack, config, ModelConfig(mode="n2v", **TINY_NET))
    expected = {np.uint16: torch.uint16, np.float64: torch.float32, np.int16: torch.int16}
    assert trainer._train[0].dtype == expected[dtype]
    assert trainer.model.mean == pytest.approx(float(stack.mean()), rel=1e-6)
    trainer.run()


def test_mean_std_sums_plane_by_plane_in_float64():
    rng = np.random.default_rng(1)
    samples = [rng.integers(0, 4096, (3, 20, 30), dtype=np.uint16), rng.random((10, 12)) * 50]
    pixels = np.concatenate([s.ravel().astype(np.float64) for s in samples])
    mean, std = mean_std(samples)
    assert mean == pytest.approx(pixels.mean(), rel=1e-12)
    assert std == pytest.approx(pixels.std(), rel=1e-9)


def _numpy_peak(stack, mode, **settings):
    """Peak numpy allocations while a trainer prepares ``stack`` (torch's own are not traced)."""
    config = TrainConfig(**{**TINY_TRAINING, "epochs": 1, "steps_per_epoch": 1, **settings})
    network = ModelConfig(mode=mode, samples=16, **TINY_NET)
    noise_model = PoissonGaussianNoiseModel.from_camera(1.0, 0.0, 2.0) if mode == "pn2v" else None
    return numpy_peak(lambda: Trainer(stack, config, network, noise_model=noise_model))


def test_preparing_training_copies_no_float_stack():
    """Before, a trainer made a float32 copy, a normalised copy and a float32 sample of every
    pixel: 3× the float32 size. Now N2V allocates less than that size once; the noise
    measurement (PN2V's guard, an automatic blind spot) reads a fixed number of planes, so
    its memory does not grow with the frames."""
    stack = _uint8_stack(96, 256)
    float32 = 4 * stack.nbytes
    assert _numpy_peak(stack, "n2v", blind_radius=0) < float32
    for mode in ("n2v", "pn2v"):
        growth = _numpy_peak(stack, mode) - _numpy_peak(stack[:48], mode)
        assert growth < float32 / 2, f"{mode}: {growth / 2**20:.0f} MiB more for 48 more frames"


def test_training_and_validation_batches_use_the_configured_replacement():
    stack = _uint8_stack()
    for replacement in ("neighbour", "median"):
        config = TrainConfig(**TINY_TRAINING, replacement=replacement, blind_radius=0)
        _, batches = _batches(stack, config)
        for batch in batches:
            shown = batch.inputs[:, 0].flatten(1).gather(1, batch.index)
            medians = neighbour_median(
                batch.patches.flatten(1), batch.index, batch.patches.shape[1:]
            )
            same = torch.isclose(shown, medians).float().mean().item()
            if replacement == "median":
                assert same == 1.0
            else:  # a random neighbour equals the others' median now and then, not always
                assert same < 0.5


def test_the_spread_is_chosen_on_the_held_out_patches_topped_up_with_training_ones(monkeypatch):
    """SURE needs many pixels: the held-out patches come first, then training patches until
    SPREAD_PIXELS, never more pixels than the training images hold."""
    stack = _uint8_stack(frames=6, size=64)
    data = TrainingData(stack, TrainConfig(**TINY_TRAINING))
    train, held_out = data.frames(lambda x: (x - 100.0) / 40.0, torch.device("cpu"))
    validation = data.validation_batches(held_out)
    held = torch.cat([b.patches for b in validation])
    patches = data.spread_patches(validation, train)
    pixels = sum(t.numel() for t in train)  # fewer than SPREAD_PIXELS
    assert pixels < data_module.SPREAD_PIXELS
    assert patches[0].numel() * (len(patches) - 1) < pixels <= patches.numel()
    torch.testing.assert_close(patches[: len(held)], held, rtol=0, atol=0)
    drawn = patches[len(held) :]
    assert len(drawn) > len(held) and drawn.std() > 0
    monkeypatch.setattr(data_module, "SPREAD_PIXELS", held[:2].numel())
    torch.testing.assert_close(data.spread_patches(validation, train), held[:2], rtol=0, atol=0)
