"""What the app remembers per folder, as plain functions over a dict {resolved path: value}: the frame rate the
user set for a bare frame folder, and the annotation sheet chosen for a database root. The Qt layer loads and
stores the dicts (QSettings, as JSON); these functions never touch settings, so a worker thread may call a
`sheet_lookup` snapshot."""
from __future__ import annotations

from pathlib import Path
from typing import Callable


def _key(path: str | Path) -> str:
    return str(Path(path).resolve())


def remembered_fps(memory: dict, folder: str | Path) -> float | None:
    """The frame rate (frames/s) remembered for frame folder ``folder``, or None (none, or not a positive
    number)."""
    value = memory.get(_key(folder))
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def remember_fps(memory: dict, folder: str | Path, fps: float) -> dict:
    """``memory`` with ``fps`` (frames/s) remembered for ``folder`` (changed in place and returned)."""
    memory[_key(folder)] = float(fps)
    return memory


def sheet_lookup(memory: dict) -> Callable[[Path], str | None]:
    """A function ``root -> sheet path or None`` over a copy of ``memory`` (a sheet whose file is gone is
    None)."""
    snapshot = dict(memory)

    def lookup(root: Path) -> str | None:
        value = snapshot.get(_key(root))
        return value if isinstance(value, str) and Path(value).is_file() else None

    return lookup


def remember_sheet(memory: dict, root: str | Path, sheet: str | Path | None) -> dict:
    """``memory`` with ``sheet`` remembered for database root ``root`` (None forgets it; changed in place and
    returned)."""
    if sheet is None:
        memory.pop(_key(root), None)
    else:
        memory[_key(root)] = _key(sheet)
    return memory
