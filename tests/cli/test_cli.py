"""The pn2v command line as a whole: version, help, usage errors, bad input as one line."""

import numpy as np
import pytest
import tifffile

from napari_pn2v.cli import main
from tests.cli.helpers import TRAIN_FLAGS, one_line_error, run


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
