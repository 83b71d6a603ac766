"""What the sheet-driven adapters share: a parsed sheet row and the step from rows to a `Database`.

Each adapter turns its sheet into `SheetRow`s (plus skips for rows it cannot parse) and
calls `build_database`, which checks every row in the same order and lists each left-out row
as a `Skip` with its reason: emotion not in the protocol / unknown, onset after offset, apex
outside onset..offset, missing clip folder, unreadable folder, missing frames in onset..offset.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..clip import Annotation, Clip, ClipError
from ..database_types import Database, DatabaseError, SheetNotFoundError, Skip
from ..protocols import LabelProtocol
from ..readers import FolderSource
from ..sheets import NotAFrame, Table, as_frame, as_text, cell, read_table, subject_id


@dataclass
class SheetRow:
    """One annotated micro-expression as read from a sheet (frame numbers in source numbering).

    where : ``'file[sheet] row N'`` for messages.  subject / name : as used in the database.
    folder : the clip's frame folder.  emotion : as coded (mapped later by the protocol).
    apex_source : ``"annotated"``, or ``""`` when the sheet gave no apex (left to apex spotting).
    """

    where: str
    subject: str
    name: str
    folder: Path
    onset: int | None
    apex: int | None
    offset: int | None
    emotion: str
    aus: str = ""
    notes: str = ""
    apex_source: str = "annotated"


def frame_cells(table: Table, row: int, values: tuple, columns: dict[str, int | None],
                slash_apex: str) -> tuple[dict[str, int | None], str, str]:
    """Parse the onset/apex/offset cells of one row.

    Returns ``(frames, apex_source, note)``. An apex of ``'/'`` (or other non-number) gives apex
    None, apex_source ``""`` and a note when ``slash_apex == "spot"``.
    Raises `NotAFrame` (message names the cell) for a bad onset/offset, or a bad apex when
    ``slash_apex == "skip"``.
    """
    frames: dict[str, int | None] = {}
    source, note = "annotated", ""
    for key, idx in columns.items():
        raw = cell(values, idx)
        try:
            frames[key] = as_frame(raw)
        except NotAFrame as exc:
            if key == "apex" and slash_apex == "spot":
                frames[key], source = None, ""
                note = f"apex {as_text(raw)!r} in {table.where(row)}: apex left to apex spotting"
            else:
                raise NotAFrame(f"{key} {exc} is not a frame number") from None
    if frames.get("apex") is None and source:
        source = ""
    return frames, source, note


#: Column aliases shared by the sheets (compared after `normalise_name`).
FRAME_ALIASES = {
    "onset": ("OnsetFrame", "Onset Frame", "Onset", "onset_frame"),
    "apex": ("ApexFrame", "Apex Frame", "Apex", "apex_frame"),
    "offset": ("OffsetFrame", "Offset Frame", "Offset", "offset_frame"),
}


def rows_from_table(table: Table, subject_col: int, clip_col: int, emotion_col: int | None,
                    frame_cols: dict[str, int | None], locate: Callable[[object, object, tuple], tuple[str, str, Path]],
                    slash_apex: str = "spot", aus_col: int | None = None,
                    notes_col: int | None = None) -> tuple[list[SheetRow], list[Skip]]:
    """Turn sheet rows into `SheetRow`s; rows that cannot be parsed become skips.

    ``locate(subject_cell, clip_cell, values) -> (subject, clip_name, folder)`` applies the
    database's spelling and layout; it raises ``ValueError`` (message = reason) for a row it
    cannot place. ``slash_apex``: ``"spot"`` keeps a row whose apex is ``'/'`` with apex None
    (apex spotting fills it in later), ``"skip"`` lists it as a skip.
    """
    rows: list[SheetRow] = []
    skips: list[Skip] = []
    for number, values in table.rows:
        where = table.where(number)
        subject_raw, clip_raw = cell(values, subject_col), cell(values, clip_col)
        if not as_text(subject_raw) or not as_text(clip_raw):
            skips.append(Skip(where, "subject or clip name is empty"))
            continue
        try:
            subject, name, folder = locate(subject_raw, clip_raw, values)
            frames, apex_source, note = frame_cells(table, number, values, frame_cols, slash_apex)
        except (ValueError, NotAFrame) as exc:
            skips.append(Skip(f"{where} ({as_text(subject_raw)}/{as_text(clip_raw)})", str(exc)))
            continue
        notes = "; ".join(n for n in (as_text(cell(values, notes_col)), note) if n)
        rows.append(SheetRow(where, subject, name, folder, frames.get("onset"), frames.get("apex"),
                             frames.get("offset"), as_text(cell(values, emotion_col)),
                             as_text(cell(values, aus_col)), notes, apex_source))
    return rows, skips


def build_database(name: str, root: Path, sheet: Path | None, protocol: LabelProtocol,
                   rows: list[SheetRow], skips: list[Skip], fps: float,
                   open_folder: Callable[[Path, float], FolderSource] = FolderSource) -> Database:
    """Check every row and make the `Database` (clips + skips with reasons).

    A row becomes a `Clip` when its emotion maps to a protocol class, onset <= apex <= offset,
    its folder exists and holds every frame onset..offset (onset/offset None: the folder's
    first/last frame). Frame folders shared by several rows (CAS(ME)^3) are read once.
    """
    db = Database(name=name, root=root, protocol=protocol.name, labels=list(protocol.labels),
                  skips=list(skips), sheet=sheet)
    sources: dict[Path, FolderSource | str] = {}
    seen: dict[tuple[str, str], str] = {}
    for r in rows:
        item = f"{r.where} ({r.subject}/{r.name})"
        key = (r.subject, r.name)
        if key in seen:
            db.skips.append(Skip(item, f"duplicate of {seen[key]}", subject=r.subject))
            continue
        seen[key] = r.where
        label, reason = protocol.classify(name, r.emotion)
        if label is None:
            db.skips.append(Skip(item, reason, subject=r.subject))
            continue
        problem = _mark_problem(r)
        if problem:
            db.skips.append(Skip(item, problem, subject=r.subject))
            continue
        if r.folder not in sources:
            if not r.folder.is_dir():
                sources[r.folder] = f"missing clip folder {r.folder}"
            else:
                try:
                    sources[r.folder] = open_folder(r.folder, fps)
                except ClipError as exc:
                    sources[r.folder] = str(exc)
                except OSError as exc:  # a reader that lets the system's error through (e.g. permission denied)
                    sources[r.folder] = f"clip folder {r.folder} cannot be read ({exc.strerror or exc}); check its " \
                                        "permissions"
        source = sources[r.folder]
        if isinstance(source, str):   # a subject with no folder at all (a partial copy) is summarised per subject
            absent = not r.folder.is_dir() and not r.folder.parent.is_dir()
            db.skips.append(Skip(item, source, subject=r.subject, absent=absent))
            continue
        nums = source.frame_numbers
        onset = r.onset if r.onset is not None else nums[0]
        offset = r.offset if r.offset is not None else nums[-1]
        have = set(nums)
        missing = [n for n in range(onset, offset + 1) if n not in have]
        if missing:
            db.skips.append(Skip(item, f"missing frames for onset..offset {onset}..{offset}: "
                                       f"{_runs(missing)} not in {r.folder}", subject=r.subject))
            continue
        ann = Annotation(onset=onset, apex=r.apex, offset=offset, emotion=label, aus=r.aus,
                         notes=r.notes, apex_source=r.apex_source if r.apex is not None else "")
        db.clips.append(Clip(source=source, name=r.name, subject=r.subject, database=name, annotation=ann))
    return db


def _mark_problem(r: SheetRow) -> str:
    """Why onset/apex/offset of ``r`` are inconsistent, or ``""``."""
    if r.onset is not None and r.offset is not None and r.onset > r.offset:
        return f"onset {r.onset} is after offset {r.offset}"
    if r.apex is not None and ((r.onset is not None and r.apex < r.onset)
                               or (r.offset is not None and r.apex > r.offset)):
        return f"apex {r.apex} is outside onset..offset {r.onset}..{r.offset}"
    return ""


def count_labels(name: str, protocol: LabelProtocol, rows: list[SheetRow]) -> dict[str, int]:
    """Clips per protocol class from the sheet alone (no frame or onset/apex/offset checks)."""
    counts = Counter(protocol.classify(name, r.emotion)[0] for r in rows)
    return {lab: counts.get(lab, 0) for lab in protocol.labels}


def unlisted_folders(root: Path, rows: list[SheetRow], pattern: str) -> list[Skip]:
    """Clip folders under ``root`` matching ``pattern`` (glob) that no sheet row names."""
    named = {r.folder for r in rows}
    return [Skip(str(p.relative_to(root)), "clip folder has no row in the annotation sheet")
            for p in sorted(root.glob(pattern)) if p.is_dir() and p not in named]


def find_sheet(root: Path, patterns: tuple[str, ...], kind: str) -> Path:
    """The adapter's usual sheet inside ``root`` or beside it (first match of ``patterns``).

    Raises `SheetNotFoundError` (a `DatabaseError`) asking for the sheet when none is found.
    """
    for folder in (root, root.parent):
        for pat in patterns:
            found = sorted(folder.glob(pat))
            if found:
                return found[-1]
    raise SheetNotFoundError(f"{root}: no {kind} annotation sheet ({', '.join(patterns)}) found in or beside "
                             "the root; pass the sheet explicitly (cmnet info ROOT --sheet FILE, or in CMNet "
                             "Studio File ▸ Open database with sheet…)", root, kind, patterns)


def _runs(numbers: list[int]) -> str:
    """``[3, 4, 5, 9]`` → ``'3..5, 9'``."""
    out, start = [], numbers[0]
    for a, b in zip(numbers, numbers[1:] + [None]):
        if b != a + 1:
            out.append(f"{start}..{a}" if a != start else f"{a}")
            if b is not None:
                start = b
    return ", ".join(out)


def subject_folder_rows(sheet: Path, root: Path, subject_prefix: str, subject_digits: int,
                        slash_apex: str = "spot", header_needs_emotion: bool = False
                        ) -> tuple[list[SheetRow], list[Skip]]:
    """Rows of a sheet whose clips live in ``root/<subject>/<Filename>`` (CASME II, SAMM).

    Columns: Subject, Filename, onset/apex/offset (`FRAME_ALIASES`), Estimated Emotion, optional Action
    Units and Notes. Subjects are spelled ``subject_prefix`` + the number zero-padded to ``subject_digits``
    (``1`` → ``sub01`` for CASME II, ``6`` → ``006`` for SAMM). ``header_needs_emotion`` makes the
    emotion column part of the header search (SAMM's preamble rows would match otherwise).

    Raises `DatabaseError` when no header row has the required columns.
    """
    required = [("Subject",), ("Filename",), FRAME_ALIASES["onset"], FRAME_ALIASES["offset"]]
    if header_needs_emotion:
        required.append(("Estimated Emotion", "Emotion"))
    table = read_table(sheet, required)
    cols = {k: table.column(*a, required=k != "apex") for k, a in FRAME_ALIASES.items()}

    def locate(subject_cell, clip_cell, values):
        subject = subject_id(subject_cell, subject_prefix, subject_digits)
        name = as_text(clip_cell)
        return subject, name, root / subject / name

    return rows_from_table(table, table.column("Subject"), table.column("Filename"),
                           table.column("Estimated Emotion", "Emotion"), cols, locate, slash_apex,
                           aus_col=table.column("Action Units", "AUs", "AU", required=False),
                           notes_col=table.column("Notes", required=False))
