"""Physical pixel sizes and channel names that files state, read so that results keep them.

A microscope's file says how large a pixel (and a Z step) is: OME-TIFF in its OME-XML
(``PhysicalSizeX`` …), ImageJ TIFF in its resolution tags and ``spacing``, OME-Zarr in the
scale of its first dataset. A denoised image is the same image: it carries the same sizes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from .formats import open_with_bioio, read_by_bioio

#: axis -> (size of one pixel along it, unit), e.g. {"X": (0.2, "µm")}
PixelSizes = dict[str, tuple[float, str]]
#: OME-Zarr (NGFF): each axis's type, and the units it names as UDUNITS words
NGFF_TYPES = {"T": "time", "C": "channel", "Z": "space", "Y": "space", "X": "space"}
NGFF_UNITS = {"µm": "micrometer", "nm": "nanometer", "mm": "millimeter"}
#: lengths of one unit in centimetres, the TIFF resolution tags' unit
CENTIMETRES = {"µm": 1e-4, "nm": 1e-7, "mm": 0.1, "cm": 1.0}


def pixel_sizes(path: str | os.PathLike) -> PixelSizes:
    """The physical pixel sizes ``path`` states (none when it states none or is unreadable)."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            return _tiff_sizes(path)
        if path.is_dir():
            return _zarr_sizes(path)
        if read_by_bioio(path):  # CZI, ND2, …: bioio's reader says
            sizes = open_with_bioio(path)[2]
            return {a: (float(v), "µm") for a, v in zip("ZYX", sizes, strict=True) if v}
    except Exception:  # sizes are a courtesy: an odd file still denoises, without them
        return {}
    return {}


def ome_pixels(tif) -> dict | None:
    """The OME-XML ``Pixels`` of an open TIFF's first image (None for a TIFF without OME)."""
    import tifffile

    if not (tif.is_ome and tif.ome_metadata):
        return None
    image = tifffile.xml2dict(tif.ome_metadata)["OME"]["Image"]
    return (image[0] if isinstance(image, list) else image)["Pixels"]


def ngff_attributes(path: str | os.PathLike) -> dict:
    """A zarr node's OME-Zarr attributes: under "ome" (NGFF 0.5), or at the top (0.4)."""
    import zarr

    attrs = dict(zarr.open(path, mode="r").attrs)
    return attrs.get("ome", attrs)


def _tiff_sizes(path: Path) -> PixelSizes:
    import tifffile

    with tifffile.TiffFile(path) as tif:
        pixels = ome_pixels(tif)
        if pixels is not None:
            return {
                axis: (float(pixels[key]), pixels.get(f"{key}Unit", "µm"))
                for axis in "XYZ"
                if (key := f"PhysicalSize{axis}") in pixels
            }
        if tif.is_imagej:
            meta, tags = tif.imagej_metadata or {}, tif.pages[0].tags
            unit = _unit(meta.get("unit", ""))
            sizes = {}
            for axis, tag in (("X", "XResolution"), ("Y", "YResolution")):
                if tag in tags:
                    numerator, denominator = tags[tag].value
                    if numerator > 0 and (numerator, denominator) != (1, 1):
                        sizes[axis] = (denominator / numerator, unit)
            if "spacing" in meta:
                sizes["Z"] = (float(meta["spacing"]), unit)
            return sizes if unit else {}
    return {}


def _unit(unit: str) -> str:
    """ImageJ writes micrometres as "micron" or "\\u00B5m", OME-Zarr as "micrometer"."""
    known = {"micron": "µm", "um": "µm", "\\u00B5m": "µm"}
    return known.get(unit) or {ngff: ours for ours, ngff in NGFF_UNITS.items()}.get(unit, unit)


def _zarr_sizes(path: Path) -> PixelSizes:
    multiscales = ngff_attributes(path).get("multiscales")
    if not multiscales:
        return {}
    axes = multiscales[0].get("axes", [])
    transforms = multiscales[0]["datasets"][0].get("coordinateTransformations", [])
    scale = next((t["scale"] for t in transforms if t.get("type") == "scale"), None)
    if scale is None or len(scale) != len(axes):
        return {}
    return {
        a["name"].upper(): (float(s), _unit(a.get("unit", "")))
        for a, s in zip(axes, scale, strict=True)
        if isinstance(a, dict) and a.get("type") == "space"
    }


