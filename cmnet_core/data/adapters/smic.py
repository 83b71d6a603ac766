"""SMIC-HS adapter (Li et al., FG 2013): ``s1/micro/negative/s1_ne_01/image123456.bmp`` trees.

Labels come from the folder names (negative / positive / surprise); each clip folder is already
cut to onset..offset, so onset and offset are its first and last frame. ``non_micro`` folders
are listed as skips. Frame rate 100 fps.

SMIC-HS has no apex annotation. An apex sheet in the format of ``smic_apex.xlsx`` (columns
subject, clip, label 0/1/2, onset_frame, apex_frame, offset_frame) can be given; it numbers
frames as the SMIC-E long videos do (``image17581046``). Mapping, per clip:

1. the sheet's apex number is one of the clip's own frame numbers (the HS clip files carry the
   camera's frame counter, as the sheet does) → that frame; apex_source ``"sheet"``;
2. otherwise the clip is taken to start at the sheet's onset: apex = the clip's frame at
   position apex − onset (when inside the clip); apex_source ``"sheet"``, and the clip's notes
   record the mapping and whether the clip length agreed with offset − onset + 1;
3. otherwise (no row, or the apex falls outside the clip) apex None, apex_source ``""``: the
   preprocessing's apex spotting decides.

Subject spellings ``s1`` / ``s01`` match each other. A sheet label that disagrees with the folder is
noted on the clip (the folder wins); sheet rows with no clip folder are listed as skips.
"""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from ..clip import Clip
from ..database_types import Adapter, Database, register_adapter
from ..protocols import get_protocol
from ..sheets import NotAFrame, as_frame, as_text, cell, read_table
from .common import SheetRow, Skip, build_database

NAME = "smic"
FPS = 100.0
SHEET_PATTERNS = ("smic_apex*.xlsx", "smic*apex*.xlsx", "smic_apex*.csv", "smic*apex*.csv")
_SUBJECT_DIR = re.compile(r"^s\d+$", re.IGNORECASE)


def clip_key(name: str) -> str:
    """Spelling-independent clip key: ``'s01_ne_01'`` and ``'S1_ne_01'`` → ``'s1_ne_01'``."""
    return re.sub(r"^s0*(\d+)", r"s\1", name.strip().lower())


def detect(root: Path) -> bool:
    """True when ``root`` holds ``sN`` subject folders with a ``micro`` folder."""
    return any(d.is_dir() and _SUBJECT_DIR.match(d.name) and (d / "micro").is_dir() for d in root.iterdir())


def _subjects(root: Path) -> list[Path]:
    found = [d for d in root.iterdir() if d.is_dir() and _SUBJECT_DIR.match(d.name)]
    return sorted(found, key=lambda d: int(d.name[1:]))


def tree_rows(root: Path) -> tuple[list[SheetRow], list[Skip]]:
    """One row per ``sN/micro/<emotion>/<clip>`` folder; ``non_micro`` folders as skips."""
    rows, skips = [], []
    for subject in _subjects(root):
        if (subject / "non_micro").is_dir():
            skips.append(Skip(str((subject / "non_micro").relative_to(root)),
                              "non-micro-expression clips (not part of SMIC-HS recognition)"))
        micro = subject / "micro"
        if not micro.is_dir():
            skips.append(Skip(str(subject.relative_to(root)), "no 'micro' folder"))
            continue
        for emotion in sorted(p for p in micro.iterdir() if p.is_dir()):
            for clip in sorted(p for p in emotion.iterdir() if p.is_dir()):
                rows.append(SheetRow(str(clip.relative_to(root)), subject.name, clip.name, clip,
                                     None, None, None, emotion.name, apex_source=""))
    return rows, skips


