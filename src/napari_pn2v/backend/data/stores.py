"""Files for data larger than memory: open inputs lazily, write outputs as they are computed.

Inputs: TIFF (memory-mapped when uncompressed, else read chunk by chunk through tifffile's
zarr store), zarr and OME-Zarr (the full-resolution array), PNG (small: read at once).
Outputs: TIFF (memory-mapped, BigTIFF when large; OME-TIFF with axes, pixel sizes and channel
names) or zarr (OME-Zarr where NGFF can name the axes), written tile by tile into a
temporary file that replaces the target only when complete, so a failure or Ctrl-C never
leaves a half-written result under the final name.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from ..errors import PN2VError
from .axes import check_axes, guess_axes, planes_axes, spatial_last
from .formats import open_with_bioio, read_by_bioio
from .images import read_image
from .metadata import (
    PixelSizes,
    ngff_attributes,
    ngff_metadata,
    ome_metadata,
    tiff_resolution,
)

FORMATS = ("tiff", "zarr")
SUFFIXES = {"tiff": ".tif", "zarr": ".zarr"}
#: axes an OME-TIFF result can name
OME_AXES = "TCZYX"


def open_image(path: str | os.PathLike):
    """The image at ``path`` as an array that reads pixels on demand (PNG: in memory)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".zarr" or (path.is_dir() and (path / "zarr.json").exists()):
        return open_zarr(path)
    if read_by_bioio(path):
        return open_with_bioio(path)[0]
    if suffix not in (".tif", ".tiff"):
        return read_image(path)
    if not path.is_file():
        raise PN2VError(f"{path}: no such file")
    import tifffile

    try:
        return tifffile.memmap(path, mode="r")
    except Exception:  # compressed, tiled or otherwise not mappable: read chunk by chunk
        pass
    try:
        import zarr

        return zarr.open_array(tifffile.imread(path, aszarr=True), mode="r")
    except Exception as error:  # a reader's many failure types all mean "not readable"
        raise PN2VError(f"{path}: cannot be read as an image ({error})") from error


def open_stack(
    path: str | os.PathLike, axes: str | None = None, dims: int = 2, channels: bool = False
) -> tuple:
    """(the file's data opened lazily with Y and X — Z, Y and X for a 3-D network — last,
    its axis order that way, a C axis included); ``axes`` states the file's order, else the
    file's own or a guess (:mod:`.axes`); more than one channel is refused unless
    ``channels``."""
    path = Path(path)
    if read_by_bioio(path):  # opened once: its reader gives the data and the axes
        image, hint, _ = open_with_bioio(path)
    else:
        image, hint = open_image(path), axes_hint(path)
    stated = axes or guess_axes(len(image.shape), hint, dims)
    stated = check_axes(stated, tuple(image.shape), str(path), dims, channels)
    return spatial_last(image, stated, dims), planes_axes(stated, dims)


