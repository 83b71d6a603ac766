"""The runs table offers Resume for a cancelled run and for a killed one (no live process), relaunching the same
command in the same folder; never for a run whose process still lives (it would train twice), and its tooltip says
why (issue 14)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys

import pytest

from cmnet_core.train.runs import RunFolder
from app.training.resume import launch_alive, read_launch, resume_offer
from app.training.runs_table import RunsTable
from cmnet_core.train.run_index import read_run
from cmnet_core.train.runs import write_json



class FakeWindow:
    """The main-window surface the training manager uses (a data folder and a status bar)."""

    def __init__(self, data_dir):
        from PySide6.QtWidgets import QMainWindow

        self.qt = QMainWindow()
        self._data_dir = data_dir

    def data_dir(self):
        return self._data_dir

    def statusBar(self):
        return self.qt.statusBar()

CONFIG = {"kind": "final", "database": {"name": "syn", "protocol": "synthetic-4"}, "train_config": {"epochs": 5},
          "created": "2026-12-04T10:00:00"}


def _run(root, name, status=None, pid=None, host=None, last_pt=False):
    """A run folder: config.json, a log.jsonl ending with run_end ``status`` (none: killed), a launch.json."""
    run = root / name
    write_json(run / "config.json", CONFIG)
    events = [{"event": "run_start", "time": 1.0}] + ([{"event": "run_end", "status": status}] if status else [])
    (run / "log.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    if last_pt:
        (run / "checkpoints").mkdir()
        (run / "checkpoints" / "last.pt").write_bytes(b"PK\x03\x04")
    if pid is not None:
        write_json(RunFolder(run).launch, {"command": [sys.executable, "-m", "cmnet_core.cli", "train", "/db", "--run-dir",
                                                   str(run)], "pid": pid, "host": host or socket.gethostname(),
                                       "started": "2026-12-04T10:00:00+00:00"})
    return run


@pytest.fixture
def processes():
    """Processes this test starts (killed and reaped at the end)."""
    started = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
        p.wait(10)


def _sleeper(processes, *args):
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", *args])
    processes.append(p)
    return p


def _gone_pid(processes, tmp_path):
    """The pid of a process that has ended (and was reaped)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait(30)
    processes.append(p)
    return p.pid


def test_resume_is_offered_for_cancelled_and_killed_runs_only(qtbot, tmp_path, processes):
    gone = _gone_pid(processes, tmp_path)
    finished = _run(tmp_path, "20261204-a-finished", "finished", pid=gone)
    cancelled = _run(tmp_path, "20261204-b-cancelled", "cancelled", pid=gone, last_pt=True)
    killed = _run(tmp_path, "20261204-c-killed", None, pid=gone, last_pt=True)
    alive = _run(tmp_path, "20261204-d-alive", None)
    sleeper = _sleeper(processes, alive.name)  # its command line names the run folder, as the CLI's does
    _run(tmp_path, "20261204-d-alive", None, pid=sleeper.pid)
    reused = _run(tmp_path, "20261204-e-reused", None, pid=os.getpid(), last_pt=True)  # pid now another program's
    terminal = _run(tmp_path, "20261204-f-terminal", "cancelled")
    remote = _run(tmp_path, "20261204-g-remote", None, pid=gone, host="node42.cluster")

    table = RunsTable(tmp_path)
    qtbot.addWidget(table)

    def offer(run):
        table.select(run)
        return table.resume_button.isEnabled(), table.resume_button.toolTip()

    ok, tip = offer(finished)
    assert not ok and tip == "This run finished: there is nothing to resume."
    ok, tip = offer(cancelled)
    assert ok and tip.startswith("This run was cancelled. Resume runs its command again in the same folder: it "
                                 "continues from its last checkpoint (checkpoints/last.pt).")
    assert f"--run-dir {cancelled}" in tip
    ok, tip = offer(killed)
    assert ok and tip.startswith(f"This run stopped without finishing (its process, pid {gone}, is gone: killed or "
                                 "crashed).")
    assert table.cell(killed, "status") == "incomplete"
    ok, tip = offer(alive)
    assert not ok and tip.startswith(f"This run's process (pid {sleeper.pid}, started 2026-12-04 10:00) is still "
                                     "running: resuming it now would train the same model twice in one folder.")
    assert table.cell(alive, "status") == "running"  # a run left going (e.g. the app closed) shows as running
    ok, _tip = offer(reused)
    assert ok and table.cell(reused, "status") == "incomplete"  # a live pid that is not this run's process
    ok, tip = offer(terminal)
    assert not ok and "not started from the app (no launch.json)" in tip and f"--run-dir {terminal}" in tip
    ok, tip = offer(remote)
    assert not ok and tip.startswith("This run was started on node42.cluster")
    table.active.add(cancelled)  # followed by a monitor of this session
    ok, tip = offer(cancelled)
    assert not ok and "still running in this session" in tip
    table.active.clear()

    # the button asks to resume the selected run; a disabled one asks nothing
    table.select(killed)
    with qtbot.waitSignal(table.resumeRequested, timeout=1000) as blocker:
        table.resume_button.click()
    assert blocker.args == [str(killed)]
    table.select(alive)
    with qtbot.assertNotEmitted(table.resumeRequested):
        table.resume_selected()

    sleeper.kill()
    sleeper.wait(10)
    assert not launch_alive(read_launch(alive), alive)
    assert resume_offer(read_run(alive)).allowed  # once its process is gone, it may be resumed


