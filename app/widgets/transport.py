"""The transport bar under the frame: play / pause, speed, frame-stepping buttons, the frame label and the
frame-rate field of a bare frame folder."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QHBoxLayout, QLabel, QStyle, QToolButton, QWidget

#: Playback speeds offered (label, factor of real time); the second is the default.
SPEEDS = (("0.1×", 0.1), ("0.25×", 0.25), ("0.5×", 0.5), ("1×", 1.0))


class Transport(QWidget):
    """``buttons``: (action name, `QStyle.StandardPixmap` name or None, text when no icon, tooltip) per stepping
    button; a click emits ``actionRequested(name)``."""

    actionRequested = Signal(str)

    def __init__(self, buttons, play_tip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.play_button = QToolButton()
        self.play_button.setToolTip(play_tip)
        self.play_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.speed = QComboBox()
        for text, value in SPEEDS:
            self.speed.addItem(text, value)
        self.speed.setCurrentIndex(1)
        self.speed.setToolTip("Playback speed relative to the clip's frame rate")
        self.frame_label = QLabel("no clip")
        self.frame_label.setStyleSheet("font-family:monospace; font-size:11pt")
        self.frame_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.frame_label.setWordWrap(True)  # on a narrow (laptop) window it takes two lines instead of width
        self.fps_label = QLabel("frame rate:")
        self.fps_box = QDoubleSpinBox()
        self.fps_box.setRange(0.01, 100_000.0)
        self.fps_box.setDecimals(3)
        self.fps_box.setSuffix(" fps")
        self.fps_box.setKeyboardTracking(False)
        self.fps_box.setToolTip("Frame rate of this frame folder (a folder has none of its own). Until you set it, "
                                "times assume 30 fps and are marked 'assumed'. Remembered for this folder.")
        layout.addWidget(self.play_button)
        layout.addWidget(self.speed)
        layout.addSpacing(8)
        for name, icon, text, tip in buttons:
            b = QToolButton()
            if icon is not None:
                b.setIcon(self.style().standardIcon(getattr(QStyle.StandardPixmap, icon)))
            else:
                b.setText(text)
            b.setToolTip(tip)
            b.clicked.connect(lambda _=False, n=name: self.actionRequested.emit(n))
            layout.addWidget(b)
        layout.addSpacing(12)
        layout.addWidget(self.frame_label, 1)
        layout.addWidget(self.fps_label)
        layout.addWidget(self.fps_box)
        self.fps_label.hide()
        self.fps_box.hide()
