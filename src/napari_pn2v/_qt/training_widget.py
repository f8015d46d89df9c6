"""Dock widget 2: train PN2V or N2V in a worker thread, with a live loss plot."""

from __future__ import annotations

from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from napari.layers import Image
from napari.qt.threading import thread_worker
from napari.utils.notifications import show_info
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QFormLayout, QGridLayout, QLabel, QPushButton, QVBoxLayout

from ..backend.errors import PN2VError
from ..backend.network.config import ModelConfig
from ..backend.noise.registry import load_noise_model
from ..backend.training.config import Progress, TrainConfig
from ..jobs.export import ExportJob
from ..jobs.training import TrainingJob, TrainingRun, start_for, warm_up
from .axes_field import AxesField
from .common import (
    MODEL_FILTER,
    NOISE_MODEL_FILTER,
    PACKAGE_FILTER,
    file_action,
    guarded,
    report,
    warn,
)
from .layers import LayerChecklist, image_data, layer_images
from .loss_plot import LossPlot
from .progress import ProgressBar
from .training_settings import FIELDS, TrainingSettings
from .workers import DockWidget, alive, warm_up_once

if TYPE_CHECKING:
    from ..backend.network.model import PN2VModel
    from ..backend.noise.base import NoiseModel


class State(Enum):
    IDLE = "no model yet"
    TRAINING = "training…"
    DONE = "done"
    STOPPED = "stopped (best model so far kept)"
    FAILED = "failed"


@thread_worker
def _train(job: TrainingJob):
    """Yields the run first (so the widget can ask it to stop), each step, then what is left;
    returns the best model, made here (its spread's choice and the guard's check take seconds),
    not on the GUI thread. Lazy layers too big to load are read patch by patch."""
    run = job.start()
    yield run
    yield from run
    if run.finishing:
        yield run.finishing
    return run.best_model()