def test_a_killed_run_resumes_from_the_table_with_the_same_command(qtbot, tmp_path, synth_root, run_env,
                                                                     no_leftovers, monkeypatch):
    from app.training.manager import TrainingManager
    from app.training.request import TrainingRequest

    monkeypatch.setenv("CMNET_CACHE_DIR", run_env["CMNET_CACHE_DIR"])  # also for the run the Resume button starts
    from app.workspace.document import Document

    win = FakeWindow(tmp_path / "data")
    manager = TrainingManager(win.qt, Document(), win.data_dir, lambda path: None,
                              lambda text, ms: win.statusBar().showMessage(text, ms))
    try:
        request = TrainingRequest(db=str(synth_root), mode="fold", fold="s01", image_size=32, frames=4,
                                  batch_size=8, epochs=500, device="cpu")  # as the dialog builds it
        mon = manager.launch(request, tmp_path / "runs", env=run_env, cancel_grace=5.0)
        run = mon.run_dir()
        launch = read_launch(run)
        assert launch["command"] == mon.process.command and launch["pid"] == mon.process.pid
        table = manager.window().runs
        table.refresh()
        table.select(run)
        assert not table.resume_button.isEnabled()
        assert "still running in this session" in table.resume_button.toolTip()

        last = run / "folds" / "s01" / "checkpoints" / "last.pt"
        qtbot.waitUntil(lambda: last.is_file() or not mon.timer.isActive(), timeout=90_000)  # an epoch was saved
        assert last.is_file(), mon.log.toPlainText()
        os.kill(mon.process.pid, signal.SIGKILL)  # kill -9: no run_end, no cancel
        with qtbot.waitSignal(mon.finished, timeout=10_000) as blocker:
            pass
        assert blocker.args == ["failed"]
        table.select(run)
        assert table.cell(run, "status") == "incomplete" and table.resume_button.isEnabled()
        assert "is gone: killed or crashed" in table.resume_button.toolTip()

        with qtbot.waitSignal(table.resumeRequested, timeout=1000):
            table.resume_button.click()  # wired to TrainingManager.resume
        mon2 = manager.monitors[-1]
        assert mon2 is not mon and mon2.process.command == mon.process.command  # the same command, same --run-dir
        assert read_launch(run)["pid"] == mon2.process.pid and mon2.is_running()
        qtbot.waitUntil(lambda: mon2.progress.resumed is not None or not mon2.timer.isActive(), timeout=90_000)
        assert mon2.progress.resumed is not None, mon2.log.toPlainText()
        assert mon2.progress.resumed["fold"] == "s01" and mon2.progress.resumed["epoch"] >= 2
        assert f"resuming {run.name} fold s01 from epoch " in mon2.log.toPlainText()
        assert manager.resume(run, env=run_env) is None  # never twice at once
        assert "still running in this session" in win.statusBar().currentMessage()
        mon2.cancel()
        qtbot.waitUntil(lambda: not mon2.timer.isActive(), timeout=30_000)
        assert mon2.status == "cancelled"
        table.select(run)
        assert table.cell(run, "status") == "cancelled" and table.resume_button.isEnabled()
        assert table.resume_button.toolTip().startswith("This run was cancelled.")
    finally:
        manager.shutdown()
        win.qt.close()
