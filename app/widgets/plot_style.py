"""One look for the app's pyqtgraph plots (intensity plot, training monitor, results figure), and their export
as SVG."""
from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtGui import QPainter
from PySide6.QtSvg import QSvgGenerator


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


def render_svg(scene, rect: QRectF, path: str | Path, title: str) -> Path:
    """Render the part ``rect`` (scene coordinates) of the graphics ``scene`` into the SVG file ``path`` with Qt's
    generator (pyqtgraph 0.14's SVGExporter fails on the path syntax Qt 6.12 writes: ``ValueError: not enough
    values to unpack``). Raises `OSError` when the file was not written."""
    path = Path(path)
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(rect.size().toSize())
    generator.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
    generator.setTitle(title)
    painter = QPainter(generator)
    try:
        scene.render(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
    finally:
        painter.end()
    if not path.is_file() or path.stat().st_size == 0:
        raise OSError(f"{path} could not be written; check that its folder exists and is writable, "
                      "or choose another folder")
    return path
