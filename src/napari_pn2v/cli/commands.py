"""What each ``pn2v`` command does: read the files named, fill in a job
(:mod:`napari_pn2v.jobs`), show its progress, write and print the results."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TypeVar

EXIT_INTERRUPTED = 130
T = TypeVar("T")


def warn(message: str) -> None:
    print(f"pn2v: warning: {message}", file=sys.stderr)


def _bar(total: int):
    from tqdm import tqdm

    return tqdm(total=total, unit="step", dynamic_ncols=True)


def _show(bar, event) -> None:
    """One training step on a tqdm bar: epoch, loss, best validation loss (and the time left
    of a time budget)."""
    losses = {"loss": f"{event.train_loss:.4g}"}
    if event.best_val_loss is not None:
        losses["best val"] = f"{event.best_val_loss:.4g}"
    if event.time_limit is not None:
        minutes, seconds = divmod(round(event.remaining), 60)
        losses["left"] = f"{minutes}:{seconds:02d}"
    bar.set_description(f"epoch {event.epoch}/{event.epochs}")
    bar.set_postfix(losses, refresh=False)
    bar.update(1)


def progress_bar(steps: Iterator, total: int) -> Iterator:
    """Training progress events through a tqdm bar."""
    with _bar(total) as bar:
        for event in steps:
            _show(bar, event)
            yield event


def finish(steps: Generator[object, None, T], total: int) -> T:
    """Run a job's generator to its end through a progress bar; its result."""
    with _bar(total) as bar:
        while True:
            try:
                _show(bar, next(steps))
            except StopIteration as done:
                return done.value


# ---------------------------------------------------------------- noise-model
def noise_model(args: argparse.Namespace) -> int:
    from ..backend.data.images import read_image, read_stack
    from ..backend.data.lazy import load_if_small
    from ..backend.data.stores import open_stack
    from ..backend.training.config import preset
    from ..jobs.noise_model import NoiseModelJob, check_source

    given = [
        name
        for name in ("calibration", "signal", "observation", "images", "camera")
        if getattr(args, name)
    ]
    check_source(
        args.kind,
        [n.replace("observation", "observations") for n in given],
        args.as_histogram,
        args.value_range,
    )
    job = NoiseModelJob(
        args.kind,
        bins=args.bins,
        value_range=args.value_range,
        components=args.components,
        degree=args.degree,
        min_std=args.min_std,
        as_histogram=args.as_histogram,
        fit=args.fit,
        training=preset(args.preset),
        camera=args.camera,
    )
    if args.calibration:
        job.calibration = read_stack(args.calibration)
    if args.signal:
        job.signal, job.observations = read_image(args.signal), read_stack(args.observation)
    if args.images:  # big files stay on disk for a bootstrap (read patch by patch)
        job.images = (
            [load_if_small(open_stack(f)[0]) for f in args.images]
            if args.kind == "bootstrap"
            else [read_stack(args.images)]
        )
    if args.kind == "bootstrap":
        result = finish(job.steps(), job.training.epochs * job.training.steps_per_epoch)
    else:
        result = job.run()
    for note in result.notes:
        print(f"pn2v: note: {note}", file=sys.stderr)
    for message in result.warnings:
        warn(message)
    result.model.save(args.output)
    print(result.model.summary())
    print(f"wrote {args.output}")
    return 0


# ---------------------------------------------------------------- train
def train(args: argparse.Namespace) -> int:
    """One process, or one of several that torchrun started (rank 0 reports and saves)."""
    from ..backend.training.distributed import finish as leave
    from ..backend.training.distributed import init_from_env

    process = init_from_env()
    try:
        code = _train(args, process is None or process.rank == 0, process is not None)
    except BaseException:
        leave(together=False)
        raise
    leave()
    return code


def _train(args: argparse.Namespace, lead: bool, distributed: bool) -> int:
    from ..backend.data.images import read_image
    from ..backend.data.stores import open_stack
    from ..backend.network.config import ModelConfig
    from ..backend.network.model import PN2VModel
    from ..backend.noise.registry import load_noise_model
    from ..backend.training.config import PRESET_FIELDS, preset
    from ..jobs.training import TrainingJob, TrainingRun

    overrides = {
        name: getattr(args, name) for name in PRESET_FIELDS if getattr(args, name) is not None
    }
    if args.time_limit is not None:
        overrides["time_budget"] = args.time_limit
    config = preset(
        args.preset,
        **overrides,
        device=args.device,
        seed=args.seed,
        location_weight=args.location_weight,
        holdout=args.holdout,
        initial_spread=args.initial_spread,
        spread_calibration=args.spread_calibration,
    )
    network = ModelConfig(
        mode=args.mode,
        depth=args.depth,
        features=args.features,
        samples=args.samples,
        prior=args.prior,
        dims=args.dims,
    )
    job = TrainingJob(
        [],
        config,
        network,
        bootstrap=args.bootstrap,
        distributed=distributed,
        targets=[] if args.target else None,
    )
    if args.noise_model:
        job.noise_model = load_noise_model(args.noise_model)
    if args.resume:
        job.resume = PN2VModel.load(args.resume)
    job.check()  # before any image is read
    dims = job.resume.config.dims if job.resume is not None else args.dims
    # big files stay on disk and are read patch by patch
    job.images = [open_stack(f, args.axes, dims)[0] for f in args.files]
    if args.validation:
        job.validation = [open_stack(f, args.axes, dims)[0] for f in args.validation]
    if args.target:
        job.targets = [read_image(f) for f in args.target]
    bootstrap = job.noise_model_job()
    if bootstrap is not None:
        print("bootstrap: training N2V to make the noise model", file=sys.stderr)
        made = finish(bootstrap.steps(), config.epochs * config.steps_per_epoch)
        for message in made.warnings:
            warn(message)
        job.bootstrapped(made.model)
        print(made.model.summary(), file=sys.stderr)
    run = job.start()
    if not lead:  # the other processes of a torchrun job train silently
        for _ in run:
            pass
        return 0
    for warning in run.warnings:
        warn(warning)
    print(f"training {run.describe()}", file=sys.stderr)
    try:
        for _ in progress_bar(iter(run), run.steps):
            pass
    except KeyboardInterrupt:
        run.best_model().save(args.output)
        print(f"pn2v: interrupted; saved the best model so far to {args.output}", file=sys.stderr)
        return EXIT_INTERRUPTED
    if run.finishing:
        print(run.finishing, file=sys.stderr)
    best = run.best_model()
    best.save(args.output)
    for message in TrainingRun.messages(best):
        warn(message)
    print(f"{TrainingRun.summary(best, run.best_val_loss)}; wrote {args.output}")
    return 0


