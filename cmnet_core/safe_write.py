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
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Mapping

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


def file_mode(path: str | Path) -> int:
    """The permission bits a file written at ``path`` should get: those of the file it replaces, or those of a
    plain new file (0o666 less the umask), not the 0o600 of `tempfile.mkstemp`."""
    return _mode_for(Path(path))


def _mode_for(path: Path) -> int:
    """See `file_mode`."""
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
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        _discard(None, path, exc)
    try:
        os.fchmod(fd, mode)
        _keep_group(fd, path)
        with os.fdopen(fd, "wb") as fh:
            _write_all(fh, data, path)
    except BaseException as exc:
        _discard(tmp, path, exc)
    return Path(tmp)


def _discard(tmp: str | Path | None, path: Path, exc: BaseException) -> None:
    """After a failed write of ``path``: remove its temporary file ``tmp`` and raise `DiskFullError` (the disk is
    full), an `OSError` naming ``path`` (`target_error`; never the hidden temporary name) or ``exc`` again."""
    if tmp is not None:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    if is_disk_full(exc):
        raise DiskFullError(path) from exc
    if isinstance(exc, OSError):
        raise target_error(exc, path) from exc
    raise exc


def target_error(exc: OSError, path: str | Path) -> OSError:
    """``exc`` (raised while writing ``path``, possibly naming its temporary file) as an `OSError` of the same
    kind and errno whose message names ``path`` and says what to do: ``could not write PATH: REASON; ...``."""
    if isinstance(exc, DiskFullError):
        return exc
    reason = exc.strerror or str(exc)
    text = (f"could not write {path}: {reason}; check that its folder exists and is writable, or choose another "
            "folder (no partial file was left)")
    cls = type(exc) if type(exc).__module__ == "builtins" else OSError
    try:
        err = cls(text)
    except Exception:  # noqa: BLE001 - an exception class with another signature
        err = OSError(text)
    err.errno = exc.errno   # (setting strerror or filename would make str() "[Errno N] reason: filename")
    return err


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


@contextmanager
def replacing(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary file ``.<stem>.*<suffix>`` beside ``path`` for a writer that needs a file name (a video
    encoder): created empty with the mode and group ``path`` has (or those of a plain new file, not 0o600),
    moved over ``path`` when the block ends without an error, removed when it raises.

    Raises `DiskFullError` when the disk is full and an `OSError` naming ``path`` (`target_error`) for other
    write failures (the block's own OSErrors included); ``path`` is then left as it was.
    """
    path = Path(path)
    mode = _mode_for(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
    except OSError as exc:
        _discard(None, path, exc)
    try:
        os.fchmod(fd, mode)
        _keep_group(fd, path)
    finally:
        os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        _discard(tmp, path, exc)


class OutputPathError(ValueError):
    """An output path that must not or cannot be written (`check_output`): the input itself, another output
    of the same run, a folder, a missing or unwritable folder. The message names the path and what to do."""


def _same(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` are the same file or folder: `os.path.samefile` when both exist (hard links,
    symbolic links, other spellings), else the resolved paths."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def check_output(target: str | Path, *, inputs: Iterable[str | Path] = (),
                 others: Mapping[str, str | Path | None] | None = None, option: str = "the output",
                 example: str = "out") -> Path:
    """Check, before a long computation, that ``target`` can be written and overwrites nothing it must not.

    Parameters
    ----------
    target : the file about to be written.
    inputs : files and folders the run reads (a video, a frame folder, its frame files): the target must be
        none of them, nor lie inside an input folder.
    others : the run's other outputs, ``{option name: path or None}`` (e.g. ``{"--eaf": "c.eaf"}``): the target
        must differ from each.
    option : how the message names the target (``"--out"``, ``"the export"``).
    example : a file name the message suggests when ``target`` is a folder (``"clip_magnified.mp4"``).

    Returns ``Path(target)``. Raises `OutputPathError` (a ``ValueError``) naming ``target`` and what to do when
    it is an input, another output, an existing folder, its folder is missing or not a folder, the folder cannot
    be written (read-only, no permission: a probe file is created there and removed), or the file itself is
    write-protected.
    """
    path = Path(target)
    label = f"{option} {path}"
    if path.is_dir():
        raise OutputPathError(f"{label} is a folder; give a file name, e.g. {path / example}")
    for given in inputs:
        src = Path(given)
        if _same(path, src):
            what = "frame folder" if src.is_dir() else "file"
            raise OutputPathError(f"{label} is the input {what} {src}; choose another name (it would be "
                                  "overwritten)")
        if src.is_dir() and _same(path.parent, src):
            raise OutputPathError(f"{label} is inside the input frame folder {src}; choose another folder")
    for name, other in (others or {}).items():
        if other is not None and _same(path, Path(other)):
            raise OutputPathError(f"{label} is also given as {name}; choose another name for one of them")
    folder = path.parent
    if not folder.exists():
        raise OutputPathError(f"{label}: the folder {folder} does not exist; create it first (mkdir -p {folder}) "
                              "or choose another folder")
    if not folder.is_dir():
        raise OutputPathError(f"{label}: {folder} is not a folder; choose another folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".cmnet-write-check.", dir=folder)
    except OSError as exc:
        raise OutputPathError(f"{label}: cannot write into the folder {folder} ({exc.strerror or exc}); "
                              "choose a folder you can write to") from exc
    os.close(fd)
    os.unlink(probe)
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputPathError(f"{label} is write-protected; choose another name (or make it writable first)")
    return path


__all__ = ["DiskFullError", "OutputPathError", "check_output", "file_mode", "free_mb", "is_disk_full",
           "replacing", "target_error", "write_bytes_atomically", "write_temp_file", "write_text_atomically"]
