"""The pn2v command line: every subcommand end to end, and every bad input as one line."""

import numpy as np
import pytest
import tifffile

from napari_pn2v.backend import HistogramNoiseModel, PN2VModel, predict
from napari_pn2v.backend.data.stores import open_zarr
from napari_pn2v.cli import main
from tests.conftest import TINY_NET, TINY_TRAINING

TRAIN_FLAGS = [
    "--epochs",
    str(TINY_TRAINING["epochs"]),
    "--steps-per-epoch",
    str(TINY_TRAINING["steps_per_epoch"]),
    "--batch-size",
    str(TINY_TRAINING["batch_size"]),
    "--patch-size",
    str(TINY_TRAINING["patch_size"]),
    "--depth",
    str(TINY_NET["depth"]),
    "--features",
    str(TINY_NET["features"]),
    "--samples",
    "16",
    "--seed",
    "0",
    "--val-fraction",
    "0.5",
]


@pytest.fixture
def files(tmp_path, calibration, noisy):
    tifffile.imwrite(tmp_path / "calib.tif", calibration)
    tifffile.imwrite(tmp_path / "noisy.tif", noisy)
    tifffile.imwrite(tmp_path / "signal.tif", calibration.mean(0))
    tifffile.imwrite(tmp_path / "single.tif", noisy[0])
    return tmp_path


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


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


def test_train_and_predict_pn2v(files, capsys):
    run(["noise-model", "--calibration", files / "calib.tif", "-o", files / "nm.npz"], capsys)
    code, out, err = run(
        [
            "train",
            files / "noisy.tif",
            "-o",
            files / "m.pt",
            "--noise-model",
            files / "nm.npz",
            *TRAIN_FLAGS,
        ],
        capsys,
    )
    assert code == 0, err
    assert "wrote" in out and "training pn2v (2-D, 8 features) on 2 plane(s)" in err
    assert "choosing the prior's spread" in err  # after the last step, before the model
    model = PN2VModel.load(files / "m.pt")
    assert model.config.samples == 16
    assert f"prior spread ×{model.spread_scale:.3g}" in out
    code, _, err = run(
        [
            "train",
            files / "noisy.tif",
            "-o",
            files / "published.pt",
            "--noise-model",
            files / "nm.npz",
            "--no-spread-calibration",
            *TRAIN_FLAGS,
        ],
        capsys,
    )
    assert code == 0, err
    assert PN2VModel.load(files / "published.pt").spread_scale == 1.0
    assert "choosing the prior's spread" not in err
    code, out, err = run(
        [
            "predict",
            files / "m.pt",
            files / "noisy.tif",
            files / "single.tif",
            "-o",
            files / "out",
            "--save",
            "prior-mean,std",
            "--tile",
            32,
            "--overlap",
            8,
        ],
        capsys,
    )
    assert code == 0, err
    for stem, shape in (("noisy", (2, 64, 64)), ("single", (64, 64))):
        for kind in ("denoised", "prior_mean", "std"):
            image = tifffile.imread(files / "out" / f"{stem}_{kind}.tif")
            assert image.dtype == np.float32 and image.shape == shape


def test_train_n2v_resume_and_predict(files, capsys):
    code, _, err = run(
        ["train", files / "noisy.tif", "-o", files / "n2v.pt", "--mode", "n2v", *TRAIN_FLAGS],
        capsys,
    )
    assert code == 0, err
    code, _, err = run(
        [
            "train",
            files / "noisy.tif",
            "-o",
            files / "n2v2.pt",
            "--resume",
            files / "n2v.pt",
            *TRAIN_FLAGS,
        ],
        capsys,
    )
    assert code == 0, err
    assert (
        PN2VModel.load(files / "n2v2.pt").epochs_trained
        > PN2VModel.load(files / "n2v.pt").epochs_trained
    )
    code, _, err = run(
        ["predict", files / "n2v.pt", files / "single.tif", "-o", files / "o"], capsys
    )
    assert code == 0, err
    assert (files / "o" / "single_denoised.tif").exists()


