"""Multi-channel images: one noise model and one model per channel, one result with the
input's axes."""

import numpy as np
import pytest
import tifffile
import torch

from napari_pn2v.backend import (
    ModelConfig,
    PN2VModel,
    PoissonGaussianNoiseModel,
    TrainConfig,
    predict,
    synthetic,
)
from napari_pn2v.backend.data.metadata import channel_names
from napari_pn2v.backend.data.stores import axes_hint, open_zarr
from napari_pn2v.backend.errors import PN2VError
from napari_pn2v.backend.metrics import psnr
from napari_pn2v.backend.network.channels import ChannelModels, load_model
from napari_pn2v.backend.noise.channels import ChannelNoiseModels
from napari_pn2v.backend.noise.registry import load_noise_model
from napari_pn2v.jobs.noise_model import NoiseModelJob
from napari_pn2v.jobs.prediction import PredictionJob
from napari_pn2v.jobs.training import TrainingJob
from tests.conftest import TINY_NET, TINY_TRAINING
from tests.jobs.test_end_to_end import BUDGET

#: a bright, clean channel and a dim, noisy one (another detector): gain, read noise
CAMERAS = (synthetic.PoissonGaussian(2.0, 6.0), synthetic.PoissonGaussian(12.0, 20.0))


def two_channels(clean: np.ndarray, seed: int) -> np.ndarray:
    """(C, N, Y, X): each channel of ``clean`` scenes through its own camera."""
    rng = np.random.default_rng(seed)
    return np.stack([np.stack([camera(c, rng) for c in clean]) for camera in CAMERAS])


def tiny_run(image: np.ndarray, noise_model, **extra):
    """A training run of the tiny settings on a (C, ...) image, not started yet."""
    return TrainingJob(
        [image],
        TrainConfig(**TINY_TRAINING),
        ModelConfig("pn2v", samples=16, **TINY_NET),
        noise_model=noise_model,
        channels=True,
        **extra,
    ).start()


@pytest.fixture(scope="module")
def calibration() -> np.ndarray:
    """(C, T, Y, X) calibration frames, one camera per channel."""
    return np.stack(
        [
            synthetic.calibration_stack(frames=12, shape=(96, 96), noise=camera, seed=3 + c)
            for c, camera in enumerate(CAMERAS)
        ]
    )


@pytest.fixture(scope="module")
def noise_models(calibration) -> ChannelNoiseModels:
    job = NoiseModelJob("histogram", calibration=calibration, bins=96, channels=True)
    return job.run().model


@pytest.fixture(scope="module")
def tiny(noise_models) -> ChannelModels:
    _, noisy = synthetic.noisy_images(count=1, shape=(64, 64))
    run = tiny_run(two_channels(noisy, seed=4), noise_models, channel_names=["GFP", "DAPI"])
    for _ in run:
        pass
    return run.best_model()


def test_each_channel_gets_the_noise_of_its_own_camera(noise_models):
    assert isinstance(noise_models, ChannelNoiseModels) and len(noise_models) == 2
    signal = torch.tensor([300.0, 500.0])
    ratio = (noise_models[1].variance(signal) / noise_models[0].variance(signal)).numpy()
    expected = [
        (camera.gain * (signal - camera.offset) + camera.read_noise**2).numpy()
        for camera in CAMERAS
    ]
    # folded into one histogram, both channels would have the same variance (ratio 1)
    assert np.allclose(ratio, expected[1] / expected[0], rtol=0.25)


def test_per_channel_models_denoise_each_channel(noise_models):
    clean, _ = synthetic.noisy_images(count=2, shape=(128, 128), seed=2)
    train = two_channels(clean, seed=5)
    test_clean, _ = synthetic.noisy_images(count=1, shape=(128, 128), seed=7)
    test = two_channels(test_clean, seed=8)[:, 0]  # (C, Y, X)
    run = TrainingJob(
        [train],
        BUDGET,
        ModelConfig("pn2v", depth=2, features=16, samples=32),
        noise_model=noise_models,
        channels=True,
    ).start()
    for _ in run:
        pass
    model = run.best_model()
    denoised = PredictionJob(model, test, channel_axis=0).start()
    for _ in denoised:
        pass
    result = denoised.results()["denoised"]
    assert result.shape == test.shape and result.dtype == np.float32
    before = [psnr(test_clean[0], test[c]) for c in range(2)]
    after = [psnr(test_clean[0], result[c]) for c in range(2)]
    print(f"per-channel PSNR, input → denoised: {before} → {after}")
    assert all(a > b + 4.0 for a, b in zip(after, before, strict=True))


