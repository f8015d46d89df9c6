"""The ``pn2v`` command line's arguments. Help texts and defaults come from the engine's
configurations (:mod:`napari_pn2v.backend.options`), which import no torch: ``pn2v --help``
and argument errors answer at once."""

from __future__ import annotations

import argparse

from .. import __version__
from ..backend.data.stores import FORMATS
from ..backend.network.config import ModelConfig
from ..backend.noise.bootstrap import FITS
from ..backend.prediction.config import PredictionConfig
from ..backend.training.config import PRESET_FIELDS, PRESETS, TrainConfig, describe_preset
from ..jobs.noise_model import KINDS, NoiseModelJob
from .settings import add_settings
from .values import positive_int

AXES_HELP = (
    "axis order of the files, letters of TZCYX (e.g. TZYX, CYX, YXZ); every axis but C, Y "
    "and X is folded into planes, and each channel (C) has its own model and noise model "
    "(default: the file's own, e.g. a TIFF's, else YX, TYX, TZYX by dimension)"
)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="pn2v",
        description="Probabilistic Noise2Void: denoise microscopy images without clean ground "
        "truth. Build a noise model from calibration frames, train on your noisy images, "
        "predict MMSE-denoised images.",
    )
    parser.add_argument("--version", action="version", version=f"napari-pn2v {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _noise_model_parser(sub)
    _train_parser(sub)
    _predict_parser(sub)
    _export_parser(sub)
    demo = sub.add_parser(
        "demo",
        help="run the whole pipeline on synthetic data (a few minutes on a CPU)",
        description="Make a synthetic calibration stack and noisy images, build a noise "
        "model, train PN2V, predict, print PSNRs and write the images.",
    )
    demo.add_argument(
        "-o",
        "--output",
        default="pn2v-demo",
        metavar="DIR",
        help="folder for the results (default: ./pn2v-demo)",
    )
    return parser


def _export_parser(sub) -> None:
    ex = sub.add_parser(
        "export",
        help="write a model as a bioimage.io package (Fiji/deepImageJ, bioimageio.core, ...)",
        description="Write MODEL as a bioimage.io model package (.zip, spec 0.5): TorchScript "
        "that gives the PN2V MMSE (network, samples and noise model in one module; N2V: its "
        "prediction), test data cut from --image, a cover, a README with the training "
        "settings and the citations, and the model file itself (pn2v predict reads the "
        "package back). Needs the extra: pip install 'napari-pn2v[bioimageio]'.",
    )
    ex.add_argument("model", metavar="MODEL", help="model file from 'pn2v train'")
    ex.add_argument("-o", "--output", required=True, metavar="ZIP", help="package to write")
    ex.add_argument(
        "--image",
        required=True,
        metavar="FILE",
        help="an image the model denoises (its first plane's centre, up to 256², becomes "
        "the package's test input and cover)",
    )
    ex.add_argument("--name", help="the model's name (default: napari-pn2v PN2V denoiser)")
    ex.add_argument(
        "--author",
        action="append",
        default=[],
        metavar="NAME",
        help="an author (repeat for several; default: your user name)",
    )
    ex.add_argument(
        "--result",
        choices=("denoised", "prior-mean"),
        default="denoised",
        help="what the package gives: denoised (PN2V: the MMSE) or the PN2V prior mean "
        "(default: denoised)",
    )
    ex.add_argument("--license", default="CC-BY-4.0", help="SPDX licence id (default: CC-BY-4.0)")
    ex.add_argument(
        "--channel",
        metavar="NAME",
        help="of a model of several channels, the one to export (its name or number; "
        "IMAGE may hold them all)",
    )


def _noise_model_parser(sub) -> None:
    nm = sub.add_parser(
        "noise-model",
        help="build a noise model p(x|s), with or without calibration data",
        description="Build a noise model and print a summary. --kind histogram or gmm: from a "
        "calibration stack (frames of a static scene; the signal is their per-pixel mean) or "
        "a signal image with noisy observations of it. --kind poisson-gaussian: from "
        "--camera parameters, or estimated from noisy --images. --kind bootstrap: train N2V "
        "on noisy --images and fit a histogram or GMM (--fit) to its predictions. Clipped "
        "pixels (0, the type's maximum, pile-ups at the data's ends) are left out of fits. "
        "Files with channels (axis C) give one noise model per channel, in one file.",
    )
    nm.add_argument("--axes", type=str.upper, metavar="AXES", help=AXES_HELP)
    nm.add_argument(
        "--kind", choices=KINDS, default="histogram", help="which noise model (default: histogram)"
    )
    source = nm.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--calibration",
        nargs="+",
        metavar="FILE",
        help="TIFF/PNG frames of a static scene (a multi-page TIFF is a stack), or a folder "
        "of them",
    )
    source.add_argument("--signal", metavar="FILE", help="clean signal image (with --observation)")
    source.add_argument(
        "--images",
        nargs="+",
        metavar="FILE",
        help="noisy images (or folders of them) to estimate from (poisson-gaussian, bootstrap)",
    )
    source.add_argument(
        "--camera",
        nargs=3,
        type=float,
        metavar=("GAIN", "OFFSET", "READ"),
        help="poisson-gaussian from camera parameters in grey levels: gain per "
        "photon, offset (no light), read-noise standard deviation",
    )
    nm.add_argument(
        "--observation", nargs="+", metavar="FILE", help="noisy observations of the --signal image"
    )
    nm.add_argument(
        "-o", "--output", required=True, metavar="NM", help="noise-model file to write (.npz)"
    )
    nm.add_argument(
        "--range",
        nargs=2,
        type=float,
        metavar=("MIN", "MAX"),
        dest="value_range",
        help="intensity range covered (default: the data's min and max)",
    )
    add_settings(nm, NoiseModelJob)
    nm.add_argument(
        "--preset",
        choices=tuple(PRESETS),
        default="quick",
        help="bootstrap: N2V training settings (default: quick)",
    )