def axes_hint(path: str | os.PathLike) -> str | None:
    """The axis order a TIFF or OME-Zarr file states, if any (e.g. "TZYX")."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            import tifffile

            with tifffile.TiffFile(path) as tif:
                return tif.series[0].axes
        if path.is_dir():
            multiscales = ngff_attributes(path).get("multiscales")
            if multiscales and "axes" in multiscales[0]:
                return "".join(
                    (a if isinstance(a, str) else a["name"])[0] for a in multiscales[0]["axes"]
                ).upper()
    except Exception:  # no hint: the caller guesses, and reading errors surface when opened
        return None
    return None


def open_zarr(path: str | os.PathLike, mode: str = "r"):
    """The array of a zarr array, of an OME-Zarr image (its full resolution) or of a group's
    first array: results written as OME-Zarr open as their array too."""
    import zarr

    path = Path(path)
    try:
        node = zarr.open(path, mode=mode)
    except Exception as error:
        raise PN2VError(f"{path}: cannot be opened as zarr ({error})") from error
    if isinstance(node, zarr.Array):
        return node
    attrs = dict(node.attrs)
    multiscales = attrs.get("ome", attrs).get("multiscales")
    if multiscales:  # OME-Zarr: the first dataset is the full resolution
        return node[multiscales[0]["datasets"][0]["path"]]
    arrays = sorted(name for name, _ in node.arrays())
    if not arrays:
        raise PN2VError(f"{path}: a zarr group without arrays")
    return node[arrays[0]]


def result_stem(path: str | os.PathLike) -> str:
    """The name results of ``path`` start with: its stem, without an OME suffix."""
    return Path(path).stem.removesuffix(".ome")


class OutputFiles(dict):
    """Float32 arrays to write results into, by name, each a file ``<stem>_<name><suffix>``
    in ``directory``; :meth:`commit` moves them into place, :meth:`discard` removes them."""

    def __init__(
        self,
        directory: str | os.PathLike,
        stem: str,
        names: Iterable[str],
        shape: tuple[int, ...],
        fmt: str = "tiff",
        chunks: tuple[int, ...] | None = None,
        axes: str | None = None,
        sizes: PixelSizes | None = None,
        channels: list[str] | None = None,
    ) -> None:
        super().__init__()
        if fmt not in FORMATS:
            raise PN2VError(f"output format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.fmt, self.axes, self.sizes, self.channels = fmt, axes, sizes or {}, channels
        #: final and temporary (while being written) path of each output
        self.paths: dict[str, Path] = {}
        self.temporary: dict[str, Path] = {}
        for name in names:
            final = self.directory / f"{stem}_{name}{SUFFIXES[fmt]}"
            temporary = final.with_name(final.name + ".part")
            _remove(temporary)
            self.paths[name], self.temporary[name] = final, temporary
            self[name] = self._create(temporary, shape, chunks)

    def _create(self, path: Path, shape: tuple[int, ...], chunks: tuple[int, ...] | None):
        if self.fmt == "tiff":
            import tifffile

            # OME-TIFF (axes and the input's pixel sizes) where OME can name every axis
            ome = bool(self.axes) and set(self.axes) <= set(OME_AXES)
            metadata = (
                ome_metadata(self.axes, self.sizes, self.channels) if ome else {"axes": self.axes}
            )
            return tifffile.memmap(
                path,
                shape=shape,
                dtype=np.float32,
                photometric="minisblack",
                ome=ome,
                metadata=metadata if self.axes else {},
                **tiff_resolution(self.sizes),
            )
        import zarr

        chunks = chunks or (*(1,) * (len(shape) - 2), *(min(s, 512) for s in shape[-2:]))
        ome = ngff_metadata(self.axes, self.sizes, self.channels)
        if ome is not None:  # OME-Zarr: a group, its one level the array "0"
            group = zarr.open_group(path, mode="w")
            group.attrs["ome"] = ome
            return group.create_array(
                "0", shape=shape, chunks=chunks, dtype=np.float32, fill_value=0.0
            )
        array = zarr.open_array(
            path, mode="w", shape=shape, chunks=chunks, dtype=np.float32, fill_value=0.0
        )
        if self.axes:
            array.attrs["axes"] = self.axes
        if self.channels and self.axes and "C" in self.axes:
            array.attrs["channels"] = list(self.channels)
        if self.sizes:
            array.attrs["pixel_sizes"] = {a: list(size) for a, size in self.sizes.items()}
        return array

    def commit(self) -> list[Path]:
        """Flush and move every file to its final name; the written paths."""
        for name in list(self):
            if self.fmt == "tiff":
                self[name].flush()
            del self[name]  # closes the memory map before the file is moved
            _remove(self.paths[name])
            os.replace(self.temporary[name], self.paths[name])
        return list(self.paths.values())

    def discard(self) -> None:
        """Remove the temporary files of a run that did not finish."""
        self.clear()
        for path in self.temporary.values():
            _remove(path)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