def test_train_with_a_region_holdout_or_separate_validation_images(files, capsys):
    flags = [f for f in TRAIN_FLAGS]
    flags[flags.index("--val-fraction") + 1] = "0.3"
    code, _, err = run(
        [
            "train",
            files / "noisy.tif",
            "-o",
            files / "a.pt",
            "--mode",
            "n2v",
            "--holdout",
            "region",
            *flags,
        ],
        capsys,
    )
    assert code == 0, err
    code, _, err = run(
        [
            "train",
            files / "noisy.tif",
            "-o",
            files / "b.pt",
            "--mode",
            "n2v",
            "--validation",
            files / "single.tif",
            *flags,
        ],
        capsys,
    )
    assert code == 0, err
    assert PN2VModel.load(files / "b.pt").epochs_trained >= 1
    code, _, err = run(
        [
            "train",
            files / "noisy.tif",
            "-o",
            files / "c.pt",
            "--mode",
            "supervised",
            "--target",
            files / "noisy.tif",
            "--validation",
            files / "single.tif",
            *flags,
        ],
        capsys,
    )
    one_line_error(code, err)
    assert "validation" in err and not (files / "c.pt").exists()


def one_line_error(code, err):
    assert code != 0
    assert err.startswith("pn2v: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err


def test_bad_inputs_give_one_line_and_write_nothing(files, capsys, noise_model):
    noise_model.save(files / "nm.npz")
    tifffile.imwrite(files / "rgb.tif", np.zeros((32, 32, 3), np.uint8))
    tifffile.imwrite(files / "nan.tif", np.full((64, 64), np.nan, np.float32))
    tifffile.imwrite(files / "line.tif", np.zeros((1, 50), np.float32)[0])
    tifffile.imwrite(files / "small.tif", np.full((2, 16, 16), 300, np.float32))
    tifffile.imwrite(files / "bright.tif", np.full((2, 64, 64), 1e5, np.float32))
    (files / "corrupt.npz").write_bytes(b"junk")
    (files / "corrupt.pt").write_bytes(b"junk")
    out = files / "never.pt"
    cases = [
        ["noise-model", "--calibration", files / "missing.tif", "-o", out],
        ["noise-model", "--calibration", files / "single.tif", "-o", out],
        ["noise-model", "--calibration", files / "rgb.tif", "-o", out],
        ["noise-model", "--calibration", files / "nan.tif", files / "nan.tif", "-o", out],
        ["noise-model", "--signal", files / "signal.tif", "-o", out],
        ["train", files / "line.tif", "-o", out, "--mode", "n2v"],
        ["train", files / "small.tif", "-o", out, "--noise-model", files / "nm.npz"],
        ["train", files / "noisy.tif", "-o", out],
        ["train", files / "noisy.tif", "-o", out, "--noise-model", files / "corrupt.npz"],
        ["train", files / "bright.tif", "-o", out, "--noise-model", files / "nm.npz", *TRAIN_FLAGS],
        ["train", files / "noisy.tif", "-o", out, "--resume", files / "corrupt.pt"],
        ["predict", files / "corrupt.pt", files / "noisy.tif", "-o", files / "outdir"],
        ["predict", files / "nm.npz", files / "noisy.tif", "-o", files / "outdir"],
    ]
    for argv in cases:
        code, _, err = run(argv, capsys)
        one_line_error(code, err)
    assert not out.exists() and not (files / "outdir").exists()


def test_predict_refuses_far_out_of_range_data_before_writing(files, capsys, pn2v_model):
    pn2v_model.save(files / "m.pt")
    tifffile.imwrite(files / "bright.tif", np.full((64, 64), 1e5, np.float32))
    code, _, err = run(
        [
            "predict",
            files / "m.pt",
            files / "noisy.tif",
            files / "bright.tif",
            "-o",
            files / "outdir",
        ],
        capsys,
    )
    one_line_error(code, err)
    assert "outside the noise model" in err and not (files / "outdir").exists()


def test_unknown_save_option_is_refused(files, capsys, n2v_model):
    n2v_model.save(files / "m.pt")
    code, _, err = run(
        ["predict", files / "m.pt", files / "single.tif", "-o", files / "d", "--save", "std"],
        capsys,
    )
    one_line_error(code, err)
    code, _, err = run(
        ["predict", files / "m.pt", files / "single.tif", "-o", files / "d", "--save", "median"],
        capsys,
    )
    one_line_error(code, err)


def test_version_names_the_installed_release(capsys):
    from importlib.metadata import version

    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"napari-pn2v {version('napari-pn2v')}"


@pytest.mark.parametrize("command", [[], ["noise-model"], ["train"], ["predict"], ["demo"]])
def test_help_describes_every_option(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "usage: pn2v" in text
    if command == ["train"]:
        for flag in (
            "--noise-model",
            "--mode",
            "--epochs",
            "--steps-per-epoch",
            "--batch-size",
            "--patch-size",
            "--samples",
            "--depth",
            "--features",
            "--lr",
            "--val-fraction",
            "--device",
            "--seed",
            "--preset",
            "--resume",
            "--weight-average",
            "--no-fit-network-to-budget",
            "--blind-radius",
        ):
            assert flag in text


@pytest.mark.parametrize(
    "flag, value",
    [
        ("--epochs", "0"),
        ("--location-weight", "-1"),
        ("--location-weight", "nan"),
        ("--weight-average", "-1"),
        ("--weight-average", "1.5"),
        ("--time-limit", "soon"),
        ("--time-limit", "-5m"),
        ("--blind-radius", "5"),
        ("--blind-radius", "wide"),
    ],
)
def test_usage_errors_are_one_line(capsys, flag, value):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "x.tif", "-o", "m.pt", flag, value])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and flag in err


