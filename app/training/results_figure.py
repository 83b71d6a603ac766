"""The runs view's figure of a run's results: the confusion matrix (counts, rows = true class) beside the
per-class F1, exported as PNG or SVG (pyqtgraph's exporters)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from .. import dialogs
from ..widgets.plot_style import render_svg

#: Colour map of the matrix (white → blue by the share of the true class's clips).
_CMAP = pg.ColorMap([0.0, 1.0], [(255, 255, 255), (33, 102, 172)])


class ResultsFigure(QWidget):
    """``show_results(results)`` draws `cmnet_core.train.run_index.confusion_results` (None clears); ``export(
    path)`` writes the figure (``.png`` or ``.svg``, by suffix)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.results: dict | None = None
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("w")
        self.title = QLabel()
        self.save_button = QPushButton("Save figure…")
        self.save_button.setToolTip("The confusion matrix and per-class F1 as PNG or SVG")
        self.save_button.clicked.connect(self._ask_export)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.save_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.graphics, 1)
        self.show_results(None)

    def show_results(self, results: dict | None) -> None:
        """Draw ``results`` (labels, confusion_matrix (C, C), f1 (C,), scope) or, for None, nothing."""
        self.results = results
        self.graphics.clear()
        self.save_button.setEnabled(results is not None)
        if results is None:
            self.title.setText("No confusion matrix for this run (it has not finished, or holds no test clips).")
            return
        labels = list(results["labels"])
        cm = np.asarray(results["confusion_matrix"], dtype=float)
        n = len(labels)
        self.title.setText(f"Confusion matrix and per-class F1 — {results['scope']} ({int(cm.sum())} clips)")
        matrix = self.graphics.addPlot(row=0, col=0, title="confusion matrix (rows: true, columns: predicted)")
        share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
        image = pg.ImageItem(share, axisOrder="row-major")   # rows (y) = true class, columns (x) = predicted
        image.setLookupTable(_CMAP.getLookupTable(0.0, 1.0, 256))
        image.setLevels((0.0, 1.0))
        matrix.addItem(image)
        for t in range(n):
            for p in range(n):
                text = pg.TextItem(str(int(cm[t, p])), color="w" if share[t, p] > 0.55 else "k", anchor=(0.5, 0.5))
                text.setPos(p + 0.5, t + 0.5)
                matrix.addItem(text)
        ticks = [[(i + 0.5, lab) for i, lab in enumerate(labels)]]
        matrix.getAxis("bottom").setTicks(ticks)
        matrix.getAxis("left").setTicks(ticks)
        matrix.setLabel("bottom", "predicted")
        matrix.setLabel("left", "true")
        matrix.invertY(True)
        matrix.setAspectLocked(True)
        matrix.setMouseEnabled(False, False)
        matrix.hideButtons()
        bars = self.graphics.addPlot(row=0, col=1, title="F1 per class")
        f1 = [np.nan if v is None else float(v) for v in results["f1"]]
        heights = [0.0 if np.isnan(v) else v for v in f1]
        bars.addItem(pg.BarGraphItem(x=np.arange(n), height=heights, width=0.6, brush=(33, 102, 172)))
        for i, v in enumerate(f1):
            label = pg.TextItem("no clips" if np.isnan(v) else f"{v:.2f}", color="k", anchor=(0.5, 1.0))
            label.setPos(i, (0.0 if np.isnan(v) else v) + 0.02)
            bars.addItem(label)
        bars.getAxis("bottom").setTicks([[(i, lab) for i, lab in enumerate(labels)]])
        bars.setYRange(0, 1.1)
        bars.setXRange(-0.6, n - 0.4)
        bars.setMouseEnabled(False, False)
        bars.hideButtons()
        self.graphics.ci.layout.setColumnStretchFactor(0, 3)
        self.graphics.ci.layout.setColumnStretchFactor(1, 2)

    def export(self, path: str | Path) -> Path:
        """Write the figure to ``path``: SVG for ``.svg``, else a PNG image. Raises ``ValueError`` when there is
        nothing to export, `OSError` when the file cannot be written."""
        import pyqtgraph.exporters as ex

        if self.results is None:
            raise ValueError("this run has no confusion matrix to export")
        path = Path(path)
        layout = self.graphics.ci
        if path.suffix.lower() == ".svg":
            return render_svg(self.graphics.scene(), layout.sceneBoundingRect(), path, "CMNet Studio results")
        exporter = ex.ImageExporter(layout)
        exporter.parameters()["width"] = max(1200, int(layout.sceneBoundingRect().width()))
        if not exporter.export(str(path)) or not path.is_file():
            raise OSError(f"{path} could not be written; check that its folder exists and is writable")
        return path

    def _ask_export(self) -> None:
        path = dialogs.save_file(self, "Save results figure", "confusion.png", "PNG image (*.png);;SVG drawing (*.svg)")
        if not path:
            return
        try:
            self.export(path)
        except (OSError, ValueError) as exc:
            dialogs.error(self, "Figure not saved", str(exc))


__all__ = ["ResultsFigure"]
