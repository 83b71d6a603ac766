"""The training GUI end to end (pytest-qt, offscreen): a tiny synthetic LOSO launched from the dialog shows
progress and lands in the runs table; Cancel stops a run; a killed run is reported and the GUI goes on; a
final model goes to the prediction panel; closing the app with a run active asks; a baseline LOSO (logistic
regression, no epochs) runs from the dialog and shows its model kind in the runs table."""
from __future__ import annotations

import json
import os
import signal
import time

import pytest

from app.training.dialog import TrainingDialog
from app.training.manager import TrainingManager

#: Tiny runs: 32 px faces, N = 4 frames, one optimiser step per epoch (seconds per fold on 2 CPU cores).
TINY = {"image_size": 32, "frames": 4, "batch_size": 8, "epochs": 1}


class FakeWindow:
    """The main-window surface the training manager uses, recording the checkpoints sent to prediction."""

    def __init__(self, data_dir):
        from PySide6.QtWidgets import QMainWindow

        self.qt = QMainWindow()
        self._data_dir = data_dir
        self.loaded = []
        from app.workspace.document import Document

        self.state = Document()

    def data_dir(self):
        return self._data_dir

    def load_checkpoint(self, path):
        self.loaded.append(path)

    def statusBar(self):
        return self.qt.statusBar()

    def manager(self):
        """A `TrainingManager` over this window's parts."""
        return TrainingManager(self.qt, self.state, self.data_dir, self.load_checkpoint,
                               lambda text, ms: self.statusBar().showMessage(text, ms))


def dialog_for(qtbot, tmp_path, synth_root, mode="loso", epochs=1, **extra):
    """A training dialog on the synthetic tree with the tiny settings, checked and accepted."""
    dlg = TrainingDialog(tmp_path / "runs", tmp_path / "data", source=synth_root)
    qtbot.addWidget(dlg)
    qtbot.waitUntil(lambda: dlg.database is not None and dlg.checked_for is not None, timeout=60_000)
    dlg.mode.setCurrentIndex(dlg.mode.findData(mode))
    dlg.device.setCurrentIndex(dlg.device.findData("cpu"))  # first: it decides what preset auto resolves to
    assert dlg.preset.currentData() == "auto" and dlg.resolved_preset() == "cpu"
    assert "auto → <b>cpu</b>" in dlg.preset_note.text()
    dlg.image_size.setValue(TINY["image_size"])
    dlg.frames.setValue(TINY["frames"])
    dlg.batch.setValue(TINY["batch_size"])
    dlg.epochs.setValue(epochs)
    for name, value in extra.items():
        box = getattr(dlg, name)
        box.setCurrentIndex(box.findData(value))
    with qtbot.waitSignal(dlg.accepted, timeout=60_000):
        dlg.start()
    assert not any(p.level == "error" for p in dlg.problems)
    return dlg


@pytest.fixture
def manager(tmp_path, qapp, no_leftovers):
    """A training manager over a stand-in main window; shut down before ``no_leftovers`` checks (it depends on
    it, so its teardown runs first)."""
    win = FakeWindow(tmp_path / "data")
    m = win.manager()
    m.fake = win
    yield m
    m.shutdown()
    win.qt.close()


def test_loso_from_the_dialog_shows_progress_and_lands_in_the_runs_table(qtbot, tmp_path, synth_root, manager,
                                                                          run_env, no_leftovers):
    dlg = dialog_for(qtbot, tmp_path, synth_root)
    req = dlg.request()
    assert (req.mode, req.image_size, req.frames, req.epochs, req.device) == ("loso", 32, 4, 1, "cpu")
    assert req.method == {"lambdas": (0.07, 0.71, 0.22), "epsilon": 0.2, "xi": 0.01, "tau": 0.07,
                          "negative_sampling": "probabilistic", "tendency_loss": "both", "input": "onset_diff"}
    assert req.preset == "auto" and req.resolved_preset() == "cpu" and req.lr == 1e-3  # the cpu preset's
    mon = manager.launch(req, dlg.runs_folder(), env=run_env)
    qtbot.waitUntil(lambda: bool(mon.progress.losses["total"]), timeout=90_000)  # a step event arrived live
    assert mon.status == "running" and mon.is_running()
    qtbot.waitUntil(lambda: not mon.timer.isActive(), timeout=120_000)
    assert mon.status == "finished", mon.log.toPlainText()
    p = mon.progress
    assert p.folds == ["s01", "s02"] and set(p.fold_metrics) == {"s01", "s02"}
    # one step per fold; the cpu preset trains with the position term and without L_ID
    assert len(p.losses["l_pos"]) == 2 and all(v > 0 for _, v in p.losses["l_pos"])
    xs, ys = mon.curves["total"].getData()
    assert list(xs) == [1, 2] and list(ys) == [v for _, v in p.losses["total"]]
    assert mon.fold_table.rowCount() == 2 and mon.bar.value() == 1000
    assert not mon.use_button.isEnabled()  # LOSO fold models are evaluations
    assert mon.device == "cpu" and mon.device_label.text() == "device: <b>cpu</b>"  # as the run reported it
    assert p.preprocessed[:2] == (8, 8)  # 2 subjects × 4 classes, reported clip by clip

    metrics = json.loads((mon.run_dir() / "metrics.json").read_text())
    table = manager.window().runs
    assert table.record(mon.run_dir()).status == "finished"
    for header, key in (("accuracy %", "accuracy"), ("UF1 %", "uf1"), ("UAR %", "uar")):
        assert table.cell(mon.run_dir(), header) == f"{100 * metrics['pooled'][key]:.2f}"
    assert table.cell(mon.run_dir(), "folds") == "2/2" and table.cell(mon.run_dir(), "px") == "32"
    assert table.cell(mon.run_dir(), "database") == "synthetic"
    table.table.sortItems(table.table.columnCount() - 1)  # sortable without losing rows
    assert table.row_of(mon.run_dir()) >= 0


