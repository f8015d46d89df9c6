"""Denoising, from a model and plain data: the one place that checks what a model can output and
that writes results atomically, for ``pn2v predict`` and the denoise widget.

:meth:`PredictionJob.start` checks the image (shape, pixel type, the noise model's range) and
returns a :class:`PredictionRun`; give it files to write into (:meth:`PredictionRun.write_to`)
or let it keep the results in memory, then iterate it for progress. A run that fails or is
stopped leaves no file behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..backend.errors import PN2VError

#: what a model can give: every model the denoised image, PN2V also these
PN2V_EXTRAS = ("prior_mean", "std")


@dataclass
class PredictionJob:
    """A model, an image (in memory or lazy) and what to make of it."""

    model: object
    image: object
    #: the results wanted: "denoised" and, for PN2V, "prior_mean" and "std"
    outputs: tuple[str, ...] = ("denoised",)
    tile: int | None = None
    overlap: int | None = None
    device: str = "auto"

    def check(self) -> None:
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

    def start(self) -> PredictionRun:
        """Check everything and plan the tiles; nothing is computed or written yet."""
        from ..backend.prediction.tiled import OVERLAP, TiledPrediction

        self.check()
        overlap = OVERLAP if self.overlap is None else self.overlap
        return PredictionRun(
            TiledPrediction(self.model, self.image, self.tile, overlap, self.device),
            tuple(self.outputs),
        )


class PredictionRun:
    """Iterate for (tiles done, tiles in all); then :meth:`results`."""

    def __init__(self, tiled, outputs: tuple[str, ...]) -> None:
        self.tiled, self.wanted = tiled, outputs
        self.files = None
        # only what is wanted is kept
        tiled.write_into({name: None for name in tiled.names if name not in outputs})

    @property
    def warnings(self) -> list[str]:
        return self.tiled.warnings

    @property
    def n_tiles(self) -> int:
        return self.tiled.n_tiles

    @property
    def image_shape(self) -> tuple[int, ...]:
        return self.tiled.image_shape

    def write_to(
        self,
        folder: str | Path,
        stem: str,
        fmt: str = "tiff",
        axes: str | None = None,
        sizes: dict | None = None,
    ) -> None:
        """Write each result into ``folder``/<stem>_<name>.<tif|zarr> as it is computed (in a
        temporary file that takes the final name when the run completes), with the input's
        ``axes`` and physical pixel ``sizes`` (:mod:`..backend.data.metadata`)."""
        from ..backend.data.stores import OutputFiles

        self.files = OutputFiles(
            folder,
            stem,
            self.wanted,
            self.tiled.image_shape,
            fmt,
            chunks=self.tiled.chunks,
            axes=axes,
            sizes=sizes,
        )
        self.tiled.write_into({**dict.fromkeys(self.tiled.names), **self.files})

    def __iter__(self) -> Iterator[tuple[int, int]]:
        try:
            yield from self.tiled
        except BaseException:  # failed, stopped or interrupted: no partial file stays
            if self.files is not None:
                self.files.discard()
            raise

    def results(self) -> dict:
        """The results by name: arrays in memory, or the written files' paths (after a
        complete run)."""
        if self.files is None:
            return {name: array for name, array in self.tiled.outputs.items() if array is not None}
        return dict(zip(list(self.files), self.files.commit(), strict=True))