def test_blind_radius_is_a_number_or_auto():
    from napari_pn2v.cli.parser import build_parser

    parser = build_parser()
    radii = [
        parser.parse_args(["train", "x.tif", "-o", "m.pt", *flag]).blind_radius
        for flag in ([], ["--blind-radius", "AUTO"], ["--blind-radius", "2"])
    ]
    assert radii == [None, None, 2]


def test_train_supervised_with_targets(files, capsys):
    code, _, err = run(
        [
            "train",
            files / "noisy.tif",
            "-o",
            files / "sup.pt",
            "--mode",
            "supervised",
            "--target",
            files / "noisy.tif",
            *TRAIN_FLAGS,
        ],
        capsys,
    )
    assert code == 0, err
    assert PN2VModel.load(files / "sup.pt").config.mode == "supervised"
    code, _, err = run(
        ["train", files / "noisy.tif", "-o", files / "x.pt", "--mode", "supervised", *TRAIN_FLAGS],
        capsys,
    )
    one_line_error(code, err)


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


def test_train_with_a_bootstrapped_noise_model(files, capsys):
    flags = [*TRAIN_FLAGS, "--epochs", "4", "--steps-per-epoch", "10", "--lr", "0.003"]
    code, _, err = run(
        ["train", files / "noisy.tif", "-o", files / "boot.pt", "--bootstrap", "gmm", *flags],
        capsys,
    )
    assert code == 0, err
    assert "bootstrap: training N2V" in err and "GMM noise model" in err
    assert "percentiles" in err
    model = PN2VModel.load(files / "boot.pt")
    assert model.config.mode == "pn2v" and model.noise_model.kind == "gmm"


def test_a_bootstrap_from_an_untrained_n2v_is_refused(files, capsys):
    flags = [*TRAIN_FLAGS, "--epochs", "1", "--steps-per-epoch", "1"]
    code, _, err = run(
        ["train", files / "noisy.tif", "-o", files / "boot.pt", "--bootstrap", "histogram", *flags],
        capsys,
    )
    assert code == 1 and "train it longer" in err.splitlines()[-1]
    assert not (files / "boot.pt").exists()


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


