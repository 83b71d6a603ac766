"""The annotation store of one opened video, frame folder or database (Qt-free).

Holds the coder's annotation per clip, knows whether it changed since the last save, and saves through
`cmnet_core.data.annotation_io` (atomic writes, rotating backups ``.001``…, autosave, crash recovery).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

from cmnet_core.data.annotation_io import (AnnotationFileError, AnnotationRecord, find_stores_by_identity,
                                           find_stores_by_source, load_store,
                                           read_store_header, recoverable_autosave, recoverable_temp_files,
                                           remove_autosave, remove_orphan_temps, save_store, set_aside_bad_autosave,
                                           write_autosave)
from cmnet_core.data.clip import Annotation, Clip
from cmnet_core.data.database import Database, find_enclosing_database
from cmnet_core.data.identity import SourceIdentity, source_identity

STORE_NAME = "cmnet-annotations.json"


@dataclass
class StoreChoice:
    """Where the annotations of a source are kept (`choose_store`).

    path : the store file.  identity : the source's `SourceIdentity.to_dict` (written in the store's header),
    None when the source could not be read for it.  notice : a message for the user, ``""`` when none (the
    store was found by identity from the source's earlier location).
    """

    path: Path
    identity: dict | None = None
    notice: str = ""


def default_store_path(source: str | Path, data_dir: str | Path, database: Database | None = None) -> Path:
    """Where the annotations of ``source`` live (`choose_store`'s path)."""
    return choose_store(source, data_dir, database).path


def choose_store(source: str | Path, data_dir: str | Path, database: Database | None = None) -> StoreChoice:
    """Where the annotations of ``source`` (a video, frame folder or database root; ``database`` = the opened
    database of a root) live.

    A writable folder keeps them inside as ``cmnet-annotations.json``; a video file in a writable folder beside
    it as ``<video>.annotations.json``. A read-only source's store goes to the data folder, keyed by what the
    source is rather than where it lies (`cmnet_core.data.identity`), looked for in this order:

    1. ``<data_dir>/annotations/<stem>-<kind>-<identity digest>.json``;
    2. ``<data_dir>/annotations/<stem>-<hash of the path>.json``, the name used before identities (kept, and
       its header gains the identity on the next save), unless its header records another identity (another
       database now mounted at that path);
    3. any ``<data_dir>/annotations/*.json`` whose header records the same identity (the source was moved,
       remounted or renamed): used, with a `StoreChoice.notice` naming the earlier location;
    4. any whose header records this location and an identity of the same kind (the source changed in place:
       a read-only database gained or lost a clip): used, with a notice saying so;
    5. else the new file of 1.
    """
    source = Path(source).resolve()
    if source.is_dir():
        folder, name = source, STORE_NAME
    else:
        folder, name = source.parent, f"{source.name}.annotations.json"
    identity = _identity_or_none(source, database)
    ident = identity.to_dict() if identity is not None else None
    if _writable(folder):
        store = folder / name
        recorded = _recorded_identity(store) if ident is not None and ident["kind"] == "file" and store.exists() \
            else None
        if recorded is not None and recorded.get("kind") == "file" and recorded != ident:
            return StoreChoice(store, ident, f"{store.name} was saved for another file named {source.name} (its "
                                             "content differs now: replaced or re-encoded?). Its annotations are "
                                             "shown; check that they still fit this video.")
        return StoreChoice(store, ident)
    annotations = Path(data_dir) / "annotations"
    digest = hashlib.sha1(str(source).encode("utf-8")).hexdigest()[:10]
    legacy = annotations / f"{source.stem}-{digest}.json"
    if identity is None:
        return StoreChoice(legacy, None)
    named = annotations / f"{source.stem}-{identity.kind}-{identity.digest}.json"
    if named.exists():
        return StoreChoice(named, ident, _moved_notice(named, source, database))
    if legacy.exists() and _recorded_identity(legacy) in (None, ident):
        return StoreChoice(legacy, ident)
    found = find_stores_by_identity(annotations, ident)
    if found:
        return StoreChoice(found[0][0], ident, _moved_notice(found[0][0], source, database, found[0][1]))
    changed = [p for p in find_stores_by_source(annotations, source, identity.kind) if _same_clips(p, database)]
    if changed:   # the same place, other content (a clip added or removed): never start silently empty
        what = f"{database.name} database" if database is not None else "folder" if source.is_dir() else "video"
        return StoreChoice(changed[0], ident,
                           f"The {what} at {source} changed since its annotations were last saved (its clips or "
                           f"files differ): the annotations saved for it in {changed[0]} are shown, and saved there "
                           "again. Check clips that were added or changed.")
    return StoreChoice(named, ident)


def _same_clips(store: Path, database: Database | None, share: float = 0.5) -> bool:
    """True when at least ``share`` of the clips annotated in ``store`` are clips of ``database`` (the same
    database with a clip more or less, not another one mounted at its path); True without a database."""
    if database is None:
        return True
    try:
        records = load_store(store)[0]
    except (AnnotationFileError, OSError):
        return False
    if not records:
        return True
    keys = {(c.subject or "", c.name) for c in list(database.clips) + list(database.unlabelled)}
    return sum(r.key in keys for r in records) >= share * len(records)


def _recorded_identity(store: Path) -> dict | None:
    """The identity in ``store``'s header, None when it has none or cannot be read (then it is loaded as before,
    and the user told when it is damaged)."""
    try:
        return read_store_header(store)[1]
    except (AnnotationFileError, OSError):
        return None


def _identity_or_none(source: Path, database: Database | None) -> SourceIdentity | None:
    try:
        return source_identity(source, database)
    except OSError:
        return None


def _moved_notice(store: Path, source: Path, database: Database | None, recorded: str | None = None) -> str:
    """The message when ``store`` was recorded for another location than ``source``; ``""`` when not."""
    if recorded is None:
        try:
            recorded = read_store_header(store)[0]
        except (AnnotationFileError, OSError):
            return ""
    if not recorded or Path(recorded).resolve() == source:
        return ""
    what = f"{database.name} database" if database is not None else "folder" if source.is_dir() else "video"
    still = (" (a copy with the same content is still there)" if Path(recorded).exists()
             else "")
    return (f"Annotations found from the {what}'s earlier location {recorded}{still}: they are shown for "
            f"{source} and saved in {store}.")


def _writable(folder: Path) -> bool:
    """True when we may write in ``folder``; a folder without write bits counts as read-only even for root."""
    try:
        return os.access(folder, os.W_OK) and bool(folder.stat().st_mode & 0o222)
    except OSError:
        return False


def clip_key(clip: Clip) -> tuple[str, str]:
    """``(subject, clip name)``: how a clip is found in the store and in CSV sheets."""
    return (clip.subject or "", clip.name or clip.path.stem)


class AnnotationStore:
    """The annotations made in the app for one source, saved to ``path``.

    Only clips the user touched are held; `annotation_for` falls back to the clip's own (sheet) annotation.
    ``identity`` (`SourceIdentity.to_dict` of the source) is written in the file's header so that the store is
    found again after the source moves (`choose_store`).
    """

    def __init__(self, path: str | Path, source: str = "", identity: dict | None = None) -> None:
        self.path = Path(path)
        self.source = source
        self.identity = identity
        self._records: dict[tuple[str, str], Annotation] = {}
        self.dirty = False
        self._notices: list[str] = []

    # ---- access ---------------------------------------------------------------------------
    def annotation_for(self, clip: Clip) -> Annotation:
        """The annotation the user sees for ``clip`` (a copy; change it through `set`)."""
        ann = self._records.get(clip_key(clip))
        return replace(ann if ann is not None else clip.annotation)

    def has(self, clip: Clip) -> bool:
        """True when the user annotated ``clip`` in the app (saved or not)."""
        return clip_key(clip) in self._records

    def set(self, clip: Clip, annotation: Annotation) -> None:
        """Replace ``clip``'s annotation and mark the store dirty."""
        self._records[clip_key(clip)] = replace(annotation)
        self.dirty = True

    def get(self, key: tuple[str, str]) -> Annotation | None:
        """The annotation stored under ``key`` (a copy), or None."""
        ann = self._records.get(key)
        return None if ann is None else replace(ann)

    def remove(self, key: tuple[str, str]) -> None:
        """Forget the annotation under ``key`` (the clip falls back to its sheet annotation); marks dirty."""
        self._records.pop(key, None)
        self.dirty = True

    def set_by_key(self, key: tuple[str, str], annotation: Annotation) -> None:
        """Replace the annotation stored under ``key`` (used by CSV import); marks the store dirty."""
        self._records[key] = replace(annotation)
        self.dirty = True

    def records(self) -> list[AnnotationRecord]:
        """All stored annotations, sorted by subject then clip name."""
        return [AnnotationRecord(s, n, replace(a)) for (s, n), a in sorted(self._records.items())]

    # ---- files ----------------------------------------------------------------------------
    def load(self) -> None:
        """Read the store file if it exists (raises `AnnotationFileError` when it is unreadable).

        Temporary files of killed saves that hold nothing newer are removed; those holding newer work stay
        for `recoverable`.
        """
        remove_orphan_temps(self.path, keep=recoverable_temp_files(self.path))
        if self.path.exists():
            self._fill(load_store(self.path)[0])
        self.dirty = False

    def take_notices(self) -> list[str]:
        """Messages for the user gathered since the last call (e.g. an unreadable autosave set aside as
        ``.autosave.bad``); each is returned once."""
        notes, self._notices = self._notices, []
        return notes

    def _recovery_file(self) -> Path | None:
        """The autosave when newer than the store, else the newest temporary file of a killed save holding
        newer work (`recoverable_temp_files`), else None."""
        auto = recoverable_autosave(self.path)
        if auto is not None:
            return auto
        temps = recoverable_temp_files(self.path)
        return temps[0] if temps else None

    def recoverable(self) -> Path | None:
        """The autosave (or temporary file of a killed save) left by a session that did not close cleanly when
        it holds other annotations than the loaded ones, else None. A file equal to the store is removed; an
        unreadable autosave is kept as ``.autosave.bad`` and reported once through `take_notices`."""
        notice = set_aside_bad_autosave(self.path)
        if notice:
            self._notices.append(notice)
        while True:
            found = self._recovery_file()
            if found is None:
                return None
            try:
                records = load_store(found)[0]
            except AnnotationFileError:
                return None
            if {r.key: r.annotation for r in records} != self._records:
                return found
            found.unlink(missing_ok=True)  # nothing new in it

    def recover(self) -> None:
        """Take the recoverable annotations (the store stays dirty until saved)."""
        found = self._recovery_file()
        if found is not None:
            self._fill(load_store(found)[0])
            self.dirty = True

    def save(self, path: str | Path | None = None) -> None:
        """Save atomically (to ``path`` when given, which becomes the store's file) and drop the autosave."""
        if path is not None:
            self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        save_store(self.path, self.records(), self.source, identity=self.identity)
        remove_autosave(self.path)
        remove_orphan_temps(self.path)  # the user was offered their contents when the store was opened
        self.dirty = False

    def autosave(self) -> Path | None:
        """Write ``<file>.autosave`` when there are unsaved changes; returns its path or None."""
        if not self.dirty:
            return None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return write_autosave(self.path, self.records(), self.source, self.identity)

    def discard_autosave(self) -> None:
        """Remove the autosave and the temporary files of killed saves (the user chose not to keep unsaved
        changes)."""
        remove_autosave(self.path)
        remove_orphan_temps(self.path)

    def _fill(self, records: list[AnnotationRecord]) -> None:
        self._records = {r.key: r.annotation for r in records}


@dataclass
class OpenedStore:
    """The store chosen for an opened document (`open_store`).

    store : the `AnnotationStore` (not loaded yet).  clips : the document's clips, a frame folder's clip keyed
    as its database keys it.  notice : a message for a dialog (annotations found from an earlier location),
    ``""`` when none.  status : a line for the status bar (which store is used and why), ``""`` when plain.
    """

    store: AnnotationStore
    clips: list[Clip]
    notice: str = ""
    status: str = ""


def open_store(path: str | Path, clips: list[Clip], database: Database | None, data_dir: str | Path) -> OpenedStore:
    """The annotation store of what `app.workspace.opening.open_path` opened at ``path``.

    A frame folder opened alone that lies inside a database tree (`find_enclosing_database`) is one of that
    database's clips: its annotations go to, and are read from, the database's store (`choose_store` of the
    root) under the database's ``(subject, clip)`` key, so that opening the folder and opening the database
    edit the same annotation. Its clip is renamed to that key (subject, name, database). When the opening code
    already gives a ``database`` whose root is not ``path`` (a database clip opened from its folder), the
    clips are taken as keyed by it and the store is the root's. Anything else gets `choose_store` of ``path``.
    """
    path = Path(path)
    if database is not None and not _same_folder(database.root, path):
        # a database clip opened from its own folder, the opening code giving its database along
        choice = choose_store(database.root, data_dir, database)
        store = AnnotationStore(choice.path, str(Path(database.root).resolve()), choice.identity)
        what = (f"clip {clips[0].subject}/{clips[0].name} of" if len(clips) == 1 else "part of")
        return OpenedStore(store, list(clips), choice.notice,
                           f"{path.name} is {what} the {database.name} database at {database.root}: its "
                           f"annotations are kept in {choice.path}")
    if database is None and len(clips) == 1 and path.is_dir() and _same_folder(clips[0].path, path):
        try:
            enclosing = find_enclosing_database(path)
        except Exception:  # noqa: BLE001 - an adapter bug must not stop the folder from opening with its own store
            enclosing = None
        if enclosing is not None and enclosing.key is not None:
            choice = choose_store(enclosing.root, data_dir, enclosing.database)
            subject, name = enclosing.key
            clip = replace(clips[0], subject=subject, name=name, database=enclosing.database.name)
            store = AnnotationStore(choice.path, str(enclosing.root.resolve()), choice.identity)
            status = (f"{path.name} is clip {subject}/{name} of the {enclosing.database.name} database at "
                      f"{enclosing.root}: its annotations are kept in {choice.path}")
            return OpenedStore(store, [clip], choice.notice, status)
    if database is None and len(clips) == 1 and path.is_file():
        shared = _folder_store_with(path, clips[0])
        if shared is not None:   # annotated before as one video of its folder: one clip, one annotation file
            choice = choose_store(path.parent, data_dir, None)
            store = AnnotationStore(shared, str(path.parent.resolve()), choice.identity)
            return OpenedStore(store, [replace(clips[0], name=path.name)], "",
                               f"{path.name} was annotated as a video of the folder {path.parent}: its annotations "
                               f"are kept in {shared}")
    choice = choose_store(path, data_dir, database)
    return OpenedStore(AnnotationStore(choice.path, str(path.resolve()), choice.identity), list(clips), choice.notice)


def _folder_store_with(video: Path, clip: Clip) -> Path | None:
    """The store of ``video``'s folder (opened as a folder of videos, where the clip is keyed by its file name)
    when it holds this video's annotation and the video has no store of its own; else None."""
    own = video.with_name(f"{video.name}.annotations.json")
    folder_store = video.parent / STORE_NAME
    if own.exists() or not folder_store.is_file():
        return None
    try:
        records = load_store(folder_store)[0]
    except (AnnotationFileError, OSError):
        return None
    return folder_store if any(r.key == ("", video.name) for r in records) else None


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False
