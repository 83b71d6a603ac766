"""The motion map over the frame: dense optical flow (`cmnet_core.motion`) from the onset (or the previous frame)
to the frame on screen, global head motion removed, drawn as a colour map over the frame; updated as the user
scrubs. The flow runs at 128×128 px (a few ms), on frames the frame loader already decoded, so it stays on the
GUI thread without stalling it.

Whole frames of a video (no ``clip.landmarks_hint``): the face is located in the reference frame by MTCNN
(`cmnet_core.preprocess.face.locate_face`, in a worker: torch's import and the detector cost seconds the first
time) and kept per reference frame; the flow, the head-motion fit and the map then cover the face box only, and
the region curves are placed from its landmarks. No face: the whole frame, and the panel's status says so.
Synthetic clips and aligned face crops (which carry ``landmarks_hint``) use the whole frame, as the face fills it."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject

from ..widgets.frame_view import FrameView
from ..widgets.region_plot import RegionCurves
from ..widgets.magnify_panel import MagnifyPanel
from ..workers import FrameLoader
from ..workspace.document import Document
from .tasks import TaskRunner

#: Side of the square the flow is computed at, pixels.
FLOW_SIZE = 128
#: Residual motion (pixels at `FLOW_SIZE`) below which the map stays transparent: above camera noise and
#: compression flicker of ordinary video (0.2 px coloured whole frames of a webcam clip).
MIN_PX = 0.5
#: While the face of a new reference frame is being located, the location found for a reference frame at most
#: this many frames away is used (the "previous frame" mode moves the reference with every step).
REUSE_FACE_FRAMES = 15


def reference_frame(doc: Document, previous: bool) -> int | None:
    """The frame the flow starts from: the one before the current (``previous``), else the annotated onset, else
    the clip's first frame; None without a clip or when it would be the current frame itself."""
    clip = doc.clip
    if clip is None or not len(clip):
        return None
    nums = list(clip.frame_numbers)
    if previous:
        i = nums.index(doc.frame) if doc.frame in nums else 0
        return nums[i - 1] if i > 0 else None
    onset = doc.annotation().onset
    ref = onset if onset is not None and onset in nums else nums[0]
    return None if ref == doc.frame else ref


