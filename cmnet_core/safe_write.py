"""Result files written safely: a temporary file in the same folder, flushed, then moved over the target.

A failed write (a full disk above all) removes its temporary file and leaves the previous version of the
target untouched; a full disk is reported as `DiskFullError` ("disk full at PATH (N MB free)").
"""
from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from pathlib import Path

#: errno values that mean "no room": no space left, or the user's disk quota is used up.
_NO_ROOM = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


class DiskFullError(OSError):
    """The disk (or quota) is full while writing ``path``; ``errno`` is ENOSPC and the message says
    ``disk full at PATH (N MB free)`` and what to do."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.free_mb = free_mb(self.path)
        free = "unknown space" if self.free_mb is None else f"{self.free_mb:.0f} MB"
        super().__init__(f"disk full at {self.path} ({free} free); free some space or write to another disk and "
                         "run again (no partial file was left; the previous version, if any, is kept)")
        self.errno = errno.ENOSPC


def free_mb(path: str | Path) -> float | None:
    """Free space in MB (10^6 bytes) on the disk holding ``path`` (or its nearest existing folder); None when
    it cannot be found."""
    folder = Path(path)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free / 1e6
    except OSError:
        return None


def is_disk_full(exc: BaseException) -> bool:
    """True for an `OSError` that means no room is left (ENOSPC, or EDQUOT: quota exceeded)."""
    return isinstance(exc, OSError) and exc.errno in _NO_ROOM


def _write_all(fh, data: bytes, path: Path) -> None:
    """Write ``data`` to the open file ``fh`` (the temporary file for ``path``) and flush it to disk."""
    fh.write(data)
    fh.flush()
    os.fsync(fh.fileno())


def _mode_for(path: Path) -> int:
    """The permission bits ``path`` should get: its current ones, or those of a plain new file (0o666 less the
    umask), not the 0o600 of `tempfile.mkstemp`."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _keep_group(fd: int, path: Path) -> None:
    """Give the open temporary file ``fd`` the group of the ``path`` it replaces, where we may (a shared data
    folder keeps its group); silently left as is when we may not or ``path`` is new."""
    try:
        gid = path.stat().st_gid
    except OSError:
        return
    try:
        if os.fstat(fd).st_gid != gid:
            os.fchown(fd, -1, gid)
    except (OSError, AttributeError):
        pass


def write_temp_file(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to a new temporary ``.<name>.*.tmp`` beside ``path``, flushed to disk, with the mode and
    group ``path`` has (or those of a plain new file); returns the temporary file, which the caller moves over
    ``path`` with `os.replace` (and removes when it gives up).

    Raises `DiskFullError` when the disk is full and `OSError` for other write failures; either way no
    temporary file is left and ``path`` is not touched.
    """
    path = Path(path)
    mode = _mode_for(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        _keep_group(fd, path)
        with os.fdopen(fd, "wb") as fh:
            _write_all(fh, data, path)
    except BaseException as exc:
        _discard(tmp, path, exc)
    return Path(tmp)


def _discard(tmp: str | Path, path: Path, exc: BaseException) -> None:
    """After a failed write of ``path``: remove its temporary file ``tmp`` and raise `DiskFullError` (the disk is
    full) or ``exc`` again."""
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    if is_disk_full(exc):
        raise DiskFullError(path) from exc
    raise exc


def write_bytes_atomically(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary ``.<name>.*.tmp`` in the same folder and `os.replace`.

    Returns the path. Raises `DiskFullError` when the disk is full and `OSError` for other write failures;
    either way the temporary file is removed and the previous ``path`` (if any) is left as it was. The file
    keeps the permission bits and group of the one it replaces (a new one gets those of a plain new file).
    """
    path = Path(path)
    tmp = write_temp_file(path, data)
    try:
        os.replace(tmp, path)
    except BaseException as exc:
        _discard(tmp, path, exc)
    return path


def write_text_atomically(path: str | Path, text: str) -> Path:
    """`write_bytes_atomically` of ``text`` encoded as UTF-8 (newlines written as given)."""
    return write_bytes_atomically(path, text.encode("utf-8"))


__all__ = ["DiskFullError", "free_mb", "is_disk_full", "write_bytes_atomically", "write_temp_file",
           "write_text_atomically"]
