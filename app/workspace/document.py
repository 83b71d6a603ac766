"""The document the window shows: the opened source, its clips, the current clip and frame, the annotation store,
the prediction and the loaded predictor. Plain Python: widgets never read a Qt object to know what is open.

Views listen through `Event` (a list of callbacks); commands and controllers change the document. Everything
here runs on the GUI thread: workers hand their results back before the document is touched.
"""
from __future__ import annotations

import bisect
from pathlib import Path
from typing import Callable

from cmnet_core.data.clip import Annotation, Clip
from cmnet_core.data.database import Database

from .annotations import AnnotationStore
from .prediction import metadata_labels

#: Labels offered when neither a database protocol nor a checkpoint names them (CASME II 5-class protocol).
DEFAULT_LABELS = ["happiness", "disgust", "repression", "surprise", "others"]


class Event:
    """A tiny observer list: ``connect(callback)``, then ``emit(*args)`` calls every callback in connection
    order (the same contract as a direct Qt signal connection, without Qt)."""

    def __init__(self) -> None:
        self._callbacks: list[Callable] = []

    def connect(self, callback: Callable) -> None:
        """Call ``callback(*args)`` on every later ``emit(*args)``."""
        self._callbacks.append(callback)

    def emit(self, *args) -> None:
        """Call the connected callbacks with ``args``."""
        for callback in list(self._callbacks):
            callback(*args)


class Document:
    """The open document: source path, optional database, clips, current clip/frame (source frame numbers),
    annotation store, prediction and predictor.

    Events: ``clip_changed()`` another clip became current; ``frame_changed(number)`` the current frame moved;
    ``annotation_changed()`` the current clip's annotation (or the store) changed; ``prediction_changed()`` a
    prediction arrived or was cleared.
    """

    def __init__(self) -> None:
        self.source_path: Path | None = None
        self.database: Database | None = None
        self.clips: list[Clip] = []
        self.clip: Clip | None = None
        self.frame: int = 0
        self.shown_frame: int | None = None   # the frame whose picture is on screen (the viewer sets it)
        self.playing = False                  # playback runs (the playback controller sets it)
        self.store: AnnotationStore | None = None
        self.prediction = None
        self.predictor = None
        self.is_demo = False
        self.clip_changed = Event()
        self.frame_changed = Event()
        self.annotation_changed = Event()
        self.prediction_changed = Event()

    # ---- clips and frames --------------------------------------------------------------------
    def set_source(self, path: Path, clips: list[Clip], store: AnnotationStore,
                   database: Database | None = None, is_demo: bool = False) -> None:
        """Make ``clips`` (from ``path``) the document; the first clip becomes current."""
        self.source_path, self.clips, self.store, self.database, self.is_demo = path, clips, store, database, is_demo
        self.clip = None
        self.set_clip(clips[0] if clips else None)

    def set_clip(self, clip: Clip | None) -> None:
        """Make ``clip`` current at its first frame; its prediction is cleared."""
        self.clip = clip
        self.prediction = None
        self.shown_frame = None
        self.frame = int(clip.frame_numbers[0]) if clip is not None and len(clip) else 0
        self.clip_changed.emit()
        self.prediction_changed.emit()
        self.frame_changed.emit(self.frame)

    def frame_numbers(self) -> list[int]:
        """The current clip's source frame numbers ([] without a clip)."""
        return list(self.clip.frame_numbers) if self.clip is not None else []

    def snap(self, number: float) -> int:
        """The clip's frame number nearest to ``number`` (frame folders may have gaps)."""
        nums = self.clip.frame_numbers if self.clip is not None else []
        if len(nums) == 0:
            return 0
        i = bisect.bisect_left(nums, number)
        cands = [nums[j] for j in (i - 1, i) if 0 <= j < len(nums)]
        return int(min(cands, key=lambda n: abs(n - number)))

    def set_frame(self, number: float) -> None:
        """Go to the frame nearest ``number``; emits ``frame_changed`` when it moves."""
        n = self.snap(number)
        if n != self.frame:
            self.frame = n
            self.frame_changed.emit(n)

    def mark_frame(self) -> int:
        """The frame a mark (O / A / F) goes to: while playing, the frame on screen (``shown_frame``; playback
        may have asked for the next one already, not yet decoded); otherwise the current frame."""
        if self.playing and self.shown_frame is not None:
            return self.shown_frame
        return self.frame

    def step(self, delta: int) -> None:
        """Move ``delta`` frames (in the clip's own order, so gaps count as one step)."""
        nums = self.clip.frame_numbers if self.clip is not None else []
        if len(nums) == 0:
            return
        i = bisect.bisect_left(nums, self.frame)
        self.set_frame(nums[max(0, min(len(nums) - 1, i + delta))])

    # ---- annotation and labels ---------------------------------------------------------------
    def annotation(self) -> Annotation:
        """The current clip's annotation as the user sees it (a copy)."""
        if self.clip is None:
            return Annotation()
        return self.store.annotation_for(self.clip) if self.store is not None else self.clip.annotation

    def labels(self) -> list[str]:
        """The emotion labels on offer: the database protocol's, else the checkpoint's, else CASME II 5-class."""
        if self.database is not None and self.database.labels:
            return list(self.database.labels)
        labels = metadata_labels(getattr(self.predictor, "metadata", None))
        return labels or list(DEFAULT_LABELS)

    def set_prediction(self, prediction) -> None:
        """Show ``prediction`` (a `cmnet_core.inference.Prediction`, or None to clear it)."""
        self.prediction = prediction
        self.prediction_changed.emit()
