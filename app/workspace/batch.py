"""Batch prediction in the app (Qt-free): which clips of the document to predict, the worker's job
(`run_batch`, built on `cmnet_core.batch.predict_many`, the loop of ``cmnet predict``) and the results
(`BatchResults`: one row per clip, the columns of ``cmnet predict``'s predictions.csv, its CSV export).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from cmnet_core.batch import BatchItem, BatchResult, row_columns
from cmnet_core.data.clip import Annotation, Clip

from .prediction import Cancelled, fresh_clip

#: Status of a row whose clip has not been predicted yet / was not reached before Cancel.
QUEUED, CANCELLED = "queued", "cancelled"
#: What `BatchController.running` says while a batch runs (the single-clip prediction waits for it).
BATCH_RUNNING = "a batch prediction"


@dataclass(frozen=True)
class BatchClip:
    """One clip of the document to predict: ``index`` in ``doc.clips``, ``ident`` its name in the results
    (`clip_ident`) and the annotation
    the app shows for it (onset, apex, offset and emotion are predicted with, as for the current clip)."""

    index: int
    clip: Clip
    ident: str
    annotation: Annotation


def batch_clips(clips: list[Clip], indices: list[int], annotation_for: Callable[[Clip], Annotation],
                in_database: bool) -> list[BatchClip]:
    """The `BatchClip` s of ``clips[i]`` for ``i`` in ``indices`` (sorted, duplicates and out-of-range indices
    dropped, and single images left out as ``cmnet predict`` leaves them out of a folder: a still photograph in a
    folder of videos is not a clip to predict). ``annotation_for(clip)``: the annotation the app shows (the
    store's, else the sheet's). Cheap: runs on the GUI thread, opens nothing."""
    chosen = sorted({i for i in indices if 0 <= i < len(clips) and len(clips[i]) != 1})
    return [BatchClip(i, clips[i], clip_ident(clips[i], in_database), annotation_for(clips[i])) for i in chosen]


def clip_ident(clip: Clip, in_database: bool) -> str:
    """A clip's name in batch results, as ``cmnet predict`` names it: ``<subject>_<clip>`` in a database, else
    the file or folder name without its extension (``张三.mp4`` → ``张三``)."""
    if in_database and clip.subject:
        return f"{clip.subject}_{clip.name}"
    return clip.path.stem or clip.path.name or clip.name


def work_item(bc: BatchClip) -> BatchItem:
    """The `BatchItem` predicted for ``bc``: its clip with its own decoder (`fresh_clip`) and the app's
    annotation. Opens the video again: call in the worker. A clip that cannot be reopened becomes a failed item."""
    from cmnet_core.data.clip import ClipError

    ann = bc.annotation
    try:
        clip = fresh_clip(bc.clip).with_annotation(onset=ann.onset, apex=ann.apex, offset=ann.offset,
                                                   emotion=ann.emotion, apex_source=ann.apex_source)
    except (ClipError, OSError, ValueError) as exc:
        return BatchItem(bc.ident, str(bc.clip.path), None, str(exc))
    return BatchItem(bc.ident, str(bc.clip.path), clip)


def run_batch(predictor, clips: list[BatchClip], emit: Callable[[BatchResult], None],
              progress: Callable[[float, str], None], cancelled: Callable[[], bool]) -> int:
    """Predict ``clips`` one after the other with ``predictor`` (worker thread): ``emit(result)`` per clip as it
    finishes (a failed clip too; the others go on). Returns the number of clips done; raises `Cancelled` when
    ``cancelled()`` turns True (the results emitted so far stay)."""
    from cmnet_core.batch import predict_many
    from cmnet_core.inference import PredictionCancelled

    items = (work_item(bc) for bc in clips)  # opened one at a time, just before its prediction
    done = 0
    try:
        for result in predict_many(predictor, items, cancel=cancelled, progress=progress,
                                   count=len(clips)):
            emit(result)
            done += 1
    except PredictionCancelled as exc:
        raise Cancelled() from exc
    return done


class BatchResults:
    """The rows of one batch run, in the order of its clips: ``rows[r]`` the `cmnet_core.batch` row (status
    ``queued`` until its result arrives), ``predictions[r]`` the `Prediction` (None unless done) and
    ``clip_index[r]`` the clip's index in ``clips`` (the document's clip list the run was started on).

    ``labels``: the checkpoint's classes (one probability column each).
    """

    def __init__(self, clips: list[BatchClip], labels: list[str], document_clips: list[Clip]) -> None:
        self.labels = list(labels)
        self.document_clips = document_clips
        self.clip_index = [bc.index for bc in clips]
        self.predictions: list = [None] * len(clips)
        self.rows: list[dict] = [{"clip": bc.ident, "subject": bc.clip.subject or "", "source": str(bc.clip.path),
                                  "status": QUEUED, "error": "", "true_label": bc.annotation.emotion or "",
                                  "annotated_apex": "" if bc.annotation.apex is None else bc.annotation.apex}
                                 for bc in clips]

    def __len__(self) -> int:
        return len(self.rows)

    def set_result(self, result: BatchResult) -> int:
        """Store ``result`` (from `predict_many`, ``index`` 1-based); returns its row."""
        r = result.index - 1
        self.rows[r] = dict(result.row)
        self.predictions[r] = result.prediction
        return r

    def cancel_rest(self) -> list[int]:
        """Mark the rows still queued as cancelled; returns them."""
        rest = [r for r, row in enumerate(self.rows) if row["status"] == QUEUED]
        for r in rest:
            self.rows[r]["status"] = CANCELLED
        return rest

    def counts(self) -> dict[str, int]:
        """How many rows have each status (``done``, ``failed``, ``queued``, ``cancelled``)."""
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row["status"]] = counts.get(row["status"], 0) + 1
        return counts

    def csv_text(self) -> str:
        """The rows as CSV text: one header row (the columns of ``cmnet predict``'s predictions.csv, every
        ``p_<label>`` of the checkpoint included even when no clip was done), then one row per clip."""
        columns = row_columns([*self.rows, {f"p_{lab}": "" for lab in self.labels}])
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(self.rows)
        return out.getvalue()

    def write_csv(self, path: str | Path) -> Path:
        """Write `csv_text` to ``path`` as UTF-8 with a byte-order mark (Excel then reads non-ASCII names;
        pandas and ``csv`` read it with ``encoding="utf-8-sig"``), atomically. Raises `OSError` (`DiskFullError`
        when the disk is full); a previous file at ``path`` is then kept."""
        from cmnet_core.safe_write import write_bytes_atomically

        return write_bytes_atomically(path, self.csv_text().encode("utf-8-sig"))


def table_columns(labels: list[str]) -> list[tuple[str, Callable[[dict], object]]]:
    """The columns of the results table: (header, ``value(row)``) with the value shown and sorted on ("" when
    none). Clip, subject, true label, predicted label, one probability per class, annotated apex, spotted apex
    and its confidence (when the apex was spotted), k_n peak frame, status, notes (the error of a failed clip)."""
    def spotted(key: str) -> Callable[[dict], object]:
        return lambda row: row.get(key, "") if row.get("apex_source") == "spotted" else ""

    return [("Clip", lambda row: row["clip"]), ("Subject", lambda row: row.get("subject", "")),
            ("True label", lambda row: row.get("true_label", "")), ("Predicted", lambda row: row.get("label", "")),
            *((f"p({lab})", lambda row, k=f"p_{lab}": row.get(k, "")) for lab in labels),
            ("Annotated apex", lambda row: row.get("annotated_apex", "")),
            ("Spotted apex", spotted("apex_frame")), ("Confidence", spotted("apex_confidence")),
            ("k_n peak", lambda row: row.get("k_peak_frame", "")), ("Status", lambda row: row["status"]),
            ("Notes", lambda row: row.get("error") or row.get("notes", ""))]


def cell_text(value) -> str:
    """How the table writes a value: frames without a needless ``.0``, probabilities with 3 decimals."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}" if value.is_integer() else f"{value:.3f}"
    return str(value)
