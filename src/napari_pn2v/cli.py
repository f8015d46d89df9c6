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
NOISE_KINDS = ("histogram", "gmm", "poisson-gaussian", "bootstrap")
#: the noise-model sources each kind accepts
NOISE_SOURCES = {"histogram": ("calibration", "signal"), "gmm": ("calibration", "signal"),
                 "poisson-gaussian": ("camera", "images"), "bootstrap": ("images",)}


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be ≥ 0, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:  # also refuses nan
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


AXES_HELP = ("axis order of the files, letters of TZCYX (e.g. TZYX, YXZ); every axis but Y "
             "and X is folded into planes (default: the file's own, e.g. a TIFF's, else "
             "YX, TYX, TZYX by dimension)")


def build_parser() -> argparse.ArgumentParser:
    from .backend.bootstrap import FITS as BOOTSTRAP_FITS
    from .backend.devices import DEVICES
    from .backend.model import DIMS, INITIAL_SPREAD, MODES, PRIORS
    from .backend.prediction import OVERLAP, TILE
    from .backend.stores import FORMATS
    from .backend.training import HOLDOUTS

    parser = _Parser(
        prog="pn2v",
        description="Probabilistic Noise2Void: denoise microscopy images without clean ground "
        "truth. Build a noise model from calibration frames, train on your noisy images, "
        "predict MMSE-denoised images.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    nm = sub.add_parser(
        "noise-model", help="build a noise model p(x|s), with or without calibration data",
        description="Build a noise model and print a summary. --kind histogram or gmm: from a "
        "calibration stack (frames of a static scene; the signal is their per-pixel mean) or "
        "a signal image with noisy observations of it. --kind poisson-gaussian: from "
        "--camera parameters, or estimated from noisy --images. --kind bootstrap: train N2V "
        "on noisy --images and fit a histogram or GMM (--fit) to its predictions. Clipped "
        "pixels (0, the type's maximum, pile-ups at the data's ends) are left out of fits.",
    )
    nm.add_argument("--kind", choices=NOISE_KINDS, default="histogram",
                    help="which noise model (default: histogram)")
    source = nm.add_mutually_exclusive_group(required=True)
    source.add_argument("--calibration", nargs="+", metavar="FILE",
                        help="TIFF/PNG frames of a static scene (a multi-page TIFF is a stack)")
    source.add_argument("--signal", metavar="FILE", help="clean signal image (with --observation)")
    source.add_argument("--images", nargs="+", metavar="FILE",
                        help="noisy images to estimate from (poisson-gaussian, bootstrap)")
    source.add_argument("--camera", nargs=3, type=float, metavar=("GAIN", "OFFSET", "READ"),
                        help="poisson-gaussian from camera parameters in grey levels: gain per "
                        "photon, offset (no light), read-noise standard deviation")
    nm.add_argument("--observation", nargs="+", metavar="FILE",
                    help="noisy observations of the --signal image")
    nm.add_argument("-o", "--output", required=True, metavar="NM",
                    help="noise-model file to write (.npz)")
    nm.add_argument("--bins", type=_positive_int, default=256,
                    help="histogram bins per axis (default: 256)")
    nm.add_argument("--range", nargs=2, type=float, metavar=("MIN", "MAX"), dest="value_range",
                    help="intensity range covered (default: the data's min and max)")
    nm.add_argument("--components", type=_positive_int, default=3,
                    help="gmm: Gaussians in the mixture (default: 3)")
    nm.add_argument("--degree", type=int, choices=range(0, 5), default=1,
                    help="gmm: degree of the polynomials of the signal (default: 1)")
    nm.add_argument("--min-std", type=float,
                    help="gmm, poisson-gaussian: smallest noise standard deviation (default: "
                    "half a grey level for integer data)")
    nm.add_argument("--as-histogram", action="store_true",
                    help="poisson-gaussian: save it as a populated histogram over --range")
    nm.add_argument("--fit", choices=BOOTSTRAP_FITS, default="gmm",
                    help="bootstrap: the noise model fitted to N2V's predictions (default: gmm)")
    nm.add_argument("--preset", choices=("quick", "paper"), default="quick",
                    help="bootstrap: N2V training settings (default: quick)")

    tr = sub.add_parser(
        "train", help="train a PN2V (or N2V) network on noisy images",
        description="Train on noisy images alone (self-supervised, blind-spot masking). "
        "Defaults are the paper's settings (a GPU job); --preset quick trains a useful model "
        "in minutes on a CPU. Ctrl-C stops and saves the best model so far. Under torchrun "
        "(e.g. 'torchrun --nproc-per-node 4 -m napari_pn2v.cli train ...') every process "
        "trains on its own patches with gradients averaged (DistributedDataParallel; "
        "--batch-size is per process) and rank 0 writes the model.",
    )
    tr.add_argument("files", nargs="+", metavar="FILE", help="noisy TIFF/PNG images or stacks")
    tr.add_argument("-o", "--output", required=True, metavar="MODEL",
                    help="model file to write (.pt)")
    tr.add_argument("--noise-model", metavar="NM",
                    help="noise-model file (pn2v needs this or --bootstrap)")
    tr.add_argument("--bootstrap", choices=BOOTSTRAP_FITS,
                    help="no calibration data: first train N2V with the same settings, fit "
                    "this kind of noise model to its predictions, then train PN2V with it")
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
        ("--patch-depth", _positive_int, "--dims 3: planes per patch (a multiple of "
         "2^(depth-1))"),
        ("--lr", float, "initial Adam learning rate (halved on validation plateaus)"),
        ("--val-fraction", float, "fraction of frames (or rows) held out for validation"),
    ):
        tr.add_argument(flag, type=kind, help=f"{text} (default: from --preset)")
    tr.add_argument("--axes", type=str.upper, metavar="AXES", help=AXES_HELP)
    tr.add_argument("--holdout", choices=HOLDOUTS, default="frames",
                    help="hold out whole frames, or a strip of rows of every frame ('region': "
                    "use it for many frames of one static scene, whose held-out frames the "
                    "network has seen) (default: frames)")
    tr.add_argument("--validation", nargs="+", metavar="FILE",
                    help="noisy images of other scenes to validate on (n2v, pn2v); then "
                    "nothing of FILE is held out")
    tr.add_argument("--samples", type=_positive_int, default=800,
                    help="K, prior samples per pixel (default: 800)")
    tr.add_argument("--depth", type=_positive_int, default=3,
                    help="U-Net resolution levels (default: 3)")
    tr.add_argument("--features", type=_positive_int, default=64,
                    help="U-Net features at the first level (default: 64)")
    tr.add_argument("--dims", type=int, choices=DIMS, default=2,
                    help="2: denoise plane by plane; 3: a 3-D network (3-D convolutions and "
                    "blind spots) for Z stacks, which needs a Z axis (default: 2)")
    tr.add_argument("--prior", choices=PRIORS, default="location-scale",
                    help="how the head forms the K samples; 'published' is the original "
                    "recipe, for comparison (default: location-scale)")
    tr.add_argument("--location-weight", type=_non_negative_float, default=1.0,
                    help="weight of N2V's squared error on the location-scale prior's "
                    "location, which makes PN2V learn as fast as N2V; 0 = PN2V loss alone "
                    "(default: 1)")
    tr.add_argument("--initial-spread", type=_positive_float, default=INITIAL_SPREAD,
                    help="spread of a new location-scale prior, a fraction of the data's "
                    f"standard deviation (default: {INITIAL_SPREAD:g})")
    tr.add_argument("--no-spread-calibration", dest="spread_calibration",
                    action="store_false",
                    help="predict with the prior's spread as trained (the published "
                    "behaviour) instead of a spread chosen on held-out patches without clean "
                    "data (PN2V)")
    tr.add_argument("--device", choices=DEVICES, default="auto",
                    help="auto = CUDA, then Apple MPS, then CPU (default: auto)")
    tr.add_argument("--seed", type=int, help="random seed (reproducible on the CPU)")

    pr = sub.add_parser(
        "predict", help="denoise images with a trained model",
        description="Denoise each FILE into OUTDIR/<stem>_denoised.tif (float32, MMSE for "
        "PN2V). Images are read and written tile by tile, so they may be larger than memory.",
    )
    pr.add_argument("model", metavar="MODEL", help="model file from 'pn2v train'")
    pr.add_argument("files", nargs="+", metavar="FILE",
                    help="noisy images or stacks: TIFF, zarr / OME-Zarr or PNG")
    pr.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="output folder")
    pr.add_argument("--tile", type=_positive_int,
                    help=f"tile edge in pixels (default: {TILE[2]}; {TILE[3]} for a 3-D network)")
    pr.add_argument("--overlap", type=int, default=OVERLAP,
                    help="overlap of neighbouring tiles in pixels, a multiple of 2^(depth-1) "
                    f"(default: {OVERLAP})")
    pr.add_argument("--save", default="", metavar="LIST",
                    help="also write these PN2V outputs, comma-separated: prior-mean, std "
                    "(posterior standard deviation, a per-pixel uncertainty)")
    pr.add_argument("--format", choices=FORMATS,
                    help="output files: tiff (BigTIFF when large) or zarr (default: tiff; "
                    "zarr with --cluster)")
    pr.add_argument("--axes", type=str.upper, metavar="AXES",
                    help=AXES_HELP + "; results are written with Y and X last")
    pr.add_argument("--cluster", metavar="ADDRESS",
                    help="spread the planes over a dask.distributed cluster: 'local' (worker "
                    "processes on this machine) or a scheduler address such as "
                    "tcp://10.0.0.1:8786 whose workers share this file system; writes zarr")
    pr.add_argument("--workers", type=_positive_int,
                    help="--cluster local: worker processes (default: one per CPU core)")
    pr.add_argument("--planes-per-task", type=_positive_int, default=1,
                    help="--cluster: planes each task denoises (default: 1)")
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
    from .backend import PN2VError

    if args.signal and not args.observation:
        raise PN2VError("--signal needs --observation FILE...")
    if args.observation and not args.signal:
        raise PN2VError("--observation needs --signal FILE")
    given = next(s for s in ("calibration", "signal", "images", "camera") if getattr(args, s))
    if given not in NOISE_SOURCES[args.kind]:
        allowed = " or ".join(f"--{s}" for s in NOISE_SOURCES[args.kind])
        raise PN2VError(f"--kind {args.kind} is built from {allowed}, not --{given}")
    model = _build_noise_model(args)
    model.save(args.output)
    print(model.summary())
    print(f"wrote {args.output}")
    return 0


