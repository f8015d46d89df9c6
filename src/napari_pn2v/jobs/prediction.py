"""Denoising, from a model and plain data: the one place that checks what a model can output and
that writes results atomically, for ``pn2v predict`` and the denoise widget.

:meth:`PredictionJob.start` checks the image (shape, pixel type, the noise model's range) and
returns a :class:`PredictionRun`; give it files to write into (:meth:`PredictionRun.write_to`)
or let it keep the results in memory, then iterate it for progress. A run that fails or is
stopped leaves no file behind. A multi-channel image (``channel_axis``) is denoised channel by
channel, each with its own model of a :class:`~..backend.network.channels.ChannelModels`, into
one result with the input's axes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..backend.data.channels import named, numbered, with_channel
from ..backend.errors import PN2VError
from ..backend.prediction.config import PredictionConfig

#: what a model can give: every model the denoised image, PN2V also these
PN2V_EXTRAS = ("prior_mean", "std")


@dataclass
class PredictionJob:
    """A model, an image (in memory or lazy) and what to make of it."""

    model: object
    image: object
    #: the results wanted: "denoised" and, for PN2V, "prior_mean" and "std"
    outputs: tuple[str, ...] = ("denoised",)
    #: tiles, device, arithmetic and test-time augmentation
    settings: PredictionConfig = field(default_factory=PredictionConfig)
    #: the image's channel axis, if it has one (then the model needs one model per channel)
    channel_axis: int | None = None

    def check(self) -> None:
        """What the model can output, and (with an image) that it has the model's channels."""
        unknown = set(self.outputs) - {"denoised", *PN2V_EXTRAS}
        if unknown:
            raise PN2VError(
                f"results are denoised, prior-mean and std, not {', '.join(sorted(unknown))}"
            )
        extras = set(self.outputs) & set(PN2V_EXTRAS)
        if extras and not self.model.is_probabilistic:
            raise PN2VError(
                f"an {self.model.config.mode} model makes only the denoised image, "
                f"not {', '.join(sorted(extras))}"
            )
        if self.image is not None:
            self._models()

    def _models(self) -> tuple[list, int | None]:
        from ..backend.network.channels import models_for

        return models_for(self.model, tuple(self.image.shape), self.channel_axis)

    def start(self) -> PredictionRun:
        """Check everything and plan the tiles; nothing is computed or written yet."""
        from ..backend.prediction.tiled import per_channel

        self.check()
        tiles, axis = per_channel(self.model, self.image, self.channel_axis, self.settings)
        return PredictionRun(tiles, tuple(self.outputs), axis, getattr(self.model, "names", None))

    def run(self) -> dict:
        """Predict every tile (a script's way: no progress shown); the results by name."""
        run = self.start()
        for _ in run:
            pass
        return run.results()


