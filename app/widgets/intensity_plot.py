"""The intensity plot: CMNet's intensity clues k_n against the tendency prototype (mean ± 3σ, Eqs. 2–4),
over source frame numbers, with onset/apex/offset marks, the peak of k_n (an apex estimate from the frames alone)
and a cursor synced with the frame view."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401 - registers ImageExporter
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from cmnet_core.preprocess.apex import describe_apex_source

from .plot_style import render_svg, styled_plot
from .timeline import MARK_COLOURS

#: File suffixes `IntensityPlot.export_image` writes (Qt image formats and SVG).
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".svg")
K_COLOUR = "#ef6c00"
PROTO_COLOUR = "#37474f"
BAND_COLOUR = (96, 125, 139, 60)
TRUE_COLOUR = "#8e24aa"
PEAK_COLOUR = "#bf360c"



def band_limits(mean: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The prototype band mean ± 3σ clipped to the intensity domain [ε, 1] (Eqs. 2–4: the prototype is ε at onset
    and offset and intensities never leave [ε, 1]; ε = the prototype mean's minimum). Shapes (N,) in, (N,) out."""
    mean, sigma = np.asarray(mean, dtype=float), np.asarray(sigma, dtype=float)
    eps = float(np.nanmin(mean)) if mean.size else 0.0
    return np.clip(mean - 3 * sigma, eps, 1.0), np.clip(mean + 3 * sigma, eps, 1.0)

