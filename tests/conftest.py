"""Shared test set-up: Qt offscreen before any Qt import, real data paths, CPU-friendly torch."""
import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _find_shared() -> Path:
    """The shared data folder: $CMNET_SHARED, else ../shared beside the checkout, else /work/shared."""
    candidates = [os.environ.get("CMNET_SHARED"), REPO.parent / "shared", Path("/work/shared")]
    for c in candidates:
        if c and (Path(c) / "data" / "face_videos").is_dir():
            return Path(c)
    return REPO.parent / "shared"


SHARED = _find_shared()
FACE_VIDEOS = SHARED / "data" / "face_videos"
ANNOTATIONS = SHARED / "data" / "annotations"


@pytest.fixture(scope="session")
def face_videos() -> Path:
    """Folder of the real face videos (../shared/data/face_videos)."""
    if not FACE_VIDEOS.is_dir():
        pytest.fail(f"{FACE_VIDEOS} is missing: the tests need the shared data folder beside the checkout")
    return FACE_VIDEOS


@pytest.fixture(scope="session")
def annotation_sheets() -> Path:
    """Folder of the real annotation sheets (../shared/data/annotations)."""
    if not ANNOTATIONS.is_dir():
        pytest.fail(f"{ANNOTATIONS} is missing: the tests need the shared data folder beside the checkout")
    return ANNOTATIONS


@pytest.fixture(autouse=True, scope="session")
def _torch_cpu_settings():
    import torch

    torch.set_flush_denormal(True)  # avoids a 5x LSTM slowdown from denormals on CPU (ENVIRONMENT.md)
    yield


@pytest.fixture
def gui_thread_gc(qapp):
    """Garbage collection in the GUI thread only while a Qt test runs (as the app does:
    `app.workers.collect_garbage_in_gui_thread`), then a full collection here and automatic collection back on
    for the Qt-free tests. GUI test folders make it autouse in their own conftest."""
    import gc

    from app.workers import collect_garbage_in_gui_thread

    collector = collect_garbage_in_gui_thread(0.2)
    yield
    collector.timer.stop()
    gc.collect()
    gc.enable()


@pytest.fixture(scope="session")
def qsettings_sandbox(qapp, qapp_args, tmp_path_factory):
    """QSettings go to a temporary INI file under a test organisation, never the user's settings
    (DeepLabCut's habit). GUI test folders make it autouse in their own conftest."""
    from PySide6.QtCore import QSettings

    qapp.setOrganizationName("CMNet Studio Tests")
    qapp.setApplicationName(qapp_args[0])
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                      str(tmp_path_factory.mktemp("qsettings")))
    old = os.environ.get("CMNET_STUDIO_CONFIG_DIR")
    os.environ["CMNET_STUDIO_CONFIG_DIR"] = str(tmp_path_factory.mktemp("settings"))  # app.settings.qsettings()
    yield
    if old is None:
        os.environ.pop("CMNET_STUDIO_CONFIG_DIR", None)
    else:
        os.environ["CMNET_STUDIO_CONFIG_DIR"] = old