class PredictionRun:
    """Iterate for (tiles done, tiles in all); then :meth:`results`."""

    def __init__(
        self,
        tiles: list,
        outputs: tuple[str, ...],
        channel_axis: int | None = None,
        names: list[str] | None = None,
    ) -> None:
        self.tiles, self.wanted, self.channel_axis = tiles, outputs, channel_axis
        self.names = names or numbered(len(tiles))
        self.files = None
        #: a multi-channel run's results in memory (made when it starts, unless it writes
        #: files), filled channel by channel
        self.arrays: dict | None = None
        for tiled in tiles:  # only what is wanted is kept
            tiled.write_into({name: None for name in tiled.names if name not in outputs})

    def _write_channels(self, full: dict) -> None:
        """Each channel's prediction writes into its slot of the arrays in ``full``."""
        from ..backend.data.channels import channel_slot

        for c, tiled in enumerate(self.tiles):
            slots = {
                name: channel_slot(array, self.channel_axis, c) for name, array in full.items()
            }
            tiled.write_into({**dict.fromkeys(tiled.names), **slots})

    @property
    def warnings(self) -> list[str]:
        if len(self.tiles) == 1:
            return self.tiles[0].warnings
        return named(self.names, (tiled.warnings for tiled in self.tiles))

    @property
    def n_tiles(self) -> int:
        return sum(tiled.n_tiles for tiled in self.tiles)

    @property
    def image_shape(self) -> tuple[int, ...]:
        """The input's shape (its channel axis included)."""
        return with_channel(self.tiles[0].image_shape, self.channel_axis, len(self.tiles))

    @property
    def chunks(self) -> tuple[int, ...]:
        """Output chunks of one channel's tile."""
        return with_channel(self.tiles[0].chunks, self.channel_axis, 1)

    def write_to(
        self,
        folder: str | Path,
        stem: str,
        fmt: str = "tiff",
        axes: str | None = None,
        sizes: dict | None = None,
        channels: list[str] | None = None,
    ) -> None:
        """Write each result into ``folder``/<stem>_<name>.<tif|zarr> as it is computed (in a
        temporary file that takes the final name when the run completes), with the input's
        ``axes``, physical pixel ``sizes`` (:mod:`..backend.data.metadata`) and ``channels``'
        names (by default the model's)."""
        from ..backend.data.stores import OutputFiles

        self.files = OutputFiles(
            folder,
            stem,
            self.wanted,
            self.image_shape,
            fmt,
            chunks=self.chunks,
            axes=axes,
            sizes=sizes,
            channels=channels or (self.names if self.channel_axis is not None else None),
        )
        if self.channel_axis is None:
            tiled = self.tiles[0]
            tiled.write_into({**dict.fromkeys(tiled.names), **self.files})
        else:
            self._write_channels(self.files)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        if self.channel_axis is not None and self.files is None and self.arrays is None:
            self.arrays = {name: np.zeros(self.image_shape, np.float32) for name in self.wanted}
            self._write_channels(self.arrays)
        done, total = 0, self.n_tiles
        try:
            for tiled in self.tiles:
                for finished, _ in tiled:
                    yield done + finished, total
                done += tiled.n_tiles
        except BaseException:  # failed, stopped or interrupted: no partial file stays
            if self.files is not None:
                self.files.discard()
            raise

    def results(self) -> dict:
        """The results by name: arrays in memory, or the written files' paths (after a
        complete run)."""
        if self.files is not None:
            return dict(zip(list(self.files), self.files.commit(), strict=True))
        if self.arrays is not None:
            return dict(self.arrays)
        outputs = self.tiles[0].outputs
        return {name: array for name, array in outputs.items() if array is not None}


@dataclass
class ClusterPredictionJob:
    """Model and image files denoised by dask.distributed workers (``pn2v predict
    --cluster``): each task reads the model file and its planes and writes them into zarr."""

    model_path: str | Path
    #: image files or folders of them (every input is opened and checked before any task)
    files: list
    output: str | Path
    outputs: tuple[str, ...] = ("denoised",)
    settings: PredictionConfig = field(default_factory=PredictionConfig)
    #: the files' axis order (None: as each file states, else a guess by dimension)
    axes: str | None = None
    #: a scheduler's address; None: a local cluster of ``workers`` processes
    scheduler: str | None = None
    workers: int | None = None
    planes_per_task: int = 1
    #: the results' format: zarr only (tasks write their planes at the same time)
    fmt: str = "zarr"

    def check(self) -> None:
        """The format, and what the model can output (the files are checked when run)."""
        from ..backend.network.channels import load_model

        if self.fmt != "zarr":
            raise PN2VError(
                "a cluster writes zarr (its tasks write their planes at the same time), "
                f"not {self.fmt}"
            )
        PredictionJob(load_model(self.model_path), None, self.outputs).check()

    def run(self, progress=None) -> list[Path]:
        """Denoise every file; ``progress(planes done, planes in all)``; the paths written."""
        from ..backend.data.formats import image_files
        from ..backend.prediction.cluster import predict_on_cluster

        self.check()
        return predict_on_cluster(
            self.model_path,
            image_files(self.files),
            self.output,
            self.outputs,
            axes=self.axes,
            scheduler=self.scheduler,
            workers=self.workers,
            planes_per_task=self.planes_per_task,
            settings=self.settings,
            progress=progress,
        )
