"""The MEGC 2019 composite database (CASME II + SAMM + SMIC-HS, 3 classes; See et al., FG 2019).

Ground truth ``megc2019_composite_3class_gt.csv`` has no header: ``dataset,subject,clip,label``
with label 0 = negative, 1 = positive, 2 = surprise and each database's own subject spelling
(``sub01``, ``6`` for SAMM 006, ``s01`` for SMIC s1). `read_megc2019_gt` parses it;
`megc2019_composite` opens the three database roots, takes each GT row's clip from them and
labels it from the GT file, with subjects prefixed by database (``casme2/sub01``) so that LOSO
folds never mix subjects of different databases.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, replace
from pathlib import Path

from .clip import Clip
from .database import Database, DatabaseError, Skip, open_database
from .protocols import PROTOCOLS

PROTOCOL = "megc2019-3"
LABELS = PROTOCOLS[PROTOCOL].labels
DATASETS = ("casme2", "samm", "smic")


@dataclass(frozen=True)
class GTRow:
    """One composite ground-truth row; ``subject`` is prefixed (``'samm/006'``), ``label`` a class name."""

    row: int
    dataset: str
    subject: str
    clip: str
    label: str


def _clip_key(dataset: str, subject: str, clip: str) -> tuple[str, str]:
    """Spelling-independent key of one clip: prefixed canonical subject + clip name (SMIC: ``s01_`` = ``s1_``)."""
    if dataset == "smic":
        clip = re.sub(r"^s0*(\d+)", r"s\1", clip.lower())
    return canonical_subject(dataset, subject), clip


def canonical_subject(dataset: str, subject: str) -> str:
    """Prefixed subject in the database's folder spelling: ``('samm', '6')`` → ``'samm/006'``,
    ``('smic', 's01')`` → ``'smic/s1'``, ``('casme2', 'sub01')`` → ``'casme2/sub01'``."""
    digits = re.sub(r"\D", "", subject)
    if not digits:
        return f"{dataset}/{subject}"
    n = int(digits)
    spelled = {"casme2": f"sub{n:02d}", "samm": f"{n:03d}", "smic": f"s{n}"}.get(dataset, subject)
    return f"{dataset}/{spelled}"


def read_megc2019_gt(path: Path | str) -> list[GTRow]:
    """Parse the composite ground truth.

    Raises `DatabaseError` naming the file and row for a short row, an unknown dataset or a label
    other than 0/1/2.
    """
    path = Path(path)
    if not path.is_file():
        raise DatabaseError(f"MEGC 2019 ground truth {path} does not exist")
    out: list[GTRow] = []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        for i, rec in enumerate(csv.reader(fh), start=1):
            if not any(x.strip() for x in rec):
                continue
            if len(rec) < 4:
                raise DatabaseError(f"{path.name} row {i}: expected dataset,subject,clip,label; got {rec}")
            dataset, subject, clip, label = (x.strip() for x in rec[:4])
            if dataset not in DATASETS:
                raise DatabaseError(f"{path.name} row {i}: unknown dataset {dataset!r} (expected {', '.join(DATASETS)})")
            if label not in ("0", "1", "2"):
                raise DatabaseError(f"{path.name} row {i}: label {label!r} is not 0, 1 or 2")
            out.append(GTRow(i, dataset, canonical_subject(dataset, subject), clip, LABELS[int(label)]))
    return out


def megc2019_composite(gt: Path | str, roots: dict[str, Path | str],
                       sheets: dict[str, Path | str | None] | None = None) -> Database:
    """The composite `Database` (name ``megc2019``, protocol megc2019-3).

    Parameters
    ----------
    gt : the composite ground-truth CSV.
    roots : ``{"casme2": root, "samm": root, "smic": root}``; a missing database leaves its GT rows
        as skips.
    sheets : optional annotation sheet per database (onset/apex/offset come from there).

    Each GT row takes its clip (frames, onset/apex/offset) from the database opened with protocol
    megc2019-3; the label comes from the GT file (a disagreement with the database's own mapping
    is written into the clip's notes). Rows whose clip the database does not give are skips
    carrying that database's own skip reason when it has one.
    Raises `DatabaseError` as `read_megc2019_gt` and `open_database` do.
    """
    rows = read_megc2019_gt(gt)
    sheets = sheets or {}
    db = Database("megc2019", Path(gt).parent, PROTOCOL, list(LABELS), sheet=Path(gt))
    found: dict[tuple[str, str], Clip] = {}
    reasons: dict[tuple[str, str], str] = {}
    for name, root in roots.items():
        part = open_database(root, sheets.get(name), kind=name, protocol=PROTOCOL)
        for clip in part.clips:
            found[_clip_key(name, clip.subject, clip.name)] = clip
        for s in part.skips:
            m = re.search(r"\(([^()/]+)/([^()/]+)\)$", s.item)
            if m:
                reasons[_clip_key(name, m.group(1), m.group(2))] = s.reason
    for r in rows:
        key = _clip_key(r.dataset, r.subject.split("/", 1)[1], r.clip)
        clip = found.get(key)
        item = f"{Path(gt).name} row {r.row} ({r.subject}/{r.clip})"
        if clip is None:
            why = reasons.get(key) or (f"no {r.dataset} root given" if r.dataset not in roots
                                       else f"clip not found in the {r.dataset} database")
            db.skips.append(Skip(item, why))
            continue
        notes = clip.annotation.notes
        if clip.label != r.label:
            notes = "; ".join(x for x in (notes, f"database mapping says {clip.label}; GT {r.label} used") if x)
        db.clips.append(replace(clip, subject=r.subject,
                                annotation=replace(clip.annotation, emotion=r.label, notes=notes)))
    return db
