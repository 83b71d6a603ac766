"""SAMM adapter (Davison et al., IEEE TAC 2016): ``006/006_1_2/006_05562.jpg`` trees + the FACS sheet.

Sheet ``SAMM_Micro_FACS_Codes_v2.xlsx``, worksheet MICRO_ONLY: a 13-row preamble with the
header on row 14 (found by its columns, not by position); Subject '006' (may read as int 6 →
``006``), Filename, Onset Frame, Apex Frame, Offset Frame, Duration (a formula, unused),
Action Units, Estimated Emotion (capitalised; 'Other' and 'Others' both occur), Notes.
Frame numbers come from the file names (``006_05562.jpg`` → 5562). Frame rate 200 fps.
Apex ``'/'``: as for CASME II (kept with apex None for apex spotting, or ``slash_apex="skip"``).
"""
from __future__ import annotations

import re
from pathlib import Path

from ..database_types import Adapter, Database, register_adapter
from ..protocols import get_protocol
from .common import SheetRow, Skip, build_database, find_sheet, subject_folder_rows, unlisted_folders

NAME = "samm"
FPS = 200.0
SHEET_PATTERNS = ("SAMM_Micro_FACS_Codes*.xlsx", "SAMM*.xlsx", "SAMM_Micro_FACS_Codes*.csv", "SAMM*.csv")
_SUBJECT_DIR = re.compile(r"^\d{3}$")


def detect(root: Path) -> bool:
    """True when ``root`` holds 3-digit subject folders with ``NNN_*`` clip folders."""
    return any(_SUBJECT_DIR.match(d.name) and any(c.is_dir() and c.name.startswith(d.name + "_") for c in d.iterdir())
               for d in root.iterdir() if d.is_dir())


def read_rows(root: Path, sheet: Path, slash_apex: str = "spot") -> tuple[list[SheetRow], list[Skip]]:
    """Parse the SAMM sheet (header found below the preamble) into rows with folder ``root/NNN/Filename``.

    Raises `DatabaseError` when no worksheet has the SAMM columns.
    """
    return subject_folder_rows(sheet, root, "", 3, slash_apex, header_needs_emotion=True)


def load(root: Path, sheet: Path | None = None, protocol: str | None = None, *,
         slash_apex: str = "spot") -> Database:
    """Open a SAMM root with its sheet under ``protocol`` (default samm-5).

    Raises `DatabaseError` for a missing/unreadable sheet or an unknown protocol; bad rows become skips.
    """
    root = Path(root)
    sheet = Path(sheet) if sheet is not None else find_sheet(root, SHEET_PATTERNS, "SAMM")
    proto = get_protocol(protocol, NAME)
    rows, skips = read_rows(root, sheet, slash_apex)
    skips += unlisted_folders(root, rows, "[0-9][0-9][0-9]/*")
    return build_database(NAME, root, sheet, proto, rows, skips, FPS)


register_adapter(Adapter(NAME, detect, load, protocols=("samm-5", "megc2019-3"), title="SAMM",
                         sheet_patterns=SHEET_PATTERNS))
