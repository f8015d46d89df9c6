"""Dock widget 1: build, inspect, save and load a noise model of any kind."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from napari.qt.threading import thread_worker
from qtpy.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..backend import (
    QUICK,
    GaussianMixtureNoiseModel,
    HistogramNoiseModel,
    ModelConfig,
    NoiseModel,
    PN2VError,
    PN2VModel,
    PoissonGaussianNoiseModel,
    TrainConfig,
    Trainer,
    estimate_poisson_gaussian,
    load_noise_model,
)
from ..backend.bootstrap import FITS, bootstrap_pairs, fit_noise_model
from ..backend.images import as_stack, calibration_pairs, drift_note
from ..backend.noise_checks import (
    NoiseCheck,
    NoiseLevelData,
    measured_levels,
    model_std,
    subsample_pairs,
)
from ..backend.poisson_gaussian import noise_levels
from .common import (
    NOISE_MODEL_FILTER,
    DockWidget,
    LayerCombo,
    file_action,
    guarded,
    hbox,
    image_data,
    report,
    warn,
)

#: how many p(x|s) curves the plot shows
N_CURVES = 5
KINDS = {"Histogram (calibration data)": "histogram",
         "GMM (calibration data)": "gmm",
         "Poisson–Gaussian (camera or images)": "poisson-gaussian",
         "Bootstrap (noisy images only)": "bootstrap"}
#: how bootstrapping trains N2V: minutes on a laptop CPU
BOOTSTRAP_TRAINING = dict(QUICK, val_fraction=0.1)
BOOTSTRAP_NETWORK = dict(depth=3, features=64)


@dataclass
class Request:
    """What to build, as plain data (arrays, numbers), for the worker thread."""

    kind: str
    calibration: np.ndarray | None = None
    signal: np.ndarray | None = None
    observations: np.ndarray | None = None
    images: np.ndarray | None = None
    camera: tuple[float, float, float] | None = None
    bins: int = 256
    value_range: tuple[float, float] | None = None
    components: int = 3
    fit: str = "gmm"
    training: dict = field(default_factory=lambda: dict(BOOTSTRAP_TRAINING))
    network: dict = field(default_factory=lambda: dict(BOOTSTRAP_NETWORK))


@dataclass
class Built:
    """A noise model and the data it was made from, as the plot shows them."""

    model: NoiseModel
    levels: NoiseLevelData | None = None
    pairs: tuple[np.ndarray, np.ndarray] | None = None
    messages: list[str] = field(default_factory=list)


@thread_worker
def _build(request: Request) -> Generator[tuple[int, int], None, Built]:
    """Yields (step, steps) while bootstrapping trains N2V; returns what was built."""
    kind = request.kind
    if kind in ("histogram", "gmm"):
        if request.calibration is not None:  # once, for the model, the plot and the note
            signal, observations = calibration_pairs(request.calibration)
        else:
            signal, observations = request.signal, request.observations
        if kind == "histogram":
            builder, options = HistogramNoiseModel, dict(bins=request.bins,
                                                         value_range=request.value_range)
        else:
            builder, options = GaussianMixtureNoiseModel, dict(components=request.components)
        model = builder.from_pairs(signal, observations, **options)
        pairs = subsample_pairs(signal, as_stack(observations, name="observations"))
        drift = drift_note(signal) if request.calibration is not None else None
        notes = [note for note in (getattr(model, "note", None), drift) if note]
        return Built(model, measured_levels(*pairs), pairs, notes)
    if kind == "poisson-gaussian":
        if request.camera is not None:
            model = PoissonGaussianNoiseModel.from_camera(*request.camera)
            found = noise_levels(request.images) if request.images is not None else None
        else:
            model, found = estimate_poisson_gaussian(request.images)
        levels = None if found is None else NoiseLevelData(
            found.means, np.sqrt(found.variances), found.counts)
        return Built(model, levels, None, found.messages if found is not None else [])
    # bootstrap: N2V with the quick preset, then a fit to its predictions
    config = TrainConfig(**request.training)
    trainer = Trainer(request.images, config, ModelConfig(mode="n2v", **request.network))
    total = config.epochs * config.steps_per_epoch
    for step, _ in enumerate(trainer, start=1):
        yield step, total
    signals, observations, messages = bootstrap_pairs(request.images, trainer.best_model())
    model = fit_noise_model(signals, observations, request.fit, request.bins)
    pairs = subsample_pairs(signals, observations)
    return Built(model, measured_levels(*pairs), pairs, messages)


def _display_range(model: NoiseModel, built: Built | None) -> tuple[float, float]:
    """Signals to plot over: the histogram's range, else the data's, else the model's."""
    if isinstance(model, HistogramNoiseModel):
        return model.low, model.high
    if built is not None and built.pairs is not None:
        return float(built.pairs[0].min()), float(built.pairs[0].max())
    if built is not None and built.levels is not None and built.levels.signals.size:
        return float(built.levels.signals.min()), float(built.levels.signals.max())
    low, high = model.signal_range
    return (low, high) if np.isfinite([low, high]).all() else (0.0, 1000.0)


