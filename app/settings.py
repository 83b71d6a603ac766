"""What the app keeps between sessions: its data folder, and in QSettings the recent files and the per-folder
memories of `app.workspace.memory` (a bare frame folder's frame rate, a database root's annotation sheet) stored
as JSON."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QSettings, QStandardPaths

from .workspace import memory

MAX_RECENT = 10
FPS_KEY = "folder_fps"
SHEETS_KEY = "database_sheets"


def settings_dict(key: str) -> dict:
    """A dict kept as JSON under ``key`` in QSettings (``{}`` when absent or damaged)."""
    try:
        value = json.loads(QSettings().value(key, "{}") or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def store_dict(key: str, value: dict) -> None:
    """Keep ``value`` as JSON under ``key`` in QSettings."""
    QSettings().setValue(key, json.dumps(value))


class AppSettings:
    """The app's memory across sessions (QSettings of the application's organisation and name); ``data_dir``
    (None = Qt's AppDataLocation) keeps annotations of read-only sources, the demo's files and training runs."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self._data_dir = data_dir

    def data_dir(self) -> Path:
        """Where annotations of read-only sources and the demo's files are kept."""
        if self._data_dir is None:
            loc = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
            self._data_dir = Path(loc or Path.home() / ".cmnet-studio")
        return self._data_dir

    def recent_files(self) -> list[str]:
        """Paths opened lately, newest first."""
        value = QSettings().value("recent", []) or []
        return [value] if isinstance(value, str) else list(value)   # QSettings gives a 1-entry list as a str

    def add_recent(self, path: str) -> None:
        """Put ``path`` first in the recent files (at most `MAX_RECENT`)."""
        recent = [p for p in self.recent_files() if p != path]
        QSettings().setValue("recent", [path] + recent[: MAX_RECENT - 1])

    def remembered_fps(self, folder: Path) -> float | None:
        """The frame rate the user set for frame folder ``folder``, or None."""
        return memory.remembered_fps(settings_dict(FPS_KEY), folder)

    def remember_fps(self, folder: Path, fps: float) -> None:
        """Remember ``fps`` (frames/s) for frame folder ``folder``."""
        store_dict(FPS_KEY, memory.remember_fps(settings_dict(FPS_KEY), folder, fps))

    def sheet_lookup(self) -> Callable[[Path], str | None]:
        """A function ``root -> sheet or None`` over a snapshot of the remembered sheets (plain Python, no
        QSettings: safe to call from a worker thread)."""
        return memory.sheet_lookup(settings_dict(SHEETS_KEY))

    def remembered_sheet(self, root: Path) -> str | None:
        """The annotation sheet chosen for database root ``root``, or None (also when that file is gone)."""
        return self.sheet_lookup()(root)

    def remember_sheet(self, root: Path, sheet: str | Path | None) -> None:
        """Remember ``sheet`` for database root ``root`` (None forgets it)."""
        store_dict(SHEETS_KEY, memory.remember_sheet(settings_dict(SHEETS_KEY), root, sheet))
