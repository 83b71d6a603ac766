"""What the app keeps between sessions: its data folder, and in its settings file the recent files and the
per-folder memories of `app.workspace.memory` (a bare frame folder's frame rate, a database root's annotation
sheet) stored as JSON.

The settings file is ``settings.ini`` in the platform's settings folder and the data folder the platform's data
folder (`cmnet_core.paths`: platformdirs; ``CMNET_STUDIO_CONFIG_DIR`` / ``CMNET_STUDIO_DATA_DIR`` move them).
`migrate_legacy_settings` carries over what earlier versions kept in Qt's native settings."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QSettings

from cmnet_core import paths

from .workspace import memory

MAX_RECENT = 10
#: The main window's preferred size (pixels), used when it fits the screen; the settings keys of its geometry.
PREFERRED_WINDOW = (1500, 920)
GEOMETRY_KEY, WINDOW_STATE_KEY = "window/geometry", "window/state"


def default_window_size(available_width: int, available_height: int,
                        preferred: tuple[int, int] = PREFERRED_WINDOW) -> tuple[int, int]:
    """The first window's size in pixels: `PREFERRED_WINDOW`, shrunk to 96 % of the screen's available width and
    94 % of its height (a 1366×768 laptop: 1311×721), so the frame, the panels and the title bar are on screen."""
    return (min(preferred[0], int(available_width * 0.96)), min(preferred[1], int(available_height * 0.94)))
FPS_KEY = "folder_fps"
SHEETS_KEY = "database_sheets"


#: The settings file's name in `cmnet_core.paths.config_dir`.
SETTINGS_FILE = "settings.ini"
#: Organisation and application under which versions before platformdirs kept Qt's native settings.
LEGACY_NAMES = (paths.APP_AUTHOR, paths.APP_NAME)


def settings_path() -> Path:
    """``<settings folder>/settings.ini`` (`cmnet_core.paths.config_dir`)."""
    return paths.config_dir() / SETTINGS_FILE


def qsettings() -> QSettings:
    """The app's settings (INI file `settings_path`); every setting goes through this."""
    return QSettings(str(settings_path()), QSettings.Format.IniFormat)


def migrate_legacy_settings() -> int:
    """Copy the settings earlier versions kept in Qt's native store (organisation ``CMNet``, application ``CMNet
    Studio``: ``~/.config/CMNet/CMNet Studio.conf`` on Linux) into `settings_path`, once: only while that file
    does not exist, and not when ``CMNET_STUDIO_CONFIG_DIR`` chooses another settings folder (a fresh or test
    folder stays fresh). Returns the number of keys copied (0 when there was nothing to do)."""
    import os

    if settings_path().exists() or os.environ.get(paths.CONFIG_ENV):
        return 0
    old = QSettings(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, *LEGACY_NAMES)
    keys = old.allKeys()
    if not keys:
        return 0
    new = qsettings()
    for key in keys:
        new.setValue(key, old.value(key))
    new.sync()
    return len(keys)


def settings_dict(key: str) -> dict:
    """A dict kept as JSON under ``key`` in QSettings (``{}`` when absent or damaged)."""
    try:
        value = json.loads(qsettings().value(key, "{}") or "{}")
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def store_dict(key: str, value: dict) -> None:
    """Keep ``value`` as JSON under ``key`` in QSettings."""
    qsettings().setValue(key, json.dumps(value))


class AppSettings:
    """The app's memory across sessions (`qsettings`); ``data_dir`` (None = `cmnet_core.paths.data_dir`) keeps
    annotations of read-only sources, the demo's files and training runs."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self._data_dir = data_dir

    def data_dir(self) -> Path:
        """Where annotations of read-only sources and the demo's files are kept."""
        if self._data_dir is None:
            self._data_dir = paths.data_dir()
        return self._data_dir

    def window_geometry(self) -> tuple[bytes | None, bytes | None]:
        """The main window's saved geometry and dock/toolbar state (`QMainWindow.saveGeometry` / ``saveState``),
        None each when never saved."""
        s = qsettings()
        return s.value(GEOMETRY_KEY), s.value(WINDOW_STATE_KEY)

    def save_window_geometry(self, geometry: bytes, state: bytes) -> None:
        """Keep the main window's geometry and dock state for the next start."""
        s = qsettings()
        s.setValue(GEOMETRY_KEY, geometry)
        s.setValue(WINDOW_STATE_KEY, state)

    def recent_files(self) -> list[str]:
        """Paths opened lately, newest first."""
        value = qsettings().value("recent", []) or []
        return [value] if isinstance(value, str) else list(value)   # QSettings gives a 1-entry list as a str

    def add_recent(self, path: str) -> None:
        """Put ``path`` first in the recent files (at most `MAX_RECENT`), as an absolute path (a path typed on the
        command line, ``clip.mp4`` or ``.``, would otherwise reopen relative to another folder)."""
        path = str(Path(path).expanduser().absolute()) if path else path
        recent = [p for p in self.recent_files() if p != path]
        qsettings().setValue("recent", [path] + recent[: MAX_RECENT - 1])

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
