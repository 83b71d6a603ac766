"""Where CMNet Studio keeps its files on each platform: cache, data and settings folders (through platformdirs).

=========  ====================================  ===============================  ================================
folder     Linux (XDG)                           macOS                            Windows
=========  ====================================  ===============================  ================================
cache      ``~/.cache/cmnet``                    ``~/Library/Caches/cmnet``       ``%LOCALAPPDATA%\\cmnet\\Cache``
data       ``~/.local/share/CMNet Studio``       ``~/Library/Application          ``%LOCALAPPDATA%\\CMNet\\CMNet
                                                 Support/CMNet Studio``           Studio``
settings   ``~/.config/CMNet Studio``            ``~/Library/Application          ``%LOCALAPPDATA%\\CMNet\\CMNet
                                                 Support/CMNet Studio``           Studio``
=========  ====================================  ===============================  ================================

The cache holds what can be rebuilt (preprocessed clips); data holds what the user made that has no other home
(annotations of read-only sources such as a database on a shared drive, the demo's annotations); settings holds
the app's memory (recent files, the sheet chosen per database, the frame rate per folder). Each can be moved
with an environment variable (`CACHE_ENV`, `DATA_ENV`, `CONFIG_ENV`); the XDG variables (``XDG_CACHE_HOME``…)
apply on Linux as usual. Versions before platformdirs kept data in Qt's ``~/.local/share/CMNet/CMNet Studio``
(Linux) / ``~/Library/Application Support/CMNet/CMNet Studio`` (macOS): when that folder exists it stays the
data folder, so annotations kept there are found (`legacy_data_dir`). Qt-free and torch-free.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

#: The app's name and author as platformdirs (and Qt) use them.
APP_NAME, APP_AUTHOR = "CMNet Studio", "CMNet"
#: The cache's folder name (shared with the ``cmnet`` command line).
CACHE_NAME = "cmnet"
#: Environment variables that move each folder.
CACHE_ENV, DATA_ENV, CONFIG_ENV = "CMNET_CACHE_DIR", "CMNET_STUDIO_DATA_DIR", "CMNET_STUDIO_CONFIG_DIR"


def cache_dir() -> Path:
    """``$CMNET_CACHE_DIR``, else the platform's user cache folder for ``cmnet`` (table above)."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path(platformdirs.user_cache_dir(CACHE_NAME, appauthor=False))


def legacy_data_dir() -> Path | None:
    """The data folder of versions before platformdirs (Qt's AppDataLocation ``<data>/CMNet/CMNet Studio`` on
    Linux and macOS), when it exists; else None."""
    if sys.platform.startswith("win"):
        return None  # Qt's and platformdirs' folders are the same there
    base = Path(platformdirs.user_data_dir())
    old = base / APP_AUTHOR / APP_NAME
    return old if old.is_dir() else None


def data_dir() -> Path:
    """``$CMNET_STUDIO_DATA_DIR``, else the folder earlier versions used (`legacy_data_dir`) when it exists, else
    the platform's user data folder for CMNet Studio (table above)."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env)
    return legacy_data_dir() or Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR))


def config_dir() -> Path:
    """``$CMNET_STUDIO_CONFIG_DIR``, else the platform's user settings folder for CMNet Studio (table above)."""
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR))


__all__ = ["APP_AUTHOR", "APP_NAME", "CACHE_ENV", "CONFIG_ENV", "DATA_ENV", "cache_dir", "config_dir", "data_dir",
           "legacy_data_dir"]