@thread_worker
def _export(job: ExportJob) -> Path:
    """Tracing the model and running the test data take seconds: not on the GUI thread."""
    return job.run()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TrainingWidget(DockWidget):
    """Pick images and settings; Train/Stop, Continue, Reset, Save."""

    def __init__(self, napari_viewer) -> None:
        super().__init__(napari_viewer)
        self.state = State.IDLE
        self.run: TrainingRun | None = None
        self.model: PN2VModel | None = None
        self._layers_used: list[str] = []

        self.layers = LayerChecklist(napari_viewer)
        self.noise_label = QLabel()
        self.noise_label.setWordWrap(True)
        self.load_noise_button = QPushButton("Load noise model…")
        self.panel = TrainingSettings(napari_viewer)
        shared = ("mode", "network", "preset", "device", "device_label", "validation", "settings")
        for name in (*shared, *FIELDS):  # the settings panel's fields, as this widget's
            setattr(self, name, getattr(self.panel, name))

        self.axes = AxesField()
        self.train_button = QPushButton("Train")
        self.continue_button = QPushButton("Continue training")
        self.reset_button = QPushButton("Reset")
        self.save_button = QPushButton("Save model…")
        self.export_button = QPushButton("Export for bioimage.io…")
        self.export_button.setToolTip(
            "a .zip for deepImageJ (Fiji), bioimageio.core and other bioimage.io tools; "
            "for PN2V it gives the MMSE. Needs napari-pn2v[bioimageio]"
        )
        self.epoch_bar = ProgressBar(format="epoch %v/%m")
        self.step_bar = ProgressBar(format="step %v/%m")
        self.status = QLabel(State.IDLE.value)
        self.status.setWordWrap(True)
        self.plot = LossPlot()

        form = QFormLayout()
        form.addRow("Training layers", self.layers)
        form.addRow("Axes", self.axes)
        noise = QVBoxLayout()
        noise.addWidget(self.noise_label)
        noise.addWidget(self.load_noise_button)
        form.addRow("Noise model", noise)
        buttons = QGridLayout()
        buttons.addWidget(self.train_button, 0, 0)
        buttons.addWidget(self.continue_button, 0, 1)
        buttons.addWidget(self.reset_button, 1, 0)
        buttons.addWidget(self.save_button, 1, 1)
        buttons.addWidget(self.export_button, 2, 0, 1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.panel)
        layout.addLayout(buttons)
        layout.addWidget(self.epoch_bar)
        layout.addWidget(self.step_bar)
        layout.addWidget(self.status)
        layout.addWidget(self.plot)

        self.mode.currentTextChanged.connect(self._update_enabled)
        self.network.currentTextChanged.connect(self._update_enabled)
        self.train_button.clicked.connect(guarded(self._train_or_stop))
        self.continue_button.clicked.connect(guarded(self.continue_training))
        self.reset_button.clicked.connect(guarded(self.reset))
        self.save_button.clicked.connect(
            file_action(self, "Save model", MODEL_FILTER, True, self.save_to)
        )
        self.export_button.clicked.connect(
            file_action(self, "Export for bioimage.io", PACKAGE_FILTER, True, self.export_to)
        )
        self.load_noise_button.clicked.connect(
            file_action(self, "Load noise model", NOISE_MODEL_FILTER, False, self.load_noise)
        )
        self.listen(self.session.noise_model_changed, self._show_noise_model)
        events = napari_viewer.layers.events
        for event in (events.inserted, events.removed):  # after napari selects the new layer
            event.connect(lambda *_: QTimer.singleShot(0, self._tick_default))
        napari_viewer.layers.selection.events.active.connect(self._tick_default)
        self._show_noise_model(self.session.noise_model)
        self._update_enabled()
        warm_up_once(warm_up)  # the first training's imports, now rather than mid-training

    # ---------------------------------------------------------------- settings
    def train_config(self) -> TrainConfig:
        return self.panel.train_config()

    def model_config(self) -> ModelConfig:
        return self.panel.model_config()

    def _tick_default(self, *_: object) -> None:
        """With nothing ticked, tick the selected image layer, or the one visible image layer
        that is not the noise model's calibration data: a first Train needs no other click."""
        if not alive(self) or self.layers.checked_names() or self.state is State.TRAINING:
            return
        candidates = [
            layer
            for layer in self.viewer.layers
            if isinstance(layer, Image)
            and not layer.rgb
            and layer.visible
            and layer.name != self.session.noise_source
        ]
        active = self.viewer.layers.selection.active
        picked = [active] if active in candidates else candidates
        if len(picked) == 1:
            self.layers.set_checked([picked[0].name])

    def _show_noise_model(self, model: NoiseModel | None) -> None:
        if model is None:
            self.noise_label.setText("none: build one in '1. Noise model' or load a file")
        else:
            lo, hi = model.signal_range
            self.noise_label.setText(f"{model.kind}, signals {lo:.4g}–{hi:.4g}")
        self._tick_default()
        self._update_enabled()

    # ---------------------------------------------------------------- state
    def _set_state(self, state: State, detail: str = "") -> None:
        self.state = state
        self.status.setText(state.value + (f": {detail}" if detail else ""))
        self._update_enabled()

    def _update_enabled(self, *_: object) -> None:
        training = self.state is State.TRAINING
        exporting = self.worker is not None and not training
        has_model = self.model is not None
        self.train_button.setText("Stop" if training else "Train")
        self.train_button.setEnabled(not exporting)
        self.continue_button.setEnabled(has_model and not training and not exporting)
        self.reset_button.setEnabled(
            not training and not exporting and (has_model or self.state is State.FAILED)
        )
        self.save_button.setEnabled(has_model and not training)
        self.export_button.setEnabled(has_model and self.worker is None)
        for widget in (self.layers, self.load_noise_button):
            widget.setEnabled(not training)
        self.panel.set_training(training)

    # ---------------------------------------------------------------- actions
    def _train_or_stop(self) -> None:
        if self.state is State.TRAINING:
            self.stop()
        else:
            self.train()

    def train(self) -> None:
        """Start a fresh model on the checked layers."""
        self.plot.clear_points()
        self._start(model=None)

    def continue_training(self) -> None:
        """Train the current model further, on the checked layers, with the current settings."""
        if self.model is None:
            raise PN2VError("train a model first")
        self.plot.start_run()
        self._start(model=self.model.copy())

    def stop(self) -> None:
        """Stop within about a second, keeping the best model so far."""
        if self.worker is not None:
            self.status.setText("stopping…")
            self._outcome = State.STOPPED
            self.stop_worker()

    def _request_stop(self) -> None:
        if self.run is not None:  # the run returns its best model
            self.run.request_stop()
        elif self.worker is not None:  # still reading the data: nothing to keep
            self.worker.quit()

    def reset(self) -> None:
        self.model = None
        self.run = None
        self.plot.clear_points()
        self.epoch_bar.reset()
        self.step_bar.reset()
        self._set_state(State.IDLE)

    def _start(self, model: PN2VModel | None) -> None:
        layers = self.layers.layers()
        if not layers:
            raise PN2VError("tick at least one image layer to train on")
        network = self.model_config() if model is None else model.config
        axes = self.axes.axes()
        images, channels = layer_images(layers, network.dims, "training data", axes)
        job = TrainingJob(
            images,
            self.train_config(),
            network,
            noise_model=self.session.noise_model,
            resume=model,
            start_from=start_for(self.session.n2v, network, len(channels or [None])),
            channels=channels is not None,  # one model per channel
            channel_names=channels,
        )
        held_out = self.validation.layer()
        if held_out is not None:
            if held_out in layers:
                raise PN2VError(
                    f"{held_out.name} is ticked for training too: validate on a "
                    "layer of other scenes, or on held-out frames or a region"
                )
            job.validation = layer_images([held_out], network.dims, "validation data", axes)[0]
        job.check()
        config = job.config
        self._layers_used = [layer.name for layer in layers]
        self.epoch_bar.setRange(0, config.epochs)
        self.epoch_bar.setValue(0)
        self.step_bar.setRange(0, config.steps_per_epoch)
        self.step_bar.setValue(0)
        self.run = None
        worker = _train(
            job,
            _start_thread=False,
            _connect={
                "yielded": self._on_yield,
                "returned": self._on_trained,
                "errored": self._on_error,
                "aborted": self._on_stopped,
                "finished": self._on_finished,
            },
        )
        self._outcome, self._channel = State.DONE, None
        self._trained: PN2VModel | None = None
        self._set_state(State.TRAINING)
        self.start_worker(worker, self._request_stop)

    def _on_yield(self, item: TrainingRun | Progress | str) -> None:
        if isinstance(item, TrainingRun):
            self.run = item
            for message in item.warnings:
                warn(message)
            return
        if isinstance(item, str):  # what the run does after its last step
            self.status.setText(item)
            return
        if item.channel != self._channel:  # the next channel's losses draw on after
            self._channel = item.channel
            self.plot.start_run()
        self.plot.add(item)
        self.epoch_bar.setMaximum(item.epochs)  # under a time budget: as the pace allows
        self.epoch_bar.setValue(item.epoch - (item.step < item.steps))
        self.step_bar.setValue(item.step)
        losses = f"loss {item.train_loss:.4g}"
        if item.best_val_loss is not None:
            losses += f", best validation {item.best_val_loss:.4g}"
        self.status.setText(
            f"{State.TRAINING.value} {item.channel + ', ' if item.channel else ''}epoch "
            f"{item.epoch}/{item.epochs}, {losses} · "
            f"{_clock(item.elapsed)} elapsed, ~{_clock(item.remaining)} left"
        )

    def _on_error(self, error: Exception) -> None:
        self._outcome = State.FAILED
        self._error = str(error)
        report(error)

    def _on_stopped(self) -> None:
        self._outcome = State.STOPPED

    def _on_trained(self, model: PN2VModel) -> None:
        self._trained = model

    def _on_finished(self) -> None:
        self.worker = None
        detail = ""
        if self._outcome is State.FAILED:
            detail = self._error
        elif self._trained is not None:
            self.model = self._trained
            self.session.trained_on = list(self._layers_used)
            self.session.model = self.model
            for message in TrainingRun.messages(self.model):
                warn(message)
            detail = TrainingRun.summary(self.model, self.run.best_val_loss)
        self._set_state(self._outcome, detail)

    # ---------------------------------------------------------------- files
    def save_to(self, path: str) -> None:
        if self.model is None:
            raise PN2VError("train a model first")
        self.model.save(path)

    def export_to(self, path: str) -> None:
        """Write the model as a bioimage.io package; its test data come from the layer it
        was trained on (or the first ticked one)."""
        if self.model is None:
            raise PN2VError("train a model first")
        names = [*self.session.trained_on, *self.layers.checked_names()]
        layer = next((self.viewer.layers[n] for n in names if n in self.viewer.layers), None)
        if layer is None:
            raise PN2VError("add the image the model denoises: it makes the package's test data")
        path += "" if path.lower().endswith(".zip") else ".zip"
        job = ExportJob(
            self.model.copy(),
            image_data(layer, "image for the package's test data"),
            path,
            training=asdict(self.train_config()),
        )
        job.check()
        worker = _export(
            job,
            _start_thread=False,
            _connect={
                "returned": lambda written: show_info(f"wrote {written}"),
                "errored": report,
                "finished": self._on_exported,
            },
        )
        self.start_worker(worker)
        self._update_enabled()

    def _on_exported(self) -> None:
        self.worker = None
        if alive(self):
            self._update_enabled()

    def load_noise(self, path: str) -> None:
        """Load a noise-model file into the viewer's session (the Noise model widget shows it)."""
        self.session.noise_model = load_noise_model(path)
