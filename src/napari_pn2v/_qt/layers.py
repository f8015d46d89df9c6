"""Layers as the widgets use them: pickers that follow the viewer's layer list, and the plain
arrays, axes and channels a job takes from a layer (read in the worker, never here)."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from napari.layers import Image
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QComboBox, QListWidget, QListWidgetItem, QWidget

from ..backend.data.axes import SPATIAL, check_axes, guess_axes
from ..backend.data.channels import channel_count, channels_first, check_channels, numbered
from ..backend.data.stores import axes_hint
from ..backend.errors import PN2VError


class _FollowsLayers:
    """Calls ``refresh`` when image layers come, go, move or are renamed.

    Bound methods only: napari holds them weakly, so a closed widget is not called again.
    """

    def _follow(self, viewer) -> None:
        events = viewer.layers.events
        for event in (events.inserted, events.removed, events.reordered):
            event.connect(self.refresh)
        events.inserted.connect(self._follow_names)
        self._follow_names()

    def _follow_names(self, *_: object) -> None:
        for layer in self._viewer.layers:
            layer.events.name.connect(self.refresh)  # connecting twice is a no-op

    def refresh(self, *_: object) -> None:
        raise NotImplementedError


class LayerCombo(_FollowsLayers, QComboBox):
    """A drop-down of the viewer's image layers, kept in step with the layer list; ``fixed``
    choices that are not layers come first."""

    def __init__(self, viewer, parent: QWidget | None = None, fixed: Sequence[str] = ()) -> None:
        super().__init__(parent)
        self._viewer = viewer
        self._fixed = list(fixed)
        self._follow(viewer)
        self.refresh()

    def refresh(self, *_: object) -> None:
        current = self.currentText()
        names = [layer.name for layer in self._viewer.layers if isinstance(layer, Image)]
        self.blockSignals(True)
        self.clear()
        self.addItems(self._fixed + names)
        if current in self._fixed + names:
            self.setCurrentText(current)
        self.blockSignals(False)
        if self.currentText() != current:  # e.g. the first layer arrived
            self.currentTextChanged.emit(self.currentText())

    def layer(self) -> Image | None:
        """The chosen layer; None for a fixed choice."""
        name = self.currentText()
        if name in self._fixed:
            return None
        return next((layer for layer in self._viewer.layers if layer.name == name), None)


def image_data(layer: Image | None, what: str) -> np.ndarray:
    """The layer's pixel array for a worker; refuses what PN2V can't use.

    Not converted here: a lazy (dask, zarr) array is read inside the worker, off the GUI thread.
    """
    if layer is None:
        raise PN2VError(f"choose an image layer for the {what}")
    if not isinstance(layer, Image):
        raise PN2VError(f"{layer.name}: the {what} must be an image layer")
    if layer.rgb:
        raise PN2VError(f"{layer.name}: RGB layers are not supported; split the channels first")
    return layer.data[0] if layer.multiscale else layer.data


def layer_axes(
    layer: Image, dims: int = 2, channels: bool = False, given: str | None = None
) -> str:
    """The layer's axis order: ``given`` (the widget's Axes field), else its axis labels when
    they are letters of TZCYX (as a reader may set them), else the order its file states
    (napari's own reader names no axes), else a guess by dimension (and network: 3-D data is
    a Z stack for a 3-D network). Channels
    (C > 1) are refused unless ``channels``, and so is a layer whose Y and X (Z, Y and X for
    a 3-D network) are not its last axes, as napari and the network hold them."""
    if layer.rgb:
        raise PN2VError(f"{layer.name}: RGB layers are not supported; split the channels first")
    shape = tuple((layer.data[0] if layer.multiscale else layer.data).shape)
    labels = [str(label).upper() for label in layer.axis_labels]
    # napari's default labels ("axis -1", …) are no letters: then the file or the dimensions
    hint = "".join(labels) if all(len(label) == 1 for label in labels) else None
    axes = given or guess_axes(len(shape), hint or _file_axes(layer.source.path), dims)
    axes = check_axes(axes, shape, layer.name, dims, channels)
    spatial = SPATIAL[dims]
    if not axes.endswith(spatial):
        raise PN2VError(
            f"{layer.name}: axes {axes}; {', '.join(spatial)} must be the last "
            "axes (transpose the layer first)"
        )
    return axes


@functools.lru_cache(maxsize=64)
def _file_axes(path: str | None) -> str | None:
    """The axis order a layer's file states (its header, read once)."""
    return axes_hint(path) if path else None


def layer_images(
    layers: Sequence[Image], dims: int, what: str, given: str | None = None
) -> tuple[list, list[str] | None]:
    """(the layers' pixel arrays for a job, with their channels first when they have more than
    one, those channels' names — None without channels); all must have as many. ``given``:
    their axes, as :func:`layer_axes` takes them."""
    arrays, counts = [], []
    for layer in layers:
        data = image_data(layer, what)  # refuses a missing layer first
        axes = layer_axes(layer, dims, channels=True, given=given)
        counts.append(channel_count(data.shape, axes))
        arrays.append(channels_first(data, axes) if counts[-1] > 1 else data)
    count = check_channels(counts, what) if counts else 1
    return arrays, (numbered(count) if count > 1 else None)


def describe_stack(layer: Image, dims: int = 2, given: str | None = None) -> str:
    """E.g. "3 planes of 512×512 (axes TYX)", "1 Z stack of 32×512×512 (axes ZYX)" or
    "2 channels of 3 planes of 512×512 (axes TCYX)" — what a ``dims``-D network will
    denoise."""
    axes = layer_axes(layer, dims, channels=True, given=given)
    shape = layer.data[0].shape if layer.multiscale else layer.data.shape
    channels = channel_count(shape, axes)
    count = int(np.prod(shape[:-dims], dtype=np.int64)) // channels
    unit = "Z stack" if dims == 3 else "plane"
    what = f"1 {unit}" if count == 1 else f"{count} {unit}s"
    what = f"{channels} channels of {what}" if channels > 1 else what
    return f"{what} of {'×'.join(map(str, shape[-dims:]))} (axes {axes})"


class LayerChecklist(_FollowsLayers, QListWidget):
    """Checkable list of the viewer's image layers, for picking several at once."""

    def __init__(self, viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._viewer = viewer
        self.setMaximumHeight(90)
        self._follow(viewer)
        self.refresh()

    def refresh(self, *_: object) -> None:
        checked = set(self.checked_names())
        self.clear()
        for layer in self._viewer.layers:
            if isinstance(layer, Image):
                item = QListWidgetItem(layer.name, self)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(
                    Qt.CheckState.Checked if layer.name in checked else Qt.CheckState.Unchecked
                )

    def checked_names(self) -> list[str]:
        return [
            self.item(i).text()
            for i in range(self.count())
            if self.item(i).checkState() == Qt.CheckState.Checked
        ]

    def set_checked(self, names: list[str]) -> None:
        for i in range(self.count()):
            item = self.item(i)
            item.setCheckState(
                Qt.CheckState.Checked if item.text() in names else Qt.CheckState.Unchecked
            )

    def layers(self) -> list[Image]:
        return [self._viewer.layers[n] for n in self.checked_names() if n in self._viewer.layers]