def test_channels_are_predicted_in_place_with_the_inputs_axes(tiny, tmp_path):
    _, noisy = synthetic.noisy_images(count=3, shape=(40, 56), seed=9)
    image = np.moveaxis(two_channels(noisy, seed=1), 0, 1)  # (T, C, Y, X)
    expected = [predict(tiny[c], image[:, c]) for c in range(2)]
    job = PredictionJob(tiny, image, ("denoised", "std"), channel_axis=1)
    in_memory = job.start()
    for _ in in_memory:
        pass
    for fmt in ("tiff", "zarr"):
        written = job.start()
        written.write_to(tmp_path / fmt, "cells", fmt, axes="TCYX")
        for _ in written:
            pass
        path = written.results()["denoised"]
        result = open_zarr(path)[:] if fmt == "zarr" else tifffile.imread(path)
        # OME-TIFF or OME-Zarr: axes and the model's channel names travel with the result
        assert axes_hint(path) == "TCYX" and channel_names(path, 2) == ["GFP", "DAPI"]
        for c in range(2):
            np.testing.assert_allclose(result[:, c], expected[c]["denoised"], atol=1e-4)
    results = in_memory.results()
    assert set(results) == {"denoised", "std"}
    for c in range(2):
        np.testing.assert_allclose(results["std"][:, c], expected[c]["std"], atol=1e-4)


def test_models_and_noise_models_round_trip_in_one_file(tiny, noise_models, tmp_path):
    tiny.save(tmp_path / "model.pt")
    noise_models.save(tmp_path / "noise.npz")
    loaded = load_model(tmp_path / "model.pt")
    assert isinstance(loaded, ChannelModels) and loaded.names == ["GFP", "DAPI"]
    image = np.stack([np.full((32, 32), 300.0 + 100 * c, np.float32) for c in range(2)])
    image += np.random.default_rng(0).normal(0, 10, image.shape).astype(np.float32)
    for c in range(2):
        np.testing.assert_array_equal(
            predict(loaded[c], image[c])["denoised"], predict(tiny[c], image[c])["denoised"]
        )
    read = load_noise_model(tmp_path / "noise.npz")
    x, s = torch.linspace(150, 650, 50), torch.linspace(200, 600, 50)
    for c in range(2):
        assert torch.equal(read[c].likelihood(x, s), noise_models[c].likelihood(x, s))
    assert read.names == noise_models.names
    # a file of one model stays what older versions read
    tiny[0].save(tmp_path / "one.pt")
    assert torch.load(tmp_path / "one.pt", weights_only=True)["version"] == 1
    with pytest.raises(PN2VError, match="one model per channel"):
        PN2VModel.load(tmp_path / "model.pt")


def test_mixed_noise_kinds_train_side_by_side(noise_models):
    """A calibrated histogram for one channel, camera parameters for the other."""
    mixed = ChannelNoiseModels(
        [noise_models[0], PoissonGaussianNoiseModel.from_camera(12.0, 100.0, 20.0)],
        ["confocal", "widefield"],
    )
    _, noisy = synthetic.noisy_images(count=1, shape=(64, 64))
    run = tiny_run(two_channels(noisy, seed=6), mixed)
    for _ in run:
        pass
    model = run.best_model()
    assert [m.noise_model.kind for m in model.models] == ["histogram", "poisson-gaussian"]
    assert model.noise_model.names == ["channel 0", "channel 1"]


def test_what_does_not_fit_is_refused(tiny, noise_models):
    image = np.zeros((2, 32, 32), np.float32)
    with pytest.raises(PN2VError, match="trained on 2 channels; the image has 1"):
        PredictionJob(tiny, image[0]).start()
    with pytest.raises(PN2VError, match="trained on 2 channels; the image has 3"):
        PredictionJob(tiny, np.zeros((3, 32, 32), np.float32), channel_axis=0).start()
    with pytest.raises(PN2VError, match="trained on one channel; the image has 2"):
        PredictionJob(tiny[0], image, channel_axis=0).start()
    network = ModelConfig("pn2v", samples=16, **TINY_NET)
    with pytest.raises(PN2VError, match="noise model was made for one channel"):
        TrainingJob([image], noise_model=noise_models[0], network=network, channels=True).start()
    with pytest.raises(PN2VError, match="noise model was made for 2 channels; the image has 1"):
        TrainingJob([image[0]], noise_model=noise_models, network=network).start()
    with pytest.raises(PN2VError, match="differ in channels"):
        TrainingJob(
            [image, np.zeros((3, 32, 32), np.float32)],
            noise_model=noise_models,
            network=network,
            channels=True,
        ).start()


def test_a_stop_before_the_last_channel_keeps_no_half_model(noise_models):
    _, noisy = synthetic.noisy_images(count=1, shape=(64, 64))
    run = tiny_run(two_channels(noisy, seed=4), noise_models)
    for event in run:
        assert event.channel == "channel 0 (1/2)"
        run.request_stop()
    with pytest.raises(PN2VError, match="stopped before channel 1 was trained"):
        run.best_model()