class IntensityPlot(QWidget):
    """Plot of one `Prediction` (k_n, proto_mean, proto_sigma at frame_map, all shape (N,)).

    ``cursorMoved(float)`` is emitted while the user drags the cursor (a source frame number);
    `set_cursor` moves it without emitting. Hovering shows the nearest sample's values in `hover_label`.
    """

    cursorMoved = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot, pi, self.legend = styled_plot("source frame number", "intensity (k_n, prototype)")
        self.legend.setColumnCount(5)  # one row, so that it stays clear of the onset/apex/offset labels
        self.upper = pg.PlotDataItem(pen=pg.mkPen(BAND_COLOUR[:3], width=1))
        self.lower = pg.PlotDataItem(pen=pg.mkPen(BAND_COLOUR[:3], width=1))
        self.band = pg.FillBetweenItem(self.upper, self.lower, brush=pg.mkBrush(*BAND_COLOUR))
        pi.addItem(self.upper)
        pi.addItem(self.lower)
        pi.addItem(self.band)
        # the legend draws a sample from a plot item's options; FillBetweenItem has none, so a proxy stands in
        self._band_sample = pg.PlotDataItem([], [], pen=pg.mkPen(BAND_COLOUR[:3]), fillLevel=0,
                                            fillBrush=pg.mkBrush(*BAND_COLOUR))
        self.proto = pi.plot(pen=pg.mkPen(PROTO_COLOUR, width=2, style=pg.QtCore.Qt.PenStyle.DashLine))
        self.true_curve = pi.plot(pen=pg.mkPen(TRUE_COLOUR, width=1.5, style=pg.QtCore.Qt.PenStyle.DotLine))
        self.k_curve = pi.plot(pen=pg.mkPen(K_COLOUR, width=2.5), symbol="o", symbolSize=6,
                               symbolBrush=K_COLOUR, symbolPen=None)
        # the peak of k_n: a star on the curve and a dotted line, beside the annotated/spotted apex mark
        self.k_peak = pi.plot([], [], pen=None, symbol="star", symbolSize=20, symbolBrush=PEAK_COLOUR,
                              symbolPen=pg.mkPen("w", width=1))
        self.k_peak.setZValue(6)
        self.k_peak_line = pg.InfiniteLine(angle=90, movable=False,
                                           pen=pg.mkPen(PEAK_COLOUR, width=1.5, style=pg.QtCore.Qt.PenStyle.DotLine),
                                           label="k_n peak", labelOpts={"position": 0.1, "color": PEAK_COLOUR,
                                                                        "movable": False, "fill": (255, 255, 255, 200)})
        self.k_peak_line.setZValue(5)
        self.k_peak_line.hide()
        pi.addItem(self.k_peak_line, ignoreBounds=True)
        # the apex the model was given when no annotated apex mark shows it (spotted, midpoint, sheet)
        self.model_apex = pg.InfiniteLine(angle=90, movable=False,
                                          pen=pg.mkPen(MARK_COLOURS["apex"], width=1.5,
                                                       style=pg.QtCore.Qt.PenStyle.DashDotDotLine),
                                          label="apex", labelOpts={"position": 0.82, "color": MARK_COLOURS["apex"],
                                                                   "movable": False, "fill": (255, 255, 255, 200)})
        self.model_apex.setZValue(5)
        self.model_apex.hide()
        pi.addItem(self.model_apex, ignoreBounds=True)
        self.marks: dict[str, pg.InfiniteLine] = {}
        for kind, colour in MARK_COLOURS.items():
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(colour, width=1.5,
                                                                         style=pg.QtCore.Qt.PenStyle.DashDotLine),
                                   label=kind, labelOpts={"position": 0.82, "color": colour, "movable": False,
                                                          "fill": (255, 255, 255, 200)})
            line.setZValue(5)
            line.hide()
            pi.addItem(line, ignoreBounds=True)
            self.marks[kind] = line
        self.cursor = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen("#1976d2", width=2),
                                      hoverPen=pg.mkPen("#0d47a1", width=3))
        self.cursor.setZValue(10)
        self.cursor.setToolTip("Drag to move through the clip")
        pi.addItem(self.cursor, ignoreBounds=True)
        self.cursor.sigPositionChanged.connect(self._cursor_dragged)
        self.placeholder = pg.TextItem("Run a prediction to plot the intensity clues k_n", color="#777",
                                       anchor=(0.5, 0.5))
        pi.addItem(self.placeholder, ignoreBounds=True)
        self.hover_label = QLabel(" ")
        self.hover_label.setStyleSheet("color:#333; padding:2px 6px")
        self.plot.scene().sigMouseMoved.connect(self._hover)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.hover_label)
        self._setting_cursor = False
        self._x = np.zeros(0)
        self._data: dict[str, np.ndarray] = {}
        self.prediction = None
        self.set_range(0, 1)
        self.candidate_bands: list[pg.LinearRegionItem] = []
        self._update_legend()

    # ---- content ------------------------------------------------------------------------------
    def set_range(self, first: int, last: int) -> None:
        """Show source frames ``first``..``last`` (the clip) on the x axis."""
        self._first, self._last = first, max(last, first + 1)
        self.plot.getPlotItem().setXRange(self._first, self._last, padding=0.02)
        self.plot.getPlotItem().setYRange(0, 1.3, padding=0.02)
        self.placeholder.setPos((self._first + self._last) / 2, 0.55)

    def set_prediction(self, prediction) -> None:
        """Plot ``prediction`` (None clears the curves)."""
        self.prediction = prediction
        if prediction is None:
            self._x = np.zeros(0)
            self._data = {}
            for item in (self.k_curve, self.proto, self.upper, self.lower, self.k_peak):
                item.setData([], [])
            self.k_peak_line.hide()
            self.placeholder.show()
        else:
            x = np.asarray(prediction.frame_map, dtype=float)
            k = np.asarray(prediction.intensity, dtype=float)
            mean = np.asarray(prediction.proto_mean, dtype=float)
            sigma = np.asarray(prediction.proto_sigma, dtype=float)
            low, high = band_limits(mean, sigma)
            self._x, self._data = x, {"k": k, "mean": mean, "sigma": sigma, "low": low, "high": high}
            self.k_curve.setData(x, k)
            self.proto.setData(x, mean)
            self.upper.setData(x, high)
            self.lower.setData(x, low)
            peak = int(np.argmax(k))
            self.k_peak.setData([x[peak]], [k[peak]])
            self.k_peak_line.setValue(float(x[peak]))
            self.k_peak_line.show()
            self.placeholder.hide()
            top = float(max(1.3, np.nanmax(np.r_[k, high]) + 0.25))
            bottom = float(min(0.0, np.nanmin(np.r_[k, low]) - 0.05))
            self.plot.getPlotItem().setYRange(bottom, top, padding=0.02)
        self._update_model_apex()
        self._update_legend()

    def k_peak_frame(self) -> float | None:
        """Source frame number where the k_n peak marker stands (None without a prediction)."""
        return float(self.k_peak.xData[0]) if self.k_peak.xData is not None and len(self.k_peak.xData) else None

    def set_true_intensity(self, true: dict[int, float] | None) -> None:
        """The synthetic clip's ground-truth intensity per frame (None hides it)."""
        if true:
            xs = np.array(sorted(true), dtype=float)
            self.true_curve.setData(xs, np.array([true[int(x)] for x in xs]))
        else:
            self.true_curve.setData([], [])
        self._update_legend()

    def set_candidates(self, spans: list[tuple[int, int, str]] | None) -> None:
        """Spotted candidate intervals ``(onset, offset, kind)`` (source frame numbers, inclusive; kind ``"micro"``
        or ``"macro"``) as shaded bands behind the curves: orange for micro-, grey-blue for macro-expressions.
        None or [] removes them."""
        pi = self.plot.getPlotItem()
        for item in getattr(self, "candidate_bands", []):
            pi.removeItem(item)
        self.candidate_bands = []
        for onset, offset, kind in spans or []:
            colour = (255, 152, 0, 110) if kind == "micro" else (96, 125, 139, 60)
            band = pg.LinearRegionItem((onset - 0.5, offset + 0.5), movable=False, brush=pg.mkBrush(*colour),
                                       pen=pg.mkPen(None))
            band.setZValue(-10)
            band.setToolTip(f"spotted {kind}-expression candidate, frames {onset}–{offset}")
            pi.addItem(band, ignoreBounds=True)
            self.candidate_bands.append(band)

    def set_marks(self, marks: dict[str, int | None]) -> None:
        """Onset/apex/offset as vertical lines (None hides one)."""
        for kind, line in self.marks.items():
            v = marks.get(kind)
            line.setVisible(v is not None)
            if v is not None:
                line.setValue(v)
        self._update_model_apex()

    def set_cursor(self, number: float) -> None:
        """Move the cursor to source frame ``number`` without emitting ``cursorMoved``."""
        self._setting_cursor = True
        self.cursor.setValue(number)
        self._setting_cursor = False

    # ---- export -------------------------------------------------------------------------------
    def export_image(self, path: str | Path) -> None:
        """Save the plot as PNG/JPEG/BMP (1600 px wide, pyqtgraph's ImageExporter) or SVG, by ``path``'s suffix
        (`IMAGE_SUFFIXES`).

        Raises `ValueError` for another suffix and `OSError` when the file was not written (folder missing or
        read-only) or the plot is hidden.
        """
        path = Path(path)
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            raise ValueError(f"{path.name}: a plot can be saved as {', '.join(IMAGE_SUFFIXES)}; choose one of "
                             "these endings (or .csv for the per-frame table)")
        item = self.plot.getPlotItem()
        rect = item.sceneBoundingRect()
        if rect.width() < 50 or rect.height() < 50:  # hidden or collapsed: the exporter cannot scale it
            raise OSError("the intensity plot is hidden or too small; enlarge it in the window and export again")
        if path.suffix.lower() == ".svg":
            render_svg(self.plot.scene(), rect, path, "CMNet intensity clues")
        else:
            exporter = pg.exporters.ImageExporter(item)
            exporter.parameters()["width"] = 1600
            if not exporter.export(str(path)) or not path.is_file():
                raise OSError(f"{path} could not be written; check that its folder exists and is writable, "
                              "or choose another folder")

    # ---- internals ----------------------------------------------------------------------------
    def _update_legend(self) -> None:
        has_pred = self.prediction is not None
        has_true = self.true_curve.xData is not None and len(self.true_curve.xData) > 0
        self.legend.clear()
        for item, label, visible in ((self.k_curve, "intensity clue k_n", has_pred),
                                     (self.k_peak, "k_n peak (apex estimate)", has_pred),
                                     (self.proto, "tendency prototype mean", has_pred),
                                     (self._band_sample, "prototype ± 3σ (within [ε, 1])", has_pred),
                                     (self.true_curve, "true intensity (synthetic)", has_true)):
            if visible:
                self.legend.addItem(item, label)

    def _update_model_apex(self) -> None:
        """Show the prediction's apex (labelled with its source) unless the annotated apex mark stands there."""
        pred = self.prediction
        if pred is None:
            self.model_apex.hide()
            return
        frame = float(pred.frame_map[pred.apex_position])
        mark = self.marks["apex"]
        if mark.isVisible() and abs(float(mark.value()) - frame) < 0.5:
            self.model_apex.hide()
            return
        provenance = getattr(pred, "provenance", None) or {}
        source = describe_apex_source(provenance.get("apex_source", ""), provenance.get("apex_confidence"))
        self.model_apex.show()  # before the text: a hidden line's label does not update its text
        self.model_apex.setValue(frame)
        self.model_apex.label.setFormat(f"apex ({source or 'model input'})")

    def _cursor_dragged(self) -> None:
        if not self._setting_cursor:
            self.cursorMoved.emit(float(self.cursor.value()))

    def _hover(self, pos) -> None:
        vb = self.plot.getPlotItem().vb
        if not self.plot.sceneBoundingRect().contains(pos):
            return
        x = vb.mapSceneToView(pos).x()
        if not len(self._x):
            self.hover_label.setText(f"frame {x:.0f}")
            return
        i = int(np.argmin(np.abs(self._x - x)))
        d = self._data
        self.hover_label.setText(
            f"n = {i + 1}/{len(self._x)}  ·  source frame {self._x[i]:.1f}  ·  k_n = {d['k'][i]:.3f}  ·  "
            f"prototype {d['mean'][i]:.3f} ± 3σ [{d['low'][i]:.3f}, {d['high'][i]:.3f}] (within [ε, 1])")
