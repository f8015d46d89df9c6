"""Batch prediction on a dask.distributed cluster: many files, or one huge stack, at once.

The work is cut into tasks of a few planes (Z stacks, for a 3-D network) each. A task loads the
model file, opens its input lazily and writes its planes straight into the result's zarr array
(whose chunks never span two planes, so tasks never write the same chunk). Workers therefore
need the model, the inputs and the output folder on a file system they share with the client —
one machine (the default local cluster) or a cluster's shared storage. Needs the
``distributed`` package (``pip install "napari-pn2v[cluster]"``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from ..data.channels import channel_axis, channel_slot, channel_views, with_channel
from ..data.metadata import channel_names, pixel_sizes
from ..data.stores import OutputFiles, open_stack, open_zarr, result_stem
from ..errors import PN2VError
from ..network.channels import load_model
from .config import PredictionConfig
from .tiled import TiledPrediction, per_channel


def _task(
    model_path: str,
    image_path: str,
    axes: str | None,
    outputs: dict[str, str],
    planes: range,
    settings: PredictionConfig,
    channel: int | None = None,
) -> int:
    """Denoise ``planes`` of one file (of its ``channel``, with that channel's model) into
    the zarr arrays at ``outputs``; runs on a worker."""
    model = load_model(model_path)
    image, found = open_stack(image_path, axes, model.config.dims, channels=True)
    arrays = {name: open_zarr(path, mode="r+") for name, path in outputs.items()}
    if channel is not None:
        axis = found.index("C")
        model, image = model[channel], channel_views(image, axis)[channel]
        arrays = {name: channel_slot(array, axis, channel) for name, array in arrays.items()}
    run = TiledPrediction(model, image, settings, planes=planes)
    run.write_into({**dict.fromkeys(run.names), **arrays})  # nothing else is kept
    for _ in run:
        pass
    return len(planes)


def predict_on_cluster(
    model_path: str | os.PathLike,
    files: Sequence[str | os.PathLike],
    output: str | os.PathLike,
    keys: Sequence[str] = ("denoised",),
    axes: str | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    planes_per_task: int = 1,
    settings: PredictionConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Denoise ``files`` into ``output``/<stem>_<key>.zarr on the cluster at ``scheduler``
    (an address such as ``tcp://10.0.0.1:8786``), or on a local cluster of ``workers``
    processes, with ``settings`` (tiles, device, arithmetic, augmentation); the paths written.
    Every input is opened and checked before any task runs.
    ``axes`` states the files' axis order (see :func:`.stores.open_stack`)."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError as error:
        raise PN2VError(
            "cluster prediction needs the 'distributed' package: "
            'pip install "napari-pn2v[cluster]"'
        ) from error
    settings = settings or PredictionConfig()
    model_path = str(Path(model_path).resolve())
    model = load_model(model_path)
    opened = {
        Path(f).resolve(): open_stack(f, axes, model.config.dims, channels=True) for f in files
    }
    runs = {  # every input checked (shape, type, channels, noise-model range) first
        path: per_channel(model, image, channel_axis(found), settings)
        for path, (image, found) in opened.items()
    }
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
    results: list[Path] = []
    try:
        with Client(cluster if cluster is not None else scheduler) as client:
            for path, (tiles, axis) in runs.items():
                multi = axis is not None
                files_out = OutputFiles(
                    output,
                    result_stem(path),
                    keys,
                    tuple(opened[path][0].shape),
                    "zarr",
                    chunks=with_channel(tiles[0].chunks, axis, 1),  # of one channel
                    axes=opened[path][1],
                    sizes=pixel_sizes(path),
                    channels=(channel_names(path, len(tiles)) or model.names) if multi else None,
                )
                targets = {name: str(files_out.temporary[name]) for name in keys}
                n = sum(tiled.n_units for tiled in tiles)
                tasks = [
                    client.submit(
                        _task,
                        model_path,
                        str(path),
                        axes,
                        targets,
                        range(start, min(start + planes_per_task, tiled.n_units)),
                        settings,
                        c if multi else None,
                        pure=False,
                    )
                    for c, tiled in enumerate(tiles)
                    for start in range(0, tiled.n_units, planes_per_task)
                ]
                done = 0
                try:
                    for future in as_completed(tasks):
                        done += future.result()
                        if progress is not None:
                            progress(done, n)
                except BaseException:
                    client.cancel(tasks)
                    files_out.discard()
                    raise
                results += files_out.commit()
    finally:
        if cluster is not None:
            cluster.close()
    return results
