"""Dock widget 1: build, inspect, save and load the histogram noise model."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from napari.qt.threading import thread_worker
from qtpy.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
)

from ..backend import HistogramNoiseModel, PN2VError
from .common import (
    NOISE_MODEL_FILTER,
    DockWidget,
    LayerCombo,
    file_action,
    guarded,
    hbox,
    image_data,
    report,
)

#: how many p(x|s) curves the plot shows
N_CURVES = 5


@thread_worker
def _build(calibration: np.ndarray | None, signal: np.ndarray | None,
           observations: np.ndarray | None, bins: int,
           value_range: tuple[float, float] | None) -> HistogramNoiseModel:
    if calibration is not None:
        return HistogramNoiseModel.from_calibration(calibration, bins, value_range)
    return HistogramNoiseModel.from_pairs(signal, observations, bins, value_range)


class NoiseModelPlot(pg.GraphicsLayoutWidget):
    """The normalised histogram as an image, and p(x|s) for a few signals."""

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumHeight(220)
        self.histogram_plot = self.addPlot(title="log₁₀ p(x|s)")
        self.histogram_plot.setLabel("left", "signal s")
        self.histogram_plot.setLabel("bottom", "observation x")
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.histogram_plot.addItem(self.image)
        self.curve_plot = self.addPlot(title="p(x|s) for five signals")
        self.curve_plot.setLabel("bottom", "observation x")
        self.curve_plot.addLegend(offset=(-5, 5))
        self.curves: list[pg.PlotDataItem] = []

    def show_model(self, model: HistogramNoiseModel) -> None:
        span = model.high - model.low
        self.image.setImage(np.log10(model.density * model.bin_width))
        self.image.setRect(model.low, model.low, span, span)
        self.curve_plot.clear()
        self.curves = []
        lo, hi = model.signal_range
        x = np.linspace(model.low, model.high, 4 * model.bins, endpoint=False)
        for i, s in enumerate(np.linspace(lo, hi, N_CURVES + 2)[1:-1]):
            pen = pg.mkPen(pg.intColor(i, N_CURVES), width=2)
            self.curves.append(self.curve_plot.plot(x, model.likelihood_curve(s, x), pen=pen,
                                                    name=f"s = {s:.4g}"))


class NoiseModelWidget(DockWidget):
    """Pick a calibration stack (or signal + observations), build, look, save, load."""

    def __init__(self, napari_viewer) -> None:
        super().__init__(napari_viewer)

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
        self.bins = QSpinBox(minimum=2, maximum=4096, value=256)
        self.auto_range = QCheckBox("from the data", checked=True)
        self.range_min = QDoubleSpinBox(minimum=-1e9, maximum=1e9, decimals=2, value=0)
        self.range_max = QDoubleSpinBox(minimum=-1e9, maximum=1e9, decimals=2, value=256)
        self.build_button = QPushButton("Build noise model")
        self.save_button = QPushButton("Save…")
        self.load_button = QPushButton("Load…")
        self.summary = QLabel("No noise model yet.")
        self.summary.setWordWrap(True)
        self.plot = NoiseModelPlot()

        form = QFormLayout()
        form.addRow("Source", hbox(self.from_calibration, self.from_pairs))
        form.addRow("Calibration layer", self.calibration)
        form.addRow("Signal layer", self.signal)
        form.addRow("Observation layer", self.observations)
        form.addRow("Bins", self.bins)
        form.addRow("Range", hbox(self.auto_range, self.range_min, self.range_max))
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.build_button)
        layout.addLayout(hbox(self.save_button, self.load_button))
        layout.addWidget(self.summary)
        layout.addWidget(self.plot)

        self.from_calibration.toggled.connect(self._update_enabled)
        self.auto_range.toggled.connect(self._update_enabled)
        self.build_button.clicked.connect(guarded(self.build))
        self.save_button.clicked.connect(
            file_action(self, "Save noise model", NOISE_MODEL_FILTER, True, self.save_to))
        self.load_button.clicked.connect(
            file_action(self, "Load noise model", NOISE_MODEL_FILTER, False, self.load_from))
        self.session.noise_model_changed.connect(self._show)
        self._update_enabled()
        if self.session.noise_model is not None:
            self._show(self.session.noise_model)

    def _update_enabled(self, *_: object) -> None:
        calibration = self.from_calibration.isChecked()
        self.calibration.setEnabled(calibration)
        self.signal.setEnabled(not calibration)
        self.observations.setEnabled(not calibration)
        self.range_min.setEnabled(not self.auto_range.isChecked())
        self.range_max.setEnabled(not self.auto_range.isChecked())
        busy = self.worker is not None
        self.build_button.setEnabled(not busy)
        self.save_button.setEnabled(self.session.noise_model is not None and not busy)

    def build(self) -> None:
        """Read the chosen layers (plain arrays) and build the model in a worker thread."""
        value_range = None
        if not self.auto_range.isChecked():
            value_range = (self.range_min.value(), self.range_max.value())
        if self.from_calibration.isChecked():
            args = (image_data(self.calibration.layer(), "calibration stack"), None, None)
        else:
            args = (None, image_data(self.signal.layer(), "signal"),
                    image_data(self.observations.layer(), "observations"))
        self.summary.setText("Building…")
        self.worker = _build(*args, self.bins.value(), value_range, _start_thread=False,
                             _connect={"returned": self._built, "errored": self._failed,
                                       "finished": self._done})
        self._update_enabled()
        self.worker.start()

    def _built(self, model: HistogramNoiseModel) -> None:
        self.session.noise_model = model

    def _failed(self, error: Exception) -> None:
        self.summary.setText(f"Failed: {error}")
        report(error)

    def _done(self) -> None:
        self.worker = None
        self._update_enabled()

    def _show(self, model: HistogramNoiseModel | None) -> None:
        if model is None:
            self.summary.setText("No noise model yet.")
        else:
            self.summary.setText(model.summary())
            self.plot.show_model(model)
        self._update_enabled()

    def save_to(self, path: str) -> None:
        if self.session.noise_model is None:
            raise PN2VError("build or load a noise model first")
        self.session.noise_model.save(path)

    def load_from(self, path: str) -> None:
        self.session.noise_model = HistogramNoiseModel.load(path)
