"""Per-region motion curves under the intensity plot: how far each face region (brows, eyes, nose, mouth corners,
chin) moved since the onset, frame by frame, on the same time axis as the intensity clues k_n; blinks shaded."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from .plot_style import styled_plot

#: Colour per region (brows blue, eyes grey, nose brown, mouth orange/red, chin green).
REGION_COLOURS = {"left_brow": "#1f77b4", "right_brow": "#6baed6", "left_eye": "#7f7f7f", "right_eye": "#bdbdbd",
                  "nose": "#8c564b", "left_mouth": "#ff7f0e", "right_mouth": "#d62728", "chin": "#2ca02c"}


class RegionCurves:
    """Draws ``curves`` {region: (T,)} against ``frames`` (T,) source frame numbers on a plot item, and the
    ``blinks`` [(start, end)] as shaded spans (source frame numbers)."""

    def __init__(self) -> None:
        self.widget, self.plot, self.legend = styled_plot("source frame number", "motion (px)")
        self.widget.setMinimumHeight(160)
        self.widget.setToolTip("How far each face region moved since the onset, in pixels of a 96-px face image; "
                               "grey spans are blinks")
        self.legend.setColumnCount(8)   # one row
        self.legend.setOffset((10, 1))
        self._items: list = []

    def show(self, frames: np.ndarray | None, curves: dict | None, blinks: list | None = None) -> None:
        """Replace what is drawn (None clears)."""
        for item in self._items:
            self.plot.removeItem(item)
        self._items = []
        self.legend.clear()
        if frames is None or not curves:
            return
        for name, values in curves.items():
            item = self.plot.plot(frames, values, pen=pg.mkPen(REGION_COLOURS.get(name, "#444"), width=1.6))
            self.legend.addItem(item, name.replace("_", " "))
            self._items.append(item)
        for start, end in blinks or []:
            span = pg.LinearRegionItem((start, end), movable=False, brush=pg.mkBrush(120, 120, 120, 50))
            span.setZValue(-10)
            self.plot.addItem(span)
            self._items.append(span)


__all__ = ["REGION_COLOURS", "RegionCurves"]
