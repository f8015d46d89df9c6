"""pn2v train: every mode and way of validating, big files, torchrun, 3-D, time budgets."""

import numpy as np
import tifffile

from napari_pn2v.backend import PN2VModel
from napari_pn2v.backend.devices import bfloat16_units
from tests.cli.helpers import TRAIN_FLAGS, one_line_error, run


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
    # precision auto on a CPU: bfloat16 where it has AMX units
    assert f", in {'bfloat16' if 'AMX' in bfloat16_units() else 'float32'}" in err
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
