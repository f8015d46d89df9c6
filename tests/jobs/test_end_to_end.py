"""Whole pipeline on synthetic Poisson–Gaussian data within a small CPU budget."""

import dataclasses

import numpy as np

from napari_pn2v.backend import (
    HistogramNoiseModel,
    ModelConfig,
    PN2VModel,
    TrainConfig,
    Trainer,
    predict,
    synthetic,
)
from napari_pn2v.backend.metrics import psnr
from napari_pn2v.jobs.demo import run_demo

BUDGET = TrainConfig(
    epochs=8,
    steps_per_epoch=25,
    batch_size=8,
    patch_size=48,
    lr=1e-3,
    val_fraction=0.5,
    seed=0,
    val_patches=16,
)


def test_pn2v_n2v_and_supervised_clearly_beat_the_noisy_input():
    calibration = synthetic.calibration_stack(frames=20, shape=(128, 128))
    noise_model = HistogramNoiseModel.from_calibration(calibration, bins=128)
    train_clean, train = synthetic.noisy_images(count=2, shape=(192, 192), seed=2)
    clean, test = synthetic.noisy_images(count=1, shape=(192, 192), seed=7)
    baseline = psnr(clean[0], test[0])

    pn2v = Trainer(
        train,
        BUDGET,
        ModelConfig("pn2v", depth=2, features=16, samples=64),
        noise_model=noise_model,
    ).run()
    out = predict(pn2v, test[0], tile=96, overlap=32)
    n2v = Trainer(train, BUDGET, ModelConfig("n2v", depth=2, features=16)).run()
    n2v_out = predict(n2v, test[0], tile=96, overlap=32)
    supervised = Trainer(
        train, BUDGET, ModelConfig("supervised", depth=2, features=16), targets=train_clean
    ).run()
    supervised_out = predict(supervised, test[0], tile=96, overlap=32)

    assert psnr(clean[0], out["denoised"]) > baseline + 5.0
    assert psnr(clean[0], out["prior_mean"]) > baseline + 5.0
    assert psnr(clean[0], n2v_out["denoised"]) > baseline + 5.0
    assert psnr(clean[0], supervised_out["denoised"]) > baseline + 5.0
    # the posterior spread tracks the real error: larger where the noise is larger
    error = np.abs(out["denoised"] - clean[0])
    assert 0.5 < out["std"].mean() / error.mean() < 2.0


def test_demo_writes_all_results_and_denoises(tmp_path):
    quick = TrainConfig(
        epochs=8,
        steps_per_epoch=25,
        batch_size=8,
        patch_size=32,
        lr=1e-3,
        val_fraction=0.25,
        seed=0,
        val_patches=4,
    )
    result = run_demo(tmp_path, quick, ModelConfig("pn2v", depth=2, features=16, samples=32))
    names = {p.name for p in result.files}
    assert names == {
        "noise_model.npz",
        "model.pt",
        "clean.tif",
        "noisy.tif",
        "denoised.tif",
        "prior_mean.tif",
        "std.tif",
    }
    assert all(p.exists() for p in result.files)
    assert result.psnr_mmse > result.psnr_input + 3.0


def test_n2v2s_network_and_median_replacement_denoise_and_round_trip(tmp_path):
    _, train = synthetic.noisy_images(count=2, shape=(192, 192), seed=2)
    clean, test = synthetic.noisy_images(count=1, shape=(192, 192), seed=7)
    training = dataclasses.replace(BUDGET, replacement="median")
    model = Trainer(train, training, ModelConfig("n2v", depth=2, features=16, n2v2=True)).run()
    out = predict(model, test[0], tile=96, overlap=32)["denoised"]
    assert psnr(clean[0], out) > psnr(clean[0], test[0]) + 5.0
    model.save(tmp_path / "n2v2.pt")
    loaded = PN2VModel.load(tmp_path / "n2v2.pt")
    assert loaded.config.n2v2 and loaded.training["replacement"] == "median"
    np.testing.assert_array_equal(predict(loaded, test[0], tile=96, overlap=32)["denoised"], out)