def test_predict_reads_lazily_and_writes_zarr_or_nothing(files, capsys, n2v_model, noisy):
    import zarr

    n2v_model.save(files / "n2v.pt")
    tifffile.imwrite(
        files / "packed.tif", noisy.astype(np.uint16), compression="zlib", tile=(32, 32)
    )
    zarr.save_array(files / "stack.zarr", noisy)
    code, out, err = run(
        [
            "predict",
            files / "n2v.pt",
            files / "packed.tif",
            files / "stack.zarr",
            "-o",
            files / "o",
            "--format",
            "zarr",
        ],
        capsys,
    )
    assert code == 0, err
    assert out.count("_denoised.zarr") == 2
    for stem in ("packed", "stack"):
        result = open_zarr(files / "o" / f"{stem}_denoised.zarr")
        assert result.shape == noisy.shape and result.dtype == np.float32
        assert np.isfinite(result[:]).all() and result[:].std() > 0
    broken = noisy.copy()
    broken[1, 3, 3] = np.nan  # found only when the second plane is read
    zarr.save_array(files / "broken.zarr", broken)
    code, _, err = run(
        ["predict", files / "n2v.pt", files / "broken.zarr", "-o", files / "p"], capsys
    )
    error = err.splitlines()[-1]  # after the progress bar of the first plane
    one_line_error(code, error + "\n")
    assert "broken.zarr: image (plane 2)" in error and "NaN" in error
    assert list((files / "p").iterdir()) == []


def test_train_reads_big_files_patch_by_patch(files, capsys, monkeypatch):
    import napari_pn2v.backend.data.lazy as lazy
    from napari_pn2v.backend import Trainer

    seen = []
    original = Trainer.__init__

    def spy(self, images, *args, **kwargs):
        seen.extend(lazy.is_lazy(image) for image in images)
        original(self, images, *args, **kwargs)

    monkeypatch.setattr(Trainer, "__init__", spy)
    monkeypatch.setattr(lazy, "LOAD_BYTES", 0)  # every file counts as big
    code, _, err = run(
        ["train", files / "noisy.tif", "-o", files / "big.pt", "--mode", "n2v", *TRAIN_FLAGS],
        capsys,
    )
    assert code == 0, err
    assert seen == [True] and PN2VModel.load(files / "big.pt").epochs_trained >= 1


def test_train_under_torchrun_writes_one_model(files):
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:  # a port free now: a fixed one may be taken or lingering
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--master-port",
        str(port),
        "-m",
        "napari_pn2v.cli",
        "train",
        str(files / "noisy.tif"),
        "-o",
        str(files / "ddp.pt"),
        "--mode",
        "n2v",
        *TRAIN_FLAGS,
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("wrote") == 1  # rank 0 alone reports and saves
    assert "in each of 2 processes" in done.stderr
    assert PN2VModel.load(files / "ddp.pt").epochs_trained >= 1