# ---------------------------------------------------------------- predict
def predict(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from ..backend.data.metadata import describe, pixel_sizes
    from ..backend.data.stores import open_stack, result_stem
    from ..backend.errors import PN2VError
    from ..backend.network.model import PN2VModel
    from ..jobs.prediction import PredictionJob

    extras = {s.strip() for s in args.save.split(",") if s.strip()}
    unknown = extras - {"prior-mean", "std"}
    if unknown:
        raise PN2VError(f"--save takes prior-mean and/or std, not {', '.join(sorted(unknown))}")
    keys = (
        "denoised",
        *(option.replace("-", "_") for option in ("prior-mean", "std") if option in extras),
    )
    if args.cluster:
        return _predict_on_cluster(args, keys)
    model = PN2VModel.load(args.model)
    # open and check every input first (lazily: pixels are read tile by tile), fail before
    # writing
    opened = {Path(f): open_stack(f, args.axes, model.config.dims) for f in args.files}
    runs = {
        path: PredictionJob(model, image, keys, args.tile, args.overlap, args.device).start()
        for path, (image, _) in opened.items()
    }
    for path, run in runs.items():
        for warning in run.warnings:
            warn(warning)
        axes, sizes = opened[path][1], pixel_sizes(path)
        run.write_to(args.output, result_stem(path), args.format or "tiff", axes, sizes)
        try:
            for _ in tqdm(run, total=run.n_tiles, desc=path.name, unit="tile", dynamic_ncols=True):
                pass
        except PN2VError as error:  # bad pixels found as they are read
            raise PN2VError(f"{path}: {error}; nothing written") from error
        for target in run.results().values():
            print(f"wrote {target} (axes {axes}{', ' if sizes else ''}{describe(sizes)})")
    return 0


def _predict_on_cluster(args: argparse.Namespace, keys: tuple[str, ...]) -> int:
    from tqdm import tqdm

    from ..backend.errors import PN2VError
    from ..backend.network.model import PN2VModel
    from ..backend.prediction.cluster import predict_on_cluster
    from ..jobs.prediction import PredictionJob

    if args.format == "tiff":
        raise PN2VError(
            "--cluster writes zarr (tasks write their planes at the same time); "
            "leave out --format tiff"
        )
    PredictionJob(PN2VModel.load(args.model), None, keys).check()
    with tqdm(unit="plane", dynamic_ncols=True) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        written = predict_on_cluster(
            args.model,
            args.files,
            args.output,
            keys,
            axes=args.axes,
            scheduler=None if args.cluster == "local" else args.cluster,
            workers=args.workers,
            planes_per_task=args.planes_per_task,
            tile=args.tile,
            overlap=args.overlap,
            device=args.device,
            progress=progress,
        )
    for path in written:
        print(f"wrote {path}")
    return 0


# ---------------------------------------------------------------- export
def export(args: argparse.Namespace) -> int:
    from ..backend.data.stores import open_stack
    from ..backend.network.model import PN2VModel
    from ..jobs.export import ExportJob

    model = PN2VModel.load(args.model)
    image, _ = open_stack(args.image, None, model.config.dims)
    job = ExportJob(
        model,
        image,
        args.output,
        name=args.name,
        authors=tuple(args.author),
        output=args.result.replace("-", "_"),
        license=args.license,
    )
    print(f"wrote {job.run()}")
    return 0


# ---------------------------------------------------------------- demo
def demo(args: argparse.Namespace) -> int:
    from ..jobs.demo import run_demo

    result = run_demo(args.output, on_progress=progress_bar)
    print(f"PSNR noisy input:           {result.psnr_input:6.2f} dB")
    print(f"PSNR prior mean (N2V-like): {result.psnr_prior_mean:6.2f} dB")
    print(f"PSNR PN2V MMSE:             {result.psnr_mmse:6.2f} dB")
    print(f"wrote {len(result.files)} files to {args.output}")
    return 0
