"""The current frame on screen: the frame view (decoded by the `FrameLoader`), the timeline's cursor and range,
the intensity plot's cursor and range, the frame label with its time, the frame-rate field of a bare frame
folder, and the face-landmark overlay (detected in a worker)."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDoubleSpinBox, QLabel

from ..dialogs import Dialogs
from ..settings import AppSettings
from ..widgets.frame_view import FrameView
from ..widgets.intensity_plot import IntensityPlot
from ..widgets.timeline import Timeline
from ..workers import FrameLoader
from ..workspace.document import Document
from ..workspace.prediction import detect_face
from ..workspace.timing import frame_label, is_bare_folder, needs_new_fps, retimed_prediction
from .tasks import TaskRunner


class ViewerController(QObject):
    """Shows ``doc``'s current frame. ``status(text, ms)`` writes the status bar; ``overlayChanged(on)`` tells
    the menu when the overlay went off by itself (detection failed)."""

    overlayChanged = Signal(bool)

    def __init__(self, doc: Document, loader: FrameLoader, frame_view: FrameView, timeline: Timeline,
                 intensity_plot: IntensityPlot, frame_label: QLabel, fps_label: QLabel, fps_box: QDoubleSpinBox,
                 tasks: TaskRunner, settings: AppSettings, dialogs: Dialogs,
                 status: Callable[[str, int], None], parent: QObject) -> None:
        super().__init__(parent)
        self.doc, self.loader, self.frame_view, self.timeline = doc, loader, frame_view, timeline
        (self.intensity_plot, self.frame_label, self.fps_label,
         self.fps_box) = intensity_plot, frame_label, fps_label, fps_box
        self.tasks, self.settings, self.dialogs, self.status = tasks, settings, dialogs, status
        self.overlay_on = False
        #: ``frame_filter(number, frame) -> frame`` applied to every frame before it is shown (the magnified view,
        #: side by side or alone); None = the decoded frame as it is.
        self.frame_filter: Callable[[int, object], object] | None = None
        #: appended to the frame label while a filter changes the picture (e.g. "  ·  MAGNIFIED x10 phase"): the
        #: label stays in view when the picture is zoomed, the words painted on the picture may not
        self.view_note = ""
        self._overlay_task = None
        self._overlay_pending = False
        doc.clip_changed.connect(self.clip_changed)
        doc.frame_changed.connect(self.frame_changed)
        loader.frameReady.connect(self._frame_ready)
        loader.frameFailed.connect(self._frame_failed)
        fps_box.valueChanged.connect(self.fps_edited)

    # ---- the clip and its frames ------------------------------------------------------------------------
    def clip_changed(self) -> None:
        """A new current clip: the loader, the empty view, the time axis, the known intensity and landmarks."""
        clip = self.doc.clip
        self.loader.set_clip(clip)
        self.frame_view.clear()
        if clip is None:
            return
        nums = clip.frame_numbers
        self.show_timing()
        self.intensity_plot.set_range(nums[0], nums[-1])
        self.intensity_plot.set_true_intensity(clip.true_intensity)
        self.frame_view.set_landmarks(clip.landmarks_hint)

    def frame_changed(self, number: int) -> None:
        """Move the cursors and the label to frame ``number`` and show it (now when cached, else when decoded)."""
        self.timeline.set_current(number)
        self.intensity_plot.set_cursor(number)
        clip = self.doc.clip
        if clip is not None:
            if not self.doc.playing:
                self.frame_label.setText(frame_label(clip, number) + self.view_note)
            frame = self.loader.request(number)
            if frame is not None:
                self._show(number, frame)
            self._update_overlay()

    def _show(self, number: int, frame) -> None:
        """Put frame ``number``'s picture on screen (through `frame_filter` when set); while playing, the label
        follows the picture."""
        self.frame_view.set_frame(frame if self.frame_filter is None else self.frame_filter(number, frame))
        self.doc.shown_frame = number
        if self.doc.playing and self.doc.clip is not None:
            self.frame_label.setText(frame_label(self.doc.clip, number) + self.view_note)

    def _frame_ready(self, number: int, frame) -> None:
        """A decoded frame: shown when it is the current one, or — while playback runs ahead of a slow decoder —
        when it is newer than the picture on screen and not past the current frame (the picture keeps moving
        instead of freezing until the decoder catches up)."""
        shown, current = self.doc.shown_frame, self.doc.frame
        late_but_newer = self.doc.playing and shown is not None and shown < number <= current
        if number == current or late_but_newer:
            self._show(number, frame)
            if self._overlay_pending:
                self._update_overlay()

    def _frame_failed(self, number: int, message: str) -> None:
        if number == self.doc.frame:
            self.frame_view.show_message(f"frame {number} cannot be decoded:\n{message}")
            self.status(f"Frame {number} cannot be decoded ({message}).", 8000)

    def redraw(self) -> None:
        """Show the current frame again (after `frame_filter` changed), and its label (with `view_note`)."""
        if self.doc.clip is not None and not self.doc.playing:
            self.frame_label.setText(frame_label(self.doc.clip, self.doc.frame) + self.view_note)
        frame = self.loader.request(self.doc.frame) if self.doc.clip is not None else None
        if frame is not None:
            self._show(self.doc.frame, frame)

    # ---- time ---------------------------------------------------------------------------------------------
    def show_timing(self) -> None:
        """Timeline range with the last frame's time, the fps field for bare frame folders, the timing note."""
        clip = self.doc.clip
        nums = clip.frame_numbers
        self.timeline.set_range(nums[0], nums[-1], float(clip.times_s[-1]))
        bare = is_bare_folder(clip)
        self.fps_label.setVisible(bare)
        self.fps_box.setVisible(bare)
        if bare:
            self.fps_box.blockSignals(True)
            self.fps_box.setValue(clip.fps)
            self.fps_box.blockSignals(False)
            assumed = clip.time_source == "assumed"
            self.fps_label.setText("frame rate (assumed):" if assumed else "frame rate:")
            self.fps_label.setStyleSheet("color:#e65100; font-weight:bold" if assumed else "")
        note = clip.timing_note or ""
        self.frame_label.setToolTip(note)
        if note:
            self.status(f"Timing: {note}.", 10000)

    def fps_edited(self, value: float) -> None:
        """The user set a bare frame folder's rate: remember it, re-time the clip and its prediction."""
        clip = self.doc.clip
        if not needs_new_fps(clip, value):
            return
        old_note = clip.timing_note
        clip.source.set_fps(float(value))
        self.settings.remember_fps(clip.path, value)
        retimed = retimed_prediction(self.doc.prediction, clip, old_note)
        if retimed is not self.doc.prediction:
            self.doc.set_prediction(retimed)
        self.show_timing()
        self.frame_changed(self.doc.frame)

    # ---- face overlay -----------------------------------------------------------------------------------
    def set_overlay(self, on: bool) -> None:
        """Show (``on``) or hide the face box and landmarks over the frame."""
        self.overlay_on = bool(on)
        self.frame_view.set_overlay(self.overlay_on)
        self._update_overlay()

    def _update_overlay(self) -> None:
        """With the overlay on: synthetic clips show their known landmarks; other clips get the face box and five
        landmarks detected on the current frame in a worker (one detection at a time, the latest frame wins)."""
        clip = self.doc.clip
        if not self.overlay_on or clip is None or clip.landmarks_hint is not None:
            return
        if self._overlay_task is not None:
            self._overlay_pending = True
            return
        number = self.doc.frame
        frame = self.loader.request(number)
        if frame is None:
            self._overlay_pending = True
            return
        self._overlay_pending = False

        def done(result) -> None:
            self._overlay_task = None
            if clip is self.doc.clip:
                if result is None:
                    self.frame_view.set_landmarks(None)
                    self.status(f"No face found in frame {number}.", 4000)
                else:
                    self.frame_view.set_landmarks(result[1], result[0])
            if self._overlay_pending:
                self._update_overlay()

        def failed(message: str) -> None:
            self._overlay_task = None
            self.overlay_on = False
            self.overlayChanged.emit(False)
            self.frame_view.set_overlay(False)
            self.dialogs.error("Face overlay unavailable", f"Face detection failed: {message}")

        self._overlay_task = self.tasks.run(lambda p, c: detect_face(frame), done, failed)
