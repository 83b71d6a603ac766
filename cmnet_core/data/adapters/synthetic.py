"""Adapter for synthetic databases written by `cmnet_core.data.synthetic.write_synthetic_database`.

Recognised by ``synthetic.json`` at the root. Annotations come from ``clips.csv`` (so a user's
edits there are honoured), ground truth (true intensity, landmarks) from ``truth.json``.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from ..database import Adapter, Database, DatabaseError, Skip, register_adapter
from ..synthetic import (FRAME_PATTERN, SHEET_COLUMNS, SHEET_FILE, SPEC_FILE, TRUTH_FILE, Distractors,
                         clip_from_spec)


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

    Rows whose clip folder or frames are missing, whose emotion is not in the tree's labels, whose
    apex lies outside onset..offset or that have no ground truth are listed as skips.
    Raises `DatabaseError` for an unreadable spec/sheet/truth file or a foreign protocol.
    """
    root = Path(root)
    spec = _read_json(root / SPEC_FILE)
    try:
        labels = list(spec["labels"])
        size, fps, own_protocol = int(spec["image_size"]), float(spec["fps"]), str(spec["protocol"])
        distractors = Distractors(**spec.get("distractors", {}))
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
        if not onset <= apex <= offset:
            db.skips.append(Skip(item, f"apex {apex} outside onset..offset {onset}..{offset}"))
            continue
        if key not in truth:
            db.skips.append(Skip(item, f"no ground truth for {key} in {TRUTH_FILE}"))
            continue
        folder = root / row["subject"] / row["clip"]
        if not folder.is_dir():
            db.skips.append(Skip(item, f"missing clip folder {folder}"))
            continue
        entry = truth[key]
        clip = clip_from_spec({"subject": row["subject"], "name": row["clip"], "label": row["emotion"],
                               "seed": entry["seed"], "identity_seed": entry["identity_seed"]}, size, fps, distractors)
        absent = [n for n in clip.frame_numbers if not (folder / FRAME_PATTERN.format(n)).is_file()]
        if absent:
            db.skips.append(Skip(item, f"missing frames {FRAME_PATTERN.format(absent[0])} .. ({len(absent)} in all)"))
            continue
        db.clips.append(clip.with_annotation(onset=onset, apex=apex, offset=offset, aus=row["aus"]))
    return db


register_adapter(Adapter(name="synthetic", detect=detect, load=load, protocols=("synthetic-4",)))
