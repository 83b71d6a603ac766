"""Cache, data and settings folders through platformdirs, movable by environment variables; nothing earlier
versions kept is left behind."""
import sys

import platformdirs
import pytest

from cmnet_core import paths


def test_platform_folders_and_overrides(monkeypatch, tmp_path):
    for var in (paths.CACHE_ENV, paths.DATA_ENV, paths.CONFIG_ENV):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xc"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xd"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xg"))
    if sys.platform == "linux":
        assert paths.cache_dir() == tmp_path / "xc" / "cmnet"          # as before: ~/.cache/cmnet
        assert paths.data_dir() == tmp_path / "xd" / "CMNet Studio"
        assert paths.config_dir() == tmp_path / "xg" / "CMNet Studio"
    assert paths.cache_dir() == type(paths.cache_dir())(platformdirs.user_cache_dir("cmnet", appauthor=False))
    monkeypatch.setenv(paths.CACHE_ENV, str(tmp_path / "c"))
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "d"))
    monkeypatch.setenv(paths.CONFIG_ENV, str(tmp_path / "g"))
    assert (paths.cache_dir(), paths.data_dir(), paths.config_dir()) == (tmp_path / "c", tmp_path / "d", tmp_path / "g")
    from cmnet_core.preprocess.cache import default_cache_dir

    assert default_cache_dir() == tmp_path / "c" / "preprocess"


@pytest.mark.skipif(sys.platform != "linux", reason="the legacy folder is Qt's Linux/macOS AppDataLocation")
def test_data_of_earlier_versions_stays_found(monkeypatch, tmp_path):
    monkeypatch.delenv(paths.DATA_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert paths.data_dir() == tmp_path / "CMNet Studio"
    old = tmp_path / "CMNet" / "CMNet Studio"
    (old / "annotations").mkdir(parents=True)
    assert paths.legacy_data_dir() == old and paths.data_dir() == old


def test_settings_of_earlier_versions_are_carried_over_once(qapp, monkeypatch, tmp_path):
    from PySide6.QtCore import QSettings

    from app import settings

    monkeypatch.setenv(paths.CONFIG_ENV, str(tmp_path / "chosen"))
    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path / "native"))
    monkeypatch.setattr(settings, "LEGACY_NAMES", ("CMNet Studio Tests", "legacy"))
    old = QSettings(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, "CMNet Studio Tests", "legacy")
    old.setValue("recent", ["/data/a.mp4", "/data/b.mp4"])
    old.setValue("database_sheets", '{"/db": "/db/sheet.xlsx"}')
    old.sync()
    assert settings.migrate_legacy_settings() == 0      # a settings folder chosen by the variable stays fresh
    monkeypatch.delenv(paths.CONFIG_ENV)
    monkeypatch.setattr(paths, "config_dir", lambda: tmp_path / "new")   # the platform's folder, first start
    assert settings.migrate_legacy_settings() == 2
    assert settings.settings_path() == tmp_path / "new" / "settings.ini" and settings.settings_path().is_file()
    assert settings.AppSettings().recent_files() == ["/data/a.mp4", "/data/b.mp4"]
    assert settings.settings_dict("database_sheets") == {"/db": "/db/sheet.xlsx"}
    settings.AppSettings().add_recent("/data/c.mp4")
    assert settings.migrate_legacy_settings() == 0            # once: the new file is never overwritten
    assert settings.AppSettings().recent_files()[0] == "/data/c.mp4"
