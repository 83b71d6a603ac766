"""The clips annotated in the app as a training source (Qt-free): a folder holding one CSV in the generic
adapter's columns (`cmnet_core.data.adapters.generic`), whose ``clip`` cells are the absolute paths of the
videos / frame folders, so ``cmnet train`` / ``cmnet loso`` read them like any lab database.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterable

from cmnet_core.data.annotation_io import atomic_write_text
from cmnet_core.data.clip import Annotation, Clip

CSV_NAME = "clips.csv"
COLUMNS = ("clip", "subject", "onset", "apex", "offset", "emotion", "aus", "notes")


def usable(pairs: Iterable[tuple[Clip, Annotation]]) -> list[tuple[Clip, Annotation]]:
    """The (clip, annotation) pairs that can train: an emotion is set and the marks fit the clip."""
    return [(c, a) for c, a in pairs if a.emotion and not a.validate(c.frame_numbers)]


def write_generic_csv(pairs: Iterable[tuple[Clip, Annotation]], folder: str | Path) -> Path:
    """Write ``folder/clips.csv`` (created atomically) for the `usable` pairs; returns the folder.

    Subject: the clip's subject, or its file's parent folder name for a loose video (one LOSO fold per folder).
    Frame numbers are the source's own, as the app shows them. Raises ``ValueError`` when no pair is usable,
    ``OSError`` when the folder cannot be written.
    """
    rows = usable(pairs)
    if not rows:
        raise ValueError("no clip open in the app has an emotion and consistent onset/apex/offset; annotate "
                         "clips (emotion and marks) first")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    lines: list[list[str]] = [list(COLUMNS)]
    for clip, ann in rows:
        subject = clip.subject or clip.path.parent.name
        marks = ["" if v is None else str(int(v)) for v in (ann.onset, ann.apex, ann.offset)]
        lines.append([str(clip.path.resolve()), subject, *marks, ann.emotion, ann.aus, ann.notes])
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(lines)
    atomic_write_text(folder / CSV_NAME, text.getvalue())
    return folder
