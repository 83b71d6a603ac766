"""Opening a database: `open_database` picks an adapter by name or by recognising the folder layout, and the
search for the database that encloses a clip folder (`find_enclosing_database`, `locate_clip_folder`).

The types (`Database`, `Skip`, the errors, the adapter registry) live in `cmnet_core.data.database_types`, which the
adapters import; they are re-exported here, so ``from cmnet_core.data.database import Database`` keeps working.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from . import adapters  # noqa: F401 - importing the package registers the built-in adapters
from .clip import Clip
from .database_types import (ADAPTERS, Adapter, Database, DatabaseError, SheetNotFoundError, Skip,
                             register_adapter)


def open_database(root: str | Path, sheet: str | Path | None = None, kind: str | None = None,
                  protocol: str | None = None) -> Database:
    """Open a database root with its annotation sheet.

    Parameters
    ----------
    root : the database folder (e.g. ``CASME2_RAW/`` holding ``sub01/EP02_01f/img46.jpg``).
    sheet : the annotation sheet; ``None`` looks for the adapter's usual sheet inside ``root``.
    kind : adapter name; ``None`` recognises the layout.
    protocol : label protocol; ``None`` takes the adapter's default.

    Raises
    ------
    DatabaseError : the root is missing, no adapter recognises it, or the sheet cannot be read.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatabaseError(f"database root {root} is not a folder")
    if kind is None:
        found = [a for a in ADAPTERS.values() if a.detect(root)]
        if not found:
            raise DatabaseError(
                f"{root}: no known database layout recognised (known: {', '.join(sorted(ADAPTERS))}); "
                "pass the database kind explicitly")
        adapter = found[0]
    else:
        if kind not in ADAPTERS:
            raise DatabaseError(f"unknown database kind {kind!r}; known: {', '.join(sorted(ADAPTERS))}")
        adapter = ADAPTERS[kind]
    return adapter.load(root, Path(sheet) if sheet is not None else None, protocol)


#: How many folders above a frame folder `find_enclosing_database` looks for a database root (SMIC-HS clips lie
#: four below theirs: ``s1/micro/negative/s1_ne_01``).
ENCLOSING_LEVELS = 4


@dataclass
class EnclosingDatabase:
    """A database whose tree holds a given frame folder (`find_enclosing_database`).

    root : the database root.  database : the opened database.
    clips : its clips (readable and unlabelled) whose frames are that folder: one for CASME II, SAMM, SMIC-HS
        and synthetic trees, several for a CAS(ME)^3 task video holding several micro-expressions.
    """

    root: Path
    database: Database
    clips: list[Clip]

    @property
    def key(self) -> tuple[str, str] | None:
        """``(subject, clip name)`` of the one clip of the folder, as the database's annotation store keys it;
        None when the folder holds several clips (which one cannot be told from the folder)."""
        if len(self.clips) != 1:
            return None
        return (self.clips[0].subject, self.clips[0].name)


def find_enclosing_database(folder: str | Path, levels: int = ENCLOSING_LEVELS,
                            sheet: str | Path | Callable[[Path], str | Path | None] | None = None
                            ) -> EnclosingDatabase | None:
    """The database whose tree holds the frame folder ``folder``, or None.

    Walks up from ``folder``'s parent at most ``levels`` folders; the first folder that an adapter recognises
    (its ``detect``) and that opens (`open_database`, with the adapter's usual sheet) with a clip whose frames
    are ``folder`` is the root. Folders that are not recognised, cannot be read or do not open are passed
    over silently: a loose frame folder simply has no enclosing database. Paths are compared resolved
    (symbolic links followed). Opening reads the sheet and lists every clip folder of the database.
    ``sheet``: the annotation sheet to use when it is not in or beside the root — a path (``--sheet``), or a
    function giving the sheet remembered for a candidate root (None: the usual one).
    """
    return locate_clip_folder(folder, levels, sheet).enclosing


@dataclass
class SkippedClipFolder:
    """A frame folder that a database's sheet names but whose row was left out (`locate_clip_folder`):
    ``root``, ``database`` (opened), ``skip`` (the row and its reason) and ``fps`` (the database's frame rate, from
    its clips; None when it has none)."""

    root: Path
    database: Database
    skip: Skip
    fps: float | None

    def note(self) -> str:
        """The sentence to show beside the folder's times."""
        rate = f"{self.fps:g} fps from the {self.database.name} database at {self.root}" if self.fps else \
            f"part of the {self.database.name} database at {self.root}"
        return (f"{rate}; its sheet row for this folder was left out ({self.skip.item}: {self.skip.reason}), so it "
                "opens on its own, without the sheet's onset/apex/offset")


@dataclass
class ClipFolderPlace:
    """Where a frame folder stands in a database tree (`locate_clip_folder`); at most one field is set.

    enclosing : the database whose clip(s) the folder is.  left_out : the database whose sheet names the folder in
    a row it left out.  sheet_missing : a recognised root above the folder whose sheet is neither in nor beside it.
    """

    enclosing: EnclosingDatabase | None = None
    left_out: SkippedClipFolder | None = None
    sheet_missing: SheetNotFoundError | None = None


def locate_clip_folder(folder: str | Path, levels: int = ENCLOSING_LEVELS,
                       sheet: str | Path | Callable[[Path], str | Path | None] | None = None) -> ClipFolderPlace:
    """One walk up from the frame folder ``folder`` (at most ``levels`` folders; each recognised root opened once,
    ``sheet`` as in `find_enclosing_database`): its enclosing database (first), else the database that left its
    sheet row out, else the nearest recognised root without its sheet; an empty `ClipFolderPlace` for a loose
    folder. Adapters' failures other than a missing sheet pass the root over."""
    try:
        target = Path(folder).resolve()
    except OSError:
        return ClipFolderPlace()
    tail = f"({target.parent.name}/{target.name})"
    place = ClipFolderPlace()
    for root in list(target.parents)[:levels]:
        try:
            if not any(a.detect(root) for a in ADAPTERS.values()):
                continue
            given = sheet(root) if callable(sheet) else sheet
            db = open_database(root, sheet=given)
        except SheetNotFoundError as exc:
            place.sheet_missing = place.sheet_missing or exc
            continue
        except (DatabaseError, OSError, ValueError):
            continue
        clips = [c for c in list(db.clips) + list(db.unlabelled) if _same_path(c.path, target)]
        if clips:
            return ClipFolderPlace(enclosing=EnclosingDatabase(root, db, clips))
        if place.left_out is None:
            skip = next((s for s in db.skips if s.item.endswith(tail) or str(target) in s.reason), None)
            if skip is not None:
                fps = next((float(c.fps) for c in db.clips if getattr(c, "fps", None)), None)
                place.left_out = SkippedClipFolder(root, db, skip, fps)
    if place.left_out is not None:
        return ClipFolderPlace(left_out=place.left_out)
    return ClipFolderPlace(sheet_missing=place.sheet_missing)


def _same_path(a: Path, b: Path) -> bool:
    try:
        return Path(a).resolve() == b
    except OSError:
        return False
