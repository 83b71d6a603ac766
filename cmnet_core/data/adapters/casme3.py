"""CAS(ME)^3 Part A adapter (Li et al., TPAMI 2022): ``spNO.1/b/color/175.jpg`` + the label sheet.

Each task video of a subject (``spNO.1/b``) holds several MEs; every sheet row is one clip named
``<Filename>_<Onset>`` over the shared frame folder ``spNO.1/b/color`` (or ``spNO.1/b`` when there
is no ``color`` subfolder). Sheet ``casme3_partA_ME_label_JpgIndex_v2.xlsx``, worksheet label:
Subject, Filename, Onset, Apex, Offset, AU, Objective class, emotion (frame numbers stored as
text; 'others' and 'Others' both occur; some MEs are 1–3 frames long; a few rows have apex
outside onset..offset or offset 0 — listed as skips). Frame rate 30 fps.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..database_types import Adapter, Database, register_adapter
from ..protocols import get_protocol
from ..sheets import as_text, read_table
from .common import FRAME_ALIASES, SheetRow, Skip, build_database, find_sheet, rows_from_table

NAME = "casme3"
FPS = 30.0
SHEET_PATTERNS = ("casme3_partA*.xlsx", "*CAS*ME*3*.xlsx", "casme3*.xlsx",
                  "casme3_partA*.csv", "*CAS*ME*3*.csv", "casme3*.csv")
_SUBJECT_DIR = re.compile(r"^spNO\.\d+$", re.IGNORECASE)


def detect(root: Path) -> bool:
    """True when ``root`` holds ``spNO.N`` subject folders."""
    return any(d.is_dir() and _SUBJECT_DIR.match(d.name) for d in root.iterdir())


def clip_folder(root: Path, subject: str, video: str) -> Path:
    """``root/subject/video/color`` when present, else ``root/subject/video``."""
    base = root / subject / video
    return base / "color" if (base / "color").is_dir() or not base.is_dir() else base


def read_rows(root: Path, sheet: Path, slash_apex: str = "spot") -> tuple[list[SheetRow], list[Skip]]:
    """Parse the Part A label sheet into one row per ME (shared frame folder per task video).

    Raises `DatabaseError` when no worksheet has the CAS(ME)^3 columns.
    """
    table = read_table(sheet, [("Subject",), ("Filename",), ("Onset",), ("Offset",), ("emotion",)])
    cols = {k: table.column(*a, required=k != "apex") for k, a in FRAME_ALIASES.items()}
    onset_col = cols["onset"]

    def locate(subject_cell, clip_cell, values):
        subject, video = as_text(subject_cell), as_text(clip_cell)
        onset = as_text(values[onset_col]) if onset_col is not None and onset_col < len(values) else ""
        return subject, f"{video}_{onset}", clip_folder(root, subject, video)

    return rows_from_table(table, table.column("Subject"), table.column("Filename"),
                           table.column("emotion", "Estimated Emotion"), cols, locate, slash_apex,
                           aus_col=table.column("AU", "AUs", "Action Units", required=False),
                           notes_col=table.column("Notes", required=False))


def load(root: Path, sheet: Path | None = None, protocol: str | None = None, *,
         slash_apex: str = "spot") -> Database:
    """Open a CAS(ME)^3 Part A root with its label sheet under ``protocol`` (default casme3-7).

    Raises `DatabaseError` for a missing/unreadable sheet or an unknown protocol; bad rows become skips.
    """
    root = Path(root)
    sheet = Path(sheet) if sheet is not None else find_sheet(root, SHEET_PATTERNS, "CAS(ME)^3")
    proto = get_protocol(protocol, NAME)
    rows, skips = read_rows(root, sheet, slash_apex)
    return build_database(NAME, root, sheet, proto, rows, skips, FPS)


register_adapter(Adapter(NAME, detect, load, protocols=("casme3-7", "casme3-4", "casme3-3"), title="CAS(ME)^3",
                         sheet_patterns=SHEET_PATTERNS))
