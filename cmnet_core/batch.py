"""Predicting many clips with one checkpoint: one row per clip and `predict_many`, shared by ``cmnet predict``
(its predictions.csv) and the app's batch prediction (its results table and CSV export), so both have the same
columns by construction.

A clip that cannot be read, or whose face is not found, becomes a ``"failed"`` row with its error and the others
go on; only cancelling stops the run.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, NamedTuple

from .data.clip import Clip, ClipError
from .preprocess.errors import PreprocessError

if TYPE_CHECKING:  # torch is imported only when a prediction runs
    from .inference import Prediction, Predictor

#: The columns every row has, in order; a done row adds ``p_<label>`` per class of the checkpoint after them.
ROW_COLUMNS = ("clip", "subject", "source", "status", "error", "seconds", "label", "true_label", "annotated_apex",
               "apex_position", "apex_source", "apex_spotter", "apex_confidence", "apex_frame", "k_peak_frame",
               "apex_change", "time_source", "backend", "device", "notes")


class BatchItem(NamedTuple):
    """One clip to predict: ``ident`` its name in the results (made file-safe and unique by `predict_many`),
    ``source`` its file or folder, ``clip`` the `Clip` or None when it could not be opened, then ``error`` says
    why."""

    ident: str
    source: str
    clip: Clip | None
    error: str = ""


@dataclass
class BatchResult:
    """What `predict_many` yields per clip: ``index`` (1-based, in the order of the items), ``ident`` (unique,
    file-safe), ``row`` (`prediction_row` or `failed_row`), ``prediction`` (None when failed), ``clip`` (None
    when it could not be opened) and ``seconds`` taken."""

    index: int
    ident: str
    row: dict
    prediction: Prediction | None
    clip: Clip | None
    seconds: float

    @property
    def failed(self) -> bool:
        """True when the clip could not be predicted (``row["error"]`` says why)."""
        return self.prediction is None


def safe_ident(ident: str, used: set[str]) -> str:
    """``ident`` with runs of characters other than letters (of any script), digits, ``.`` and ``-`` replaced by
    ``_`` (it names the clip's CSV file), made unique among ``used`` with ``-2``, ``-3`` …; added to ``used``."""
    ident = re.sub(r"[^\w.-]+", "_", ident)
    base, k = ident, 1
    while ident in used:
        k += 1
        ident = f"{base}-{k}"
    used.add(ident)
    return ident


def failed_row(ident: str, source: str, error: str, seconds: float, clip: Clip | None = None) -> dict:
    """The row of a clip that could not be predicted: status ``"failed"`` and the error; subject and true label
    when the clip was opened. ``seconds``: time spent on it."""
    return {"clip": ident, "subject": clip.subject if clip is not None else "", "source": source,
            "status": "failed", "error": error, "seconds": round(seconds, 3),
            "true_label": (clip.label or "") if clip is not None else ""}


def prediction_row(pred: Prediction, clip: Clip, ident: str, seconds: float, device: str) -> dict:
    """The row of a predicted clip (`ROW_COLUMNS`, then ``p_<label>`` per class rounded to 6 decimals).

    ``annotated_apex`` is the clip's annotated apex frame ("" when none); ``apex_frame`` the apex the prediction
    used (source frame number), taken from ``apex_source`` (``annotated``, ``spotted`` with ``apex_spotter`` and
    ``apex_confidence``, or ``midpoint``); ``k_peak_frame`` the frame of the peak of k_n; ``apex_change`` the
    clip-level intensity (px at a 224-px face crop); ``seconds`` the time taken; ``device`` where it ran."""
    prov = pred.provenance
    return {"clip": ident, "subject": clip.subject or "", "source": str(clip.path), "status": "done", "error": "",
            "seconds": round(seconds, 3), "label": pred.label, "true_label": clip.label or "",
            "annotated_apex": clip.apex if clip.apex is not None else "",
            "apex_position": pred.apex_position, "apex_source": prov["apex_source"],
            "apex_spotter": prov.get("apex_spotter", ""), "apex_confidence": prov.get("apex_confidence"),
            "apex_frame": float(pred.frame_map[pred.apex_position]), "k_peak_frame": pred.k_peak_frame,
            "apex_change": round(float(pred.apex_change), 4), "time_source": pred.time_source,
            "backend": prov["preprocess_backend"], "device": str(device), "notes": "; ".join(prov["notes"]),
            **{f"p_{lab}": round(float(p), 6) for lab, p in zip(pred.labels, pred.probabilities)}}


def row_columns(rows: Iterable[dict]) -> list[str]:
    """The CSV header for ``rows``: the keys of the first done row (`prediction_row`'s order), then any other
    key in first-seen order — so the order is the same whichever clip failed first (failed rows lack the
    prediction's columns)."""
    rows = list(rows)
    done = [r for r in rows if r.get("status") == "done"]
    return list(dict.fromkeys(k for r in [*done[:1], *rows] for k in r))


def predict_many(predictor: Predictor, items: Iterable[BatchItem],
                 cancel: Callable[[], bool] | None = None,
                 progress: Callable[[float, str], None] | None = None,
                 started: Callable[[int, int, str, str], None] | None = None,
                 close: bool = True, count: int | None = None) -> Iterator[BatchResult]:
    """Predict ``items`` one after the other, yielding a `BatchResult` per clip as soon as it is done.

    A clip that could not be opened (``clip`` None), does not decode (`ClipError`) or has no face / cannot be
    preprocessed (`PreprocessError`) gives a failed result and the others go on.

    cancel : checked before each clip and between the stages of a prediction; True raises
        `cmnet_core.inference.PredictionCancelled` (results yielded so far stay valid).
    progress : ``progress(fraction of the whole run in [0, 1], message)``.
    started : ``started(index, count, ident, source)`` before each clip (1-based index).
    close : close each clip's source after its prediction (the CLI opens them for this run only; pass False
        for clips whose source someone else still reads).
    count : the number of items when ``items`` is a generator (each clip then opened just before its prediction);
        by default ``items`` is listed first.
    """
    from .inference import PredictionCancelled

    if count is None:
        items = list(items)
        count = len(items)
    used: set[str] = set()
    for i, item in enumerate(items, start=1):
        ident = safe_ident(item.ident, used)
        if cancel is not None and cancel():
            raise PredictionCancelled(f"batch prediction cancelled before clip {i} of {count} ({ident})")
        if started is not None:
            started(i, count, ident, item.source)
        clip = item.clip
        if clip is None:
            yield BatchResult(i, ident, failed_row(ident, item.source, item.error, 0.0), None, None, 0.0)
            continue

        def stage(fraction: float, message: str = "", i=i, ident=ident) -> None:
            if progress is not None:
                progress((i - 1 + fraction) / count, f"clip {i}/{count} {ident}: {message}")

        t = time.perf_counter()
        try:
            pred, error = predictor.predict(clip, progress=stage, cancel=cancel), ""
        except (PreprocessError, ClipError) as exc:
            pred, error = None, str(exc)
        finally:
            if close:
                clip.close()
        seconds = time.perf_counter() - t
        if pred is None:
            row = failed_row(ident, item.source, error, seconds, clip)
        else:
            row = prediction_row(pred, clip, ident, seconds, str(predictor.device))
        yield BatchResult(i, ident, row, pred, clip, seconds)
    if progress is not None:
        progress(1.0, f"{count} clip(s) done")
