"""Helpers of the command-line tests: run ``pn2v`` in-process, tiny training options."""

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


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code, err):
    assert code != 0
    assert err.startswith("pn2v: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
