"""Tiled MMSE prediction with bounded memory.

Each plane (each Z stack, for a 3-D network) is cut into tiles that overlap by ``overlap``
pixels along every axis; a tile contributes only its centre (half the overlap is dropped at
inner edges), so seams are invisible and the result equals an untiled prediction once the
overlap covers the network's receptive field. The K
samples are computed chunk by chunk over a tile's pixels and reduced at once to MMSE, prior
mean and posterior standard deviation: K values are never held for a whole image.

The input may be lazy (dask, zarr, a memory-mapped TIFF) and the outputs any arrays that
take slice assignment (zarr, memory-mapped TIFF): then only a tile at a time is in memory.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import replace

import numpy as np
import torch

from ..data.channels import channel_views
from ..data.lazy import PlaneSource, reflect
from ..devices import choose_device, uses_bfloat16
from ..errors import PN2VError
from ..network.channels import ChannelModels, models_for
from ..network.model import PN2VModel
from ..network.prior import CHUNK_VALUES
from ..network.shuffle import phase_average, reach, shuffled
from ..noise.coverage import check_coverage
from .config import TILE, PredictionConfig
from .views import VIEWS, View


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple


class TiledPrediction:
    """Iterate to run (yields tiles done, tiles in all); read :attr:`outputs` afterwards.

    Outputs, float32 in the input's shape and units: ``denoised`` (the MMSE estimate for PN2V,
    the network output for N2V) and, for PN2V, ``prior_mean`` and ``std`` (posterior standard
    deviation, a per-pixel uncertainty). ``settings``: tiles, device, arithmetic and test-time
    augmentation (the 8 rotations and mirror images of each tile, :mod:`.views`). ``outputs`` may
    give arrays to write them into (e.g. zarr arrays for a lazy input, see :mod:`.stores`), by
    name, or None for an output not wanted; the others are made in memory.
    """

    def __init__(
        self,
        model: PN2VModel,
        image,
        settings: PredictionConfig | None = None,
        outputs: MutableMapping | None = None,
        planes: range | None = None,
    ) -> None:
        settings = settings or PredictionConfig()
        self.model = model
        self.views = VIEWS if settings.augment else VIEWS[:1]
        self.dims = model.config.dims
        self.planes = PlaneSource(image, name="image")
        self.image_shape = self.planes.image_shape
        if len(self.image_shape) < self.dims:
            raise PN2VError(
                "a 3-D network denoises Z stacks (axes ZYX); this is a single 2-D image"
            )
        #: the tiled axes' sizes, (Y, X) or (Z, Y, X); the axes before them are looped over
        self.space = self.image_shape[-self.dims :]
        self.units = self.image_shape[: -self.dims]
        #: how many planes (Z stacks, for a 3-D network) there are to denoise
        self.n_units = self.planes.count(self.dims)
        #: the planes (stacks) this run denoises (all by default; a part, for a cluster task)
        self.plane_range = range(self.n_units) if planes is None else planes
        if self.plane_range and not (
            self.plane_range[0] >= 0 and self.plane_range[-1] < self.n_units
        ):
            raise PN2VError(f"planes {planes} are outside the image's {self.n_units}")
        tile = TILE[self.dims] if settings.tile is None else settings.tile
        overlap = settings.overlap
        multiple = model.net.multiple
        step = max(2, multiple)  # keeps every tile on the network's pooling grid
        if overlap < 0 or overlap % step:
            raise PN2VError(f"overlap must be a multiple of {step} and ≥ 0, got {overlap}")
        if tile % multiple or tile <= overlap:
            raise PN2VError(
                f"tile size must be a multiple of {multiple} and larger than the overlap "
                f"({overlap}), got {tile}"
            )
        #: a shuffled model's (:mod:`..network.shuffle`) tiles hold s² sub-tiles of the size
        #: asked for, so the network sees the same tiles and margins in its sub-images
        self.stride = stride = model.shuffle if self.dims == 2 else 1
        if overlap * stride // 2 < reach(stride):
            raise PN2VError(f"this model averages over neighbours: overlap must be ≥ {step}")
        self.tile, self.overlap, self.multiple = tile * stride, overlap * stride, multiple * stride
        self.device = choose_device(settings.device)
        self.warnings: list[str] = []
        self.bfloat16 = uses_bfloat16(self.device, settings.precision, self.warnings)
        if model.is_probabilistic:
            warning = check_coverage(model.noise_model, self.planes.sample(), "image")
            if warning:
                self.warnings.append(warning)
        self.names = ["denoised"] + (["prior_mean", "std"] if model.is_probabilistic else [])
        self.outputs: MutableMapping = {}
        self.write_into(outputs or {})
        self._grid = [self._axis_plan(n) for n in self.space]

    def write_into(self, outputs: MutableMapping) -> None:
        """Write the named results into these arrays (the image's shape) instead of memory."""
        for name, array in outputs.items():
            if name not in self.names:
                raise PN2VError(
                    f"no output {name!r} here; this model makes {', '.join(self.names)}"
                )
            if array is not None and tuple(array.shape) != self.image_shape:
                raise PN2VError(
                    f"output {name!r} has shape {tuple(array.shape)}, the image {self.image_shape}"
                )
        self.outputs = dict(outputs)  # the caller's mapping is not extended

    def _axis_plan(self, length: int) -> tuple[int, int]:
        """(tile, core) along one axis: as few tiles as ``tile`` allows, all of one size, just
        big enough to cover ``length`` (the network's work grows with the tiles' total area)."""
        count = math.ceil(length / (self.tile - self.overlap))
        core = _round_up(math.ceil(length / count), self.multiple)
        return core + self.overlap, core

    @property
    def chunks(self) -> tuple[int, ...]:
        """Output chunks that tiles fill whole: one plane (stack) of one tile's core."""
        return (
            *(1,) * len(self.units),
            *(min(core, n) for (_, core), n in zip(self._grid, self.space, strict=True)),
        )

    @property
    def n_tiles(self) -> int:
        return len(self.plane_range) * math.prod(
            math.ceil(n / core) for (_, core), n in zip(self._grid, self.space, strict=True)
        )

    def _window(self, unit: int, indices: list[np.ndarray]) -> np.ndarray:
        """float32 pixels of plane (stack) ``unit`` at the given indices along each tiled
        axis; a stack is read plane by plane."""
        if self.dims == 2:
            return self.planes.window(unit, *indices)
        depth = self.space[0]
        return np.stack(
            [self.planes.window(unit * depth + int(z), *indices[1:]) for z in indices[0]]
        )

    def __iter__(self) -> Iterator[tuple[int, int]]:
        for name in self.names:
            if name not in self.outputs:
                self.outputs[name] = np.zeros(self.image_shape, np.float32)
        net = self.model.net.to(self.device).eval()
        margin = self.overlap // 2
        cores = tuple(core for _, core in self._grid)
        starts = [range(0, n, core) for n, (_, core) in zip(self.space, self._grid, strict=True)]
        done, total = 0, self.n_tiles
        for unit in self.plane_range:
            lead = self.planes.index(unit, self.dims)
            for corner in itertools.product(*starts):
                # the tile and its margins, mirrored at the image edges (np.pad symmetric)
                indices = [
                    reflect(np.arange(c - margin, c - margin + t), n)
                    for c, (t, _), n in zip(corner, self._grid, self.space, strict=True)
                ]
                results = self._tile(net, self._window(unit, indices), margin, cores)
                kept = tuple(
                    min(core, n - c) for c, core, n in zip(corner, cores, self.space, strict=True)
                )
                target = (*lead, *(slice(c, c + k) for c, k in zip(corner, kept, strict=True)))
                for name, values in results.items():
                    if self.outputs[name] is not None:
                        self.outputs[name][target] = values[tuple(slice(k) for k in kept)]
                done += 1
                yield done, total

    @torch.inference_mode()
    def _tile(
        self, net: torch.nn.Module, window: np.ndarray, margin: int, cores: tuple[int, ...]
    ) -> dict[str, np.ndarray]:
        model = self.model
        x = torch.as_tensor(window, device=self.device)
        # a shuffled model's estimates are averaged with their neighbours': computed beyond
        # the core by that reach
        r = reach(self.stride)
        shape = tuple(core + 2 * r for core in cores)
        centre = tuple(slice(margin - r, margin + core + r) for core in cores)
        views = [self._features(net, x, view, centre) for view in self.views]
        observed = x[centre].reshape(-1, 1)
        chunk = max(1, CHUNK_VALUES // (model.config.out_channels * len(views)))
        parts: dict[str, list[torch.Tensor]] = {n: [] for n in self.outputs}
        for start in range(0, observed.shape[0], chunk):
            raw = [net.head_at(features[start : start + chunk]) for features in views]
            if not model.is_probabilistic:
                mean = raw[0][:, 0] if len(raw) == 1 else torch.stack(raw)[..., 0].mean(0)
                parts["denoised"].append(model.denormalise(mean))
                continue
            results = model.estimate(raw, observed[start : start + chunk])
            for name in parts:
                parts[name].append(results[name])
        return {n: self._averaged(n, torch.cat(p).view(shape)) for n, p in parts.items()}

    def _averaged(self, name: str, values: torch.Tensor) -> np.ndarray:
        """One output of a tile's core: a shuffled model's averaged over the sub-images
        (:func:`..network.shuffle.phase_average`; the std as the root of the mean variance)."""
        if self.stride > 1:
            squared = name == "std"
            values = values.square() if squared else values
            values = phase_average(values[None, None], self.stride)[0, 0]
            values = values.sqrt() if squared else values
        return values.cpu().numpy()

    def _features(
        self, net: torch.nn.Module, x: torch.Tensor, view: View, centre: tuple[slice, ...]
    ) -> torch.Tensor:
        """(pixels, C) features of the tile's centre, the body run on one view of it."""

        def body(planes: torch.Tensor) -> torch.Tensor:
            return view.undo(net.body(self.model.normalise(view.apply(planes))))

        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bfloat16):
            features = shuffled(body, x[None, None], self.stride)
        return features[(0, slice(None), *centre)].float().flatten(1).T


def predict(
    model: PN2VModel,
    image,
    settings: PredictionConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    outputs: MutableMapping | None = None,
    **changes,
) -> dict:
    """Denoise ``image`` (2-D or a stack of 2-D planes — of Z stacks for a 3-D network —, in
    memory or lazy); see :class:`TiledPrediction`. ``changes``: fields of ``settings`` to
    set (e.g. ``tile=256``), for short calls."""
    settings = replace(settings or PredictionConfig(), **changes)
    run = TiledPrediction(model, image, settings, outputs)
    for done, total in run:
        if progress is not None:
            progress(done, total)
    return {name: array for name, array in run.outputs.items() if array is not None}


def per_channel(
    model: PN2VModel | ChannelModels,
    image,
    channel_axis: int | None,
    settings: PredictionConfig | None = None,
) -> tuple[list[TiledPrediction], int | None]:
    """(one :class:`TiledPrediction` per channel of ``image``, each with its channel's model,
    the channel axis split or None): the model must have the image's channels."""
    models, axis = models_for(model, tuple(image.shape), channel_axis)
    views = channel_views(image, axis)
    tiles = [TiledPrediction(m, v, settings) for m, v in zip(models, views, strict=True)]
    return tiles, axis
