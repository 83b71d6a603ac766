"""The current clip's annotation on screen: the annotation panel (marks, emotion, AUs, notes, file status), the
marks on the timeline and the intensity plot, the clip list's "annotated" flags, the window title with its
unsaved-changes star, and the timer-driven autosave."""
from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, QTimer

from ..widgets.annotation_panel import AnnotationPanel
from ..widgets.clip_list import ClipList
from ..widgets.intensity_plot import IntensityPlot
from ..widgets.prediction_panel import PredictionPanel
from ..widgets.timeline import Timeline
from ..workspace.document import Document
from ..workspace.prediction import emotion_mismatch
from ..workspace.texts import database_summary, store_status, window_title


class AnnotationController(QObject):
    """Keeps the annotation views of ``doc`` up to date; autosaves every ``autosave_ms`` milliseconds.
    ``set_title(text)`` sets the window title, ``status(text, ms)`` writes the status bar."""

    def __init__(self, doc: Document, panel: AnnotationPanel, timeline: Timeline, intensity_plot: IntensityPlot,
                 prediction_panel: PredictionPanel, clip_list: ClipList, set_title: Callable[[str], None],
                 status: Callable[[str, int], None], autosave_ms: int, parent: QObject) -> None:
        super().__init__(parent)
        self.doc, self.panel, self.timeline, self.intensity_plot = doc, panel, timeline, intensity_plot
        self.prediction_panel, self.clip_list, self.set_title, self.status = (prediction_panel, clip_list,
                                                                              set_title, status)
        doc.clip_changed.connect(self.clip_changed)
        doc.annotation_changed.connect(self.annotation_changed)
        self.autosave_timer = QTimer(self, interval=autosave_ms)
        self.autosave_timer.timeout.connect(self.autosave_now)
        self.autosave_timer.start()

    def clip_changed(self) -> None:
        """A new current clip: enable the panel, show its annotation, select it in the clip list."""
        clip = self.doc.clip
        self.panel.setEnabled(clip is not None)
        if clip is None:
            return
        self.annotation_changed()
        if clip in self.doc.clips:
            self.clip_list.select(self.doc.clips.index(clip))
        self.update_title()

    def annotation_changed(self) -> None:
        """Show the current annotation, its problems and file status; marks on timeline and plot; the emotion /
        checkpoint mismatch; the clip's "annotated" flag; the title."""
        s = self.doc
        if s.clip is None:
            return
        ann = s.annotation()
        self.panel.show_annotation(ann, ann.validate(s.clip.frame_numbers), store_status(s.store))
        marks = {"onset": ann.onset, "apex": ann.apex, "offset": ann.offset}
        self.timeline.set_marks(marks)
        self.intensity_plot.set_marks(marks)
        self.prediction_panel.show_warning(emotion_mismatch(s.predictor, ann.emotion))
        if s.clip in s.clips and s.store is not None:
            self.clip_list.set_annotated(s.clips.index(s.clip), s.store.has(s.clip))
        self.update_title()

    def update_title(self) -> None:
        """The window title: app, demo, subject/clip, ``*`` when unsaved."""
        self.set_title(window_title(self.doc))

    def refresh_clip_list(self) -> None:
        """Fill the clip list from the document (annotated flags, database summary) and select the current clip."""
        s = self.doc
        self.clip_list.set_clips(s.clips, [s.store.has(c) for c in s.clips] if s.store else [False] * len(s.clips),
                                 database_summary(s.database))
        if s.clip is not None and s.clip in s.clips:
            self.clip_list.select(s.clips.index(s.clip))

    def autosave_now(self) -> None:
        """Write the autosave file when there are unsaved annotations (timer-driven)."""
        store = self.doc.store
        if store is None:
            return
        self.panel.commit_notes()
        try:
            store.autosave()
        except OSError as exc:
            self.status(f"Autosave failed: {exc}", 8000)
