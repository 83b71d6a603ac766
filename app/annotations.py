"""The annotation store of one opened video, frame folder or database (Qt-free).

Holds the coder's annotation per clip, knows whether it changed since the last save, and saves through
`cmnet_core.data.annotation_io` (atomic writes, rotating backups ``.001``…, autosave, crash recovery).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import replace
from pathlib import Path

from cmnet_core.data.annotation_io import (AnnotationFileError, AnnotationRecord, load_store, recoverable_autosave,
                                           recoverable_temp_files, remove_autosave, remove_orphan_temps,
                                           save_store, set_aside_bad_autosave, write_autosave)
from cmnet_core.data.clip import Annotation, Clip

STORE_NAME = "cmnet-annotations.json"


def default_store_path(source: str | Path, data_dir: str | Path) -> Path:
    """Where the annotations of ``source`` live.

    A folder (frame folder or database root) keeps them inside as ``cmnet-annotations.json``; a video
    file beside it as ``<video>.annotations.json``. When that folder is read-only (shared data), the
    file goes to ``<data_dir>/annotations/<stem>-<hash of the path>.json``.
    """
    source = Path(source).resolve()
    if source.is_dir():
        folder, name = source, STORE_NAME
    else:
        folder, name = source.parent, f"{source.name}.annotations.json"
    if _writable(folder):
        return folder / name
    digest = hashlib.sha1(str(source).encode("utf-8")).hexdigest()[:10]
    return Path(data_dir) / "annotations" / f"{source.stem}-{digest}.json"


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
    """

    def __init__(self, path: str | Path, source: str = "") -> None:
        self.path = Path(path)
        self.source = source
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
        save_store(self.path, self.records(), self.source)
        remove_autosave(self.path)
        remove_orphan_temps(self.path)  # the user was offered their contents when the store was opened
        self.dirty = False

    def autosave(self) -> Path | None:
        """Write ``<file>.autosave`` when there are unsaved changes; returns its path or None."""
        if not self.dirty:
            return None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        return write_autosave(self.path, self.records(), self.source)

    def discard_autosave(self) -> None:
        """Remove the autosave and the temporary files of killed saves (the user chose not to keep unsaved
        changes)."""
        remove_autosave(self.path)
        remove_orphan_temps(self.path)

    def _fill(self, records: list[AnnotationRecord]) -> None:
        self._records = {r.key: r.annotation for r in records}
