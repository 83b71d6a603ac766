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


def _whole_frame_clip(label: str = "surprise", at: tuple[int, int] = (170, 60), canvas: tuple[int, int] = (240, 320),
                      face: bool = True):
    """A webcam-like whole-frame clip: the synthetic face of ``make_synthetic_clip(5, label)`` (128 px, apex
    displacement 12 px at 224 px) pasted at ``at`` (x, y) pixels into a ``canvas`` (H, W) whose textured background
    drifts 1.5 px right per frame with fresh noise (sigma 6) every frame; no ``landmarks_hint``. ``face=False``
    leaves the face out. Returns ``(clip (frames 1..40), true face box (x, y, w, h), true landmarks (5, 2) of
    frame 1 in canvas pixels)``."""
    import cv2
    import numpy as np

    from cmnet_core.data.clip import Clip
    from cmnet_core.data.synthetic import Distractors, make_synthetic_clip

    crop = make_synthetic_clip(5, label, image_size=128, n_frames=40, amplitude_px=12.0, distractors=Distractors.none())
    rng = np.random.default_rng(1)
    h, w = canvas
    texture = cv2.GaussianBlur(rng.uniform(0, 255, (h, w + 80, 3)).astype(np.float32), (0, 0), 3)
    texture = cv2.normalize(texture, None, 40, 220, cv2.NORM_MINMAX)
    frames = []
    for i, n in enumerate(crop.frame_numbers):
        m = np.float32([[1, 0, -40 + 1.5 * i], [0, 1, 0]])
        bg = cv2.warpAffine(texture, m, (w, h), borderMode=cv2.BORDER_REFLECT)
        img = np.clip(bg + rng.normal(0, 6, bg.shape), 0, 255).astype(np.uint8)
        if face:
            img[at[1]:at[1] + 128, at[0]:at[0] + 128] = crop.frame(n)
        frames.append(img)

    class _Source:   # an in-memory `FrameSource` numbered like the synthetic clip (1..40)
        path = Path("array://whole_frame")
        frame_numbers = list(crop.frame_numbers)
        fps, size = crop.fps, (w, h)

        def read(self, number):
            return frames[number - 1]

        def close(self):
            pass

    clip = Clip(_Source(), name="whole_frame", annotation=crop.annotation)
    return clip, (at[0], at[1], 128, 128), crop.landmarks_hint.astype(float) + at


@pytest.fixture(scope="session")
def whole_frame_clip():
    """`_whole_frame_clip` (a factory: ``whole_frame_clip(label=..., at=..., face=...)``)."""
    return _whole_frame_clip


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
