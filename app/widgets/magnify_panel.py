"""The motion panel: the motion-magnified view (amplification α, method, band, alone or side by side with the
original, export as a video) and the motion map (optical flow from the onset or the previous frame, head motion removed,
drawn over the frame with an adjustable opacity)."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QPushButton,
                               QSlider, QWidget)


class MagnifyPanel(QWidget):
    """Controls of the magnified view. ``settingsChanged()`` when on/off, α, the method (linear / phase), the band
    or the layout changed; ``exportRequested()`` for **Export video…**."""

    settingsChanged = Signal()
    exportRequested = Signal()
    motionChanged = Signal()
    regionsRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.enabled = QCheckBox("Magnified view")
        self.enabled.setToolTip("Eulerian video magnification (Wu et al. 2012): the clip's small motions amplified "
                                "α times, frame-exact with the original")
        self.side_by_side = QCheckBox("side by side")
        self.side_by_side.setChecked(True)
        self.face_only = QCheckBox("face only")
        self.face_only.setChecked(True)
        self.face_only.setToolTip("magnify the face (found by MTCNN in the first magnified frame) at the working "
                                  "size instead of the whole frame: more pixels on the face; clips that are face "
                                  "crops already are magnified whole")
        self.alpha = QSlider(Qt.Orientation.Horizontal)
        self.alpha.setRange(1, 30)
        self.alpha.setValue(10)
        self.alpha_label = QLabel("α 10×")
        self.method = QComboBox()
        self.method.addItem("linear", "linear")
        self.method.addItem("phase (slower)", "phase")
        self.method.setToolTip("linear: Eulerian linear magnification (Wu et al. 2012), the fastest; phase: "
                               "phase-based with a Riesz pyramid (Wadhwa et al. 2014), fewer halos and less "
                               "clipping at large α, about 1.3x the time")
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
        self.status.setMinimumHeight(2 * self.status.fontMetrics().lineSpacing() + 4)   # two lines, never cut
        self.export_button = QPushButton("Export video…")
        self.export_button.setEnabled(False)
        self.motion = QCheckBox("Motion map")
        self.motion.setToolTip("dense optical flow (OpenCV DIS) to the current frame, global head motion removed: "
                               "colour = how far the face moved there, hue = direction where it is strong "
                               "(turns the magnified view off: one view at a time)")
        self.from_previous = QCheckBox("from the previous frame (else from the onset)")
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(10, 100)
        self.opacity.setValue(60)
        self.regions_button = QPushButton("Region motion curves")
        self.regions_button.setToolTip("how far brows, eyes, nose, mouth corners and chin moved since the onset, "
                                       "frame by frame, under the intensity plot (blinks shaded)")
        top = QHBoxLayout()
        top.addWidget(self.enabled)
        top.addWidget(self.side_by_side)
        top.addWidget(self.face_only)
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
        form.addRow("method", self.method)
        form.addRow("temporal band", band)
        form.addRow(self.status)
        form.addRow(self.export_button)
        form.addRow(self.motion)
        form.addRow(self.from_previous)
        form.addRow("opacity", self.opacity)
        form.addRow(self.regions_button)
        self.enabled.toggled.connect(lambda _on: self.settingsChanged.emit())
        self.side_by_side.toggled.connect(lambda _on: self.settingsChanged.emit())
        self.face_only.toggled.connect(lambda _on: self.settingsChanged.emit())
        self.alpha.valueChanged.connect(lambda v: self.alpha_label.setText(f"α {v}×"))
        self.alpha.sliderReleased.connect(self.settingsChanged.emit)
        self.alpha.valueChanged.connect(lambda _v: None if self.alpha.isSliderDown() else self.settingsChanged.emit())
        self.low.valueChanged.connect(lambda _v: self.settingsChanged.emit())
        self.method.currentIndexChanged.connect(lambda _i: self.settingsChanged.emit())
        self.high.valueChanged.connect(lambda _v: self.settingsChanged.emit())
        self.export_button.clicked.connect(self.exportRequested.emit)
        for box in (self.motion, self.from_previous):
            box.toggled.connect(lambda _on: self.motionChanged.emit())
        self.opacity.valueChanged.connect(lambda _v: self.motionChanged.emit())
        self.regions_button.clicked.connect(self.regionsRequested.emit)
        # one view at a time: the map is drawn in the original frame's pixels, the magnified view replaces them
        self.enabled.toggled.connect(lambda on: on and self.motion.setChecked(False))
        self.motion.toggled.connect(lambda on: on and self.enabled.setChecked(False))

    def values(self) -> dict:
        """``{"on", "side_by_side", "face", "alpha", "low_hz", "high_hz", "method"}`` as set (method ``"linear"``
        or ``"phase"``; ``face``: magnify the face box only)."""
        return {"on": self.enabled.isChecked(), "side_by_side": self.side_by_side.isChecked(),
                "face": self.face_only.isChecked(),
                "alpha": float(self.alpha.value()), "low_hz": self.low.value(), "high_hz": self.high.value(),
                "method": self.method.currentData()}


__all__ = ["MagnifyPanel"]