class MotionController(QObject):
    """Shows the motion map on ``frame_view`` while ``panel.motion`` is checked."""

    def __init__(self, doc: Document, panel: MagnifyPanel, loader: FrameLoader, frame_view: FrameView,
                 regions: RegionCurves, tasks: TaskRunner, parent: QObject) -> None:
        super().__init__(parent)
        self.doc, self.panel, self.loader, self.frame_view = doc, panel, loader, frame_view
        self.regions, self.tasks = regions, tasks
        self.region_result: tuple | None = None   # (frame numbers (T,), {region: (T,)}, blinks [(start, end)])
        self._regions_for: tuple | None = None    # the (onset, offset) the region curves were computed for
        panel.regionsRequested.connect(self.compute_regions)
        doc.clip_changed.connect(self._clear_regions)
        doc.annotation_changed.connect(lambda *_: self._onset_changed())
        self.last: np.ndarray | None = None   # the residual flow (FLOW_SIZE, FLOW_SIZE, 2) on screen, pixels
        self._last_key: tuple | None = None    # (clip, reference, frame) that `last` was computed for
        self._ref: tuple | None = None         # (clip, frame number, frame): the reference frame, kept
        self.rect: tuple | None = None         # (x, y, w, h) frame pixels the map covers; None: the whole frame
        self.faces: dict[int, object] = {}     # reference frame -> FaceLocation, or None (no face), of _faces_clip
        self._faces_clip = None
        self._locating: int | None = None      # the reference frame whose face a worker is looking for
        self.face_status = ""                  # what the panel's status said about the face last
        panel.motionChanged.connect(self.update)
        doc.frame_changed.connect(lambda _n: self.update())
        doc.clip_changed.connect(self.update)
        loader.frameReady.connect(self._frame_ready)

    def _frame_ready(self, number: int, _frame) -> None:
        """A decoded frame: only the one on screen or the reference can complete a waiting map (prefetched frames
        must not recompute the flow)."""
        if self.panel.motion.isChecked() and self.last is None and number in (
                self.doc.frame, reference_frame(self.doc, self.panel.from_previous.isChecked())):
            self.update()

    def update(self) -> None:
        """Recompute the map for the frame on screen (nothing when off or a frame is not decoded yet)."""
        if not self.panel.motion.isChecked() or self.doc.clip is None:
            self.last, self._last_key = None, None
            self.frame_view.set_motion_map(None)
            return
        from cmnet_core.motion import face_ellipse, flow_between, flow_to_rgba, remove_head_motion, residual_flow

        ref = reference_frame(self.doc, self.panel.from_previous.isChecked())
        if ref is None:
            self.last, self._last_key = None, None
            self.frame_view.set_motion_map(None)
            return
        key = (self.doc.clip, ref, self.doc.frame)
        if key != self._last_key:   # a new pair of frames (an opacity change only redraws)
            a = self._reference(ref)
            b = self.loader.peek(self.doc.frame)
            if a is None or b is None:
                self.last = None
                return   # drawn when the frames arrive (`_frame_ready`)
            face = self._face(ref, a)
            if face is _PENDING:
                self.last, self._last_key = None, None
                self.frame_view.set_motion_map(None)
                return   # drawn when the face is located (`_located`)
            if face is None:
                flow, self.rect = remove_head_motion(flow_between(a, b, FLOW_SIZE)), None
            else:
                flow = residual_flow(a, b, FLOW_SIZE, box=face.box, landmarks=face.points)
                self.rect = face.box
            self.last, self._last_key = flow, key
        flow = self.last
        weight = None if self.rect is None else face_ellipse(*flow.shape[:2])   # the face, not the box's corners
        self.frame_view.set_motion_map(flow_to_rgba(flow, opacity=self.panel.opacity.value() / 100.0,
                                                    min_px=MIN_PX, weight=weight), self.rect)

    # ---- the face on whole frames ------------------------------------------------------------------------------
    def _faces_of(self, clip) -> dict:
        """The face locations found for ``clip`` (forgotten when another clip is opened)."""
        if clip is not self._faces_clip:
            self._faces_clip, self.faces, self._locating = clip, {}, None
        return self.faces

    def _face(self, ref: int, frame: np.ndarray):
        """The `FaceLocation` of reference frame ``ref`` (decoded: ``frame``), None for the whole frame (a clip with
        ``landmarks_hint``, or no face found), or `_PENDING` while a worker looks for it. A location of a reference
        frame at most `REUSE_FACE_FRAMES` away stands in meanwhile."""
        clip = self.doc.clip
        if clip.landmarks_hint is not None:
            return None
        faces = self._faces_of(clip)
        if ref in faces:
            return faces[ref]
        if self._locating is None:
            self._locate(clip, ref, frame)
        near = [n for n in faces if abs(n - ref) <= REUSE_FACE_FRAMES]
        return faces[min(near, key=lambda n: abs(n - ref))] if near else _PENDING

    def _locate(self, clip, ref: int, frame: np.ndarray) -> None:
        """Look for the face in ``frame`` (reference frame ``ref``) in a worker; `_located` follows."""
        self._locating = ref
        if not self.faces:
            self._say("finding the face…")
        image = np.array(frame, copy=True)

        def work(progress, cancelled):
            from cmnet_core.preprocess import face

            return face.locate_face(image)

        self.tasks.run(work, lambda found: self._located(clip, ref, found, ""),
                       lambda message: self._located(clip, ref, None, message))

    def _located(self, clip, ref: int, found, error: str) -> None:
        if clip is not self._faces_clip:
            return   # another clip meanwhile
        self.faces[ref], self._locating = found, None
        self._say(face_status(found, ref, "motion map", error))
        self._last_key = None
        self.update()

    def _say(self, text: str) -> None:
        self.face_status = text
        self.panel.status.setText(text)

    def _onset_changed(self) -> None:
        """Region curves on screen are measured from the onset: a new onset (or offset: the span) recomputes them."""
        if self.region_result is not None and self.doc.clip is not None:
            ann = self.doc.annotation()
            if (ann.onset, ann.offset) != self._regions_for:
                self.compute_regions()

    def _clear_regions(self) -> None:
        self.region_result = None
        self.regions.show(None, None)
        self.regions.widget.hide()

    def compute_regions(self) -> None:
        """Per-region motion since the onset (else the first frame) over the onset..offset span with a margin
        (else the first 600 frames), in a worker; drawn under the intensity plot with blinks shaded."""
        from cmnet_core.motion import blink_frames, region_curves

        from ..workspace.magnify_view import average_fps, magnify_window
        from ..workspace.prediction import fresh_clip

        clip = self.doc.clip
        if clip is None or len(clip) < 2:
            return
        ann = self.doc.annotation()
        self._regions_for = (ann.onset, ann.offset)
        numbers = magnify_window(clip, int(clip.frame_numbers[0]), ann)[:600]
        reference = numbers.index(ann.onset) if ann.onset in numbers else 0
        landmarks = clip.landmarks_hint
        fps = average_fps(clip)
        ref_number = numbers[reference]
        faces = self._faces_of(clip)
        known = faces.get(ref_number, _PENDING)

        def work(progress, cancelled):
            own = fresh_clip(clip)
            try:
                frames = np.stack([own.frame(n) for n in numbers])
            finally:
                own.close()
            marks = None if landmarks is None else np.asarray(landmarks, dtype=np.float32)
            if marks is not None and marks.ndim == 3:   # per-frame landmarks: the reference frame's
                marks = marks[reference]
            found, box, error = None, None, ""
            if landmarks is None:   # whole frames: the face of the reference frame places the box and regions
                found = known
                if found is _PENDING:
                    from cmnet_core.preprocess import face

                    try:
                        found = face.locate_face(frames[reference])
                    except Exception as exc:  # noqa: BLE001 - no detector: the whole frame, said in the status
                        found, error = None, str(exc)
                if found is not None:
                    marks, box = found.points, found.box
            curves = region_curves(frames, reference=reference, landmarks=marks, mode="onset", size=96,
                                   face_box=box)
            return curves, blink_frames(curves, fps=fps), found, error

        def done(result) -> None:
            curves, blinks, found, error = result
            if clip is not self.doc.clip:
                return
            if landmarks is None:
                self._faces_of(clip)[ref_number] = found
                self._say(face_status(found, ref_number, "region curves", error))
            spans = [(numbers[a], numbers[b]) for a, b in blinks]
            self.region_result = (np.asarray(numbers), curves, spans)
            self.regions.show(np.asarray(numbers, dtype=float), curves, spans)
            self.regions.widget.show()

        self.tasks.run(work, done, lambda message: self.panel.status.setText(f"no region curves: {message}"))

    def _reference(self, ref: int):
        """The reference frame: kept once decoded (so playback's prefetch is never re-aimed at it); the first
        time it is asked of the loader."""
        clip = self.doc.clip
        if self._ref is not None and self._ref[0] is clip and self._ref[1] == ref:
            return self._ref[2]
        frame = self.loader.peek(ref)
        if frame is None:
            if not self.doc.playing:
                self.loader.request(ref)
                self.loader.request(self.doc.frame)   # and back to the frame on screen
            return None
        self._ref = (clip, ref, frame)
        return frame


_PENDING = object()   # a face location being looked for


def face_status(found, ref: int, what: str, error: str = "") -> str:
    """The panel's (short: one line of the panel) sentence about where ``what`` ("motion map", "region curves") is
    computed: on the face box ``found`` (a `FaceLocation`) of frame ``ref``, or on the whole frame when no face was
    found (``error``: why detection failed)."""
    if found is not None:
        return f"{what} on the face (MTCNN, frame {ref})"
    why = f"face detection failed ({error})" if error else f"no face in frame {ref}"
    return f"{why}: {what} on the whole frame"


__all__ = ["FLOW_SIZE", "MotionController", "face_status", "reference_frame"]
