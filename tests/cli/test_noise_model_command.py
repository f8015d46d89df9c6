"""pn2v noise-model: every kind of noise model from files, and wrong sources as one line."""

import numpy as np
import tifffile

from napari_pn2v.backend import HistogramNoiseModel, PN2VModel
from tests.cli.helpers import TRAIN_FLAGS, one_line_error, run


def test_noise_model_from_calibration_and_from_pairs(files, capsys):
    code, out, err = run(
        ["noise-model", "--calibration", files / "calib.tif", "-o", files / "nm.npz", "--bins", 64],
        capsys,
    )
    assert code == 0 and "64 bins" in out and "10 frame(s)" in out
    assert "drifts" not in err  # a steady stack
    assert HistogramNoiseModel.load(files / "nm.npz").bins == 64
    code, out, _ = run(
        [
            "noise-model",
            "--signal",
            files / "signal.tif",
            "--observation",
            files / "calib.tif",
            "-o",
            files / "nm2.npz",
            "--range",
            0,
            1000,
        ],
        capsys,
    )
    assert code == 0 and "[0, 1000)" in out


def test_calibration_drift_is_noted(files, calibration, capsys):
    drifting = calibration * np.linspace(0.9, 1.1, len(calibration))[:, None, None]
    tifffile.imwrite(files / "drifting.tif", drifting.astype(np.float32))
    code, out, err = run(
        ["noise-model", "--calibration", files / "drifting.tif", "-o", files / "nm.npz"], capsys
    )
    assert code == 0 and "wrote" in out
    assert err.startswith("pn2v: note: ") and "drifts" in err and err.count("\n") == 1


def test_noise_models_without_a_histogram(files, capsys):
    from napari_pn2v.backend import (
        GaussianMixtureNoiseModel,
        PoissonGaussianNoiseModel,
        load_noise_model,
    )

    code, out, err = run(
        [
            "noise-model",
            "--kind",
            "gmm",
            "--calibration",
            files / "calib.tif",
            "-o",
            files / "gmm.npz",
            "--components",
            2,
        ],
        capsys,
    )
    assert code == 0, err
    gmm = load_noise_model(files / "gmm.npz")
    assert isinstance(gmm, GaussianMixtureNoiseModel) and gmm.coefficients.shape[1] == 2
    assert "GMM noise model" in out
    code, out, err = run(
        [
            "noise-model",
            "--kind",
            "poisson-gaussian",
            "--camera",
            2,
            100,
            6,
            "-o",
            files / "pg.npz",
        ],
        capsys,
    )
    assert code == 0 and load_noise_model(files / "pg.npz").gain == 2.0
    code, out, err = run(
        [
            "noise-model",
            "--kind",
            "poisson-gaussian",
            "--images",
            files / "noisy.tif",
            "-o",
            files / "pg2.npz",
        ],
        capsys,
    )
    assert code == 0 and "estimated" in out
    assert isinstance(load_noise_model(files / "pg2.npz"), PoissonGaussianNoiseModel)
    code, out, err = run(
        [
            "noise-model",
            "--kind",
            "poisson-gaussian",
            "--camera",
            2,
            100,
            6,
            "--as-histogram",
            "--range",
            0,
            1000,
            "-o",
            files / "pgh.npz",
        ],
        capsys,
    )
    assert code == 0 and isinstance(load_noise_model(files / "pgh.npz"), HistogramNoiseModel)
    # the noise model of a pn2v training may be of any kind
    code, _, err = run(
        [
            "train",
            files / "noisy.tif",
            "-o",
            files / "m.pt",
            "--noise-model",
            files / "pg.npz",
            *TRAIN_FLAGS,
        ],
        capsys,
    )
    assert code == 0, err
    assert isinstance(PN2VModel.load(files / "m.pt").noise_model, PoissonGaussianNoiseModel)
    assert "too little noise" not in err  # the synthetic camera's own parameters
    # a quarter of the camera's noise: the guard names it after training
    run(
        [
            "noise-model",
            "--kind",
            "poisson-gaussian",
            "--camera",
            0.5,
            100,
            3,
            "-o",
            files / "low.npz",
        ],
        capsys,
    )
    code, _, err = run(
        [
            "train",
            files / "noisy.tif",
            "-o",
            files / "m.pt",
            "--noise-model",
            files / "low.npz",
            *TRAIN_FLAGS,
        ],
        capsys,
    )
    assert code == 0, err
    assert "pn2v: warning: the noise model gives too little noise at signals" in err


def test_wrong_noise_model_sources_are_one_line(files, capsys):
    for argv in (
        ["noise-model", "--kind", "gmm", "--images", files / "noisy.tif"],
        ["noise-model", "--kind", "histogram", "--camera", 1, 0, 1],
        ["noise-model", "--kind", "bootstrap", "--calibration", files / "calib.tif"],
        ["noise-model", "--kind", "poisson-gaussian", "--camera", 1, 0, 1, "--as-histogram"],
        ["train", files / "noisy.tif", "--bootstrap", "gmm", "--mode", "n2v"],
    ):
        code, _, err = run([*argv, "-o", files / "never.npz"], capsys)
        one_line_error(code, err)
    assert not (files / "never.npz").exists()
