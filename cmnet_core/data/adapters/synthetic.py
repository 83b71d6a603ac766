"""Adapter for synthetic databases written by `cmnet_core.data.synthetic_writer.write_synthetic_database`.

Recognised by ``synthetic.json`` at the root. Annotations come from ``clips.csv`` (so a user's
edits there are honoured), ground truth (true intensity, landmarks) from ``truth.json``.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from ..clip import Annotation, Clip, ClipError
from ..database_types import Adapter, Database, DatabaseError, Skip, register_adapter
from ..readers import FolderSource
from ..synthetic import FRAME_PATTERN, SHEET_COLUMNS, SHEET_FILE, SPEC_FILE, TRUTH_FILE


def detect(root: Path) -> bool:
    """True when ``root`` holds a ``synthetic.json`` generator spec."""
    return (Path(root) / SPEC_FILE).is_file()


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatabaseError(f"{path}: cannot read it ({exc}); regenerate the tree with `cmnet make-synthetic`") from exc


def _int(row: dict, key: str) -> int:
    try:
        return int(row[key])
    except (TypeError, ValueError):
        raise ValueError(f"{key} {row[key]!r} is not a frame number") from None


def load(root: Path, sheet: Path | None = None, protocol: str | None = None) -> Database:
    """Open a synthetic tree. ``sheet`` defaults to ``root/clips.csv``; ``protocol`` must be the
    tree's own (``synthetic-<C>``) or None.

    Frames are read from the PNG folders (`FolderSource`). Rows whose clip folder or frames are
    missing, whose emotion is not in the tree's labels, whose marks lie outside the clip or apex
    outside onset..offset, or that have no ground truth are listed as skips.
    Raises `DatabaseError` for an unreadable spec/sheet/truth file or a foreign protocol.
    """
    root = Path(root)
    spec = _read_json(root / SPEC_FILE)
    try:
        labels, fps, own_protocol = list(spec["labels"]), float(spec["fps"]), str(spec["protocol"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DatabaseError(f"{root / SPEC_FILE}: missing or bad entry ({exc}); regenerate the tree") from exc
    if protocol is not None and protocol != own_protocol:
        raise DatabaseError(f"{root}: a synthetic tree has only its own protocol {own_protocol!r}, not {protocol!r}")
    sheet = Path(sheet) if sheet is not None else root / SHEET_FILE
    truth = _read_json(root / TRUTH_FILE)
    try:
        with open(sheet, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            columns = reader.fieldnames or []
    except OSError as exc:
        raise DatabaseError(f"{sheet}: cannot read the sheet ({exc})") from exc
    missing = [c for c in SHEET_COLUMNS if c not in columns]
    if missing:
        raise DatabaseError(f"{sheet}: missing columns {missing}; expected {list(SHEET_COLUMNS)}")

    db = Database(name="synthetic", root=root, protocol=own_protocol, labels=labels, sheet=sheet)
    for line, row in enumerate(rows, start=2):
        item = f"row {line} ({row['subject']}/{row['clip']})"
        key = f"{row['subject']}/{row['clip']}"
        try:
            onset, apex, offset = (_int(row, k) for k in ("onset", "apex", "offset"))
        except ValueError as exc:
            db.skips.append(Skip(item, str(exc)))
            continue
        if row["emotion"] not in labels:
            db.skips.append(Skip(item, f"emotion {row['emotion']!r} is not one of {labels}"))
            continue
        if key not in truth:
            db.skips.append(Skip(item, f"no ground truth for {key} in {TRUTH_FILE}"))
            continue
        try:
            intensity = {int(n): float(v) for n, v in truth[key]["true_intensity"].items()}
            landmarks = np.asarray(truth[key]["landmarks_hint"], dtype=np.float32).reshape(5, 2)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            db.skips.append(Skip(item, f"bad ground truth for {key} in {TRUTH_FILE} ({exc!r})"))
            continue
        folder = root / row["subject"] / row["clip"]
        if not folder.is_dir():
            db.skips.append(Skip(item, f"missing clip folder {folder}"))
            continue
        try:
            source = FolderSource(folder, fps=fps)
        except ClipError as exc:
            db.skips.append(Skip(item, str(exc)))
            continue
        expected = sorted(intensity)
        absent = sorted(set(expected) - set(source.frame_numbers))
        if absent:
            db.skips.append(Skip(item, f"missing frames {', '.join(FRAME_PATTERN.format(n) for n in absent[:3])}"
                                       f"{' ...' if len(absent) > 3 else ''} ({len(absent)} in all)"))
            continue
        annotation = Annotation(onset=onset, apex=apex, offset=offset, emotion=row["emotion"], aus=row["aus"],
                                notes=row["notes"], apex_source="annotated")
        problems = annotation.validate(source.frame_numbers)
        if problems:
            db.skips.append(Skip(item, "; ".join(problems)))
            continue
        db.clips.append(Clip(source=source, name=row["clip"], subject=row["subject"], database="synthetic",
                             annotation=annotation, true_intensity=intensity, landmarks_hint=landmarks,
                             true_amplitude_px=truth[key].get("amplitude_px")))
    return db


register_adapter(Adapter(name="synthetic", detect=detect, load=load, protocols=("synthetic-4",)))