def read_apex_sheet(sheet: Path) -> tuple[dict[str, dict], list[Skip]]:
    """Rows of a smic_apex.xlsx-style sheet keyed by `clip_key`: ``{where, onset, apex, offset, label}``.

    Rows without a usable apex become skips. Raises `DatabaseError` for a missing column.
    """
    table = read_table(sheet, [("clip",), ("apex_frame", "apex"), ("onset_frame", "onset")])
    c_clip, c_label = table.column("clip"), table.column("label", "emotion", required=False)
    c_on, c_ap = table.column("onset_frame", "onset"), table.column("apex_frame", "apex")
    c_off = table.column("offset_frame", "offset", required=False)
    out: dict[str, dict] = {}
    skips: list[Skip] = []
    for number, values in table.rows:
        where = table.where(number)
        try:
            entry = {"where": where, "onset": as_frame(cell(values, c_on)), "apex": as_frame(cell(values, c_ap)),
                     "offset": as_frame(cell(values, c_off)), "label": as_text(cell(values, c_label))}
        except NotAFrame as exc:
            skips.append(Skip(where, f"apex sheet frame cell {exc} is not a frame number"))
            continue
        if entry["apex"] is None or entry["onset"] is None:
            skips.append(Skip(where, "apex sheet row without onset or apex"))
            continue
        out[clip_key(as_text(cell(values, c_clip)))] = entry
    return out, skips


def map_apex(clip: Clip, entry: dict) -> Clip:
    """Apply one apex-sheet entry to ``clip`` following the module's mapping rules."""
    nums = list(clip.frame_numbers)
    ann = clip.annotation
    if entry["apex"] in nums:
        return clip.with_annotation(apex=entry["apex"], apex_source="sheet")
    k = entry["apex"] - entry["onset"]
    sheet_len = entry["offset"] - entry["onset"] + 1 if entry["offset"] is not None else None
    agree = "clip length agrees" if sheet_len == len(nums) else \
        f"clip has {len(nums)} frames, sheet span {sheet_len if sheet_len else 'unknown'}"
    if 0 <= k < len(nums):
        note = (f"apex from {entry['where']}: SMIC-E frame {entry['apex']} = onset {entry['onset']} + {k} "
                f"→ frame {nums[k]} ({agree})")
        return replace(clip, annotation=replace(ann, apex=nums[k], apex_source="sheet",
                                                notes="; ".join(x for x in (ann.notes, note) if x)))
    note = f"apex in {entry['where']} falls outside this clip ({agree}); apex left to apex spotting"
    return clip.with_annotation(notes="; ".join(x for x in (ann.notes, note) if x))


def load(root: Path, sheet: Path | None = None, protocol: str | None = None) -> Database:
    """Open a SMIC-HS root (the folder holding ``s1``, ``s2``, ...) under ``protocol`` (default smic-3).

    ``sheet`` is an optional apex sheet (see the module docstring); without one a ``smic_apex*.xlsx``
    in the root is used when present, else apexes stay None for apex spotting.
    Raises `DatabaseError` for an unreadable sheet or an unknown protocol.
    """
    root = Path(root)
    if sheet is None:
        found = [p for pat in SHEET_PATTERNS for p in sorted(root.glob(pat))]
        sheet = found[0] if found else None
    proto = get_protocol(protocol, NAME)
    rows, skips = tree_rows(root)
    apexes, sheet_skips = read_apex_sheet(Path(sheet)) if sheet is not None else ({}, [])
    db = build_database(NAME, root, Path(sheet) if sheet else None, proto, rows, skips + sheet_skips, FPS)
    used = set()
    for i, clip in enumerate(db.clips):
        entry = apexes.get(clip_key(clip.name))
        if entry is None:
            continue
        used.add(clip_key(clip.name))
        clip = map_apex(clip, entry)
        sheet_label = proto.classify(NAME, entry["label"])[0] if entry["label"] else None
        if sheet_label and sheet_label != clip.label:
            clip = clip.with_annotation(notes="; ".join(x for x in (
                clip.annotation.notes, f"{entry['where']} says {sheet_label}; the folder's {clip.label} is used") if x))
        db.clips[i] = clip
    db.skips += [Skip(e["where"], f"apex sheet row for clip {k}: no such clip folder under {root}")
                 for k, e in apexes.items() if k not in used]
    return db


register_adapter(Adapter(NAME, detect, load, protocols=("smic-3", "megc2019-3"), title="SMIC",
                         sheet_patterns=SHEET_PATTERNS))
