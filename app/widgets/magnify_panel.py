"""The magnification panel: turn the motion-magnified view on, choose the amplification α and the band, show it
alone or side by side with the original, export the magnified clip as a video."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QSlider,
                               QWidget)


class MagnifyPanel(QWidget):
    """Controls of the magnified view. ``settingsChanged()`` when on/off, α, the band or the layout changed;
    ``exportRequested()`` for **Export video…**."""

    settingsChanged = Signal()
    exportRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.enabled = QCheckBox("Magnified view")
        self.enabled.setToolTip("Eulerian video magnification (Wu et al. 2012): the clip's small motions amplified "
                                "α times, frame-exact with the original")
        self.side_by_side = QCheckBox("side by side")
        self.side_by_side.setChecked(True)
        self.alpha = QSlider(Qt.Orientation.Horizontal)
        self.alpha.setRange(1, 30)
        self.alpha.setValue(10)
        self.alpha_label = QLabel("α 10×")
        self.low = QDoubleSpinBox()
        self.high = QDoubleSpinBox()
        for box, value in ((self.low, 0.4), (self.high, 3.0)):
            box.setRange(0.05, 100.0)
            box.setDecimals(2)
            box.setSuffix(" Hz")
            box.setValue(value)
            box.setKeyboardTracking(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color:#444")
        self.export_button = QPushButton("Export video…")
        self.export_button.setEnabled(False)
        top = QHBoxLayout()
        top.addWidget(self.enabled)
        top.addWidget(self.side_by_side)
        top.addStretch(1)
        alpha_row = QHBoxLayout()
        alpha_row.addWidget(self.alpha, 1)
        alpha_row.addWidget(self.alpha_label)
        band = QHBoxLayout()
        band.addWidget(self.low)
        band.addWidget(QLabel("–"))
        band.addWidget(self.high)
        form = QFormLayout(self)
        form.addRow(top)
        form.addRow("amplification", alpha_row)
        form.addRow("temporal band", band)
        form.addRow(self.status)
        form.addRow(self.export_button)
        self.enabled.toggled.connect(lambda _on: self.settingsChanged.emit())
        self.side_by_side.toggled.connect(lambda _on: self.settingsChanged.emit())
        self.alpha.valueChanged.connect(lambda v: self.alpha_label.setText(f"α {v}×"))
        self.alpha.sliderReleased.connect(self.settingsChanged.emit)
        self.alpha.valueChanged.connect(lambda _v: None if self.alpha.isSliderDown() else self.settingsChanged.emit())
        self.low.valueChanged.connect(lambda _v: self.settingsChanged.emit())
        self.high.valueChanged.connect(lambda _v: self.settingsChanged.emit())
        self.export_button.clicked.connect(self.exportRequested.emit)

    def values(self) -> dict:
        """``{"on", "side_by_side", "alpha", "low_hz", "high_hz"}`` as set."""
        return {"on": self.enabled.isChecked(), "side_by_side": self.side_by_side.isChecked(),
                "alpha": float(self.alpha.value()), "low_hz": self.low.value(), "high_hz": self.high.value()}


__all__ = ["MagnifyPanel"]
