"""Dock widget 1: build, inspect, save and load a noise model of any kind."""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

from napari.qt.threading import thread_worker
from qtpy.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ..backend.errors import PN2VError, Stopped
from ..backend.network.config import ModelConfig
from ..backend.noise.registry import load_noise_model
from ..backend.training.config import Progress, preset
from ..jobs.noise_model import NoiseModelJob, NoiseModelResult
from .axes_field import AxesField
from .common import NOISE_MODEL_FILTER, file_action, guarded, hbox, report, warn
from .forms import config_widget, read_value
from .layers import LayerCombo, image_data, layer_images
from .noise_plot import NoiseModelPlot
from .progress import ProgressBar
from .workers import DockWidget

if TYPE_CHECKING:
    from ..backend.network.model import PN2VModel
    from ..backend.noise.base import NoiseModel

#: the job's settings the widget offers, each a form field made from the job's own
SETTINGS = ("fit", "components", "degree", "bins", "min_std", "as_histogram")
KINDS = {
    "Histogram (calibration data)": "histogram",
    "GMM (calibration data)": "gmm",
    "Poisson–Gaussian (camera or images)": "poisson-gaussian",
    "Bootstrap (noisy images only)": "bootstrap",
}
#: how bootstrapping trains N2V: minutes on a laptop CPU
BOOTSTRAP_TRAINING = preset("quick")
BOOTSTRAP_NETWORK = ModelConfig(mode="n2v")


@thread_worker
def _build(job: NoiseModelJob) -> Generator[Progress, None, NoiseModelResult]:
    """Yields N2V's training progress while bootstrapping; returns what was built."""
    return (yield from job.steps())


def row(*widgets: QWidget) -> QWidget:
    """Widgets side by side in one form row that can be shown and hidden as a whole."""
    container = QWidget()
    layout = hbox(*widgets)
    layout.setContentsMargins(0, 0, 0, 0)
    container.setLayout(layout)
    return container


