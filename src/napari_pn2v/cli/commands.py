"""What each ``pn2v`` command does: read the files named, fill in a job
(:mod:`napari_pn2v.jobs`), show its progress, write and print the results."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, TypeVar

from .settings import given

if TYPE_CHECKING:
    from ..backend.network.config import ModelConfig
    from ..backend.prediction.config import PredictionConfig
    from ..backend.training.config import TrainConfig

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
    channel = f"{event.channel}, " if event.channel else ""
    bar.set_description(f"{channel}epoch {event.epoch}/{event.epochs}")
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
    from ..backend.data.channels import open_files
    from ..backend.data.lazy import load_if_small
    from ..backend.errors import PN2VError
    from ..backend.training.config import preset
    from ..jobs.noise_model import NoiseModelJob, check_source

    given_data = [
        name
        for name in ("calibration", "signal", "observation", "images", "camera")
        if getattr(args, name)
    ]
    job = NoiseModelJob(
        args.kind,
        **given(args, NoiseModelJob),
        value_range=args.value_range,
        training=preset(args.preset),
        camera=args.camera,
    )
    check_source(
        args.kind,
        [n.replace("observation", "observations") for n in given_data],
        job.as_histogram,
        args.value_range,
    )
    names = None  # the channels' names, when the files have channels
    if args.calibration:
        job.calibration, names = _frames(args.calibration, args.axes)
    if args.signal:
        (signal, names), (job.observations, observed) = (
            _frames([args.signal], args.axes),
            _frames(args.observation, args.axes),
        )
        if (names is None) != (observed is None):
            raise PN2VError("the --signal and --observation files differ in channels")
        job.signal = signal[:, 0] if names else signal[0]
    if args.images and args.kind == "bootstrap":  # big files stay on disk, read by patches
        arrays, count, found = open_files(args.images, args.axes)
        job.images, names = [load_if_small(image) for image in arrays], found if count > 1 else None
    elif args.images:
        stack, names = _frames(args.images, args.axes)
        job.images = [stack]
    job.channels, job.channel_names = names is not None, names
    if args.kind == "bootstrap":
        steps = job.training.epochs * job.training.steps_per_epoch * len(names or [None])
        result = finish(job.steps(), steps)
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


def _frames(paths: list[str], axes: str | None) -> tuple:
    """(the files' planes as one float32 stack, (frames, Y, X) — with channels (channels,
    frames, Y, X) —, the channels' names or None without channels)."""
    import numpy as np

    from ..backend.data.channels import open_files
    from ..backend.data.formats import image_files
    from ..backend.data.images import as_stack
    from ..backend.errors import PN2VError

    paths = image_files(paths)  # a folder: its images
    arrays, count, names = open_files(paths, axes)
    sizes = sorted({tuple(np.shape(image)[-2:]) for image in arrays})
    if len(sizes) > 1:
        raise PN2VError(f"input images differ in size: {sizes}")
    groups = [[image[c] for image in arrays] for c in range(count)] if count > 1 else [arrays]
    stacks = [
        np.concatenate(
            [as_stack(np.asarray(image), str(p)) for p, image in zip(paths, group, strict=True)]
        )
        for group in groups
    ]
    return (np.stack(stacks), names) if count > 1 else (stacks[0], None)


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
    import numpy as np

    from ..backend.data.channels import check_channels, open_files
    from ..backend.network.channels import load_model
    from ..backend.noise.registry import load_noise_model
    from ..jobs.training import TrainingJob, TrainingRun

    config, network = training_settings(args)
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
        job.resume = load_model(args.resume)
    job.check()  # before any image is read
    dims = job.resume.config.dims if job.resume is not None else network.dims
    # big files stay on disk and are read patch by patch; channels come first
    job.images, count, names = open_files(args.files, args.axes, dims)
    job.channels, job.channel_names = count > 1, names
    for extra in ("validation", "target"):
        if getattr(args, extra):
            arrays, extra_count, _ = open_files(getattr(args, extra), args.axes, dims)
            check_channels([count, extra_count], "images and --" + extra)
            if extra == "target":  # clean images are read whole
                job.targets = [np.asarray(image) for image in arrays]
            else:
                job.validation = arrays
    bootstrap = job.noise_model_job()
    if bootstrap is not None:
        print("bootstrap: training N2V to make the noise model", file=sys.stderr)
        made = finish(bootstrap.steps(), config.epochs * config.steps_per_epoch * count)
        for message in made.warnings:
            warn(message)
        job.bootstrapped(made)
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

    from ..backend.data.channels import channel_axis
    from ..backend.data.formats import image_files
    from ..backend.data.metadata import channel_names, describe, pixel_sizes
    from ..backend.data.stores import open_stack, result_stem
    from ..backend.errors import PN2VError
    from ..backend.network.channels import load_model
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
    model = load_model(args.model)
    # open and check every input first (lazily: pixels are read tile by tile), fail before
    # writing; each channel (axis C) is denoised by its own model
    opened = {
        f: open_stack(f, args.axes, model.config.dims, channels=True)
        for f in image_files(args.files)
    }
    runs = {
        path: PredictionJob(
            model,
            image,
            keys,
            _prediction_settings(args),
            channel_axis=channel_axis(axes),
        ).start()
        for path, (image, axes) in opened.items()
    }
    for path, run in runs.items():
        for warning in run.warnings:
            warn(warning)
        axes, sizes = opened[path][1], pixel_sizes(path)
        names = channel_names(path, len(run.tiles)) if run.channel_axis is not None else None
        run.write_to(args.output, result_stem(path), args.format or "tiff", axes, sizes, names)
        try:
            for _ in tqdm(run, total=run.n_tiles, desc=path.name, unit="tile", dynamic_ncols=True):
                pass
        except PN2VError as error:  # bad pixels found as they are read
            raise PN2VError(f"{path}: {error}; nothing written") from error
        for target in run.results().values():
            print(f"wrote {target} (axes {axes}{', ' if sizes else ''}{describe(sizes)})")
    return 0