class NoiseModelPlot(pg.GraphicsLayoutWidget):
    """log p(x|s) as an image; p(x|s) at five signals with the data's histogram there; the
    noise standard deviation against the signal, model line over measured points."""

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumHeight(380)
        self.histogram_plot = self.addPlot(title="log₁₀ p(x|s)")
        self.histogram_plot.setLabel("left", "signal s")
        self.histogram_plot.setLabel("bottom", "observation x")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.histogram_plot.addItem(self.image)
        self.curve_plot = self.addPlot(title="p(x|s): model (lines), data (dots)")
        self.curve_plot.setLabel("bottom", "observation x")
        self.curve_plot.addLegend(offset=(-5, 5))
        self.nextRow()
        self.std_plot = self.addPlot(colspan=2, title="noise std: model (line), data (dots)")
        self.std_plot.setLabel("bottom", "signal s")
        self.std_plot.setLabel("left", "std of x")
        self.curves: list[pg.PlotDataItem] = []
        self.data_points: list[pg.PlotDataItem] = []
        self.std_line = self.std_plot.plot(pen=pg.mkPen("w", width=2))
        self.std_points = self.std_plot.plot(pen=None, symbol="o", symbolSize=5,
                                             symbolBrush="#f0a030")
        self.flagged: list[pg.LinearRegionItem] = []

    def mark(self, check: NoiseCheck | None) -> None:
        """Shade the signal bands where the trained model's guard found too little noise in
        the noise model (red) or gave the prior mean instead of the MMSE (grey)."""
        for region in self.flagged:
            self.std_plot.removeItem(region)
        self.flagged = []
        if check is None:
            return
        under = set(check.under_predicted())
        for band, trusted in enumerate(check.trusted):
            if band not in under and trusted:
                continue
            colour = (230, 60, 60, 70) if band in under else (160, 160, 160, 60)
            region = pg.LinearRegionItem(check.edges[band:band + 2], movable=False,
                                         brush=pg.mkBrush(colour))
            region.setToolTip("the noise model gives too little noise here" if band in under
                              else "the prior mean is predicted here instead of the MMSE")
            self.std_plot.addItem(region)
            self.flagged.append(region)

    def show_model(self, model: NoiseModel, built: Built | None = None) -> None:
        lo, hi = _display_range(model, built)
        x_lo, x_hi = self._x_range(model, lo, hi)
        self._show_image(model, lo, hi, x_lo, x_hi)
        self.curve_plot.clear()
        self.curves, self.data_points = [], []
        x = np.linspace(x_lo, x_hi, 1024)
        width = (hi - lo) / 80
        for i, s in enumerate(np.linspace(lo, hi, N_CURVES + 2)[1:-1]):
            colour = pg.intColor(i, N_CURVES)
            self.curves.append(self.curve_plot.plot(
                x, model.likelihood_curve(s, x), pen=pg.mkPen(colour, width=2),
                name=f"s = {s:.4g}"))
            if built is not None and built.pairs is not None:
                near = np.abs(built.pairs[0] - s) < width
                if near.sum() >= 20:
                    density, edges = np.histogram(built.pairs[1][near], bins=40, density=True)
                    self.data_points.append(self.curve_plot.plot(
                        0.5 * (edges[1:] + edges[:-1]), density, pen=None, symbol="o",
                        symbolSize=4, symbolBrush=colour))
        signals = np.linspace(lo, hi, 60)
        self.std_line.setData(signals, model_std(model, signals, (x_lo, x_hi)))
        levels = built.levels if built is not None else None
        if levels is not None and levels.signals.size:
            self.std_points.setData(levels.signals, levels.stds)
        else:
            self.std_points.setData([], [])

    @staticmethod
    def _x_range(model: NoiseModel, lo: float, hi: float) -> tuple[float, float]:
        if isinstance(model, HistogramNoiseModel):
            return model.low, model.high
        spread = model_std(model, np.array([lo, hi]), (lo - (hi - lo), hi + (hi - lo)))
        return lo - 4 * spread[0], hi + 4 * spread[1]

    def _show_image(self, model: NoiseModel, lo: float, hi: float, x_lo: float,
                    x_hi: float) -> None:
        if isinstance(model, HistogramNoiseModel):
            image = model.density * model.bin_width
        else:
            s = np.linspace(lo, hi, 128)
            x = np.linspace(x_lo, x_hi, 128)
            image = np.stack([model.likelihood_curve(v, x) for v in s]) * (x[1] - x[0])
        self.image.setImage(np.log10(np.maximum(image, 1e-12)))
        self.image.setRect(x_lo, lo, x_hi - x_lo, hi - lo)


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
        self.built: Built | None = None

        self.kind = QComboBox()
        self.kind.addItems(list(KINDS))
        self.kind.setToolTip(
            "Histogram or GMM: from calibration data (frames of a static scene, or a clean "
            "signal with noisy recordings). Poisson–Gaussian: from your camera's gain, offset "
            "and read noise, or estimated from noisy images. Bootstrap: trains N2V on noisy "
            "images and fits a model to its predictions — no calibration data at all.")
        self.from_calibration = QRadioButton("calibration stack")
        self.from_pairs = QRadioButton("signal + observations")
        self.from_calibration.setChecked(True)
        self.from_calibration.setToolTip(
            "Frames of a static scene (e.g. a half-closed, out-of-focus field diaphragm) "
            "covering the intensities of your data; the signal is their per-pixel mean.")
        self.from_pairs.setToolTip("A clean signal image and noisy recordings of the same scene.")
        source = QButtonGroup(self)
        source.addButton(self.from_calibration)
        source.addButton(self.from_pairs)
        self.calibration = LayerCombo(napari_viewer)
        self.signal = LayerCombo(napari_viewer)
        self.observations = LayerCombo(napari_viewer)
        self.images = LayerCombo(napari_viewer)
        self.images.setToolTip("Noisy images: estimated from (Poisson–Gaussian), trained on "
                               "(bootstrap), or checked against the camera parameters.")
        self.use_camera = QCheckBox("camera parameters")
        self.gain = QDoubleSpinBox(minimum=1e-4, maximum=1e6, decimals=4, value=1.0)
        self.offset = QDoubleSpinBox(minimum=-1e9, maximum=1e9, decimals=2, value=0.0)
        self.read_noise = QDoubleSpinBox(minimum=0.0, maximum=1e6, decimals=3, value=1.0)
        for box, tip in ((self.gain, "grey levels per photon"),
                         (self.offset, "grey level with no light"),
                         (self.read_noise, "read-noise standard deviation, grey levels")):
            box.setToolTip(tip)
        self.fit = QComboBox()
        self.fit.addItems(list(FITS))
        self.fit.setCurrentText("gmm")
        self.components = QSpinBox(minimum=1, maximum=10, value=3)
        self.bins = QSpinBox(minimum=2, maximum=4096, value=256)
        self.auto_range = QCheckBox("from the data", checked=True)
        self.range_min = QDoubleSpinBox(minimum=-1e9, maximum=1e9, decimals=2, value=0)
        self.range_max = QDoubleSpinBox(minimum=-1e9, maximum=1e9, decimals=2, value=256)
        self.build_button = QPushButton("Build noise model")
        self.stop_button = QPushButton("Stop")
        self.progress = QProgressBar()
        self.progress.setFormat("N2V %v / %m steps")
        self.save_button = QPushButton("Save…")
        self.load_button = QPushButton("Load…")
        self.summary = QLabel("No noise model yet.")
        self.summary.setWordWrap(True)
        self.plot = NoiseModelPlot()

        form = QFormLayout()
        self.rows = {
            "source": ("Source", row(self.from_calibration, self.from_pairs)),
            "calibration": ("Calibration layer", self.calibration),
            "signal": ("Signal layer", self.signal),
            "observations": ("Observation layer", self.observations),
            "images": ("Noisy images", self.images),
            "camera": ("Camera", row(self.use_camera, self.gain, self.offset,
                                     self.read_noise)),
            "fit": ("Bootstrap fit", self.fit),
            "components": ("GMM components", self.components),
            "bins": ("Bins", self.bins),
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
        layout.addWidget(self.plot)

        for signal in (self.from_calibration.toggled, self.auto_range.toggled,
                       self.use_camera.toggled, self.kind.currentTextChanged,
                       self.fit.currentTextChanged):
            signal.connect(self._update_enabled)
        self.build_button.clicked.connect(guarded(self.build))
        self.stop_button.clicked.connect(self.stop)
        self.save_button.clicked.connect(
            file_action(self, "Save noise model", NOISE_MODEL_FILTER, True, self.save_to))
        self.load_button.clicked.connect(
            file_action(self, "Load noise model", NOISE_MODEL_FILTER, False, self.load_from))
        self.session.noise_model_changed.connect(self._show)
        self.session.model_changed.connect(self._show_check)
        self._update_enabled()
        if self.session.noise_model is not None:
            self._show(self.session.noise_model)

    @property
    def kind_key(self) -> str:
        return KINDS[self.kind.currentText()]

    def _update_enabled(self, *_: object) -> None:
        kind = self.kind_key
        calibrated = kind in ("histogram", "gmm")
        calibration = self.from_calibration.isChecked()
        histogram = kind == "histogram" or (kind == "bootstrap"
                                            and self.fit.currentText() == "histogram")
        camera = self.use_camera.isChecked()
        shown = {
            "source": calibrated, "calibration": calibrated and calibration,
            "signal": calibrated and not calibration,
            "observations": calibrated and not calibration,
            "images": not calibrated, "camera": kind == "poisson-gaussian",
            "fit": kind == "bootstrap", "components": kind == "gmm",
            "bins": histogram, "range": kind == "histogram",
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

    def request(self) -> Request:
        """The build request from the chosen layers and settings (plain arrays, numbers)."""
        kind = self.kind_key
        request = Request(kind, bins=self.bins.value(), components=self.components.value(),
                          fit=self.fit.currentText())
        if kind == "histogram" and not self.auto_range.isChecked():
            request.value_range = (self.range_min.value(), self.range_max.value())
        if kind in ("histogram", "gmm"):
            if self.from_calibration.isChecked():
                request.calibration = image_data(self.calibration.layer(), "calibration stack")
            else:
                request.signal = image_data(self.signal.layer(), "signal")
                request.observations = image_data(self.observations.layer(), "observations")
        elif kind == "poisson-gaussian" and self.use_camera.isChecked():
            request.camera = (self.gain.value(), self.offset.value(), self.read_noise.value())
            if self.images.layer() is not None:  # optional: shown against the model
                request.images = image_data(self.images.layer(), "noisy images")
        else:
            request.images = image_data(self.images.layer(), "noisy images")
        return request

    def build(self) -> None:
        """Build the chosen kind in a worker thread."""
        request = self.request()
        self.summary.setText("Building…")
        self.progress.setValue(0)
        self.worker = _build(request, _start_thread=False,
                             _connect={"yielded": self._step, "returned": self._built,
                                       "errored": self._failed, "finished": self._done,
                                       "aborted": self._stopped})
        self._update_enabled()
        self.worker.start()

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.quit()

    def _step(self, progress: tuple[int, int]) -> None:
        self.progress.setMaximum(progress[1])
        self.progress.setValue(progress[0])

    def _built(self, built: Built) -> None:
        for message in built.messages:
            warn(message)
        self.built = built
        self.session.noise_model = built.model

    def _stopped(self) -> None:
        self.summary.setText("Stopped; no noise model was made.")

    def _failed(self, error: Exception) -> None:
        self.summary.setText(f"Failed: {error}")
        report(error)

    def _done(self) -> None:
        self.worker = None
        self._update_enabled()

    def _show(self, model: NoiseModel | None) -> None:
        if model is None:
            self.summary.setText("No noise model yet.")
        else:
            self.summary.setText(model.summary())
            built = self.built if self.built is not None and self.built.model is model else None
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
