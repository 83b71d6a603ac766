"""What a source *is*, independent of where it lies: a content fingerprint for annotation stores (Qt-free).

Annotations of a read-only source live in the user's data folder; keying them by the source's absolute path
loses them when the database is moved or remounted. A `SourceIdentity` names the source by its kind and a
fingerprint of its content instead, so that the store can be found again after a move
(`cmnet_core.data.annotation_io.find_stores_by_identity`).

* A database (`database_identity`): the adapter name + the sorted ``subject/clip`` keys of its clips, each
  with its frame count and first frame's file name (CASME II RAW ``img46.jpg`` and Cropped ``reg_img46.jpg``
  are different sources with the same clip names).
* A frame folder (`folder_identity`): the sorted image file names with their sizes in bytes.
* A file (`file_identity`): its size and the SHA-1 of its first and last MiB (a video is not read whole).

Only names, sizes and a little data are read, never every frame. Identities are compared whole; a source
whose content changes (a frame replaced, a clip added to the sheet) gets a new identity.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from .database_types import Database

_EDGE_BYTES = 1 << 20


@dataclass(frozen=True)
class SourceIdentity:
    """``kind``: database adapter name (``"casme2"``, ``"samm"``, …), ``"folder"`` or ``"file"``;
    ``fingerprint``: SHA-1 hex digest of the content summary described in the module notes."""

    kind: str
    fingerprint: str

    @property
    def digest(self) -> str:
        """A short name-safe digest of kind + fingerprint (12 hex digits) for file names."""
        return hashlib.sha1(f"{self.kind}\n{self.fingerprint}".encode("utf-8")).hexdigest()[:12]

    def to_dict(self) -> dict:
        """``{"kind": ..., "fingerprint": ...}`` as stored in an annotation file's header."""
        return {"kind": self.kind, "fingerprint": self.fingerprint}


def _sha1_lines(lines) -> str:
    h = hashlib.sha1()
    for line in lines:
        h.update(line.encode("utf-8", "surrogateescape") + b"\n")
    return h.hexdigest()


def database_identity(database: Database) -> SourceIdentity:
    """The identity of an opened database: its adapter name + each clip's ``subject/name``, frame count and first
    frame's file name (readable and unlabelled clips), sorted. Independent of the root's location."""
    lines = []
    for clip in list(database.clips) + list(database.unlabelled):
        files = getattr(clip.source, "files", None)
        first = files[clip.frame_numbers[0]].name if files and len(clip.frame_numbers) else clip.path.name
        lines.append(f"{clip.subject}/{clip.name}\t{len(clip.frame_numbers)}\t{first}")
    return SourceIdentity(database.name, _sha1_lines(sorted(lines)))


def folder_identity(folder: str | Path) -> SourceIdentity:
    """The identity of a folder from its visible files' names and sizes (sorted); the folder's own name and
    location take no part. Raises `OSError` when the folder cannot be listed."""
    entries = []
    with os.scandir(folder) as it:
        for entry in it:
            if entry.name.startswith(".") or not entry.is_file():
                continue
            entries.append(f"{entry.name}\t{entry.stat().st_size}")
    return SourceIdentity("folder", _sha1_lines(sorted(entries)))


def file_identity(path: str | Path) -> SourceIdentity:
    """The identity of a file (video): its size in bytes and its first and last MiB. Raises `OSError` when
    it cannot be read."""
    h = hashlib.sha1()
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        h.update(str(size).encode())
        h.update(fh.read(_EDGE_BYTES))
        if size > _EDGE_BYTES:
            fh.seek(max(size - _EDGE_BYTES, _EDGE_BYTES))
            h.update(fh.read(_EDGE_BYTES))
    return SourceIdentity("file", h.hexdigest())


def source_identity(path: str | Path, database: Database | None = None) -> SourceIdentity:
    """`database_identity` when ``database`` is given, else `folder_identity` or `file_identity` of ``path``.
    Raises `OSError` when ``path`` cannot be read."""
    if database is not None:
        return database_identity(database)
    return folder_identity(path) if Path(path).is_dir() else file_identity(path)