def test_cancel_stops_within_seconds_and_keeps_the_checkpoint(qtbot, tmp_path, synth_root, manager, run_env,
                                                               no_leftovers):
    dlg = dialog_for(qtbot, tmp_path, synth_root, mode="fold", epochs=500, fold="s02")
    mon = manager.launch(dlg.request(), dlg.runs_folder(), env=run_env, cancel_grace=5.0)
    qtbot.waitUntil(lambda: bool(mon.progress.losses["total"]), timeout=90_000)  # training has begun
    t0 = time.monotonic()
    mon.cancel()  # the CLI stops after the current step and writes last.pt to resume from
    qtbot.waitUntil(lambda: not mon.timer.isActive(), timeout=30_000)
    assert time.monotonic() - t0 < 20
    assert mon.status == "cancelled" and not mon.process.running()
    assert (mon.run_dir() / "folds" / "s02" / "checkpoints" / "last.pt").is_file()
    assert "resume" in mon.log.toPlainText()
    assert not (mon.run_dir() / "cancel.request").exists()  # a resumed run is not cancelled at once


def test_a_killed_run_is_reported_and_the_gui_goes_on(qtbot, tmp_path, synth_root, manager, run_env, no_leftovers):
    dlg = dialog_for(qtbot, tmp_path, synth_root, mode="fold", epochs=500, fold="s01")
    mon = manager.launch(dlg.request(), dlg.runs_folder(), env=run_env)
    qtbot.waitUntil(lambda: mon.events_seen > 0, timeout=90_000)
    os.kill(mon.process.pid, signal.SIGKILL)
    with qtbot.waitSignal(mon.finished, timeout=10_000) as blocker:
        pass
    assert blocker.args == ["failed"] and mon.status == "failed"
    text = mon.log.toPlainText()
    assert "killed by signal 9" in text and "last lines of its error output" in text and "run folder:" in text
    table = manager.window().runs
    assert table.record(mon.run_dir()).status == "incomplete"
    dlg2 = TrainingDialog(tmp_path / "runs", tmp_path / "data", source=synth_root)  # the GUI still works
    qtbot.addWidget(dlg2)
    qtbot.waitUntil(lambda: dlg2.database is not None and dlg2.checked_for is not None, timeout=60_000)


def test_final_model_goes_to_the_prediction_panel(qtbot, tmp_path, synth_root, manager, run_env, no_leftovers):
    dlg = dialog_for(qtbot, tmp_path, synth_root, mode="final", holdout="s02")
    req = dlg.request()
    assert req.holdout_subjects == ["s02"] and req.command(tmp_path)[3] == "train"
    mon = manager.launch(req, dlg.runs_folder(), env=run_env)
    qtbot.waitUntil(lambda: not mon.timer.isActive(), timeout=120_000)
    assert mon.status == "finished", mon.log.toPlainText()
    ckpt = mon.run_dir() / "checkpoints" / "final.pt"
    assert mon.final_checkpoint == str(ckpt) and mon.use_button.isEnabled()
    table = manager.window().runs
    held = json.loads((mon.run_dir() / "metrics.json").read_text())["held_out"]
    assert table.cell(mon.run_dir(), "accuracy %") == f"{100 * held['accuracy']:.2f}"
    assert table.cell(mon.run_dir(), "scored on") == "held-out"
    table.select(mon.run_dir())
    assert table.use_button.isEnabled()
    table.use_button.click()
    mon.use_button.click()
    assert manager.fake.loaded == [str(ckpt), str(ckpt)]