def channel_names(path: str | os.PathLike, count: int) -> list[str] | None:
    """The names of a file's ``count`` channels (OME-TIFF ``Channel Name``, OME-Zarr
    ``omero`` labels, bioio's reader); None when it does not name them all, distinctly."""
    path = Path(path)
    names: list[str] = []
    try:
        if path.suffix.lower() in (".tif", ".tiff"):
            import tifffile

            with tifffile.TiffFile(path) as tif:
                pixels = ome_pixels(tif)
                if pixels is not None:
                    found = pixels["Channel"]
                    found = found if isinstance(found, list) else [found]
                    names = [str(c.get("Name", "")) for c in found]
        elif path.is_dir():
            names = [c.get("label", "") for c in ngff_attributes(path)["omero"]["channels"]]
        elif read_by_bioio(path):
            from bioio import BioImage

            names = [str(n) for n in BioImage(path).channel_names]
    except Exception:  # names are a courtesy: without them, channels are numbered
        names = []
    if len(names) != count or not all(names) or len(set(names)) != count:
        return None
    return names


def describe(sizes: PixelSizes) -> str:
    """E.g. "pixels 0.2 × 0.2 µm, Z step 1.5 µm" (empty when there are none)."""
    parts = []
    if "X" in sizes and "Y" in sizes:
        parts.append(f"pixels {sizes['Y'][0]:.4g} × {sizes['X'][0]:.4g} {sizes['X'][1]}".rstrip())
    if "Z" in sizes:
        parts.append(f"Z step {sizes['Z'][0]:.4g} {sizes['Z'][1]}".rstrip())
    return ", ".join(parts)


def ngff_metadata(
    axes: str | None, sizes: PixelSizes, channels: list[str] | None = None
) -> dict | None:
    """The ``ome`` attributes (OME-Zarr, NGFF 0.5) of a one-level image in dataset "0" with
    ``axes``, the input's ``sizes`` and ``channels``' names; None where NGFF cannot name the
    axes (it orders them [T][C][Z]YX)."""
    if not axes or not re.fullmatch("T?C?Z?YX", axes):
        return None
    described = []
    for axis in axes:
        entry = {"name": axis.lower(), "type": NGFF_TYPES[axis]}
        if axis in sizes and sizes[axis][1] in NGFF_UNITS:
            entry["unit"] = NGFF_UNITS[sizes[axis][1]]
        described.append(entry)
    scale = [float(sizes[a][0]) if a in sizes and a in "ZYX" else 1.0 for a in axes]
    level = {"path": "0", "coordinateTransformations": [{"type": "scale", "scale": scale}]}
    ome: dict = {"version": "0.5", "multiscales": [{"axes": described, "datasets": [level]}]}
    if channels and "C" in axes:
        ome["omero"] = {"channels": [{"label": name} for name in channels]}
    return ome


def ome_metadata(axes: str, sizes: PixelSizes, channels: list[str] | None = None) -> dict:
    """tifffile's OME metadata for a result with ``axes``, the input's ``sizes`` and its
    ``channels``' names."""
    metadata: dict = {"axes": axes}
    if channels and "C" in axes:
        metadata["Channel"] = {"Name": list(channels)}
    for axis, (size, unit) in sizes.items():
        if axis in axes:
            metadata[f"PhysicalSize{axis}"] = size
            if unit:
                metadata[f"PhysicalSize{axis}Unit"] = unit
    return metadata


def tiff_resolution(sizes: PixelSizes) -> dict:
    """tifffile's ``resolution`` (pixels per centimetre, X then Y) and ``resolutionunit`` for
    a result with the input's ``sizes``: the pixel size every TIFF reader knows, besides the
    OME-XML; nothing where X and Y have no length unit."""
    if "X" not in sizes or "Y" not in sizes:
        return {}
    (x, x_unit), (y, y_unit) = sizes["X"], sizes["Y"]
    if x_unit not in CENTIMETRES or y_unit not in CENTIMETRES or x <= 0 or y <= 0:
        return {}
    per_cm = (1 / (x * CENTIMETRES[x_unit]), 1 / (y * CENTIMETRES[y_unit]))
    return {"resolution": per_cm, "resolutionunit": "CENTIMETER"}
