"""On-disk cache of preprocessed clips (uint8 ``.npz``), keyed so a stale entry is never served.

The key is a SHA-256 over: the preprocessing code version, every `PreprocessSettings` field, the
landmark backend that runs (and the identity of its model files), the annotation's onset/apex/offset
and apex source, the span's frame numbers, and the source's identity:

* a file: resolved path, size, modification time (ns);
* a frame folder: resolved path and the name, size and modification time of every file in it;
* a source not on disk (synthetic clips): a hash of the pixels of every frame in the span.

Entries are written to a temporary file in the cache folder and moved into place with `os.replace`,
so an interrupted run never leaves a half-written entry under a valid name.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from ..data.clip import Clip
from ..safe_write import DiskFullError, file_mode, is_disk_full
from .types import PreprocessedClip, PreprocessSettings

PREPROCESS_VERSION = "3"  # 2: results record their alignment matrix (apex change needs it); 3: crops kept
# inside the frame (fit_crop), flat padding, padded detection of faces that fill the frame
"""Bump when a code change alters preprocessing output: every existing cache entry becomes a miss."""

CACHE_DIR_ENV = "CMNET_CACHE_DIR"


def default_cache_dir() -> Path:
    """``<cache>/preprocess``: ``$CMNET_CACHE_DIR/preprocess`` when set, else the platform's cache folder
    (`cmnet_core.paths.cache_dir`; ``~/.cache/cmnet/preprocess`` on Linux)."""
    from ..paths import cache_dir

    return cache_dir() / "preprocess"


def _stat_identity(path: Path) -> dict:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def source_identity(clip: Clip, span: Sequence[int]) -> dict:
    """What identifies the frames of ``clip`` in ``span`` (source frame numbers); see the module doc."""
    path = clip.path
    if path.is_file():
        return {"path": str(path.resolve()), **_stat_identity(path)}
    if path.is_dir():
        digest = hashlib.sha256()
        for entry in sorted(os.scandir(path), key=lambda e: e.name):
            if entry.is_file():
                st = entry.stat()
                digest.update(f"{entry.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return {"path": str(path.resolve()), "files": digest.hexdigest()}
    digest = hashlib.sha256()
    for number in span:
        frame = np.ascontiguousarray(clip.frame(number))
        digest.update(repr(frame.shape).encode())
        digest.update(frame.tobytes())
    return {"path": str(path), "pixels": digest.hexdigest()}


def cache_key(clip: Clip, settings: PreprocessSettings, backend: str, span: Sequence[int],
              extra: dict | None = None) -> str:
    """Hex SHA-256 key of one preprocessing job (see the module doc for what it covers).

    backend : the landmark backend that will run (``"auto"`` already resolved).
    extra : further JSON-able facts that change the output (e.g. landmark hint, model file identity).
    """
    ann = clip.annotation
    payload = {
        "version": PREPROCESS_VERSION,
        "settings": settings.to_dict(),
        "backend": backend,
        "annotation": {"onset": ann.onset, "apex": ann.apex, "offset": ann.offset, "apex_source": ann.apex_source},
        "span": [int(span[0]), int(span[-1]), len(span)],
        "source": source_identity(clip, span),
        "extra": extra or {},
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


class PreprocessCache:
    """A folder of cached `PreprocessedClip` entries, one ``<key[:2]>/<key>.npz`` file each.

    ``hits`` / ``misses`` count `get` results since construction. An unreadable entry counts as a miss
    (and is overwritten by the next `put`).
    """

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.hits = 0
        self.misses = 0

    def path(self, key: str) -> Path:
        """Where the entry for ``key`` lives."""
        return self.folder / key[:2] / f"{key}.npz"

    def __contains__(self, key: str) -> bool:
        return self.path(key).is_file()

    def get(self, key: str) -> PreprocessedClip | None:
        """The cached result for ``key``, or None."""
        path = self.path(key)
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                result = PreprocessedClip(
                    frames=data["frames"], frame_map=data["frame_map"], apex_position=int(meta["apex_position"]),
                    apex_source=meta["apex_source"], backend=meta["backend"],
                    settings=PreprocessSettings(**meta["settings"]), notes=list(meta["notes"]),
                    alignment=np.asarray(meta["alignment"], dtype=np.float64) if meta.get("alignment") else None,
                    padded=float(meta.get("padded", 0.0)),
                    apex_spotter=meta.get("apex_spotter", ""), apex_confidence=meta.get("apex_confidence"))
        except (OSError, ValueError, KeyError, TypeError):
            self.misses += 1
            return None
        self.hits += 1
        return result

    def put(self, key: str, result: PreprocessedClip) -> Path:
        """Store ``result`` under ``key`` atomically (temporary file + `os.replace`); returns the path.

        Raises `DiskFullError` when the disk is full (no temporary file is left) and `OSError` otherwise."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"apex_position": int(result.apex_position), "apex_source": result.apex_source,
                "backend": result.backend, "settings": result.settings.to_dict(), "notes": list(result.notes),
                "alignment": None if result.alignment is None else np.asarray(result.alignment).tolist(),
                "padded": float(result.padded),
                "apex_spotter": result.apex_spotter, "apex_confidence": result.apex_confidence}
        fd, tmp = tempfile.mkstemp(prefix=f".{key[:16]}-", suffix=".tmp", dir=path.parent)
        try:
            os.fchmod(fd, file_mode(path))   # a plain file's mode (a cache shared in a lab), not mkstemp's 0600
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, frames=np.ascontiguousarray(result.frames, dtype=np.uint8),
                         frame_map=np.asarray(result.frame_map, dtype=np.float64), meta=np.array(json.dumps(meta)))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException as exc:
            Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError) and is_disk_full(exc):
                raise DiskFullError(path) from exc
            raise
        return path
