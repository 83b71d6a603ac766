"""GUI test set-up (DeepLabCut / napari habits): a test organisation for QSettings, message boxes
recorded instead of shown, and a check that fails any test leaving a QThread or pool worker running."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


class ArraySource:
    """An in-test `FrameSource`: frames from a (L, H, W, 3) uint8 array, numbered from ``first``."""

    def __init__(self, frames: np.ndarray, first: int = 0, fps: float = 30.0, path: str = "array://test"):
        self.frames = frames
        self.path = Path(path)
        self.frame_numbers = list(range(first, first + len(frames)))
        self.fps = fps
        self.size = (frames.shape[2], frames.shape[1])

    def read(self, number: int) -> np.ndarray:
        if number not in self.frame_numbers:
            raise KeyError(number)
        return self.frames[number - self.frame_numbers[0]]

    def close(self) -> None:
        pass


def ramp_frames(n: int = 30, h: int = 48, w: int = 64) -> np.ndarray:
    """Frames whose mean brightness encodes the frame index (frame i has value 4·i + 10)."""
    return np.stack([np.full((h, w, 3), 4 * i + 10, np.uint8) for i in range(n)])


@pytest.fixture
def array_clip():
    """Factory: ``array_clip(n=30, first=0, fps=30.0, source_cls=ArraySource, **clip_fields)`` -> `Clip`
    whose frame ``first + i`` has brightness 4·i + 10."""
    from cmnet_core.data.clip import Clip

    def make(n=30, first=0, fps=30.0, source_cls=None, path="array://test", **fields):
        return Clip((source_cls or ArraySource)(ramp_frames(n), first=first, fps=fps, path=path), **fields)

    make.ArraySource = ArraySource
    return make


@pytest.fixture(scope="session")
def qapp_args():
    return ["cmnet-studio-tests"]


@pytest.fixture(autouse=True, scope="session")
def _test_settings(qsettings_sandbox):
    """Every test here runs with sandboxed QSettings (tests/conftest.py)."""
    yield


@pytest.fixture(autouse=True)
def _gc_in_gui_thread(gui_thread_gc):
    """Every test here collects garbage in the GUI thread only (tests/conftest.py)."""
    yield


@pytest.fixture
def no_leaked_threads(qapp, monkeypatch):
    """Fail the test when a QThread it started, or a global-pool worker, is still running at its end (napari)."""
    from PySide6.QtCore import QThread, QThreadPool

    started: list = []
    original = QThread.start

    def start(self, *args, **kwargs):
        started.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", start)
    yield started
    running = [t for t in started if t.isRunning()]
    # a pool worker that emitted its last signal is returning from run(): allow it one second
    QThreadPool.globalInstance().waitForDone(1000)
    active = QThreadPool.globalInstance().activeThreadCount()
    if running or active:
        for t in running:
            t.wait(5000)
        QThreadPool.globalInstance().waitForDone(30_000)
        pytest.fail(f"test left {len(running)} QThread(s) and {active} pool worker(s) running")


@pytest.fixture
def messages(monkeypatch):
    """Record message boxes instead of showing them; questions answer from ``messages.answers``."""
    from app import dialogs

    class Recorder(list):
        answers: dict = {"yes_no": True, "save_discard_cancel": "discard"}

    rec = Recorder()
    monkeypatch.setattr(dialogs, "error", lambda parent, title, text: rec.append(("error", title, text)))
    monkeypatch.setattr(dialogs, "info", lambda parent, title, text: rec.append(("info", title, text)))
    monkeypatch.setattr(dialogs, "ask_yes_no",
                        lambda parent, title, text, default=False: rec.append(("ask", title, text))
                        or rec.answers["yes_no"])
    monkeypatch.setattr(dialogs, "ask_save_discard_cancel",
                        lambda parent, title, text: rec.append(("ask", title, text))
                        or rec.answers["save_discard_cancel"])
    return rec


@pytest.fixture
def make_window(qtbot, no_leaked_threads, messages, tmp_path):
    """Factory of main windows (data dir under tmp); all are shut down before the thread check runs."""
    from app.main_window import MainWindow

    windows = []

    def make(**kwargs):
        kwargs.setdefault("data_dir", tmp_path / "appdata")
        w = MainWindow(**kwargs)
        qtbot.addWidget(w)
        windows.append(w)
        return w

    yield make
    for w in windows:
        if w.state.store is not None:
            w.state.store.dirty = False
        w.shutdown()


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory):
    """An untrained CMNet at 32 px for the synthetic labels, saved as a real checkpoint (no training)."""
    import torch

    from cmnet_core.data.synthetic import SYNTHETIC_LABELS
    from cmnet_core.model import CMNet, CMNetConfig
    from cmnet_core.preprocess.types import PreprocessSettings
    from cmnet_core.train.checkpoint import save_checkpoint

    torch.manual_seed(0)
    cfg = CMNetConfig.preset("fast", image_size=32, backbone="small", small_widths=(8, 8, 16, 16))
    model = CMNet(cfg, len(SYNTHETIC_LABELS))
    meta = {"labels": list(SYNTHETIC_LABELS), "image_size": 32, "num_frames": cfg.num_frames,
            "preprocess": PreprocessSettings(image_size=32, landmarks="hint").to_dict(),
            "model_config": cfg.to_dict(), "database": "synthetic", "protocol": "synthetic-4",
            "metrics": {"uf1": 0.5, "uar": 0.5}}
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny.pt", model.state_dict(), meta)
