"""Fixtures for the training GUI tests: a tiny synthetic database on disk, a settings sandbox, and checks that
no QThread, pool worker or training subprocess outlives a test."""
from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory):
    """A synthetic database: 2 subjects × 4 classes × 1 clip, 32 px (write_synthetic_database)."""
    from cmnet_core.data.synthetic_writer import write_synthetic_database

    root = tmp_path_factory.mktemp("synth") / "db"
    write_synthetic_database(root, n_subjects=2, clips_per_class=1, image_size=32, seed=3)
    return root


@pytest.fixture(scope="session")
def qapp_args():
    return ["cmnet-studio-training-tests"]


@pytest.fixture(autouse=True, scope="session")
def _test_settings(qsettings_sandbox):
    """Every test here runs with sandboxed QSettings (tests/conftest.py)."""
    yield


@pytest.fixture(autouse=True)
def _gc_in_gui_thread(gui_thread_gc):
    """Every test here collects garbage in the GUI thread only (tests/conftest.py)."""
    yield


@pytest.fixture
def run_env(tmp_path):
    """Environment for training subprocesses: the preprocessing cache under tmp."""
    return {"CMNET_CACHE_DIR": str(tmp_path / "cache")}


@pytest.fixture
def no_leftovers(qapp, monkeypatch):
    """Fail a test that leaves a QThread, a pool worker or a training subprocess running (napari habit)."""
    from PySide6.QtCore import QThread, QThreadPool

    from app.training.process import RunProcess

    threads, processes = [], []
    start_thread, start_process = QThread.start, RunProcess.start

    def thread_start(self, *a, **k):
        threads.append(self)
        return start_thread(self, *a, **k)

    def process_start(self):
        processes.append(self)
        return start_process(self)

    monkeypatch.setattr(QThread, "start", thread_start)
    monkeypatch.setattr(RunProcess, "start", process_start)
    yield processes
    QThreadPool.globalInstance().waitForDone(5000)
    alive = [p for p in processes if p.running()]
    for p in alive:
        p.kill()
    running = [t for t in threads if t.isRunning()]
    active = QThreadPool.globalInstance().activeThreadCount()
    if alive or running or active:
        pytest.fail(f"test left {len(alive)} training process(es), {len(running)} QThread(s), {active} pool "
                    "worker(s) running")


class _OpenedDb:  # TrainingDialog.request() needs an opened database; only these attributes are read
    root, name, protocol = "/data/syn", "synthetic", "synthetic-4"


@pytest.fixture
def offline_dialog(qtbot, tmp_path):
    """A `TrainingDialog` on the CPU with a stand-in opened database (no worker, no files): for tests of the
    request and command line it builds."""
    from app.training.dialog import TrainingDialog

    dlg = TrainingDialog(tmp_path / "runs", tmp_path / "data")
    qtbot.addWidget(dlg)
    dlg.device.setCurrentIndex(dlg.device.findData("cpu"))
    dlg.database = _OpenedDb()
    return dlg
