"""The seekbar: the clip's frames as a track with typed onset/apex/offset marks and the current frame."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

#: Colours of the typed marks, shared with the intensity plot.
MARK_COLOURS = {"onset": "#2e7d32", "apex": "#c62828", "offset": "#1565c0"}
MARK_LETTERS = {"onset": "O", "apex": "A", "offset": "F"}



def _mark_triangle(x: float, bottom: float) -> QPainterPath:
    """The small triangle under a mark on the timeline, pointing up at the track (pixels)."""
    tri = QPainterPath()
    tri.moveTo(x - 6, bottom + 3)
    tri.lineTo(x + 6, bottom + 3)
    tri.lineTo(x, bottom - 3)
    tri.closeSubpath()
    return tri

class Timeline(QWidget):
    """Click or drag to seek; ``frameRequested(number)`` carries the source frame number under the mouse.

    ``set_marks({"onset": 46, "apex": 59, "offset": 86})`` draws typed marks (None hides one);
    the onset–offset span is shaded. ``set_predicted_apex(frame, text)`` adds a hollow, dashed mark for the
    apex the model was given when it is not the annotated one (spotted, midpoint, sheet), ``text`` (e.g.
    ``"spotted, confidence 0.82"``) in the tooltip; ``set_predicted_apex(None)`` removes it.
    """

    frameRequested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.first, self.last, self.current = 0, 0, 0
        self.last_time_s: float | None = None
        self.marks: dict[str, int | None] = {}
        self.predicted_apex: float | None = None
        self.predicted_apex_text = ""
        self.setMinimumHeight(44)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMouseTracking(False)
        self.setToolTip("Click or drag to seek. Marks: O onset, A apex, F offset.")

    def set_range(self, first: int, last: int, last_time_s: float | None = None) -> None:
        """Frames ``first``..``last`` (source numbers); ``last_time_s``: the last frame's time, shown at the end."""
        self.first, self.last = int(first), int(max(first, last))
        self.last_time_s = last_time_s
        self.update()

    def set_current(self, number: int) -> None:
        self.current = int(number)
        self.update()

    def set_marks(self, marks: dict[str, int | None]) -> None:
        self.marks = dict(marks)
        self._update_tooltip()
        self.update()

    def set_predicted_apex(self, frame: float | None, text: str = "") -> None:
        """Show the model's apex at source frame ``frame`` (None hides it); ``text`` describes its source."""
        self.predicted_apex, self.predicted_apex_text = (None, "") if frame is None else (float(frame), str(text))
        self._update_tooltip()
        self.update()

    def predicted_apex_shown(self) -> bool:
        """True when the hollow apex mark is drawn (a predicted apex away from the annotated apex mark)."""
        apex = self.marks.get("apex")
        return self.predicted_apex is not None and (apex is None or abs(apex - self.predicted_apex) >= 0.5)

    def _update_tooltip(self) -> None:
        tip = "Click or drag to seek. Marks: O onset, A apex, F offset."
        if self.predicted_apex_shown():
            tip += (f"\nHollow dashed A: the apex the model was given, frame {self.predicted_apex:g}"
                    f"{f' ({self.predicted_apex_text})' if self.predicted_apex_text else ''}.")
        self.setToolTip(tip)

    # ---- geometry ---------------------------------------------------------------------------
    def _track(self) -> QRectF:
        return QRectF(10, 16, max(1, self.width() - 20), 12)

    def x_of(self, number: float) -> float:
        t = self._track()
        span = max(1, self.last - self.first)
        return t.left() + (number - self.first) / span * t.width()

    def number_at(self, x: float) -> int:
        t = self._track()
        span = max(1, self.last - self.first)
        frac = min(1.0, max(0.0, (x - t.left()) / t.width()))
        return int(round(self.first + frac * span))

    # ---- events ---------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.frameRequested.emit(self.number_at(event.position().x()))

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.frameRequested.emit(self.number_at(event.position().x()))

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        t = self._track()
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor("#d0d4d9"))
        p.drawRoundedRect(t, 4, 4)
        on, off = self.marks.get("onset"), self.marks.get("offset")
        if on is not None and off is not None and off >= on:
            p.setBrush(QColor(255, 193, 7, 110))
            p.drawRect(QRectF(self.x_of(on), t.top(), self.x_of(off) - self.x_of(on), t.height()))
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
        font.setBold(True)
        p.setFont(font)
        for kind in ("onset", "apex", "offset"):
            n = self.marks.get(kind)
            if n is None:
                continue
            x = self.x_of(n)
            colour = QColor(MARK_COLOURS[kind])
            p.setPen(QPen(colour, 2))
            p.drawLine(QPointF(x, t.top() - 2), QPointF(x, t.bottom() + 2))
            tri = _mark_triangle(x, t.bottom())
            p.fillPath(tri, colour)
            p.drawText(QRectF(x - 8, t.bottom() + 3, 16, 14), Qt.AlignmentFlag.AlignCenter, MARK_LETTERS[kind])
        if self.predicted_apex_shown():
            x = self.x_of(self.predicted_apex)
            colour = QColor(MARK_COLOURS["apex"])
            p.setPen(QPen(colour, 1.5, Qt.PenStyle.DashLine))
            p.drawLine(QPointF(x, t.top() - 2), QPointF(x, t.bottom() + 2))
            tri = _mark_triangle(x, t.bottom())
            p.setPen(QPen(colour, 1.5))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawPath(tri)
            p.drawText(QRectF(x - 8, t.bottom() + 3, 16, 14), Qt.AlignmentFlag.AlignCenter, MARK_LETTERS["apex"])
        x = self.x_of(self.current)
        p.setPen(QPen(pal.color(pal.ColorRole.Highlight), 3))
        p.drawLine(QPointF(x, 2), QPointF(x, t.bottom() + 2))
        p.setPen(pal.color(pal.ColorRole.WindowText))
        small = QFont(self.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() - 1))
        p.setFont(small)
        p.drawText(QRectF(t.left(), 0, 80, 14), Qt.AlignmentFlag.AlignLeft, str(self.first))
        end = str(self.last) + (f" · {self.last_time_s:.3f} s" if self.last_time_s is not None else "")
        p.drawText(QRectF(t.right() - 160, 0, 160, 14), Qt.AlignmentFlag.AlignRight, end)
        p.end()
