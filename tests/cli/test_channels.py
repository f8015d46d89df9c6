"""``pn2v`` on multi-channel files: the channel axis is read, not folded into frames."""

import numpy as np
import pytest
import tifffile

from napari_pn2v.backend.data.metadata import channel_names, ome_metadata, pixel_sizes
from napari_pn2v.backend.data.synthetic import PoissonGaussian, calibration_stack, noisy_images
from napari_pn2v.backend.network.channels import ChannelModels, load_model
from napari_pn2v.backend.noise.channels import ChannelNoiseModels
from napari_pn2v.backend.noise.registry import load_noise_model
from tests.cli.helpers import TRAIN_FLAGS, one_line_error, run

CAMERAS = (PoissonGaussian(2.0, 6.0), PoissonGaussian(9.0, 15.0))
NAMES = ["GFP", "mCherry"]
SIZES = {"X": (0.2, "µm"), "Y": (0.2, "µm")}


def write_ome(path, data, axes):
    metadata = ome_metadata(axes, SIZES, NAMES)
    tifffile.imwrite(path, data, ome=True, photometric="minisblack", metadata=metadata)


@pytest.fixture
def files(tmp_path):
    calibration = np.stack(
        [
            calibration_stack(frames=10, shape=(64, 64), noise=n, seed=1 + c)
            for c, n in enumerate(CAMERAS)
        ],
        axis=1,
    )  # T C Y X, as OME writes them
    write_ome(tmp_path / "calibration.ome.tif", calibration, "TCYX")
    clean, _ = noisy_images(count=2, shape=(64, 64))
    rng = np.random.default_rng(3)
    noisy = np.stack([np.stack([n(c, rng) for c in clean]) for n in CAMERAS], axis=1)
    write_ome(tmp_path / "cells.ome.tif", noisy, "TCYX")
    tifffile.imwrite(tmp_path / "one.tif", noisy[:, 0])
    return tmp_path


def test_noise_model_train_and_predict_channel_by_channel(files, capsys):
    code, out, err = run(
        ["noise-model", "--calibration", files / "calibration.ome.tif", "-o", files / "nm.npz"],
        capsys,
    )
    assert code == 0, err
    noise = load_noise_model(files / "nm.npz")
    # before: "20 frame(s)" in one histogram of both cameras' noise
    assert isinstance(noise, ChannelNoiseModels) and noise.names == NAMES
    assert out.count("10 frame(s)") == 2
    code, out, err = run(
        [
            "train",
            files / "cells.ome.tif",
            "--noise-model",
            files / "nm.npz",
            "-o",
            files / "model.pt",
            *TRAIN_FLAGS,
        ],
        capsys,
    )
    assert code == 0, err
    assert "2 channels one after the other" in err
    model = load_model(files / "model.pt")
    assert isinstance(model, ChannelModels) and model.names == NAMES
    code, out, err = run(
        ["predict", files / "model.pt", files / "cells.ome.tif", "-o", files, "--save", "std"],
        capsys,
    )
    assert code == 0, err
    result = files / "cells_denoised.tif"
    with tifffile.TiffFile(result) as tif:
        assert tif.series[0].axes == "TCYX" and tif.series[0].shape == (2, 2, 64, 64)
    assert channel_names(result, 2) == NAMES and pixel_sizes(result) == SIZES
    resume = ["train", files / "cells.ome.tif", "--resume", files / "model.pt"]
    code, _, err = run([*resume, "-o", files / "more.pt", *TRAIN_FLAGS], capsys)
    assert code == 0, err
    more = load_model(files / "more.pt")
    assert [m.epochs_trained for m in more.models] == [2 * m.epochs_trained for m in model.models]


def test_supervised_training_with_multi_channel_targets(files, capsys):
    clean, _ = noisy_images(count=2, shape=(64, 64))
    write_ome(files / "clean.ome.tif", np.stack([clean, clean], axis=1), "TCYX")
    code, _, err = run(
        [
            "train",
            files / "cells.ome.tif",
            "--mode",
            "supervised",
            "--target",
            files / "clean.ome.tif",
            "-o",
            files / "s.pt",
            *TRAIN_FLAGS,
        ],
        capsys,
    )
    assert code == 0, err
    model = load_model(files / "s.pt")
    assert isinstance(model, ChannelModels) and model.config.mode == "supervised"


def test_bootstrap_and_estimate_per_channel(files, capsys):
    code, _, err = run(
        [
            "noise-model",
            "--kind",
            "poisson-gaussian",
            "--images",
            files / "cells.ome.tif",
            "-o",
            files / "pg.npz",
        ],
        capsys,
    )
    assert code == 0, err
    estimated = load_noise_model(files / "pg.npz")
    gains = [estimated[c].gain for c in range(2)]
    assert gains[1] > 2 * gains[0]  # the second camera's 9 grey levels per photon against 2
    code, _, err = run(
        [
            "train",
            files / "cells.ome.tif",
            "--bootstrap",
            "histogram",
            "-o",
            files / "b.pt",
            *TRAIN_FLAGS,
            *("--epochs", "4", "--steps-per-epoch", "10", "--lr", "0.003"),
        ],
        capsys,
    )
    assert code == 0, err
    assert "mCherry (2/2), epoch" in err  # the bootstrap's N2V, channel by channel
    assert [m.noise_model.kind for m in load_model(files / "b.pt").models] == ["histogram"] * 2


def test_what_does_not_fit_is_one_line(files, capsys, noise_model, pn2v_model):
    noise_model.save(files / "single.npz")
    code, _, err = run(
        [
            "train",
            files / "cells.ome.tif",
            "--noise-model",
            files / "single.npz",
            "-o",
            files / "x.pt",
        ],
        capsys,
    )
    one_line_error(code, err)
    assert "noise model was made for one channel" in err
    pn2v_model.save(files / "one.pt")
    code, _, err = run(["predict", files / "one.pt", files / "cells.ome.tif", "-o", files], capsys)
    one_line_error(code, err)
    assert "trained on one channel; the image has 2" in err
    code, _, err = run(
        [
            "train",
            files / "cells.ome.tif",
            files / "one.tif",
            "--mode",
            "n2v",
            "-o",
            files / "y.pt",
        ],
        capsys,
    )
    one_line_error(code, err)
    assert "differ in channels (2, 1)" in err
    assert not list(files.glob("*_denoised*")) and not list(files.glob("[xy].pt"))


def test_export_packages_the_chosen_channel(files, capsys, pn2v_model, n2v_model):
    pytest.importorskip("bioimageio.spec")
    both = ChannelModels([pn2v_model, pn2v_model.copy()], NAMES)
    both.models[1].spread_scale = 0.5  # tell the channels apart
    both.save(files / "model.pt")
    argv = ["export", files / "model.pt", "--image", files / "cells.ome.tif", "-o"]
    code, _, err = run([*argv, files / "both.zip"], capsys)
    one_line_error(code, err)
    assert "holds 2 channels (GFP, mCherry)" in err and "choose the channel" in err
    code, _, err = run([*argv, files / "red.zip", "--channel", "mCherry"], capsys)
    assert code == 0, err
    assert load_model(files / "red.zip").spread_scale == 0.5
    n2v_model.save(files / "one.pt")
    code, _, err = run(
        ["export", files / "one.pt", "--image", files / "cells.ome.tif", "-o", files / "x.zip"],
        capsys,
    )
    one_line_error(code, err)
    assert "several channels, and the model is of one" in err
