"""CASME II adapter (Yan et al., PLoS ONE 2014): ``sub01/EP02_01f/img46.jpg`` trees + the coding sheet.

Layouts: RAW (``img46.jpg``) and Cropped (``reg_img46.jpg``); frame numbers are the file
names' own (not zero-padded). Sheet ``CASME2-coding-*.xlsx``: columns Subject ('01', may read as
int 1 → ``sub01``), Filename, OnsetFrame, ApexFrame, OffsetFrame, Action Units (12 or '4+L10'),
Estimated Emotion; later versions add blank unnamed columns and Objective Classes.

Apex ``'/'`` (newer sheets): by default the clip is kept with apex None and apex_source ``""``
and the clip's notes say so — preprocessing then spots the apex (as for SMIC-HS), so no
annotated clip is lost; ``load(..., slash_apex="skip")`` lists such rows as skips instead.
Raw clips hold frames outside onset..offset; clips use onset..offset. Folders with no sheet
row are listed as skips. Frame rate 200 fps.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..database_types import Adapter, Database, register_adapter
from ..protocols import get_protocol
from .common import SheetRow, Skip, build_database, find_sheet, subject_folder_rows, unlisted_folders

NAME = "casme2"
FPS = 200.0
SHEET_PATTERNS = ("CASME2-coding*.xlsx", "CASME2*coding*.xlsx", "CASME2*.xlsx",
                  "CASME2-coding*.csv", "CASME2*coding*.csv", "CASME2*.csv")
_SUBJECT_DIR = re.compile(r"^sub\d+$", re.IGNORECASE)


def detect(root: Path) -> bool:
    """True when ``root`` holds ``subNN`` folders with ``EP*`` clip folders."""
    return any(_SUBJECT_DIR.match(d.name) and any(c.name.upper().startswith("EP") for c in d.iterdir() if c.is_dir())
               for d in root.iterdir() if d.is_dir())


def read_rows(root: Path, sheet: Path, slash_apex: str = "spot") -> tuple[list[SheetRow], list[Skip]]:
    """Parse the coding sheet into rows (clip folder ``root/subNN/Filename``) and unparsable-row skips.

    Raises `DatabaseError` when the sheet lacks a required column.
    """
    return subject_folder_rows(sheet, root, "sub", 2, slash_apex)


def load(root: Path, sheet: Path | None = None, protocol: str | None = None, *,
         slash_apex: str = "spot") -> Database:
    """Open a CASME II root (RAW or Cropped) with its coding sheet under ``protocol`` (default casme2-5).

    Raises `DatabaseError` for a missing/unreadable sheet or an unknown protocol; bad rows
    become skips (see `cmnet_core.data.adapters.common.build_database`).
    """
    root = Path(root)
    sheet = Path(sheet) if sheet is not None else find_sheet(root, SHEET_PATTERNS, "CASME II")
    proto = get_protocol(protocol, NAME)
    rows, skips = read_rows(root, sheet, slash_apex)
    skips += unlisted_folders(root, rows, "sub*/*")
    return build_database(NAME, root, sheet, proto, rows, skips, FPS)


register_adapter(Adapter(NAME, detect, load, protocols=("casme2-5", "megc2019-3"), title="CASME II",
                         sheet_patterns=SHEET_PATTERNS))
