"""One look for the app's pyqtgraph plots (intensity plot, training monitor)."""
from __future__ import annotations

import pyqtgraph as pg


def styled_plot(x_label: str, y_label: str) -> tuple[pg.PlotWidget, pg.PlotItem, pg.LegendItem]:
    """A white plot with a light grid, dark axes, the given axis labels, no context menu and a
    four-column legend at the top left; returns ``(widget, plot item, legend)``."""
    widget = pg.PlotWidget(background="w")
    pi = widget.getPlotItem()
    pi.showGrid(x=True, y=True, alpha=0.25)
    pi.setLabel("bottom", x_label)
    pi.setLabel("left", y_label)
    pi.setMenuEnabled(False)
    legend = pi.addLegend(offset=(10, 5), labelTextColor="#222", brush=pg.mkBrush(255, 255, 255, 220), colCount=4)
    axis_pen = pg.mkPen("#444")
    for name in ("bottom", "left"):
        pi.getAxis(name).setPen(axis_pen)
        pi.getAxis(name).setTextPen(axis_pen)
    return widget, pi, legend
