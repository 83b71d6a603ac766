"""Glue between the GUI's worker tasks and `cmnet_core.inference.Predictor` (Qt-free)."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

from cmnet_core.data.clip import Clip


class Cancelled(Exception):
    """Raised inside a worker task when the user cancelled it."""


def metadata_dict(meta) -> dict:
    """A checkpoint's metadata as a plain dict (it may be a dict or a dataclass)."""
    if meta is None:
        return {}
    if isinstance(meta, dict):
        return dict(meta)
    if dataclasses.is_dataclass(meta):
        return dataclasses.asdict(meta)
    return dict(vars(meta))


def metadata_labels(meta) -> list[str]:
    """The class names a checkpoint predicts ([] when unknown)."""
    return [str(x) for x in (metadata_dict(meta).get("labels") or [])]


def load_predictor(path: str | Path, device: str = "auto"):
    """`Predictor.load(path, device)`; ``"cuda"`` without CUDA falls back to the CPU (the panel then warns).

    Raises `CheckpointError` with the reason for a bad file.
    """
    import torch

    from cmnet_core.inference import Predictor

    if str(device).startswith("cuda") and not torch.cuda.is_available():
        device = "cpu"
    return Predictor.load(path, device=device)


def run_predictor(predictor, clip: Clip, progress: Callable[[float, str], None], cancelled: Callable[[], bool]):
    """``predictor.predict(clip)`` reporting ``progress(fraction, message)``; raises `Cancelled` on cancel."""

    def report(*args) -> None:
        fraction = float(args[0]) if args else 0.0
        message = str(args[1]) if len(args) > 1 else ""
        progress(fraction, message)
        if cancelled():
            raise Cancelled()

    from cmnet_core.inference import PredictionCancelled

    try:
        return predictor.predict(clip, progress=report, cancel=cancelled)
    except PredictionCancelled as exc:
        raise Cancelled() from exc


def fresh_clip(clip: Clip) -> Clip:
    """A copy of ``clip`` with its own frame source when it is a video file, so that the prediction worker
    never shares a decoder with the frame loader (the frame index is shared, not rebuilt); other sources are safe
    to share."""
    path = clip.path
    if path.is_file():
        from dataclasses import replace

        from cmnet_core.data.readers import open_source

        clone = getattr(clip.source, "clone", None)
        return replace(clip, source=clone() if clone is not None else open_source(path))
    return clip


def label_mismatch(predictor, database) -> str:
    """A message when the checkpoint's labels differ from the open database's protocol ('' when they fit)."""
    labels = metadata_labels(getattr(predictor, "metadata", None))
    if database is None or not labels or list(labels) == list(database.labels):
        return ""
    return (f"This checkpoint predicts {', '.join(labels)}, but the open database uses protocol "
            f"{database.protocol} ({', '.join(database.labels)}). Predictions will use the checkpoint's labels. "
            "To compare with the sheet's labels, choose a checkpoint trained on this protocol "
            "(e.g. cmnet loso on this database).")


def emotion_mismatch(predictor, emotion: str | None) -> str:
    """A warning when the clip's annotated ``emotion`` is not one of the checkpoint's labels ('' otherwise,
    also when nothing is annotated or no checkpoint is loaded); compared without case."""
    labels = metadata_labels(getattr(predictor, "metadata", None))
    if not emotion or not labels or emotion.strip().lower() in {lab.lower() for lab in labels}:
        return ""
    return (f"annotated '{emotion}' is not among this model's labels: {', '.join(labels)}. Its prediction "
            "cannot be that emotion; choose a checkpoint trained with it.")


def detect_face(frame):
    """The largest face in ``frame`` (uint8 RGB (H, W, 3)) with the preprocessing's landmark backend
    (FAN when its files exist, else MTCNN): ``(box (4,) x0, y0, x1, y1, points (5, 2) x, y)`` in pixels,
    or None when no face is found."""
    from cmnet_core.preprocess.face import get_backend, resolve_backend

    faces = get_backend(resolve_backend("auto")[0]).detect(frame)
    if not faces:
        return None
    return faces[0].box, faces[0].points