def _build_noise_model(args: argparse.Namespace):
    from .backend import (
        QUICK,
        GaussianMixtureNoiseModel,
        HistogramNoiseModel,
        PN2VError,
        PoissonGaussianNoiseModel,
        TrainConfig,
        estimate_poisson_gaussian,
    )
    from .backend.bootstrap import bootstrap_noise_model
    from .backend.images import calibration_pairs, drift_note, read_image, read_stack
    from .backend.lazy import load_if_small
    from .backend.stores import open_stack

    gmm = dict(components=args.components, degree=args.degree, min_std=args.min_std)
    if args.kind in ("histogram", "gmm"):
        if args.kind == "histogram":
            build, options = HistogramNoiseModel, dict(bins=args.bins,
                                                       value_range=args.value_range)
        else:
            build, options = GaussianMixtureNoiseModel, gmm
        if args.calibration:  # from_calibration, with a word on the frames' drift
            stack = read_stack(args.calibration)
            signals, _ = calibration_pairs(stack)
            note = drift_note(signals)
            if note:
                print(f"pn2v: note: {note}", file=sys.stderr)
            return build.from_pairs(signals, stack, **options)
        return build.from_pairs(read_image(args.signal), read_stack(args.observation),
                                **options)
    if args.kind == "bootstrap":  # big files stay on disk (read patch by patch, plane by plane)
        images = [load_if_small(open_stack(f)[0]) for f in args.images]
        settings = QUICK if args.preset == "quick" else {}
        result = bootstrap_noise_model(images, args.fit, TrainConfig(**settings),
                                       wrap=_progress_bar)
        for message in result.messages:
            _warn(message)
        return result.noise_model
    min_std = {} if args.min_std is None else {"min_std": args.min_std}
    if args.camera:
        model = PoissonGaussianNoiseModel.from_camera(*args.camera, **min_std)
    else:
        model, levels = estimate_poisson_gaussian(read_stack(args.images), **min_std)
        for message in levels.messages:
            _warn(message)
    if args.as_histogram:
        if args.value_range is None and args.camera:
            raise PN2VError("--as-histogram with --camera needs --range MIN MAX")
        return model.to_histogram(args.bins, args.value_range)
    return model


