"""Candidate intervals of a long video: `cmnet_core.spotting.spot` in a worker (progress, cancel; on whole frames
the face of the first frame is located first, `cmnet_core.preprocess.face.locate_face`), the list in
the candidates panel, a click jumps to a candidate, **Accept** turns one into the clip's annotation (an undoable
edit, noted as a candidate accepted by the user), export as CSV or an ELAN tier."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject

from ..dialogs import Dialogs, beside
from ..widgets.candidates_panel import CandidatesPanel
from ..workspace.document import Document
from ..workspace.prediction import fresh_clip
from .tasks import TaskRunner


class SpottingController(QObject):
    """Drives ``panel`` for ``doc``'s current clip. ``go_to(frame)`` moves the window to a frame;
    ``edit(text, **fields)`` makes an undoable annotation edit (`CommandContext.edit_annotation`);
    ``show_spans([(onset, offset, kind)])`` draws the candidates on the time axis (the intensity plot)."""

    def __init__(self, doc: Document, panel: CandidatesPanel, tasks: TaskRunner, dialogs: Dialogs,
                 go_to: Callable[[int], None], edit: Callable, status: Callable[[str, int], None],
                 parent: QObject, show_spans: Callable[[list], None] = lambda spans: None) -> None:
        super().__init__(parent)
        self.doc, self.panel, self.tasks, self.dialogs = doc, panel, tasks, dialogs
        self.go_to, self.edit, self.status, self.show_spans = go_to, edit, status, show_spans
        self.candidates: list = []
        self.clip = None          # the clip the candidates belong to
        self.task = None
        panel.spotRequested.connect(self.start)
        panel.cancelRequested.connect(self.cancel)
        panel.jumpRequested.connect(self.jump)
        panel.acceptRequested.connect(self.accept)
        panel.exportRequested.connect(self.export)
        doc.clip_changed.connect(self._clip_changed)

    def _clip_changed(self) -> None:
        if self.doc.clip is not self.clip:
            self.cancel()
            self.candidates, self.clip = [], None
            self.panel.set_candidates([])
            self.show_spans([])
            self.panel.summary.setText("")
            self.panel.progress.setValue(0)
            self.panel.progress.setFormat("")

    def start(self) -> None:
        """Spot the current clip in a worker."""
        clip = self.doc.clip
        if clip is None or self.task is not None:
            return
        from cmnet_core.spotting import spot

        def work(progress, cancelled):
            own = fresh_clip(clip)
            try:
                landmarks, note, track = None, "", None
                if clip.landmarks_hint is None:   # whole frames: spot on the face, found again every 5 s
                    progress(0.0, "finding the face…")
                    landmarks, note = first_face(own)
                    if "failed" not in note:   # the detector works: follow the face (or find it later)
                        from cmnet_core.preprocess.face import locate_landmarks as track
                report: dict = {}
                found = spot(own, landmarks=landmarks, track=track, report=report, cancelled=cancelled,
                             progress=lambda done, total: progress(done / max(total, 1), f"frame {done} of {total}"))
                if report.get("no_face"):
                    note = (f"{note}; " if note else "") + (
                        f"no face in {report['no_face_s']:.1f} s ({len(report['no_face'])} stretch"
                        f"{'es' if len(report['no_face']) > 1 else ''} from frame {report['no_face'][0][0]}): "
                        "no candidates there")
                if getattr(clip, "time_source", "") == "assumed":
                    note = (f"{note}; " if note else "") + (f"times assume {clip.fps:g} fps (set the frame rate: "
                                                            "micro vs macro depends on it)")
                return found, note
            finally:
                own.close()

        def done(result) -> None:
            candidates, note = result
            self.task = None
            self.panel.set_running(False)
            self.clip, self.candidates = clip, list(candidates)
            self.panel.set_candidates(self.candidates)
            self.show_spans([(c.onset, c.offset, c.kind) for c in self.candidates])
            micro = sum(c.kind == "micro" for c in self.candidates)
            self.panel.progress.setValue(1000)
            self.panel.summary.setText(f"{len(self.candidates)} candidate{'' if len(self.candidates) == 1 else 's'} "
                                       f"({micro} micro, "
                                       f"{len(self.candidates) - micro} macro)" + (f"; {note}" if note else ""))

        def failed(message: str) -> None:
            self.task = None
            self.panel.set_running(False)
            self.panel.summary.setText(f"not spotted: {message}")
            self.panel.progress.setValue(0)
            self.panel.progress.setFormat("")

        def progress(fraction: float, message: str) -> None:
            self.panel.progress.setValue(int(1000 * fraction))
            self.panel.progress.setFormat(message or "%p %")

        self.panel.set_running(True)
        self.panel.summary.setText("spotting…")
        self.task = self.tasks.run(work, done, failed, progress)

    def cancel(self) -> None:
        """Stop a running spotting run (what it found so far is dropped)."""
        if self.task is not None:
            self.task.cancel()

    def jump(self, row: int) -> None:
        """Show candidate ``row`` at its onset."""
        if 0 <= row < len(self.candidates) and self.clip is self.doc.clip:
            self.go_to(self.candidates[row].onset)

    def accept(self, row: int = -1) -> None:
        """Make candidate ``row`` (default: the selected one) the clip's annotation: onset, apex, offset, apex from
        spotting, and the note "candidate from spotting, accepted by the user" (one undoable edit)."""
        row = row if row >= 0 else self.panel.selected_row()
        if not 0 <= row < len(self.candidates) or self.clip is not self.doc.clip:
            return
        ann = self.candidates[row].to_annotation()
        self.edit(f"Accept candidate {ann.onset}–{ann.offset}", onset=ann.onset, apex=ann.apex, offset=ann.offset,
                  apex_source=ann.apex_source, notes=ann.notes)
        self.status(f"Candidate {ann.onset}–{ann.offset} is now the annotation (Ctrl+Z undoes it)", 6000)

    def export(self, kind: str, path: str | None = None) -> Path | None:
        """Write the candidates as CSV (``kind`` "csv") or an ELAN file with a candidates tier ("eaf")."""
        if not self.candidates or self.clip is None:
            return None
        from cmnet_core import spotting

        suffix, flt = (".csv", "CSV (*.csv)") if kind == "csv" else (".eaf", "ELAN annotation file (*.eaf)")
        path = path or self.dialogs.save_file("Export candidates",
                                              beside(self.clip.path, f"{self.clip.name}_candidates{suffix}"), flt)
        if not path:
            return None
        from cmnet_core.safe_write import check_output

        try:
            check_output(path, inputs=[self.clip.path], option="the export")
            if kind == "csv":
                spotting.candidates_csv(self.candidates, path, self.clip)
            else:
                spotting.write_candidates_eaf(path, self.candidates, self.clip)
        except (OSError, ValueError) as exc:
            self.dialogs.error("Candidates not exported", f"{path}:\n{exc}")
            return None
        self.status(f"Candidates written to {path}", 6000)
        return Path(path)


def first_face(clip) -> tuple:
    """``(landmarks (5, 2) pixels of the first frame or None, note)`` for spotting a whole-frame video: the face
    MTCNN finds in the first frame (`cmnet_core.preprocess.face.locate_face`; the spotter places its face box
    and regions from these), else None with a note saying why (the spotter then looks every second until it finds
    one; a detector that fails: the whole frame). Runs in a worker."""
    from cmnet_core.preprocess import face

    first = int(clip.frame_numbers[0])
    try:
        found = face.locate_face(clip.frame(first))
    except Exception as exc:  # noqa: BLE001 - no detector: spot on the whole frame, and say so
        return None, f"face detection failed ({exc}): spotted on the whole frame"
    if found is None:
        return None, f"no face in frame {first}: looked for every second"
    from cmnet_core.spotting import face_box_from_landmarks

    width, height = clip.size
    x, y, w, h = face_box_from_landmarks(found.points, width, height)   # the box `spot` places from them
    return found.points, f"spotted on the face (MTCNN, frame {first}: box {w}×{h} px at {x}, {y}; followed every 5 s)"


__all__ = ["SpottingController", "first_face"]
