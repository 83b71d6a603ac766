"""The frame view: the current frame with zoom/pan (mouse wheel, drag) and an optional landmark overlay."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QGraphicsRectItem, QVBoxLayout, QWidget

pg.setConfigOptions(imageAxisOrder="row-major", antialias=True)


class FrameView(QWidget):
    """Shows uint8 RGB frames (H, W, 3) at their pixel aspect; wheel zooms, drag pans, double-click fits.

    ``set_landmarks`` draws points (K, 2) and a face box in pixel coordinates (x, y) when the overlay is on.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground("#1e1e1e")
        self.view = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.image = pg.ImageItem()
        self.view.addItem(self.image)
        self.points = pg.ScatterPlotItem(size=7, pen=pg.mkPen("#00e5ff", width=1.5), brush=pg.mkBrush(0, 229, 255, 90))
        self.view.addItem(self.points)
        self.box = QGraphicsRectItem()
        self.box.setPen(pg.mkPen("#00e5ff", width=2, cosmetic=True))
        self.box.hide()
        self.view.addItem(self.box)
        self.motion = pg.ImageItem()          # the motion map (RGBA), stretched over the frame
        self.motion.setZValue(5)
        self.view.addItem(self.motion)
        self.message = pg.TextItem("", color="#dddddd", anchor=(0.5, 0.5))
        self.view.addItem(self.message)
        self.overlay = False
        self._landmarks: np.ndarray | None = None
        self._box: list[float] | None = None
        self._shape: tuple[int, int] | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.graphics)
        self.graphics.mouseDoubleClickEvent = lambda ev: self.fit()
        self.setMinimumSize(320, 240)

    def set_frame(self, frame: np.ndarray) -> None:
        """Show ``frame`` (uint8 RGB (H, W, 3) or grey (H, W)); the first frame of a new size fits the view."""
        self.message.setText("")
        self.image.setImage(frame, autoLevels=False, levels=(0, 255))
        shape = frame.shape[:2]
        if shape != self._shape:
            self._shape = shape
            self.fit()

    def show_message(self, text: str) -> None:
        """Write ``text`` over the view (e.g. a frame that cannot be decoded)."""
        self.message.setText(text)
        if self._shape is not None:
            self.message.setPos(self._shape[1] / 2, self._shape[0] / 2)

    def clear(self) -> None:
        self.image.clear()
        self.motion.clear()
        self.points.clear()
        self._shape = None

    def fit(self) -> None:
        """Zoom so that the whole frame is visible."""
        if self._shape is not None:
            h, w = self._shape
            self.view.setRange(xRange=(0, w), yRange=(0, h), padding=0.01)

    def set_motion_map(self, rgba: np.ndarray | None, rect: tuple[float, float, float, float] | None = None) -> None:
        """Draw ``rgba`` (h, w, 4) uint8 stretched over ``rect`` ``(x, y, w, h)`` frame pixels (the face box), or over
        the whole frame when ``rect`` is None; remove it with ``rgba`` None."""
        if rgba is None or self._shape is None:
            self.motion.clear()
            return
        self.motion.setImage(rgba, autoLevels=False, levels=(0, 255))
        x, y, w, h = rect if rect is not None else (0, 0, self._shape[1], self._shape[0])
        self.motion.setRect(QRectF(float(x), float(y), float(w), float(h)))

    def zoom(self, factor: float) -> None:
        """Zoom in (factor < 1) or out (factor > 1) around the centre."""
        self.view.scaleBy((factor, factor))

    def set_landmarks(self, points: np.ndarray | None, box: np.ndarray | None = None) -> None:
        """Landmarks (K, 2) in pixels (x, y) and an optional face box (x0, y0, x1, y1) in pixels, or None."""
        self._landmarks = None if points is None else np.asarray(points, dtype=float).reshape(-1, 2)
        self._box = None if box is None else [float(v) for v in box]
        self._redraw_overlay()

    def set_overlay(self, on: bool) -> None:
        self.overlay = bool(on)
        self._redraw_overlay()

    def _redraw_overlay(self) -> None:
        if self.overlay and self._landmarks is not None:
            self.points.setData(self._landmarks[:, 0], self._landmarks[:, 1])
        else:
            self.points.clear()
        if self.overlay and self._box is not None:
            x0, y0, x1, y1 = self._box
            self.box.setRect(QRectF(x0, y0, x1 - x0, y1 - y0))
            self.box.show()
        else:
            self.box.hide()

    def keyPressEvent(self, event) -> None:  # let the window's shortcuts handle arrows
        if event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            event.ignore()
        else:
            super().keyPressEvent(event)
