"""Annotation files: atomic saves with rotating backups, autosave + crash recovery, CASME II-style CSV.

Pure file I/O (no Qt) so that the GUI, the CLI and scripts share one format.

* The annotation store is a JSON file (``{"format": "cmnet-studio-annotations", "version": 1, "clips": [...]}``),
  one entry per clip keyed by ``(subject, clip name)``; frame numbers are the source's own. The header may
  carry ``"identity": {"kind", "fingerprint"}`` (`cmnet_core.data.identity.SourceIdentity`) so that the
  store of a moved source is found again (`find_stores_by_identity`); files without it load as before.
* Saving is atomic: the text goes to a temporary file in the same folder, is flushed to disk and then
  moved over the target with `os.replace` (a crash midway leaves the previous file intact).
  Before each save the previous file is kept as ``<file>.001`` and older ones shift to ``.002``, ``.003``
  (ELAN's rotating automatic backups).
* Autosave writes ``<file>.autosave`` the same way; it is removed after a clean save. An autosave newer
  than the store on the next open means the app stopped with unsaved work (`recoverable_autosave`).
* CSV export/import uses the CASME II coding-sheet columns (`CSV_COLUMNS`) plus a trailing ``Notes`` column.
"""
from __future__ import annotations

import csv
import glob
import io
import json
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..safe_write import DiskFullError, is_disk_full, write_temp_file, write_text_atomically
from .clip import Annotation

FORMAT = "cmnet-studio-annotations"
VERSION = 1
#: CASME II coding-sheet columns (CASME2-coding-*.xlsx), in the sheet's order.
CSV_COLUMNS = ("Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units", "Estimated Emotion")
#: Columns an imported CSV must have; the others of `CSV_COLUMNS` (and ``Notes``) may be absent, and then leave the
#: clip's value unchanged on import (`CsvAnnotations.fields`, `merge_imported`).
REQUIRED_CSV_COLUMNS = ("Filename", "OnsetFrame", "ApexFrame", "OffsetFrame")
#: Extra column we write after the CASME II ones so that notes survive a round trip.
NOTES_COLUMN = "Notes"
#: CSV column -> `Annotation` field it sets (apex also sets ``apex_source``).
CSV_FIELDS = {"OnsetFrame": "onset", "ApexFrame": "apex", "OffsetFrame": "offset", "Action Units": "aus",
              "Estimated Emotion": "emotion", NOTES_COLUMN: "notes"}
_EMPTY_FRAME = {"", "/", "-", "na", "n/a", "none"}


class AnnotationFileError(Exception):
    """An annotation file or CSV sheet cannot be read or written; the message names the file/row and the fix."""


@dataclass
class AnnotationRecord:
    """One clip's annotation as stored: ``subject`` and ``name`` identify the clip within its source.

    ``row`` is the 1-based CSV row it was read from (`import_csv`; None for store entries); it is for messages
    only and takes no part in comparisons.
    """

    subject: str
    name: str
    annotation: Annotation
    row: int | None = field(default=None, compare=False)

    @property
    def key(self) -> tuple[str, str]:
        """``(subject, clip name)``: how a record is matched to a clip."""
        return (self.subject, self.name)


# ---- atomic writing ------------------------------------------------------------------------
def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file in the same folder, fsync, `os.replace`), keeping
    the mode and group of the file it replaces (`cmnet_core.safe_write`).

    Raises `OSError` (`DiskFullError` when the disk is full) when it cannot be written; the previous file is
    then left untouched and no temporary file is left.
    """
    write_text_atomically(path, text)


def backup_path(path: str | Path, index: int) -> Path:
    """``<file>.001``, ``<file>.002``, ... (index 1 = the most recent backup)."""
    path = Path(path)
    return path.with_name(f"{path.name}.{index:03d}")


def rotate_backups(path: str | Path, keep: int = 3) -> None:
    """Shift ``.001`` → ``.002`` … (dropping the oldest beyond ``keep``) and copy ``path`` to ``.001``.

    The current file is copied (through a temporary file), never moved, so it stays in place; a copy that
    fails (full disk) leaves every backup as it was. `save_store` does not call this: it rotates only once
    the new version is safely written.
    """
    path = Path(path)
    if keep <= 0 or not path.exists():
        return
    staged = _stage_backup(path)
    try:
        _shift_backups(path, keep, staged)
    except BaseException:
        _unlink_quietly(staged)
        raise


def _unlink_quietly(path: Path | None) -> None:
    if path is None:
        return
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _stage_backup(path: Path) -> Path:
    """A temporary ``.<name>.001.*.tmp`` holding the current ``path`` (a hard link when the file system allows
    it, which takes no space, else a copy); removed again when it cannot be made."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.001.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)
    try:
        os.link(path, tmp)
    except OSError:
        try:
            shutil.copy2(path, tmp)
        except BaseException as exc:
            _unlink_quietly(Path(tmp))
            if is_disk_full(exc):
                raise DiskFullError(backup_path(path, 1)) from exc
            raise
    return Path(tmp)


