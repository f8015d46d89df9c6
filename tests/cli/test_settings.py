"""Every setting of every job's configuration reaches the job from the command line: a walk
over the configurations' described fields (cli/settings.py makes the options from them)."""

import typing

import pytest

from napari_pn2v.backend import ModelConfig, PredictionConfig, TrainConfig
from napari_pn2v.backend.options import described
from napari_pn2v.cli import commands
from napari_pn2v.cli.parser import build_parser
from napari_pn2v.cli.settings import flag, given
from napari_pn2v.jobs.noise_model import NoiseModelJob

COMMAND = {
    TrainConfig: ["train", "noisy.tif", "-o", "m.pt"],
    ModelConfig: ["train", "noisy.tif", "-o", "m.pt"],
    PredictionConfig: ["predict", "m.pt", "noisy.tif", "-o", "out"],
    NoiseModelJob: ["noise-model", "--calibration", "calib.tif", "-o", "nm.npz"],
}
#: settings whose other value needs another one to be valid
ALONG = {"location_weight": ["--prior-mean-loss", "joint"]}


def other_value(config: type, field) -> tuple[list[str], object]:
    """A valid value other than the default: (the words that give it, the value)."""
    meta, default = field.metadata, field.default
    kind = typing.get_type_hints(config)[field.name]
    if kind is bool:
        name = field.name.replace("_", "-")
        return [f"--no-{name}" if default else f"--{name}"], not default
    if "choices" in meta:
        value = next(c for c in meta["choices"] if c != default)
        return [flag(field.name), str(value)], value
    if field.name == "time_budget":
        return [flag(field.name), "90s"], 1.5
    if default is None:  # an optional number: one above the forms' stand-in for None
        value = meta["min"] + 1
    elif default + 1 <= meta.get("max", float("inf")):
        value = default + 1
    else:
        value = meta.get("min", 0)
    value = type(default if default is not None else meta["min"])(value)
    return [flag(field.name), str(value)], value


def configurations(args, config: type):
    if config in (TrainConfig, ModelConfig):
        train, network = commands.training_settings(args)
        return train if config is TrainConfig else network
    if config is PredictionConfig:
        return commands._prediction_settings(args)
    return NoiseModelJob(args.kind, **given(args, NoiseModelJob))


CASES = [(config, field) for config in COMMAND for field in described(config)]


@pytest.mark.parametrize("config, field", CASES, ids=[f"{c.__name__}.{f.name}" for c, f in CASES])
def test_every_setting_has_an_option_whose_value_reaches_the_job(config, field):
    words, value = other_value(config, field)
    args = build_parser().parse_args([*COMMAND[config], *words, *ALONG.get(field.name, [])])
    assert getattr(configurations(args, config), field.name) == value
    unset = build_parser().parse_args(COMMAND[config])  # not given: the default
    assert getattr(configurations(unset, config), field.name) == field.default


def test_train_precision_reaches_the_training_configuration():
    """The bug this path mends: --precision was parsed and then dropped."""
    args = build_parser().parse_args([*COMMAND[TrainConfig], "--precision", "bfloat16"])
    assert commands.training_settings(args)[0].precision == "bfloat16"


def test_a_preset_decides_what_is_not_given_and_options_override_it():
    argv = [*COMMAND[TrainConfig], "--preset", "quick"]
    quick, _ = commands.training_settings(build_parser().parse_args(argv))
    assert (quick.epochs, quick.batch_size) == (20, 8)
    given, _ = commands.training_settings(build_parser().parse_args([*argv, "--epochs", "3"]))
    assert (given.epochs, given.batch_size) == (3, 8)


@pytest.mark.parametrize(
    "words, message",
    [
        (["--epochs", "0"], "must be ≥ 1"),
        (["--lr", "nan"], "must be"),
        (["--seed", "-1"], "must be > -1"),
        (["--blind-radius", "9"], "0–4 or auto"),
        (["--likelihood-body-weight", "2"], "≤ 1"),
    ],
)
def test_bad_values_are_one_line_usage_errors(words, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*COMMAND[TrainConfig], *words])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and err.count("\n") == 1


def test_train_precision_is_honoured_and_recorded_in_the_model_file(tmp_path, noisy, capsys):
    import tifffile

    from napari_pn2v.backend import PN2VModel
    from napari_pn2v.cli import main
    from tests.cli.helpers import TRAIN_FLAGS

    tifffile.imwrite(tmp_path / "noisy.tif", noisy)
    argv = ["train", str(tmp_path / "noisy.tif"), "-o", str(tmp_path / "m.pt"), "--mode", "n2v"]
    assert main([*argv, *TRAIN_FLAGS, "--precision", "bfloat16", "--device", "cpu"]) == 0
    training = PN2VModel.load(tmp_path / "m.pt").training
    assert training["precision"] == "bfloat16" and training["epochs"] == 2
    assert training["device"] == "cpu" and training["seed"] == 0
