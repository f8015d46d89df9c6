"""The ``pn2v`` command line: a thin layer over :mod:`napari_pn2v.backend`.

Bad input ends in one line on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    from .backend.devices import DEVICES
    from .backend.model import MODES, PRIORS

    parser = _Parser(
        prog="pn2v",
        description="Probabilistic Noise2Void: denoise microscopy images without clean ground "
        "truth. Build a noise model from calibration frames, train on your noisy images, "
        "predict MMSE-denoised images.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    nm = sub.add_parser(
        "noise-model", help="build a histogram noise model p(x|s) from calibration data",
        description="Build a histogram noise model from a calibration stack (frames of a "
        "static scene; the signal is their per-pixel mean) or from a signal image with "
        "noisy observations of it, and print a summary.",
    )
    source = nm.add_mutually_exclusive_group(required=True)
    source.add_argument("--calibration", nargs="+", metavar="FILE",
                        help="TIFF/PNG frames of a static scene (a multi-page TIFF is a stack)")
    source.add_argument("--signal", metavar="FILE", help="clean signal image (with --observation)")
    nm.add_argument("--observation", nargs="+", metavar="FILE",
                    help="noisy observations of the --signal image")
    nm.add_argument("-o", "--output", required=True, metavar="NM",
                    help="noise-model file to write (.npz)")
    nm.add_argument("--bins", type=_positive_int, default=256,
                    help="histogram bins per axis (default: 256)")
    nm.add_argument("--range", nargs=2, type=float, metavar=("MIN", "MAX"), dest="value_range",
                    help="intensity range covered (default: the data's min and max)")

    tr = sub.add_parser(
        "train", help="train a PN2V (or N2V) network on noisy images",
        description="Train on noisy images alone (self-supervised, blind-spot masking). "
        "Defaults are the paper's settings (a GPU job); --preset quick trains a useful model "
        "in minutes on a CPU. Ctrl-C stops and saves the best model so far.",
    )
    tr.add_argument("files", nargs="+", metavar="FILE", help="noisy TIFF/PNG images or stacks")
    tr.add_argument("-o", "--output", required=True, metavar="MODEL",
                    help="model file to write (.pt)")
    tr.add_argument("--noise-model", metavar="NM", help="noise-model file (required for pn2v)")
    tr.add_argument("--mode", choices=MODES, default="pn2v",
                    help="pn2v (needs a noise model), n2v, or supervised (needs --target; "
                    "a baseline for benchmarks) (default: pn2v)")
    tr.add_argument("--target", nargs="+", metavar="FILE",
                    help="supervised mode: clean images, one per FILE, each with one plane or "
                    "as many as its FILE")
    tr.add_argument("--preset", choices=("paper", "quick"), default="paper",
                    help="paper: 200 epochs x 50 steps x batch 80 of 100² patches, lr 1e-4; "
                    "quick: 20 x 25 x batch 8 of 64², lr 5e-4 (default: paper); options "
                    "given below override it")
    tr.add_argument("--resume", metavar="MODEL",
                    help="continue training this model file (its network settings are kept)")
    for flag, kind, text in (
        ("--epochs", _positive_int, "training epochs"),
        ("--steps-per-epoch", _positive_int, "optimiser steps per epoch"),
        ("--batch-size", _positive_int, "patches per step"),
        ("--patch-size", _positive_int, "patch edge in pixels (a multiple of 2^(depth-1))"),
        ("--lr", float, "initial Adam learning rate (halved on validation plateaus)"),
        ("--val-fraction", float, "fraction of frames (or rows) held out for validation"),
    ):
        tr.add_argument(flag, type=kind, help=f"{text} (default: from --preset)")
    tr.add_argument("--samples", type=_positive_int, default=800,
                    help="K, prior samples per pixel (default: 800)")
    tr.add_argument("--depth", type=_positive_int, default=3,
                    help="U-Net resolution levels (default: 3)")
    tr.add_argument("--features", type=_positive_int, default=64,
                    help="U-Net features at the first level (default: 64)")
    tr.add_argument("--prior", choices=PRIORS, default="location-scale",
                    help="how the head forms the K samples; 'published' is the original "
                    "recipe, for comparison (default: location-scale)")
    tr.add_argument("--device", choices=DEVICES, default="auto",
                    help="auto = CUDA, then Apple MPS, then CPU (default: auto)")
    tr.add_argument("--seed", type=int, help="random seed (reproducible on the CPU)")

    pr = sub.add_parser(
        "predict", help="denoise images with a trained model",
        description="Denoise each FILE into OUTDIR/<stem>_denoised.tif (float32, MMSE for "
        "PN2V). Large images are processed in overlapping tiles.",
    )
    pr.add_argument("model", metavar="MODEL", help="model file from 'pn2v train'")
    pr.add_argument("files", nargs="+", metavar="FILE", help="noisy TIFF/PNG images or stacks")
    pr.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder")
    pr.add_argument("--tile", type=_positive_int, default=256,
                    help="tile edge in pixels (default: 256)")
    pr.add_argument("--overlap", type=int, default=48,
                    help="overlap of neighbouring tiles in pixels, a multiple of 2^(depth-1) "
                    "(default: 48)")
    pr.add_argument("--save", default="", metavar="LIST",
                    help="also write these PN2V outputs, comma-separated: prior-mean, std "
                    "(posterior standard deviation, a per-pixel uncertainty)")
    pr.add_argument("--device", choices=DEVICES, default="auto",
                    help="auto = CUDA, then Apple MPS, then CPU (default: auto)")

    demo = sub.add_parser(
        "demo", help="run the whole pipeline on synthetic data (a few minutes on a CPU)",
        description="Make a synthetic calibration stack and noisy images, build a noise "
        "model, train PN2V, predict, print PSNRs and write the images.",
    )
    demo.add_argument("-o", "--output", default="pn2v-demo", metavar="DIR",
                      help="folder for the results (default: ./pn2v-demo)")
    return parser


def _warn(message: str) -> None:
    print(f"pn2v: warning: {message}", file=sys.stderr)


def _progress_bar(steps: Iterator, total: int) -> Iterator:
    from tqdm import tqdm

    with tqdm(total=total, unit="step", dynamic_ncols=True) as bar:
        for event in steps:
            losses = {"loss": f"{event.train_loss:.4g}"}
            if event.best_val_loss is not None:
                losses["best val"] = f"{event.best_val_loss:.4g}"
            bar.set_description(f"epoch {event.epoch}/{event.epochs}")
            bar.set_postfix(losses, refresh=False)
            bar.update(1)
            yield event


def cmd_noise_model(args: argparse.Namespace) -> int:
    from .backend import HistogramNoiseModel, PN2VError
    from .backend.images import read_image, read_stack

    if args.signal and not args.observation:
        raise PN2VError("--signal needs --observation FILE...")
    if args.observation and not args.signal:
        raise PN2VError("--observation needs --signal FILE")
    if args.calibration:
        model = HistogramNoiseModel.from_calibration(
            read_stack(args.calibration), bins=args.bins, value_range=args.value_range)
    else:
        signal = read_image(args.signal)
        model = HistogramNoiseModel.from_pairs(
            signal, read_stack(args.observation), bins=args.bins, value_range=args.value_range)
    model.save(args.output)
    print(model.summary())
    print(f"wrote {args.output}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .backend import (
        QUICK,
        HistogramNoiseModel,
        ModelConfig,
        PN2VError,
        PN2VModel,
        TrainConfig,
        Trainer,
    )
    from .backend.devices import describe_device
    from .backend.images import read_image

    settings = dict(QUICK) if args.preset == "quick" else {}
    for name in ("epochs", "steps_per_epoch", "batch_size", "patch_size", "lr", "val_fraction"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    config = TrainConfig(**settings, device=args.device, seed=args.seed)
    images = [read_image(f) for f in args.files]
    if args.resume:
        model = PN2VModel.load(args.resume)
        if args.noise_model:
            model.noise_model = HistogramNoiseModel.load(args.noise_model)
        targets = [read_image(f) for f in args.target] if args.target else None
        trainer = Trainer(images, config, model=model, targets=targets)
    else:
        if args.mode == "pn2v" and not args.noise_model:
            raise PN2VError("pn2v mode needs --noise-model NM (see 'pn2v noise-model'), "
                            "or use --mode n2v")
        if (args.mode == "supervised") != bool(args.target):
            raise PN2VError("--target FILE... goes with, and only with, --mode supervised")
        noise_model = HistogramNoiseModel.load(args.noise_model) if args.noise_model else None
        model_config = ModelConfig(mode=args.mode, depth=args.depth, features=args.features,
                                   samples=args.samples, prior=args.prior)
        targets = [read_image(f) for f in args.target] if args.target else None
        trainer = Trainer(images, config, model_config, noise_model=noise_model,
                          targets=targets)
    for warning in trainer.warnings:
        _warn(warning)
    print(f"training {trainer.model.config.mode} on {trainer.n_planes} plane(s) with "
          f"{describe_device(trainer.device)}", file=sys.stderr)
    total = config.epochs * config.steps_per_epoch
    try:
        for _ in _progress_bar(iter(trainer), total):
            pass
    except KeyboardInterrupt:
        trainer.best_model().save(args.output)
        print(f"pn2v: interrupted; saved the best model so far to {args.output}", file=sys.stderr)
        return EXIT_INTERRUPTED
    trainer.best_model().save(args.output)
    print(f"best validation loss {trainer.best_val_loss:.5g}; wrote {args.output}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .backend import PN2VError, PN2VModel, TiledPrediction
    from .backend.images import read_image, write_tiff

    extras = {s.strip() for s in args.save.split(",") if s.strip()}
    unknown = extras - {"prior-mean", "std"}
    if unknown:
        raise PN2VError(f"--save takes prior-mean and/or std, not {', '.join(sorted(unknown))}")
    model = PN2VModel.load(args.model)
    if extras and not model.is_probabilistic:
        raise PN2VError(f"--save {args.save}: an {model.config.mode} model has only one output")
    images = {Path(f): read_image(f) for f in args.files}  # read all first: fail before writing
    runs = {path: TiledPrediction(model, image, args.tile, args.overlap, args.device)
            for path, image in images.items()}
    keys = ["denoised"] + [option.replace("-", "_") for option in ("prior-mean", "std")
                           if option in extras]
    out = Path(args.output)
    for path, run in runs.items():
        for warning in run.warnings:
            _warn(warning)
        for _ in tqdm(run, total=run.n_tiles, desc=path.name, unit="tile", dynamic_ncols=True):
            pass
        for key in keys:
            target = out / f"{path.stem}_{key}.tif"
            write_tiff(target, run.outputs[key])
            print(f"wrote {target}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from .backend.demo import run_demo

    result = run_demo(args.output, on_progress=_progress_bar)
    print(f"PSNR noisy input:           {result.psnr_input:6.2f} dB")
    print(f"PSNR prior mean (N2V-like): {result.psnr_prior_mean:6.2f} dB")
    print(f"PSNR PN2V MMSE:             {result.psnr_mmse:6.2f} dB")
    print(f"wrote {len(result.files)} files to {args.output}")
    return 0


COMMANDS = {"noise-model": cmd_noise_model, "train": cmd_train, "predict": cmd_predict,
            "demo": cmd_demo}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .backend import PN2VError

    try:
        return COMMANDS[args.command](args)
    except PN2VError as error:
        message = str(error)
    except KeyboardInterrupt:
        print("pn2v: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError:
        message = "out of memory; use a smaller --batch-size, --patch-size or --tile"
    except OSError as error:
        message = f"{error.filename or ''}: {error.strerror or error}".lstrip(": ")
    except RuntimeError as error:  # torch reports device out-of-memory as RuntimeError
        if "out of memory" not in str(error).lower():
            raise
        message = "out of memory; use a smaller --batch-size, --patch-size or --tile"
    print(f"pn2v: error: {message}", file=sys.stderr)
    return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