def _train_parser(sub) -> None:
    tr = sub.add_parser(
        "train",
        help="train a PN2V (or N2V) network on noisy images",
        description="Train on noisy images alone (self-supervised, blind-spot masking). "
        "Defaults are the paper's settings (a GPU job); --preset quick trains a useful model "
        "in minutes on a CPU. Ctrl-C stops and saves the best model so far. Under torchrun "
        "(e.g. 'torchrun --nproc-per-node 4 -m napari_pn2v.cli train ...') every process "
        "trains on its own patches with gradients averaged (DistributedDataParallel; "
        "--batch-size is per process) and rank 0 writes the model.",
    )
    tr.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="noisy images or stacks (TIFF, zarr, PNG, …), or folders of them",
    )
    tr.add_argument(
        "-o", "--output", required=True, metavar="MODEL", help="model file to write (.pt)"
    )
    tr.add_argument(
        "--noise-model", metavar="NM", help="noise-model file (pn2v needs this or --bootstrap)"
    )
    tr.add_argument(
        "--bootstrap",
        choices=FITS,
        help="no calibration data: first train N2V with the same settings, fit "
        "this kind of noise model to its predictions, then train PN2V with it",
    )
    add_settings(tr, ModelConfig, skip=("depth", "features", "samples", "prior", "n2v2", "dims"))
    tr.add_argument(
        "--target",
        nargs="+",
        metavar="FILE",
        help="supervised mode: clean images, one per FILE, each with one plane or "
        "as many as its FILE",
    )
    presets = "; ".join(f"{name}: {describe_preset(name)}" for name in PRESETS)
    tr.add_argument(
        "--preset",
        choices=tuple(PRESETS),
        default="paper",
        help=f"{presets} (default: paper); options given below override it",
    )
    tr.add_argument(
        "--resume",
        metavar="MODEL",
        help="continue training this model file (its network settings are kept)",
    )
    tr.add_argument("--axes", type=str.upper, metavar="AXES", help=AXES_HELP)
    tr.add_argument(
        "--validation",
        nargs="+",
        metavar="FILE",
        help="noisy images of other scenes to validate on (n2v, pn2v); then "
        "nothing of FILE is held out",
    )
    add_settings(tr, ModelConfig, skip=("mode",))
    add_settings(tr, TrainConfig, from_preset=PRESET_FIELDS)


def _predict_parser(sub) -> None:
    pr = sub.add_parser(
        "predict",
        help="denoise images with a trained model",
        description="Denoise each FILE into OUTDIR/<stem>_denoised.tif (float32, MMSE for "
        "PN2V). Images are read and written tile by tile, so they may be larger than memory.",
    )
    pr.add_argument("model", metavar="MODEL", help="model file from 'pn2v train'")
    pr.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="noisy images or stacks: TIFF, zarr / OME-Zarr or PNG, or folders of them",
    )
    pr.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder")
    add_settings(pr, PredictionConfig)
    pr.add_argument(
        "--save",
        default="",
        metavar="LIST",
        help="also write these PN2V outputs, comma-separated: prior-mean, std "
        "(posterior standard deviation, a per-pixel uncertainty)",
    )
    pr.add_argument(
        "--format",
        choices=FORMATS,
        help="output files: tiff (BigTIFF when large) or zarr (default: tiff; zarr with --cluster)",
    )
    pr.add_argument(
        "--axes",
        type=str.upper,
        metavar="AXES",
        help=AXES_HELP + "; results are written with Y and X last",
    )
    pr.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="spread the planes over a dask.distributed cluster: 'local' (worker "
        "processes on this machine) or a scheduler address such as "
        "tcp://10.0.0.1:8786 whose workers share this file system; writes zarr",
    )
    pr.add_argument(
        "--workers",
        type=positive_int,
        help="--cluster local: worker processes (default: one per CPU core)",
    )
    pr.add_argument(
        "--planes-per-task",
        type=positive_int,
        default=1,
        help="--cluster: planes each task denoises (default: 1)",
    )