def training_settings(args: argparse.Namespace) -> tuple[TrainConfig, ModelConfig]:
    """The training and network configurations the options give: the preset's, with every
    setting given on top (one path for all: :mod:`.settings`)."""
    from ..backend.network.config import ModelConfig
    from ..backend.training.config import TrainConfig, preset

    return preset(args.preset, **given(args, TrainConfig)), ModelConfig(**given(args, ModelConfig))


def _prediction_settings(args: argparse.Namespace) -> PredictionConfig:
    from ..backend.prediction.config import PredictionConfig

    return PredictionConfig(**given(args, PredictionConfig))


def _predict_on_cluster(args: argparse.Namespace, keys: tuple[str, ...]) -> int:
    from tqdm import tqdm

    from ..jobs.prediction import ClusterPredictionJob

    job = ClusterPredictionJob(
        args.model,
        args.files,
        args.output,
        keys,
        _prediction_settings(args),
        axes=args.axes,
        scheduler=None if args.cluster == "local" else args.cluster,
        workers=args.workers,
        planes_per_task=args.planes_per_task,
        fmt=args.format or "zarr",
    )
    bars = []  # made at the first progress: a refused job shows none

    def progress(done: int, total: int) -> None:
        if not bars:
            bars.append(tqdm(total=total, unit="plane", dynamic_ncols=True))
        bars[0].n = done
        bars[0].refresh()

    try:
        written = job.run(progress)
    finally:
        for bar in bars:
            bar.close()
    for path in written:
        print(f"wrote {path}")
    return 0


# ---------------------------------------------------------------- export
def export(args: argparse.Namespace) -> int:
    from ..backend.data.channels import channel_views
    from ..backend.data.stores import open_stack
    from ..backend.errors import PN2VError
    from ..backend.network.channels import load_model
    from ..jobs.export import ExportJob

    model = load_model(args.model)
    image, axes = open_stack(args.image, None, model.config.dims, channels=True)
    job = ExportJob(
        model,
        image,
        args.output,
        name=args.name,
        authors=tuple(args.author),
        output=args.result.replace("-", "_"),
        license=args.license,
        channel=args.channel,
    )
    index = job.channel_index()
    if "C" in axes and index is not None:  # the test data: the chosen channel's image
        job.image = channel_views(image, axes.index("C"))[index]
    elif "C" in axes and image.shape[axes.index("C")] > 1:
        raise PN2VError(f"{args.image}: several channels, and the model is of one: give its own")
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