def cmd_train(args: argparse.Namespace) -> int:
    """One process, or one of several that torchrun started (rank 0 reports and saves)."""
    from .backend.distributed import finish, init_from_env

    process = init_from_env()
    try:
        code = _train(args, process is None or process.rank == 0, process is not None)
    except BaseException:
        finish(together=False)
        raise
    finish()
    return code


def _train(args: argparse.Namespace, lead: bool, distributed: bool) -> int:
    from .backend import (
        QUICK,
        ModelConfig,
        PN2VError,
        PN2VModel,
        TrainConfig,
        Trainer,
        load_noise_model,
    )
    from .backend.bootstrap import bootstrap_noise_model
    from .backend.devices import describe_device
    from .backend.images import read_image
    from .backend.lazy import load_if_small
    from .backend.stores import open_stack

    settings = dict(QUICK) if args.preset == "quick" else {}
    for name in ("epochs", "steps_per_epoch", "batch_size", "patch_size", "patch_depth", "lr",
                 "val_fraction"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    config = TrainConfig(**settings, device=args.device, seed=args.seed,
                         location_weight=args.location_weight, holdout=args.holdout,
                         initial_spread=args.initial_spread,
                         spread_calibration=args.spread_calibration)
    model = PN2VModel.load(args.resume) if args.resume else None
    dims = model.config.dims if model is not None else args.dims
    # big files stay on disk and are read patch by patch
    images = [load_if_small(open_stack(f, args.axes, dims)[0]) for f in args.files]
    validation = ([load_if_small(open_stack(f, args.axes, dims)[0]) for f in args.validation]
                  if args.validation else None)
    if model is not None:
        if args.noise_model:
            model.noise_model = load_noise_model(args.noise_model)
        targets = [read_image(f) for f in args.target] if args.target else None
        trainer = Trainer(images, config, model=model, targets=targets, validation=validation)
    else:
        if args.bootstrap and distributed:
            raise PN2VError("--bootstrap runs in one process: make the noise model first "
                            "('pn2v noise-model --kind bootstrap'), then train with torchrun")
        if args.bootstrap and (args.noise_model or args.mode != "pn2v"):
            raise PN2VError("--bootstrap makes the noise model of a pn2v training; it goes "
                            "without --noise-model and other modes")
        if args.mode == "pn2v" and not (args.noise_model or args.bootstrap):
            raise PN2VError("pn2v mode needs --noise-model NM (see 'pn2v noise-model') or "
                            "--bootstrap histogram|gmm, or use --mode n2v")
        if (args.mode == "supervised") != bool(args.target):
            raise PN2VError("--target FILE... goes with, and only with, --mode supervised")
        noise_model = load_noise_model(args.noise_model) if args.noise_model else None
        model_config = ModelConfig(mode=args.mode, depth=args.depth, features=args.features,
                                   samples=args.samples, prior=args.prior, dims=args.dims)
        if args.bootstrap:
            print("bootstrap: training N2V to make the noise model", file=sys.stderr)
            result = bootstrap_noise_model(images, args.bootstrap, config, model_config,
                                           wrap=_progress_bar)
            for message in result.messages:
                _warn(message)
            noise_model = result.noise_model
            print(noise_model.summary(), file=sys.stderr)
        targets = [read_image(f) for f in args.target] if args.target else None
        trainer = Trainer(images, config, model_config, noise_model=noise_model,
                          targets=targets, validation=validation)
    if not lead:  # the other processes of a torchrun job train silently
        for _ in trainer:
            pass
        return 0
    for warning in trainer.warnings:
        _warn(warning)
    processes = f" in each of {trainer.world_size} processes" if distributed else ""
    units = "Z stack(s)" if trainer.dims == 3 else "plane(s)"
    print(f"training {trainer.model.config.mode} ({trainer.dims}-D) on {trainer.n_planes} "
          f"{units} with {describe_device(trainer.device)}{processes}", file=sys.stderr)
    total = config.epochs * config.steps_per_epoch
    try:
        for _ in _progress_bar(iter(trainer), total):
            pass
    except KeyboardInterrupt:
        trainer.best_model().save(args.output)
        print(f"pn2v: interrupted; saved the best model so far to {args.output}", file=sys.stderr)
        return EXIT_INTERRUPTED
    best = trainer.best_model()
    best.save(args.output)
    for message in best.noise_check.messages() if best.noise_check else ():
        _warn(message)
    spread = (f"; prior spread ×{best.spread_scale:.3g} for prediction"
              if best.is_probabilistic else "")
    print(f"best validation loss {trainer.best_val_loss:.5g}{spread}; wrote {args.output}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .backend import PN2VError, PN2VModel, TiledPrediction
    from .backend.stores import OutputFiles, open_stack, result_stem

    extras = {s.strip() for s in args.save.split(",") if s.strip()}
    unknown = extras - {"prior-mean", "std"}
    if unknown:
        raise PN2VError(f"--save takes prior-mean and/or std, not {', '.join(sorted(unknown))}")
    model = PN2VModel.load(args.model)
    if extras and not model.is_probabilistic:
        raise PN2VError(f"--save {args.save}: an {model.config.mode} model has only one output")
    keys = ["denoised"] + [option.replace("-", "_") for option in ("prior-mean", "std")
                           if option in extras]
    if args.cluster:
        return _predict_on_cluster(args, keys)
    # open and check every input first (lazily: pixels are read tile by tile), fail before
    # writing
    opened = {Path(f): open_stack(f, args.axes, model.config.dims) for f in args.files}
    runs = {path: TiledPrediction(model, image, args.tile, args.overlap, args.device)
            for path, (image, _) in opened.items()}
    for path, run in runs.items():
        for warning in run.warnings:
            _warn(warning)
        axes = opened[path][1]
        files = OutputFiles(args.output, result_stem(path), keys, run.image_shape,
                            args.format or "tiff", chunks=run.chunks, axes=axes)
        run.write_into({**dict.fromkeys(run.names), **files})  # only what is saved
        try:
            for _ in tqdm(run, total=run.n_tiles, desc=path.name, unit="tile",
                          dynamic_ncols=True):
                pass
        except PN2VError as error:  # bad pixels found as they are read
            files.discard()
            raise PN2VError(f"{path}: {error}; nothing written") from error
        except BaseException:
            files.discard()
            raise
        for target in files.commit():
            print(f"wrote {target} (axes {axes})")
    return 0


def _predict_on_cluster(args: argparse.Namespace, keys: list[str]) -> int:
    from tqdm import tqdm

    from .backend import PN2VError
    from .backend.cluster import predict_on_cluster

    if args.format == "tiff":
        raise PN2VError("--cluster writes zarr (tasks write their planes at the same time); "
                        "leave out --format tiff")
    with tqdm(unit="plane", dynamic_ncols=True) as bar:
        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        written = predict_on_cluster(
            args.model, args.files, args.output, keys, axes=args.axes,
            scheduler=None if args.cluster == "local" else args.cluster, workers=args.workers,
            planes_per_task=args.planes_per_task, tile=args.tile, overlap=args.overlap,
            device=args.device, progress=progress)
    for path in written:
        print(f"wrote {path}")
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