def test_closing_with_an_active_run_asks(qtbot, tmp_path, synth_root, manager, run_env, no_leftovers, monkeypatch):
    from app import dialogs

    dlg = dialog_for(qtbot, tmp_path, synth_root, mode="fold", epochs=500, fold="s01")
    mon = manager.launch(dlg.request(), dlg.runs_folder(), env=run_env, cancel_grace=3.0)
    answers = iter(["cancel", "detach"])
    monkeypatch.setattr(dialogs, "ask_close_with_run", lambda parent, text: next(answers))
    assert manager.confirm_close() is False and mon.is_running()  # "cancel": the app stays open
    assert manager.confirm_close() is True  # "let it continue": detached, still running
    assert mon.status == "detached" and mon.process.running() and manager.active() == []
    manager.shutdown()  # shutting down leaves a detached run alone
    assert mon.process.running()
    mon.process.kill()


@pytest.fixture
def main_window(qtbot, tmp_path, no_leftovers, monkeypatch):
    """A main window (its frame loader thread runs), shut down before ``no_leftovers`` checks, also when the test
    fails half-way."""
    from app import dialogs
    from app.main_window import MainWindow

    monkeypatch.setattr(dialogs, "error", lambda *a: None)
    w = MainWindow(data_dir=tmp_path / "appdata")
    qtbot.addWidget(w)
    yield w
    w.shutdown()


def test_main_window_has_the_training_menu_and_stops_runs_on_close(qtbot, tmp_path, synth_root, run_env,
                                                                    main_window, no_leftovers, monkeypatch):
    from app import dialogs

    w = main_window
    titles = [a.text() for m in w.menuBar().actions() if m.text() == "&Training" for a in m.menu().actions()]
    assert titles == ["&New training run…", "&Runs…"]
    assert w.training.show_runs().isVisible()
    dlg = dialog_for(qtbot, tmp_path, synth_root, mode="fold", epochs=500, fold="s02")
    mon = w.training.launch(dlg.request(), dlg.runs_folder(), env=run_env, cancel_grace=3.0)
    monkeypatch.setattr(dialogs, "ask_close_with_run", lambda parent, text: "stop")
    assert w.close()
    assert not mon.process.running() and mon.status in ("cancelled", "failed")


def test_monitor_shows_preprocessing_and_the_reported_device(qtbot, tmp_path):
    from app.training.monitor import RunMonitor
    from app.training.process import RunProcess
    from cmnet_core.train.runs import RunFolder

    run = tmp_path / "run"
    run.mkdir()
    mon = RunMonitor(RunProcess(["true"], run, run / "cancel.request"), "LOSO · synth", "cuda")
    qtbot.addWidget(mon)
    assert mon.device_label.text() == "device: <b>cuda</b> (requested)"
    lines = [{"event": "run_start", "folds": ["s1"], "run_dir": str(run), "device": "cuda:0 (NVIDIA H200)"},
             *({"event": "preprocess", "done": k, "total": 24, "clip": f"s1/c{k}"} for k in (1, 2, 3))]
    RunFolder(run).progress_log.write_text("".join(json.dumps(e) + "\n" for e in lines))
    mon.poll()  # the process never started: only the file is read
    assert mon.status == "running" and mon.device == "cuda:0 (NVIDIA H200)"
    assert mon.device_label.text() == "device: <b>cuda:0 (NVIDIA H200)</b>"
    assert mon.bar.text() == "preprocessing 3/24" and mon.bar.value() == 125
    assert "3/24" in mon.position_label.text() and "s1/c3" in mon.position_label.text()
    more = [{"event": "fold_start", "fold": "s1", "device": "cuda:0 (NVIDIA H200)"},
            {"event": "epoch_start", "epoch": 1, "epochs": 2, "steps": 2},
            {"event": "step", "step": 1, "steps": 2, "losses": {"total": 1.0}}]
    with open(RunFolder(run).progress_log, "a") as fh:
        fh.write("".join(json.dumps(e) + "\n" for e in more))
    mon.poll()
    assert mon.bar.text() == "25 %" and mon.position_label.text().startswith("fold s1 (1/1) · epoch 1/2 · step 1/2")


def test_baseline_loso_from_the_dialog_lands_in_the_runs_table(qtbot, tmp_path, synth_root, manager, run_env,
                                                               no_leftovers):
    dlg = dialog_for(qtbot, tmp_path, synth_root, model="baseline")
    req = dlg.request()
    assert (req.mode, req.model, req.with_baseline) == ("loso", "baseline", False)
    mon = manager.launch(req, dlg.runs_folder(), env=run_env)
    qtbot.waitUntil(lambda: not mon.timer.isActive(), timeout=120_000)
    assert mon.status == "finished", mon.log.toPlainText()
    assert set(mon.progress.fold_metrics) == {"s01", "s02"} and mon.fold_table.rowCount() == 2
    run = mon.run_dir()
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["model_kind"] == "baseline" and (run / "folds" / "s01" / "baseline.json").is_file()
    table = manager.window().runs
    assert table.cell(run, "model") == "baseline" and table.cell(run, "kind") == "loso"
    assert table.cell(run, "UF1 %") == f"{100 * metrics['pooled']['uf1']:.2f}"
    assert table.cell(run, "baseline UF1 %") == ""  # a baseline run has no second baseline