class NoiseModelWidget(DockWidget):
    """Choose a kind and its data, build (in a worker), look at the fit, save, load."""

    def __init__(self, napari_viewer) -> None:
        super().__init__(napari_viewer)
        self.built: NoiseModelResult | None = None

        self.kind = QComboBox()
        self.kind.addItems(list(KINDS))
        self.kind.setToolTip(
            "Histogram or GMM: from calibration data (frames of a static scene, or a clean "
            "signal with noisy recordings). Poisson–Gaussian: from your camera's gain, offset "
            "and read noise, or estimated from noisy images. Bootstrap: trains N2V on noisy "
            "images and fits a model to its predictions — no calibration data at all."
        )
        self.from_calibration = QRadioButton("calibration stack")
        self.from_pairs = QRadioButton("signal + observations")
        self.from_calibration.setChecked(True)
        self.from_calibration.setToolTip(
            "Frames of a static scene (e.g. a half-closed, out-of-focus field diaphragm) "
            "covering the intensities of your data; the signal is their per-pixel mean."
        )
        self.from_pairs.setToolTip("A clean signal image and noisy recordings of the same scene.")
        source = QButtonGroup(self)
        source.addButton(self.from_calibration)
        source.addButton(self.from_pairs)
        self.calibration = LayerCombo(napari_viewer)
        self.signal = LayerCombo(napari_viewer)
        self.observations = LayerCombo(napari_viewer)
        self.images = LayerCombo(napari_viewer)
        self.images.setToolTip(
            "Noisy images: estimated from (Poisson–Gaussian), trained on "
            "(bootstrap), or checked against the camera parameters."
        )
        self.use_camera = QCheckBox("camera parameters")
        self.gain = QDoubleSpinBox(minimum=1e-4, maximum=1e6, decimals=4, value=1.0)
        self.offset = QDoubleSpinBox(minimum=-1e9, maximum=1e9, decimals=2, value=0.0)
        self.read_noise = QDoubleSpinBox(minimum=0.0, maximum=1e6, decimals=3, value=1.0)
        for box, tip in (
            (self.gain, "grey levels per photon"),
            (self.offset, "grey level with no light"),
            (self.read_noise, "read-noise standard deviation, grey levels"),
        ):
            box.setToolTip(tip)
        # the job's own settings, made from its fields as the command line's options are
        for name in SETTINGS:
            setattr(self, name, config_widget(NoiseModelJob, name))
        self.auto_range = QCheckBox("from the data", checked=True)
        self.range_min = QDoubleSpinBox(minimum=-1e9, maximum=1e9, decimals=2, value=0)
        self.range_max = QDoubleSpinBox(minimum=-1e9, maximum=1e9, decimals=2, value=256)
        self.axes = AxesField()
        self.build_button = QPushButton("Build noise model")
        self.stop_button = QPushButton("Stop")
        self.progress = ProgressBar()
        self.progress.setFormat("N2V %v / %m steps")
        self.save_button = QPushButton("Save…")
        self.load_button = QPushButton("Load…")
        self.summary = QLabel("No noise model yet: build one above, or load a file.")
        self.summary.setWordWrap(True)
        self.channel = QComboBox()  # which channel's noise model the plot shows
        self.channel.setToolTip("the channel whose noise model is plotted")
        self.plot = NoiseModelPlot()

        form = QFormLayout()
        self.rows = {
            "source": ("Source", row(self.from_calibration, self.from_pairs)),
            "calibration": ("Calibration layer", self.calibration),
            "signal": ("Signal layer", self.signal),
            "observations": ("Observation layer", self.observations),
            "images": ("Noisy images", self.images),
            "axes": ("Axes", self.axes),
            "camera": ("Camera", row(self.use_camera, self.gain, self.offset, self.read_noise)),
            **{name: (getattr(self, name).label, getattr(self, name).native) for name in SETTINGS},
            "range": ("Range", row(self.auto_range, self.range_min, self.range_max)),
        }
        form.addRow("Kind", self.kind)
        for label, field_widget in self.rows.values():
            form.addRow(label, field_widget)
        self.form = form
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(hbox(self.build_button, self.stop_button))
        layout.addWidget(self.progress)
        layout.addLayout(hbox(self.save_button, self.load_button))
        layout.addWidget(self.summary)
        layout.addWidget(self.channel)
        layout.addWidget(self.plot)

        for signal in (
            self.from_calibration.toggled,
            self.auto_range.toggled,
            self.use_camera.toggled,
            self.kind.currentTextChanged,
            self.fit.changed,
            self.as_histogram.changed,
        ):
            signal.connect(self._update_enabled)
        self.build_button.clicked.connect(guarded(self.build))
        self.stop_button.clicked.connect(self.stop)
        self.save_button.clicked.connect(
            file_action(self, "Save noise model", NOISE_MODEL_FILTER, True, self.save_to)
        )
        self.load_button.clicked.connect(
            file_action(self, "Load noise model", NOISE_MODEL_FILTER, False, self.load_from)
        )
        self.channel.currentIndexChanged.connect(lambda _: self._show(self.session.noise_model))
        self.listen(self.session.noise_model_changed, self._show)
        self.listen(self.session.model_changed, self._show_check)
        self._update_enabled()
        self._show(self.session.noise_model)

    @property
    def kind_key(self) -> str:
        return KINDS[self.kind.currentText()]

    def _update_enabled(self, *_: object) -> None:
        kind = self.kind_key
        calibrated = kind in ("histogram", "gmm")
        calibration = self.from_calibration.isChecked()
        histogram = kind == "histogram" or (kind == "bootstrap" and self.fit.value == "histogram")
        camera = self.use_camera.isChecked()
        pg_histogram = kind == "poisson-gaussian" and self.as_histogram.value
        shown = {
            "source": calibrated,
            "calibration": calibrated and calibration,
            "signal": calibrated and not calibration,
            "observations": calibrated and not calibration,
            "images": not calibrated,
            "axes": calibration or not calibrated,
            "camera": kind == "poisson-gaussian",
            "fit": kind == "bootstrap",
            "components": kind == "gmm",
            "degree": kind == "gmm",
            "min_std": kind in ("gmm", "poisson-gaussian"),
            "as_histogram": kind == "poisson-gaussian",
            "bins": histogram or pg_histogram,
            "range": kind == "histogram" or pg_histogram,
        }
        for name, visible in shown.items():
            field_widget = self.rows[name][1]
            field_widget.setVisible(visible)
            self.form.labelForField(field_widget).setVisible(visible)
        for box in (self.gain, self.offset, self.read_noise):
            box.setEnabled(camera)
        self.range_min.setEnabled(not self.auto_range.isChecked())
        self.range_max.setEnabled(not self.auto_range.isChecked())
        busy = self.worker is not None
        self.build_button.setEnabled(not busy)
        self.stop_button.setVisible(kind == "bootstrap")
        self.stop_button.setEnabled(busy)
        self.progress.setVisible(kind == "bootstrap")
        self.save_button.setEnabled(self.session.noise_model is not None and not busy)

    def settings(self) -> dict:
        """The job's settings as the form gives them, by field name."""
        return {name: read_value(NoiseModelJob, name, getattr(self, name)) for name in SETTINGS}

    def job(self) -> NoiseModelJob:
        """The job from the chosen layers and settings (plain arrays, numbers)."""
        kind = self.kind_key
        job = NoiseModelJob(
            kind,
            **self.settings(),
            training=BOOTSTRAP_TRAINING,
            network=BOOTSTRAP_NETWORK,
            plot_data=True,
        )
        if (kind == "histogram" or job.as_histogram) and not self.auto_range.isChecked():
            job.value_range = (self.range_min.value(), self.range_max.value())
        self._source_layer = None
        names = None  # with channels, one noise model each
        if kind in ("histogram", "gmm"):
            if self.from_calibration.isChecked():
                calibration, names = layer_images(
                    [self.calibration.layer()], 2, "calibration stack", self.axes.axes()
                )
                job.calibration = calibration[0]
                self._source_layer = self.calibration.currentText()
            else:
                job.signal = image_data(self.signal.layer(), "signal")
                job.observations = image_data(self.observations.layer(), "observations")
                self._source_layer = self.observations.currentText()
        elif kind == "poisson-gaussian" and self.use_camera.isChecked():
            job.camera = (self.gain.value(), self.offset.value(), self.read_noise.value())
            if self.images.layer() is not None:  # optional: shown against the model
                job.images = [image_data(self.images.layer(), "noisy images")]
        else:
            job.images, names = layer_images(
                [self.images.layer()], 2, "noisy images", self.axes.axes()
            )
        job.channels, job.channel_names = names is not None, names
        job.source()
        return job

    def build(self) -> None:
        """Build the chosen kind in a worker thread."""
        job = self.job()
        self.summary.setText("Building…")
        self.progress.setValue(0)
        channels = len(job.channel_names or [None])  # a bootstrap trains one N2V per channel
        self.progress.setMaximum(job.training.epochs * job.training.steps_per_epoch * channels)
        worker = _build(
            job,
            _start_thread=False,
            _connect={
                "yielded": self._step,
                "returned": self._built,
                "errored": self._failed,
                "finished": self._done,
                "aborted": self._stopped,
            },
        )
        self._steps = 0
        self.start_worker(worker, lambda: (job.request_stop(), worker.quit()))
        self._update_enabled()

    def stop(self) -> None:
        self.stop_worker()

    def _step(self, _: Progress) -> None:
        self._steps += 1
        self.progress.setValue(self._steps)

    def _built(self, built: NoiseModelResult) -> None:
        for message in [*built.notes, *built.warnings]:
            warn(message)
        self.built = built
        self.session.noise_source = self._source_layer  # calibration data is not for training
        self.session.noise_model = built.model
        self.session.n2v = built.n2v  # a bootstrap's: the training starts from it

    def _stopped(self) -> None:
        self.summary.setText("Stopped; no noise model was made.")

    def _failed(self, error: Exception) -> None:
        if isinstance(error, Stopped):
            self._stopped()
            return
        self.summary.setText(f"Failed: {error}")
        report(error)

    def _done(self) -> None:
        self.worker = None
        self._update_enabled()

    def _show(self, model: NoiseModel | None) -> None:
        self.plot.setVisible(model is not None)  # no axes without something on them
        channels = getattr(model, "names", None)  # one noise model per channel
        self.channel.setVisible(channels is not None)
        if model is None:
            self.summary.setText("No noise model yet: build one above, or load a file.")
        else:
            self.summary.setText(model.summary())
            built = self.built if self.built is not None and self.built.model is model else None
            if channels is not None:  # the chosen channel's
                if [self.channel.itemText(i) for i in range(self.channel.count())] != channels:
                    self.channel.blockSignals(True)
                    self.channel.clear()
                    self.channel.addItems(channels)
                    self.channel.blockSignals(False)
                index = max(self.channel.currentIndex(), 0)
                model, built = model[index], built.channels[index] if built else None
            self.plot.show_model(model, built)
        self._update_enabled()

    def _show_check(self, model: PN2VModel | None) -> None:
        """A model trained with the shown noise model brings its guard's findings."""
        same = model is not None and model.noise_model is self.session.noise_model
        self.plot.mark(model.noise_check if same else None)

    def save_to(self, path: str) -> None:
        if self.session.noise_model is None:
            raise PN2VError("build or load a noise model first")
        self.session.noise_model.save(path)

    def load_from(self, path: str) -> None:
        self.session.noise_model = load_noise_model(path)