def _shift_backups(path: Path, keep: int, staged: Path) -> None:
    """Renames only (no data written): ``.002`` → ``.003`` … (the oldest replaced), ``.001`` → ``.002``,
    then ``staged`` → ``.001``."""
    for i in range(keep - 1, 0, -1):
        src = backup_path(path, i)
        if src.exists():
            os.replace(src, backup_path(path, i + 1))
    os.replace(staged, backup_path(path, 1))


# ---- temporary files left by killed saves ----------------------------------------------------
#: Orphan temporary files younger than this are left alone: they may belong to a save in progress.
TEMP_MIN_AGE_S = 30.0


def orphan_temp_files(path: str | Path) -> list[Path]:
    """The temporary ``.<name>.*.tmp`` files beside ``path`` (the store, its autosave, a backup being made)
    that a save killed midway (kill -9, power cut) left behind, oldest first."""
    path = Path(path)
    try:
        found = [p for p in path.parent.glob(glob.escape(f".{path.name}.") + "*.tmp") if p.is_file()]
    except OSError:
        return []
    return sorted(found, key=_mtime_ns)


def _mtime_ns(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def _records_or_none(path: Path) -> dict | None:
    try:
        return {r.key: r.annotation for r in load_store(path)[0]}
    except (AnnotationFileError, OSError):
        return None


def recoverable_temp_files(path: str | Path) -> list[Path]:
    """Temporary files of killed saves (`orphan_temp_files`) that hold work the store lacks: a valid
    annotation file, newer than the store (or the store is missing), with other annotations than the store.
    Newest first; the app offers the first for recovery."""
    path = Path(path)
    store_ns = _mtime_ns(path) if path.exists() else None
    current = _records_or_none(path) if store_ns is not None else None
    found = []
    for tmp in orphan_temp_files(path):
        if f".{path.name}.001." in tmp.name:
            continue  # a backup being made holds the old version
        if store_ns is not None and _mtime_ns(tmp) <= store_ns:
            continue
        records = _records_or_none(tmp)
        if records is not None and records != current:
            found.append(tmp)
    return found[::-1]


def remove_orphan_temps(path: str | Path, keep=(), min_age_s: float = TEMP_MIN_AGE_S) -> list[Path]:
    """Delete the `orphan_temp_files` of ``path`` older than ``min_age_s`` seconds, except those in ``keep``;
    returns the deleted ones."""
    import time

    keep = {Path(k) for k in keep}
    limit = time.time_ns() - int(min_age_s * 1e9)
    removed = []
    for tmp in orphan_temp_files(path):
        if tmp in keep or _mtime_ns(tmp) > limit:
            continue
        try:
            tmp.unlink()
            removed.append(tmp)
        except OSError:
            pass
    return removed


# ---- the JSON store --------------------------------------------------------------------------
def _record_to_dict(rec: AnnotationRecord) -> dict:
    a = rec.annotation
    return {"subject": rec.subject, "name": rec.name, "onset": a.onset, "apex": a.apex, "offset": a.offset,
            "emotion": a.emotion, "aus": a.aus, "notes": a.notes, "apex_source": a.apex_source}


def _record_from_dict(d: dict) -> AnnotationRecord:
    """A record from a clip entry already checked by `validate_store`."""
    ann = Annotation(onset=d.get("onset"), apex=d.get("apex"), offset=d.get("offset"), emotion=d.get("emotion"),
                     aus=d.get("aus") or "", notes=d.get("notes") or "", apex_source=d.get("apex_source") or "")
    return AnnotationRecord(str(d["subject"]), str(d["name"]), ann)


#: Clip-entry fields: name -> (types allowed, may be null). Frames are checked apart (whole, non-negative).
_TEXT_FIELDS = {"emotion": True, "aus": True, "notes": True, "apex_source": True}
_FRAME_FIELDS = ("onset", "apex", "offset")
_MAX_PROBLEMS = 5


def _type_name(value) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _clip_problems(entry, where: str) -> list[str]:
    if not isinstance(entry, dict):
        return [f"{where} is {_type_name(entry)} {entry!r:.40}, not an object with subject, name, onset, apex, "
                "offset"]
    problems = []
    for key in ("subject", "name"):
        if key not in entry:
            problems.append(f"{where} has no \"{key}\"")
        elif not isinstance(entry[key], (str, int)) or isinstance(entry[key], bool):
            problems.append(f"{where} \"{key}\" is {_type_name(entry[key])}, not text")
    for key in _FRAME_FIELDS:
        v = entry.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            problems.append(f"{where} \"{key}\" is {v!r:.40}, not a whole, non-negative frame number or null")
    for key in _TEXT_FIELDS:
        v = entry.get(key)
        if v is not None and not isinstance(v, str):
            problems.append(f"{where} \"{key}\" is {_type_name(v)}, not text or null")
    return problems


def validate_store(doc) -> list[str]:
    """Check the structure of a parsed annotation store (the JSON written by `dumps_store`).

    ``doc`` must be an object with ``"format": FORMAT``, an integer ``version`` (absent = 0), text
    ``source``, an optional ``identity`` object and a list ``clips`` of objects, each with text ``subject`` and ``name``, frames
    ``onset``/``apex``/``offset`` that are whole non-negative numbers or null, and text-or-null
    ``emotion``/``aus``/``notes``/``apex_source``. Returns the problems found, human-readable (empty = valid);
    never raises. A newer ``version`` is not a structural problem (`load_store` reports it apart).
    """
    if not isinstance(doc, dict):
        return [f"the file holds {_type_name(doc)}, not an object with \"format\", \"version\" and \"clips\""]
    problems = []
    if doc.get("format") != FORMAT:
        problems.append(f"no \"format\": \"{FORMAT}\"")
    version = doc.get("version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        problems.append(f"\"version\" is {version!r:.40}, not a whole number")
    if not isinstance(doc.get("source", ""), str):
        problems.append(f"\"source\" is {_type_name(doc['source'])}, not text")
    if doc.get("identity") is not None and not isinstance(doc["identity"], dict):
        problems.append(f"\"identity\" is {_type_name(doc['identity'])}, not an object with kind and fingerprint")
    clips = doc.get("clips", [])
    if clips is None:
        clips = []
    if not isinstance(clips, list):
        problems.append(f"\"clips\" is {_type_name(clips)}, not a list of clip entries")
        clips = []
    for i, entry in enumerate(clips):
        problems.extend(_clip_problems(entry, f"clip {i + 1}"))
    return problems


def _restore_hint(path: Path) -> str:
    """What to do about a damaged store, saying only what is true of the backups on disk."""
    backup = backup_path(path, 1)
    if backup.exists():
        return f"fix it in a text editor, or restore the previous version by copying {backup.name} over it"
    return "fix it in a text editor, or move it aside to start with no annotations (no backup .001 exists yet)"


def dumps_store(records: list[AnnotationRecord], source: str = "", identity: dict | None = None) -> str:
    """The store's JSON text for ``records`` (``source`` = the video/folder/database they annotate, ``identity``
    = its `SourceIdentity.to_dict`, written in the header when given)."""
    doc = {"format": FORMAT, "version": VERSION, "source": source}
    if identity:
        doc["identity"] = dict(identity)
    doc["clips"] = [_record_to_dict(r) for r in records]
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def save_store(path: str | Path, records: list[AnnotationRecord], source: str = "", backups: int = 3,
               identity: dict | None = None) -> None:
    """Save ``records`` to ``path`` atomically, keeping ``backups`` rotating backups of the previous file
    (``source`` and ``identity`` go to the header, see `dumps_store`).

    The new version is first written in full to a temporary file (with the mode and group of the file it
    replaces); only then are the backups rotated (renames, no data written) and the temporary file moved over
    ``path``. Orphan temporary files of earlier killed saves are removed afterwards, except those holding
    newer work (`recoverable_temp_files`), which the app offers for recovery.

    Raises `OSError` (`DiskFullError`: "disk full at PATH (N MB free)") when the file cannot be written; the
    previous file and its backups then stay exactly as they were and no temporary file is left.
    """
    path = Path(path)
    data = dumps_store(records, source, identity).encode("utf-8")
    keep = set(recoverable_temp_files(path))
    tmp = write_temp_file(path, data)
    staged = None
    try:
        if backups > 0 and path.exists():
            staged = _stage_backup(path)
            _shift_backups(path, backups, staged)
            staged = None
        os.replace(tmp, path)
    except BaseException as exc:
        _unlink_quietly(staged)
        _unlink_quietly(tmp)
        if is_disk_full(exc) and not isinstance(exc, DiskFullError):
            raise DiskFullError(path) from exc
        raise
    remove_orphan_temps(path, keep=keep)


def load_store(path: str | Path) -> tuple[list[AnnotationRecord], str]:
    """Read a store written by `save_store`; returns ``(records, source)``.

    Raises `AnnotationFileError` when the file is missing, not JSON, not an annotation store, or has the
    wrong structure (`validate_store`; the message lists the problems and what to do).
    """
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise AnnotationFileError(f"{path}: annotation file not found") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AnnotationFileError(
            f"{path}: cannot be read as an annotation file ({exc}); {_restore_hint(path)}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise AnnotationFileError(f"{path}: not a CMNet Studio annotation file (no \"format\": \"{FORMAT}\"); "
                                  f"{_restore_hint(path)}")
    problems = validate_store(doc)
    if problems:
        shown = "; ".join(problems[:_MAX_PROBLEMS])
        more = f" (and {len(problems) - _MAX_PROBLEMS} more)" if len(problems) > _MAX_PROBLEMS else ""
        raise AnnotationFileError(f"{path}: is JSON but not a valid annotation file: {shown}{more}. "
                                  f"{_restore_hint(path)[0].upper()}{_restore_hint(path)[1:]}")
    if doc.get("version", 0) > VERSION:
        raise AnnotationFileError(f"{path}: written by a newer CMNet Studio (version {doc.get('version')}); update")
    clips = doc.get("clips") or []
    return [_record_from_dict(d) for d in clips], doc.get("source", "")


def read_store_header(path: str | Path) -> tuple[str, dict | None]:
    """``(source, identity)`` recorded in the header of the store ``path`` (identity None in files written before
    identities were recorded). Raises `AnnotationFileError` like `load_store`."""
    path = Path(path)
    load_store(path)
    doc = json.loads(path.read_text(encoding="utf-8"))
    identity = doc.get("identity")
    return doc.get("source", ""), identity if isinstance(identity, dict) else None


def find_stores_by_identity(folder: str | Path, identity: dict) -> list[tuple[Path, str]]:
    """The stores ``<folder>/*.json`` whose header records ``identity`` (equal kind and fingerprint), newest
    first, each with the source it recorded: ``[(path, source)]``. Unreadable files, backups and autosaves are
    passed over; a missing folder gives ``[]``."""
    folder = Path(folder)
    try:
        candidates = [p for p in folder.glob("*.json") if p.is_file()]
    except OSError:
        return []
    want = {"kind": identity.get("kind"), "fingerprint": identity.get("fingerprint")}
    found = []
    for p in candidates:
        try:
            source, ident = read_store_header(p)
        except (AnnotationFileError, OSError, ValueError):
            continue
        if ident is not None and {"kind": ident.get("kind"), "fingerprint": ident.get("fingerprint")} == want:
            found.append((p, source))
    return sorted(found, key=lambda ps: _mtime_ns(ps[0]), reverse=True)


def find_stores_by_source(folder: str | Path, source: str | Path, kind: str) -> list[Path]:
    """The stores ``<folder>/*.json`` whose header records ``source`` (same resolved path) and an identity of
    ``kind``, newest first: the annotations of a source that changed in place (a read-only database that gained
    or lost a clip: its identity differs, its location does not). Unreadable files are passed over; a missing
    folder gives ``[]``."""
    folder = Path(folder)
    try:
        candidates = [p for p in folder.glob("*.json") if p.is_file()]
        want = Path(source).resolve()
    except OSError:
        return []
    found = []
    for p in candidates:
        try:
            recorded, ident = read_store_header(p)
            same = bool(recorded) and Path(recorded).resolve() == want
        except (AnnotationFileError, OSError, ValueError):
            continue
        if same and ident is not None and ident.get("kind") == kind:
            found.append(p)
    return sorted(found, key=_mtime_ns, reverse=True)


def autosave_path(path: str | Path) -> Path:
    """``<file>.autosave`` beside the store."""
    path = Path(path)
    return path.with_name(path.name + ".autosave")


def write_autosave(path: str | Path, records: list[AnnotationRecord], source: str = "",
                   identity: dict | None = None) -> Path:
    """Atomically write the unsaved state to ``autosave_path(path)``; returns that path."""
    target = autosave_path(path)
    atomic_write_text(target, dumps_store(records, source, identity))
    try:  # as shared as the store it stands in for (a colleague may have to recover it)
        mode = stat.S_IMODE(Path(path).stat().st_mode)
        if stat.S_IMODE(target.stat().st_mode) != mode:
            os.chmod(target, mode)
    except OSError:
        pass
    return target


def recoverable_autosave(path: str | Path) -> Path | None:
    """The autosave of ``path`` when it holds newer work than the store (the app did not close cleanly), else None."""
    path = Path(path)
    auto = autosave_path(path)
    if not auto.exists():
        return None
    if path.exists() and path.stat().st_mtime_ns > auto.stat().st_mtime_ns:
        return None
    return auto


def bad_autosave_path(path: str | Path) -> Path:
    """``<file>.autosave.bad``: where an unreadable autosave is kept (`set_aside_bad_autosave`)."""
    path = Path(path)
    return path.with_name(path.name + ".autosave.bad")


def set_aside_bad_autosave(path: str | Path) -> str | None:
    """When ``<file>.autosave`` exists but cannot be read as annotations, rename it to ``<file>.autosave.bad``
    (replacing an older one) so that it is neither offered nor deleted, and return a message for the user
    naming both files and what to do; None when there is no autosave or it is readable.

    The message is returned once: the renamed file is not looked at again.
    """
    auto = autosave_path(path)
    if not auto.exists():
        return None
    try:
        load_store(auto)
        return None
    except AnnotationFileError as exc:
        reason = str(exc).split(": ", 1)[-1].split(";", 1)[0]
    bad = bad_autosave_path(path)
    try:
        os.replace(auto, bad)
    except OSError as exc:
        return (f"{auto}: the autosaved annotations cannot be read ({reason}) and could not be set aside ({exc}); "
                "they are not recovered. Move the file aside yourself to keep it.")
    return (f"{auto}: the autosaved annotations cannot be read ({reason}), so they are not recovered. The file is "
            f"kept as {bad.name}: open it in a text editor to copy anything you need, or delete it. Your saved "
            f"annotations in {Path(path).name} are loaded as they were.")


def remove_autosave(path: str | Path) -> None:
    """Delete ``<file>.autosave`` (after a clean save or when the user declines recovery)."""
    try:
        autosave_path(path).unlink()
    except FileNotFoundError:
        pass


# ---- CASME II-style CSV ------------------------------------------------------------------------
def _fmt_frame(v: int | None) -> str:
    return "" if v is None else str(int(v))


def export_csv(path: str | Path, records: list[AnnotationRecord]) -> None:
    """Write ``records`` as CSV with the CASME II columns `CSV_COLUMNS` + ``Notes`` (atomically).

    Frame numbers are source numbers; an unset mark is an empty cell.
    """
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([*CSV_COLUMNS, NOTES_COLUMN])
    for r in records:
        a = r.annotation
        w.writerow([r.subject, r.name, _fmt_frame(a.onset), _fmt_frame(a.apex), _fmt_frame(a.offset),
                    a.aus, a.emotion or "", a.notes])
    atomic_write_text(path, buf.getvalue())


def _parse_frame(value: str, column: str, where: str) -> int | None:
    v = (value or "").strip()
    if v.lower() in _EMPTY_FRAME:
        return None
    try:
        f = float(v)
    except ValueError as exc:
        raise AnnotationFileError(f"{where}: {column} {v!r} is not a frame number; write a whole number or "
                                  "leave the cell empty") from exc
    if f != int(f) or f < 0:
        raise AnnotationFileError(f"{where}: {column} {v!r} is not a whole, non-negative frame number")
    return int(f)


@dataclass
class CsvAnnotations:
    """An imported CSV sheet: its records and which annotation fields its columns set.

    records : one per data row, with its 1-based row number (``AnnotationRecord.row``).
    fields : the `Annotation` fields whose column the sheet has (see `CSV_FIELDS`; ``apex`` implies
        ``apex_source``). A field not listed keeps the clip's current value on import (`merge_imported`).
    problems : rows left out, one ``"row N (subject/clip): reason"`` each (a frame cell that is not a whole
        number, onset after offset, apex outside onset..offset, no clip name); the other rows are imported.
    """

    records: list[AnnotationRecord]
    fields: frozenset[str]
    problems: list[str] = field(default_factory=list)


def merge_imported(current: Annotation, imported: Annotation, fields) -> Annotation:
    """``current`` with only the ``fields`` (`CsvAnnotations.fields`) taken from ``imported``: a column the
    sheet lacks leaves the clip's value, an empty cell in a column it has clears it. ``apex`` brings its
    ``apex_source`` along."""
    changes = {f: getattr(imported, f) for f in fields}
    if "apex" in changes:
        changes["apex_source"] = imported.apex_source
    return replace(current, **changes)


def import_csv(path: str | Path) -> list[AnnotationRecord]:
    """The records of `read_csv_annotations` (fields of absent columns read as empty)."""
    return read_csv_annotations(path).records


def read_csv_annotations(path: str | Path) -> CsvAnnotations:
    """Read a CSV with the CASME II columns `CSV_COLUMNS`: `REQUIRED_CSV_COLUMNS` must be there, the others
    (Subject, Action Units, Estimated Emotion, ``Notes``) may be absent: their fields are then left out of
    `CsvAnnotations.fields` (and read as empty in the records); extra columns are ignored.

    The separator is recognised (``,`` ``;`` tab ``|``: European spreadsheets write ``;``). A row that does not
    fit is left out and listed in `CsvAnnotations.problems`; the others are read.
    Raises `AnnotationFileError` naming the file when it is an Excel workbook or not UTF-8 text, or required
    columns are missing (naming them and the expected ones).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise AnnotationFileError(f"{path}: cannot be read ({exc})") from exc
    if raw[:4] == b"PK\x03\x04" or raw[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":  # xlsx (zip) / old xls
        raise AnnotationFileError(f"{path}: this is an Excel file, not a CSV; open it in a spreadsheet, save it as "
                                  "CSV (UTF-8) and import that file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise AnnotationFileError(f"{path}: is not UTF-8 text ({exc}); save it from a spreadsheet as CSV (UTF-8) "
                                  "and import again") from exc
    first = text.split("\n", 1)[0]
    try:
        dialect = csv.Sniffer().sniff(first, delimiters=",;\t|") if first.strip() else csv.excel
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_CSV_COLUMNS if c not in header]
    if missing:
        optional = [c for c in (*CSV_COLUMNS, NOTES_COLUMN) if c not in REQUIRED_CSV_COLUMNS]
        raise AnnotationFileError(f"{path}: missing column(s) {', '.join(missing)}. The first row must name the "
                                  f"columns {', '.join(REQUIRED_CSV_COLUMNS)} (optional: {', '.join(optional)}); "
                                  f"it names: {', '.join(header) or 'nothing'}")
    records: list[AnnotationRecord] = []
    problems: list[str] = []
    for i, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() if isinstance(v, str) else "" for k, v in raw.items()}
        who = "/".join(x for x in (row.get("Subject", ""), row.get("Filename", "")) if x)
        if not row.get("Subject") and not row.get("Filename"):
            continue  # blank line
        if not row.get("Filename"):
            problems.append(f"row {i} ({who}): Filename is empty; every row needs the clip name")
            continue
        try:
            where = f"{path} row {i}"
            ann = Annotation(onset=_parse_frame(row["OnsetFrame"], "OnsetFrame", where),
                             apex=_parse_frame(row["ApexFrame"], "ApexFrame", where),
                             offset=_parse_frame(row["OffsetFrame"], "OffsetFrame", where),
                             emotion=row.get("Estimated Emotion") or None, aus=row.get("Action Units", ""),
                             notes=row.get(NOTES_COLUMN, ""))
        except AnnotationFileError as exc:
            problems.append(f"row {i} ({who}): {str(exc).split(': ', 1)[-1]}")
            continue
        if ann.apex is not None:
            ann.apex_source = "annotated"
        if ann.onset is not None and ann.offset is not None and ann.onset > ann.offset:
            problems.append(f"row {i} ({who}): OnsetFrame {ann.onset} is after OffsetFrame {ann.offset}")
            continue
        if ann.apex is not None and ((ann.onset is not None and ann.apex < ann.onset)
                                     or (ann.offset is not None and ann.apex > ann.offset)):
            problems.append(f"row {i} ({who}): ApexFrame {ann.apex} is outside OnsetFrame..OffsetFrame "
                            f"{ann.onset}..{ann.offset}")
            continue
        records.append(AnnotationRecord(row.get("Subject", ""), row["Filename"], ann, row=i))
    return CsvAnnotations(records, frozenset(f for c, f in CSV_FIELDS.items() if c in header), problems)