def test_predict_on_a_local_cluster(files, capsys, n2v_model):

    n2v_model.save(files / "n2v.pt")
    code, out, err = run(
        [
            "predict",
            files / "n2v.pt",
            files / "noisy.tif",
            "-o",
            files / "c",
            "--cluster",
            "local",
            "--workers",
            1,
            "--device",
            "cpu",
            "--precision",
            "bfloat16",
            "--augment",
        ],
        capsys,
    )
    assert code == 0, err
    assert "noisy_denoised.zarr" in out
    result = open_zarr(files / "c" / "noisy_denoised.zarr")
    assert result.shape == (2, 64, 64) and np.isfinite(result[:]).all()
    code, _, err = run(
        [
            "predict",
            files / "n2v.pt",
            files / "noisy.tif",
            "-o",
            files / "d",
            "--cluster",
            "local",
            "--format",
            "tiff",
        ],
        capsys,
    )
    one_line_error(code, err)
    assert not (files / "d").exists()
    with pytest.raises(SystemExit) as exit_info:
        main(["predict", str(files / "n2v.pt"), "x.tif", "-o", "e", "--precision", "fp8"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and err.count("\n") == 1 and "--precision" in err


def test_predict_augment_combines_the_eight_views(files, capsys, n2v_model, noisy):
    n2v_model.save(files / "n2v.pt")
    code, _, err = run(
        ["predict", files / "n2v.pt", files / "noisy.tif", "-o", files / "a", "--augment"], capsys
    )
    assert code == 0, err
    written = tifffile.imread(files / "a" / "noisy_denoised.tif")
    expected = predict(n2v_model, noisy, augment=True)["denoised"]
    np.testing.assert_allclose(written, expected, rtol=1e-5, atol=1e-4)
    assert np.abs(written - predict(n2v_model, noisy)["denoised"]).max() > 1e-2


def test_predict_takes_a_stated_axis_order(files, capsys, n2v_model, noisy):
    n2v_model.save(files / "n2v.pt")
    tifffile.imwrite(files / "yxt.tif", np.moveaxis(noisy, 0, -1), photometric="minisblack")
    code, out, err = run(
        ["predict", files / "n2v.pt", files / "yxt.tif", "-o", files / "o", "--axes", "yxt"], capsys
    )
    assert code == 0, err
    assert "(axes TYX)" in out
    with tifffile.TiffFile(files / "o" / "yxt_denoised.tif") as tif:
        assert tif.series[0].axes == "TYX" and tif.series[0].shape == noisy.shape
    tifffile.imwrite(files / "cyx.tif", np.stack([noisy[0]] * 3), photometric="minisblack")
    code, _, err = run(
        ["predict", files / "n2v.pt", files / "cyx.tif", "-o", files / "p", "--axes", "CYX"], capsys
    )
    one_line_error(code, err)
    assert "trained on one channel; the image has 3" in err


def test_predict_keeps_an_ome_tiffs_axes_and_pixel_sizes(files, capsys, n2v_model, noisy):
    from napari_pn2v.backend.data.metadata import ome_metadata, pixel_sizes

    n2v_model.save(files / "n2v.pt")
    sizes = {"X": (0.108, "µm"), "Y": (0.108, "µm")}
    tifffile.imwrite(
        files / "cells.ome.tif",
        noisy.astype(np.float32),
        ome=True,
        photometric="minisblack",
        metadata=ome_metadata("TYX", sizes),
    )
    code, out, err = run(
        ["predict", files / "n2v.pt", files / "cells.ome.tif", "-o", files], capsys
    )
    assert code == 0, err
    assert "(axes TYX, pixels 0.108 × 0.108 µm)" in out
    result = files / "cells_denoised.tif"
    assert pixel_sizes(result) == sizes
    with tifffile.TiffFile(result) as tif:
        assert tif.is_ome and tif.series[0].axes == "TYX" and tif.series[0].shape == noisy.shape


def test_train_and_predict_a_3d_network_on_z_stacks(files, capsys):
    volume = np.random.default_rng(0).normal(300, 20, (16, 48, 48)).astype(np.float32)
    tifffile.imwrite(files / "zyx.tif", volume, metadata={"axes": "ZYX"})
    tifffile.imwrite(files / "yxz.tif", np.moveaxis(volume, 0, -1), photometric="minisblack")
    flags = [
        "--mode",
        "n2v",
        "--dims",
        3,
        "--patch-depth",
        8,
        "--epochs",
        1,
        "--steps-per-epoch",
        2,
        "--batch-size",
        2,
        "--patch-size",
        16,
        "--depth",
        2,
        "--features",
        4,
        "--val-fraction",
        0,
    ]
    code, _, err = run(["train", files / "zyx.tif", "-o", files / "m3.pt", *flags], capsys)
    assert code == 0, err
    assert "(3-D, 4 features) on 1 Z stack(s)" in err
    assert PN2VModel.load(files / "m3.pt").config.dims == 3
    code, out, err = run(
        [
            "predict",
            files / "m3.pt",
            files / "yxz.tif",
            "-o",
            files / "o",
            "--axes",
            "YXZ",
            "--tile",
            32,
            "--overlap",
            8,
        ],
        capsys,
    )
    assert code == 0, err
    assert "(axes ZYX)" in out
    assert tifffile.imread(files / "o" / "yxz_denoised.tif").shape == volume.shape
    # one Z stack read as a time series of planes has no Z for a 3-D network
    code, _, err = run(
        ["predict", files / "m3.pt", files / "zyx.tif", "-o", files / "p", "--axes", "TYX"], capsys
    )
    one_line_error(code, err)
    assert "no Z" in err and not (files / "p").exists()


def test_train_for_a_time_budget(files, capsys):
    code, out, err = run(
        [
            "train",
            files / "noisy.tif",
            "-o",
            files / "timed.pt",
            "--mode",
            "n2v",
            *TRAIN_FLAGS,
            "--time-limit",
            "3s",
        ],
        capsys,
    )
    assert code == 0, err
    assert "left=" in err and "wrote" in out
    assert PN2VModel.load(files / "timed.pt").epochs_trained >= 1


def test_a_short_time_budget_trains_a_smaller_network_unless_told_not_to(files, capsys):
    flags = [*TRAIN_FLAGS, "--features", "16", "--time-limit", "0.1s"]  # < 180 steps at any pace
    base = ["train", files / "noisy.tif", "--mode", "n2v", *flags]
    code, _, err = run([*base, "-o", files / "small.pt"], capsys)
    assert code == 0, err
    assert "one of 8 features" in err and "(2-D, 8 features)" in err
    assert PN2VModel.load(files / "small.pt").config.features == 8
    code, _, err = run([*base, "-o", files / "kept.pt", "--no-fit-network-to-budget"], capsys)
    assert code == 0, err
    assert PN2VModel.load(files / "kept.pt").config.features == 16


def test_export_writes_a_package_that_predict_reads_back(files, capsys, pn2v_model):
    pytest.importorskip("bioimageio.spec")
    pn2v_model.save(files / "model.pt")
    code, out, err = run(
        ["export", files / "model.pt", "-o", files / "model.zip", "--image", files / "noisy.tif"],
        capsys,
    )
    assert code == 0 and "model.zip" in out, err
    import zipfile

    with zipfile.ZipFile(files / "model.zip") as archive:  # the settings the file records
        assert '"precision": "auto"' in archive.read("README.md").decode()
    code, _, err = run(["predict", files / "model.zip", files / "single.tif", "-o", files], capsys)
    assert code == 0, err
    packaged = tifffile.imread(files / "single_denoised.tif")
    code, _, _ = run(["predict", files / "model.pt", files / "single.tif", "-o", files], capsys)
    np.testing.assert_array_equal(packaged, tifffile.imread(files / "single_denoised.tif"))


@pytest.mark.parametrize(
    "target, extra, message",
    [
        ("model.txt", [], "is a .zip file"),
        ("model.zip", ["--result", "prior-mean"], "no prior mean"),
        ("missing/model.zip", [], "no such folder"),
    ],
)
def test_export_refuses_what_it_cannot_write(files, capsys, n2v_model, target, extra, message):
    n2v_model.save(files / "n2v.pt")
    argv = ["export", files / "n2v.pt", "--image", files / "noisy.tif", "-o", files / target]
    code, out, err = run(argv + extra, capsys)
    assert code == 1 and message in err and err.count("\n") == 1 and not out


def test_export_with_releases_known_not_to_work_together_is_one_line(
    files, capsys, n2v_model, monkeypatch
):
    from napari_pn2v.backend.packaging import bioimageio

    named = {"pydantic": "2.14.4", "bioimageio.spec": "0.5.12.0"}
    monkeypatch.setattr(bioimageio.metadata, "version", named.__getitem__)
    n2v_model.save(files / "n2v.pt")
    argv = ["export", files / "n2v.pt", "--image", files / "noisy.tif", "-o", files / "m.zip"]
    code, out, err = run(argv, capsys)
    assert code == 1 and not out and err.count("\n") == 1
    assert "pydantic 2.14.4" in err and "bioimageio.spec 0.5.12.0" in err
    assert not (files / "m.zip").exists()
