"""A run that shows no progress says how long ago it was launched, and from FIRST_EVENT_HINT_S on what it is
probably doing, where its error output goes and how to stop it (issue 14); a fake clock, no real wait."""
from __future__ import annotations

import json

from app.training.monitor import RunMonitor
from app.training.process import RunProcess
from cmnet_core.train.runs import RunFolder
from app.training.progress import FIRST_EVENT_HINT_S, RunProgress, format_duration, waiting_text


class FakeClock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def _monitor(qtbot, tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    clock = FakeClock()
    mon = RunMonitor(RunProcess(["cmnet-never-started"], run, run / "cancel.request"), "final · syn", "cpu",
                     clock=clock)
    qtbot.addWidget(mon)
    monkeypatch.setattr(mon.process, "start", lambda: 4242)  # no process: the clock and the files drive the view
    mon.start()
    mon.timer.stop()  # the test polls by hand
    return mon, clock, run


def test_waiting_for_the_first_event_counts_and_then_hints(qtbot, tmp_path, monkeypatch):
    mon, clock, run = _monitor(qtbot, tmp_path, monkeypatch)
    clock.now += 130 - FIRST_EVENT_HINT_S + 0.4  # 10.4 s after launch
    mon.poll()
    text = mon.position_label.text()
    assert text.startswith("waiting for the first event — 10 s since launch (starting Python") and "\n" not in text
    clock.now += 119.6  # 2 min 10 s after launch: past the threshold, the hint appears
    RunFolder(run).stderr_log.write_text("preset: cpu (auto: the default on any device; here --device cpu)\n"
                                   "run folder: /runs/x\n")
    mon.poll()
    first, hint = mon.position_label.text().split("\n")
    assert first.startswith("waiting for the first event — 2 min 10 s since launch")
    assert hint.startswith("No progress for 2 min 10 s: the process is probably starting Python and PyTorch")
    assert str(RunFolder(run).stderr_log) in hint and "Its last line: “run folder: /runs/x”." in hint
    assert "“Cancel run” stops it" in hint

    # run_start arrived but no clip preprocessed yet: the first clip's face detection
    RunFolder(run).progress_log.write_text(json.dumps({"event": "run_start", "folds": ["all"], "run_dir": str(run),
                                                 "device": "cpu"}) + "\n")
    clock.now += 60
    mon.poll()
    first, hint = mon.position_label.text().split("\n")
    assert first.startswith("preparing the first clip — 3 min 10 s since launch (face detection")
    assert hint.startswith("No progress for 3 min 10 s: the process is probably detecting and aligning the face")

    # progress replaces the waiting text for good
    with open(RunFolder(run).progress_log, "a") as fh:
        fh.write(json.dumps({"event": "preprocess", "done": 1, "total": 4, "clip": "s1/c1"}) + "\n")
    clock.now += 600
    mon.poll()
    assert mon.position_label.text().startswith("preprocessing clips (face alignment, N frames): 1/4")


def test_cancel_text_is_not_overwritten_by_the_waiting_text(qtbot, tmp_path, monkeypatch):
    mon, clock, _run = _monitor(qtbot, tmp_path, monkeypatch)
    mon.process.cancel_requested_at = clock.now  # as RunProcess.cancel records it
    mon.position_label.setText("cancelling: …")
    clock.now += 300
    mon.poll()
    assert mon.position_label.text() == "cancelling: …"


def test_waiting_text_values():
    p = RunProgress()
    assert waiting_text(p, 59.6, "/r/stderr.log").startswith(
        "waiting for the first event — 1 min 00 s since launch")
    hint = waiting_text(p, FIRST_EVENT_HINT_S, "/r/stderr.log")
    assert hint.endswith("It has written nothing there yet. “Cancel run” stops it; what finished is kept and the run "
                         "can be resumed.") and "/r/stderr.log" in hint
    p.update({"event": "run_end", "status": "cancelled"})
    assert waiting_text(p, 500, "/r/stderr.log") is None  # an ended run waits for nothing
    assert [format_duration(s) for s in (-1, 0.4, 65, 3725)] == ["0 s", "0 s", "1 min 05 s", "1 h 02 min"]
