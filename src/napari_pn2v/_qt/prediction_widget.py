"""Dock widget 3: MMSE-denoise an image layer into new layers, in a worker thread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from magicgui.widgets import FileEdit
from napari.layers import Image
from napari.qt.threading import thread_worker
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
)

from ..backend.data.channels import channel_axis
from ..backend.data.lazy import is_lazy
from ..backend.data.stores import open_zarr
from ..backend.errors import PN2VError
from ..backend.network.channels import load_model
from ..backend.network.model import PN2VModel
from ..backend.network.shuffle import every
from ..backend.prediction.config import PredictionConfig
from ..jobs.prediction import PredictionJob, PredictionRun
from .axes_field import AxesField
from .common import MODEL_FILTER, PACKAGE_FILTER, file_action, guarded, hbox, report, warn
from .forms import ConfigForm
from .layers import LayerCombo, describe_stack, image_data, layer_axes
from .progress import ProgressBar
from .workers import DockWidget, alive

#: output key -> (layer name suffix, colormap)
OUTPUTS = {
    "denoised": ("denoised", "gray"),
    "prior_mean": ("prior_mean", "gray"),
    "std": ("std", "magma"),
}


RESULTS_HELP = (
    "where the results of an image read from disk (lazily: larger than memory) are written, "
    "as zarr; empty: the folder of the image's file"
)


def results_folder(chosen: str, layer: Image) -> Path:
    """The folder the user chose for a lazy layer's results, else its file's folder; never a
    temporary one (results are kept)."""
    if chosen.strip():
        folder = Path(chosen).expanduser()
    elif layer.source.path:
        folder = Path(layer.source.path).resolve().parent
    else:
        raise PN2VError(
            f"{layer.name} is read from disk and its results are written there: choose a "
            "Results folder"
        )
    if not folder.is_dir():
        raise PN2VError(f"{folder}: no such folder (Results folder)")
    return folder


@thread_worker
def _predict(job: PredictionJob, folder: Path | None = None, stem: str = "image"):
    """Yields the run first (for its warnings), then (tiles done, tiles in all); returns the
    wanted outputs: arrays in memory, or zarr arrays in ``folder`` (for a lazy image)."""
    run = job.start()
    if folder is not None:
        run.write_to(folder, stem, "zarr")
    yield run
    yield from run
    results = run.results()
    if folder is None:
        return results
    return {name: open_zarr(path) for name, path in results.items()}


class PredictionWidget(DockWidget):
    """Pick a layer and a model; Run writes <layer>_denoised (and optional extras)."""

    def __init__(self, napari_viewer) -> None:
        super().__init__(napari_viewer)
        self.loaded_model: PN2VModel | None = None
        self._source = None
        self._folder: Path | None = None

        self.image = LayerCombo(napari_viewer)
        self.axes = AxesField()
        self.image_label = QLabel()
        self.image_label.setWordWrap(True)
        self.model_source = QComboBox()
        self.model_source.addItems(["from the Training widget", "from a file"])
        self.load_button = QPushButton("Load model…")
        self.model_label = QLabel()
        self.model_label.setWordWrap(True)
        self.form = ConfigForm(
            (PredictionConfig, ("tile", "overlap", "device", "precision", "augment"))
        )
        self.tile, self.overlap, self.device = (self.form[n] for n in ("tile", "overlap", "device"))
        self.results = FileEdit(mode="d", tooltip=RESULTS_HELP)
        self.results.line_edit.native.setPlaceholderText("beside the image's file")
        self.with_prior = QCheckBox("prior mean")
        self.with_std = QCheckBox("uncertainty (posterior std)")
        self.run_button = QPushButton("Denoise")
        self.stop_button = QPushButton("Stop")
        self.progress = ProgressBar(format="tile %v/%m")
        self.status = QLabel()
        self.status.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Image layer", self.image)
        form.addRow("Axes", self.axes)
        form.addRow("", self.image_label)
        form.addRow("Model", hbox(self.model_source, self.load_button))
        form.addRow("", self.model_label)
        form.addRow("Also add", hbox(self.with_prior, self.with_std))
        form.addRow("Results folder", self.results.native)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.form.native)
        layout.addLayout(hbox(self.run_button, self.stop_button))
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addStretch()

        self.image.currentTextChanged.connect(self._show_stack)
        self.axes.textChanged.connect(self._show_stack)
        self.model_source.currentIndexChanged.connect(self._update)
        self.listen(self.session.model_changed, self._new_model)
        self.model_source.currentIndexChanged.connect(self._show_stack)
        napari_viewer.layers.selection.events.active.connect(self._follow_selection)
        self.load_button.clicked.connect(
            file_action(
                self, "Load model", f"{MODEL_FILTER};;{PACKAGE_FILTER}", False, self.load_from
            )
        )
        self.run_button.clicked.connect(guarded(self.run))
        self.stop_button.clicked.connect(self.stop)
        active = napari_viewer.layers.selection.active
        if isinstance(active, Image) and not active.rgb:
            self.image.setCurrentText(active.name)
        self._new_model(self.session.model)  # the layers it was trained on, if any

    def _new_model(self, model: PN2VModel | None) -> None:
        """A model from the training widget: denoise what it was trained on."""
        trained_on = [n for n in self.session.trained_on if n in self.viewer.layers]
        if model is not None and trained_on and self.model_source.currentIndex() == 0:
            self.image.setCurrentText(trained_on[0])
        self._update()
        self._show_stack()

    def _follow_selection(self, event) -> None:
        """The layer the user selects becomes the image to denoise."""
        if not alive(self):
            return
        layer = event.value
        if isinstance(layer, Image) and not layer.rgb and self.worker is None:
            self.image.setCurrentText(layer.name)

    def _dims(self) -> int:
        """The chosen model's network dimensionality (2 before there is a model)."""
        model = self.model()
        return 2 if model is None else model.config.dims

    def _show_stack(self, *_: object) -> None:
        """What the chosen layer holds, as the chosen model's network will see it."""
        layer = self.image.layer()
        if layer is None:
            self.image_label.setText("")
            return
        try:
            self.image_label.setText(describe_stack(layer, self._dims(), self.axes.axes()))
        except PN2VError as error:
            self.image_label.setText(str(error))

    def model(self) -> PN2VModel | None:
        if self.model_source.currentIndex() == 0:
            return self.session.model
        return self.loaded_model

    def _update(self, *_: object) -> None:
        model = self.model()
        if model is None:
            self.model_label.setText("none: train one in '2. Training' or load a file")
        else:
            config = model.config
            self.model_label.setText(
                f"{config.mode.upper()}, {config.dims}-D, depth "
                f"{config.depth}, {config.features} features, "
                f"{model.epochs_trained} epochs"
                + (f", one per channel ({len(model)})" if hasattr(model, "models") else "")
                + (f", sub-images of {every(s)}" if (s := getattr(model, "shuffle", 1)) > 1 else "")
            )
        busy = self.worker is not None
        probabilistic = model is not None and model.is_probabilistic
        self.with_prior.setEnabled(probabilistic)
        self.with_std.setEnabled(probabilistic)
        self.load_button.setEnabled(self.model_source.currentIndex() == 1 and not busy)
        self.run_button.setEnabled(model is not None and not busy)
        self.stop_button.setEnabled(busy)

    def load_from(self, path: str) -> None:
        self.loaded_model = load_model(path)
        self.model_source.setCurrentIndex(1)
        self._update()
        self._show_stack()

    def run(self) -> None:
        model = self.model()
        if model is None:
            raise PN2VError("train a model or load a model file first")
        layer = self.image.layer()
        image = image_data(layer, "image to denoise")
        # refuses Y and X not last
        axes = layer_axes(layer, model.config.dims, channels=True, given=self.axes.axes())
        folder = None
        if is_lazy(image):  # keep it lazy: results go to zarr, shown as lazy layers
            folder = self._folder = results_folder(self.results.line_edit.value, layer)
        self._source = layer
        self._wanted = {"denoised"}
        if model.is_probabilistic:
            if self.with_prior.isChecked():
                self._wanted.add("prior_mean")
            if self.with_std.isChecked():
                self._wanted.add("std")
        job = PredictionJob(  # a channel axis: one model per channel
            model,
            image,
            tuple(sorted(self._wanted)),
            PredictionConfig(**self.form.values(PredictionConfig)),
            channel_axis=channel_axis(axes),
        )
        job.check()
        worker = _predict(
            job,
            folder,
            _unique_stem(folder, layer.name),
            _start_thread=False,
            _connect={
                "yielded": self._on_yield,
                "returned": self._add_layers,
                "errored": self._on_error,
                "aborted": self._on_stopped,
                "finished": self._on_finished,
            },
        )
        self.progress.setValue(0)
        self.status.setText(f"denoising {layer.name}…")
        self.start_worker(worker)
        self._update()

    def stop(self) -> None:
        """Stop after the tile under way; no layer is added."""
        self.stop_worker()

    def _on_yield(self, item) -> None:
        if isinstance(item, PredictionRun):
            self.progress.setRange(0, item.n_tiles)
            for message in item.warnings:
                warn(message)
            return
        self.progress.setValue(item[0])

    def _add_layers(self, outputs: dict) -> None:
        """On the GUI thread: new float32 layers with the source's scale and translate. Lazy
        (zarr) results get contrast limits without reading them all: the source's for the
        estimates, a sample's for the uncertainty."""
        source = self._source
        added = []
        for key in ("denoised", "prior_mean", "std"):
            if key not in self._wanted:
                continue
            suffix, colormap = OUTPUTS[key]
            data = outputs[key]
            limits = None
            if isinstance(data, np.ndarray):
                data = data.astype(np.float32, copy=False)
            elif key == "std":
                sample = np.asarray(
                    data[(*(0,) * (data.ndim - 2), slice(None, None, 8), slice(None, None, 8))]
                )
                limits = (0.0, max(float(sample.max()), 1e-6))
            else:
                limits = tuple(source.contrast_limits)
            layer = self.viewer.add_image(
                data,
                name=f"{source.name}_{suffix}",
                scale=source.scale,
                translate=source.translate,
                axis_labels=source.axis_labels,
                units=source.units,
                colormap=colormap,
                contrast_limits=limits,
                metadata={"pn2v_source": source.name},
            )
            added.append(layer.name)
        lazy = not isinstance(outputs["denoised"], np.ndarray)
        self.status.setText(
            "added " + ", ".join(added) + (f" (lazy, written to {self._folder})" if lazy else "")
        )

    def _on_stopped(self) -> None:
        self.status.setText("stopped; no layer added")

    def _on_error(self, error: Exception) -> None:
        self.status.setText(f"failed: {error}")
        report(error)

    def _on_finished(self) -> None:
        self.worker = None
        self._update()


def _unique_stem(folder: Path | None, name: str) -> str:
    """A file stem for a layer's results that earlier results in ``folder`` do not use."""
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "image"
    if folder is None:
        return stem
    candidate, number = stem, 1
    while any(folder.glob(f"{candidate}_*")):
        number += 1
        candidate = f"{stem}-{number}"
    return candidate
