"""Generic adapter: a lab's own folder of clips (video files or frame folders) plus a CSV.

CSV columns (header row required, names case-insensitive): ``clip`` (required: a path relative
to the root — ``happy_01.mp4``, ``p03/trial2`` — or a bare name matched to a video or folder with
that stem), and optionally ``subject`` (default: the clip's name, one LOSO fold per clip),
``onset``, ``apex``, ``offset`` (the source's frame numbers: 0-based for videos; empty = whole
clip / apex spotting), ``emotion``, ``aus``, ``notes``. Without a protocol every emotion found is a
class (protocol ``as-is``); a named protocol accepts emotions equal to its class names. Rows
without an emotion (or a CSV with no ``emotion`` column) give readable clips in ``Database.unlabelled``:
open for annotation, left out of training with a skip saying so. Detected when the root holds exactly one CSV with a
``clip`` column.
"""
from __future__ import annotations

from pathlib import Path

from ..clip import Annotation, Clip, ClipError
from ..database_types import Adapter, Database, DatabaseError, Skip, register_adapter
from ..protocols import PROTOCOLS, LabelProtocol, as_is_protocol
from ..readers import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, open_source
from ..sheets import NotAFrame, as_frame, as_text, cell, read_csv_rows, read_table

NAME = "generic"


def _csvs_with_clip_column(root: Path) -> list[Path]:
    found = []
    for p in sorted(root.glob("*.csv")):
        try:
            rows = read_csv_rows(p)
        except DatabaseError:
            continue
        header = next((r for r in rows if any(str(v).strip() for v in r)), ())
        if "clip" in {str(h).strip().lower() for h in header}:
            found.append(p)
    return found


def detect(root: Path) -> bool:
    """True when ``root`` holds exactly one CSV whose header has a ``clip`` column."""
    return len(_csvs_with_clip_column(root)) == 1


def resolve_clip(root: Path, clip: str) -> Path:
    """The video file or frame folder a CSV ``clip`` cell names. Raises ``ValueError`` when none/ambiguous."""
    direct = root / clip
    if direct.exists():
        return direct
    matches = [p for p in direct.parent.glob(f"{Path(clip).name}.*")
               if p.suffix.lower() in VIDEO_EXTENSIONS + IMAGE_EXTENSIONS]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ValueError(f"clip {clip!r} matches several files: {', '.join(m.name for m in matches)}")
    raise ValueError(f"missing clip: no file or folder {clip!r} under {root}")


def _protocol(name: str | None, emotions: list[str]) -> LabelProtocol:
    if name in (None, "as-is"):
        return as_is_protocol(emotions)
    if name not in PROTOCOLS:
        raise DatabaseError(f"unknown label protocol {name!r}; known: as-is, {', '.join(PROTOCOLS)}")
    p = PROTOCOLS[name]
    return LabelProtocol(p.name, p.labels, {NAME: {lab.lower(): lab for lab in p.labels}})


def load(root: Path, sheet: Path | None = None, protocol: str | None = None) -> Database:
    """Open a folder of clips with its CSV (``sheet``; default: the one CSV with a ``clip`` column).

    Raises `DatabaseError` when no CSV is found or given, or the CSV has no ``clip`` column;
    bad rows (missing clip, unreadable video, bad frame numbers, apex outside onset..offset,
    frames outside the clip, no emotion) become skips.
    """
    root = Path(root)
    if sheet is None:
        found = _csvs_with_clip_column(root)
        if len(found) != 1:
            raise DatabaseError(f"{root}: {'several' if found else 'no'} CSV files with a 'clip' column; "
                                "pass the annotation CSV explicitly")
        sheet = found[0]
    table = read_table(sheet, [("clip",)])
    col = {k: table.column(k, required=False) for k in
           ("subject", "clip", "onset", "apex", "offset", "emotion", "aus", "notes")}
    proto = _protocol(protocol, [as_text(cell(v, col["emotion"])) for _, v in table.rows])
    db = Database(NAME, root, proto.name, list(proto.labels), sheet=Path(sheet))
    for number, values in table.rows:
        where = table.where(number)
        name = as_text(cell(values, col["clip"]))
        label, reason = proto.classify(NAME, as_text(cell(values, col["emotion"])))
        unlabelled = label is None and not as_text(cell(values, col["emotion"]))
        if label is None and not unlabelled:
            db.skips.append(Skip(f"{where} ({name})", reason))
            continue
        try:
            marks = {k: as_frame(cell(values, col[k])) for k in ("onset", "apex", "offset")}
            source = open_source(resolve_clip(root, name))
        except NotAFrame as exc:
            db.skips.append(Skip(f"{where} ({name})", f"frame cell {exc} is not a frame number"))
            continue
        except (ValueError, ClipError) as exc:
            db.skips.append(Skip(f"{where} ({name})", str(exc)))
            continue
        ann = Annotation(marks["onset"], marks["apex"], marks["offset"], label,
                         as_text(cell(values, col["aus"])), as_text(cell(values, col["notes"])),
                         "annotated" if marks["apex"] is not None else "")
        problems = ann.validate(source.frame_numbers)
        source.close()  # keep no decoder open per clip; reading reopens it
        if problems:
            db.skips.append(Skip(f"{where} ({name})", "; ".join(problems)))
            continue
        subject = as_text(cell(values, col["subject"])) or Path(name).stem
        clip = Clip(source, Path(name).stem, subject, NAME, ann)
        if unlabelled:
            db.unlabelled.append(clip)
            where_col = "its 'emotion' cell" if col["emotion"] is not None else "an 'emotion' column"
            db.skips.append(Skip(f"{where} ({name})", f"no emotion label: listed for annotation, left out of "
                                 f"training until it has one (fill in {where_col} in {Path(sheet).name}, "
                                 "or annotate it in CMNet Studio)"))
            continue
        db.clips.append(clip)
    return db


register_adapter(Adapter(NAME, detect, load, protocols=("as-is",)))
