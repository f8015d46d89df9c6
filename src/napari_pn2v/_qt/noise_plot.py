"""The noise-model widget's plots: log p(x|s) as an image, p(x|s) at a few signals against the
data's histograms there, and the noise std against the signal, model line over measured points,
with the bands a trained model's guard flagged shaded."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from qtpy.QtCore import Qt

from ..backend.noise.base import NoiseModel
from ..backend.noise.diagnostics import NoiseCheck, model_std
from ..backend.noise.histogram import HistogramNoiseModel
from ..jobs.noise_model import NoiseModelResult

#: how many p(x|s) curves the plot shows
N_CURVES = 5


def _display_range(model: NoiseModel, built: NoiseModelResult | None) -> tuple[float, float]:
    """Signals to plot over: the histogram's range, else the data's, else the model's."""
    if isinstance(model, HistogramNoiseModel):
        return model.low, model.high
    if built is not None and built.pairs is not None:
        return float(built.pairs[0].min()), float(built.pairs[0].max())
    if built is not None and built.levels is not None and built.levels.signals.size:
        return float(built.levels.signals.min()), float(built.levels.signals.max())
    low, high = model.signal_range
    return (low, high) if np.isfinite([low, high]).all() else (0.0, 1000.0)


def _measured(model: NoiseModel, signals: np.ndarray) -> np.ndarray:
    """Where the model rests on data (calibration, pairs, measured levels); camera
    parameters hold everywhere."""
    low, high = model.signal_range
    if not np.isfinite([low, high]).all():
        return np.ones(signals.shape, bool)
    return (signals >= low) & (signals <= high)


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
        self.legend = self.curve_plot.addLegend(offset=(-5, 5))
        # made once, refilled for each model: making ten plot items took ~50 ms of the GUI
        # thread each time a noise model was shown
        colours = [pg.intColor(i, N_CURVES) for i in range(N_CURVES)]
        self.curves = [
            self.curve_plot.plot(pen=pg.mkPen(colour, width=2), name=" ") for colour in colours
        ]
        self.data_points = [
            self.curve_plot.plot(pen=None, symbol="o", symbolSize=4, symbolBrush=colour)
            for colour in colours
        ]
        self.nextRow()
        self.std_plot = self.addPlot(colspan=2, title="noise std: model (line), data (dots)")
        self.std_plot.setLabel("bottom", "signal s")
        self.std_plot.setLabel("left", "std of x")
        self.std_line = self.std_plot.plot(pen=pg.mkPen("w", width=2), name="model")
        self.std_extrapolated = self.std_plot.plot(
            pen=pg.mkPen("w", width=1, style=Qt.PenStyle.DashLine), name="extrapolated"
        )
        self.std_points = self.std_plot.plot(
            pen=None, symbol="o", symbolSize=5, symbolBrush="#f0a030"
        )
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
            region = pg.LinearRegionItem(
                check.edges[band : band + 2], movable=False, brush=pg.mkBrush(colour)
            )
            region.setToolTip(
                "the noise model gives too little noise here"
                if band in under
                else "the prior mean is predicted here instead of the MMSE"
            )
            self.std_plot.addItem(region)
            self.flagged.append(region)

    def show_model(self, model: NoiseModel, built: NoiseModelResult | None = None) -> None:
        lo, hi = _display_range(model, built)
        x_lo, x_hi = self._x_range(model, lo, hi)
        self._show_image(model, lo, hi, x_lo, x_hi)
        x = np.linspace(x_lo, x_hi, 1024)
        width = (hi - lo) / 80
        for i, s in enumerate(np.linspace(lo, hi, N_CURVES + 2)[1:-1]):
            self.curves[i].setData(x, model.likelihood_curve(s, x))
            self.legend.getLabel(self.curves[i]).setText(f"s = {s:.4g}")
            centres = density = np.empty(0)
            if built is not None and built.pairs is not None:
                near = np.abs(built.pairs[0] - s) < width
                if near.sum() >= 20:
                    density, edges = np.histogram(built.pairs[1][near], bins=40, density=True)
                    centres = 0.5 * (edges[1:] + edges[:-1])
            self.data_points[i].setData(centres, density)
        signals = np.linspace(lo, hi, 120)
        std = model_std(model, signals)
        measured = _measured(model, signals)
        # solid where the model was measured, dashed where it extrapolates
        self.std_line.setData(signals[measured], std[measured])
        self.std_extrapolated.setData(signals, np.where(measured, np.nan, std), connect="finite")
        levels = built.levels if built is not None else None
        if levels is not None and levels.signals.size:
            self.std_points.setData(levels.signals, levels.stds)
        else:
            self.std_points.setData([], [])

    @staticmethod
    def _x_range(model: NoiseModel, lo: float, hi: float) -> tuple[float, float]:
        if isinstance(model, HistogramNoiseModel):
            return model.low, model.high
        spread = model_std(model, np.array([lo, hi]))
        return lo - 4 * spread[0], hi + 4 * spread[1]

    def _show_image(
        self, model: NoiseModel, lo: float, hi: float, x_lo: float, x_hi: float
    ) -> None:
        if isinstance(model, HistogramNoiseModel):
            image = model.density * model.bin_width
        else:
            s = np.linspace(lo, hi, 128)
            x = np.linspace(x_lo, x_hi, 128)
            image = np.stack([model.likelihood_curve(v, x) for v in s]) * (x[1] - x[0])
        self.image.setImage(np.log10(np.maximum(image, 1e-12)))
        self.image.setRect(x_lo, lo, x_hi - x_lo, hi - lo)
        # a narrow plot: two labelled ticks, not pyqtgraph's run-together "200400600"
        ticks = [
            float(f"{v:.2g}") for v in (x_lo + 0.1 * (x_hi - x_lo), x_hi - 0.1 * (x_hi - x_lo))
        ]
        self.histogram_plot.getAxis("bottom").setTicks([[(v, f"{v:g}") for v in ticks]])
