"""Playback: the play button and speed box; frames shown at their own times (a video's pts) scaled by the
speed, skipping frames not decoded in time rather than queueing them."""
from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer
from PySide6.QtWidgets import QComboBox, QStyle, QToolButton

from ..workspace.document import Document


class PlaybackController(QObject):
    """Plays ``doc``'s current clip; ``play_button`` toggles, ``speed`` holds the rate (×real time)."""

    def __init__(self, doc: Document, play_button: QToolButton, speed: QComboBox, parent: QObject) -> None:
        super().__init__(parent)
        self.doc, self.play_button, self.speed = doc, play_button, speed
        self.timer = QTimer(self, interval=15)
        self.timer.timeout.connect(self._tick)
        self._origin: tuple[float, int] | None = None
        play_button.clicked.connect(self.toggle)
        speed.currentIndexChanged.connect(lambda _i: self.restart_clock())
        self._set_look(False)

    def toggle(self) -> None:
        """Play from the current frame (from the first when at the last), or pause."""
        if self.timer.isActive():
            self.stop()
        elif self.doc.clip is not None:
            nums = self.doc.frame_numbers()
            if self.doc.frame == nums[-1]:
                self.doc.set_frame(nums[0])
            self.restart_clock()
            self.timer.start()
            self.doc.playing = True
            self._set_look(True)

    def stop(self) -> None:
        """Pause (the label and picture settle on the current frame)."""
        self.timer.stop()
        if self.doc.playing:
            self.doc.playing = False
            self.doc.frame_changed.emit(self.doc.frame)
        self._set_look(False)

    def _set_look(self, playing: bool) -> None:
        sp = QStyle.StandardPixmap
        self.play_button.setIcon(self.play_button.style().standardIcon(sp.SP_MediaPause if playing
                                                                       else sp.SP_MediaPlay))
        self.play_button.setText("Pause" if playing else "Play")

    def restart_clock(self) -> None:
        """Count playing time from now and the current frame's time (after a seek or a speed change)."""
        clip = self.doc.clip
        if clip is not None and len(clip):
            self._origin = (time.monotonic(), clip.time_of(self.doc.frame))

    def _tick(self) -> None:
        """Show the frame whose time (`Clip.times_s`: a video's pts) is due at wall-clock time × speed (frames not
        decoded in time are skipped, never queued)."""
        clip = self.doc.clip
        if clip is None or not len(clip) or self._origin is None:
            self.stop()
            return
        t0, media0 = self._origin
        due = media0 + (time.monotonic() - t0) * float(self.speed.currentData())
        if due >= clip.times_s[-1]:
            self.doc.set_frame(clip.frame_numbers[-1])
            self.stop()
        else:
            self.doc.set_frame(clip.frame_at_time(due))
