"""A run resumed from its last.pt says so: one "resuming <run> from epoch E/… step S/…" line for people and a
``resume`` event in the run's log.jsonl, after a cancel and after a kill (no run_end event), in ``cmnet train``
and in each ``cmnet loso`` fold (issue 14)."""
import json
import re

import pytest

from cmnet_core.cli import main
from cmnet_core.data.synthetic_writer import write_synthetic_database
from cmnet_core.train import options
from cmnet_core.train.callbacks import format_age, resume_line

#: 2 subjects × 2 classes × 1 clip: 4 clips, batch 1 → 4 steps per epoch for `train`, 2 per LOSO fold.
TINY = ["--image-size", "32", "--frames", "4", "--epochs", "2", "--batch-size", "1", "--cache", "off",
        "--device", "cpu"]
LINE = re.compile(r"^resuming (?P<run>\S+)(?: fold (?P<fold>\S+))? from epoch (?P<epoch>\d+)/2 step "
                  r"(?P<step>\d+)/(?P<steps>\d+) \(checkpoint written \d{4}-\d\d-\d\d \d\d:\d\d, "
                  r"(?P<age>\d+ s) ago\)$", re.M)


@pytest.fixture(scope="module")
def db_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume") / "syn"
    write_synthetic_database(root, n_subjects=2, clips_per_class=1, image_size=32, labels=("happiness", "surprise"))
    return root


@pytest.fixture
def cancel_after_one_step(monkeypatch, tmp_path):
    """The CLI's cancel request creates its --cancel-file after the first optimiser step of the process (as the
    GUI's Cancel does), so the run stops resumably at step 1 of epoch 1."""
    stop = tmp_path / "stop"

    def on_step(self, step, steps, losses):
        stop.touch()

    monkeypatch.setattr(options.CancelRequest, "on_step", on_step, raising=False)
    return stop


def _events(run_dir, name):
    return [e for e in map(json.loads, (run_dir / "log.jsonl").read_text().splitlines()) if e["event"] == name]


def test_train_resumed_after_cancel_and_after_kill_says_so(db_root, tmp_path, capsys, monkeypatch,
                                                           cancel_after_one_step):
    run = tmp_path / "run"
    args = ["train", str(db_root), *TINY, "--run-dir", str(run), "--cancel-file", str(cancel_after_one_step)]
    assert main(args) == options.EXIT_CANCELLED
    first = capsys.readouterr()
    assert "resuming" not in first.out + first.err and not _events(run, "resume")  # a fresh run resumes nothing
    assert (run / "checkpoints" / "last.pt").is_file()

    cancel_after_one_step.unlink()
    assert main(args) == options.EXIT_CANCELLED  # resumes at step 1 of epoch 1, stops again after step 2
    out = capsys.readouterr().out
    found = LINE.findall(out)
    assert len(found) == 1, out
    m = LINE.search(out).groupdict()
    assert (m["run"], m["fold"], m["epoch"], m["step"], m["steps"]) == ("run", None, "1", "1", "4")
    [event] = _events(run, "resume")
    assert (event["epoch"], event["epochs"], event["step"], event["steps"]) == (1, 2, 1, 4)
    assert event["checkpoint"] == str(run / "checkpoints" / "last.pt") and 0 <= event["age_s"] < 60
    assert "fold" not in event

    # a killed run: last.pt written, no run_end in its log (kill -9 leaves none); the same command resumes it
    log = run / "log.jsonl"
    log.write_text("".join(line + "\n" for line in log.read_text().splitlines() if '"run_end"' not in line))
    cancel_after_one_step.unlink()
    monkeypatch.setattr(options.CancelRequest, "on_step", lambda *a: None)  # this time it runs to the end
    assert main(args[:-2]) == 0
    m = LINE.search(capsys.readouterr().out).groupdict()
    assert (m["epoch"], m["step"], m["steps"]) == ("1", "2", "4")
    assert [(e["epoch"], e["step"]) for e in _events(run, "resume")] == [(1, 1), (1, 2)]
    assert [e["status"] for e in _events(run, "run_end")] == ["finished"]


def test_loso_fold_resumed_says_so_on_stderr_in_jsonl_mode(db_root, tmp_path, capsys, cancel_after_one_step):
    run = tmp_path / "loso"
    args = ["loso", str(db_root), *TINY, "--run-dir", str(run), "--progress", "jsonl",
            "--cancel-file", str(cancel_after_one_step)]
    assert main(args) == options.EXIT_CANCELLED
    capsys.readouterr()
    cancel_after_one_step.unlink()
    assert main(args) == options.EXIT_CANCELLED
    captured = capsys.readouterr()
    m = LINE.search(captured.err).groupdict()  # stdout carries only JSON lines: the line goes to stderr
    assert (m["run"], m["fold"], m["epoch"], m["step"], m["steps"]) == ("loso", "s01", "1", "1", "2")
    stdout_events = [json.loads(line) for line in captured.out.splitlines()]
    [resume] = [e for e in stdout_events if e["event"] == "resume"]  # the GUI reads it from stdout
    assert resume["fold"] == "s01" and (resume["epoch"], resume["step"]) == (1, 1)
    assert [(e["fold"], e["step"]) for e in _events(run, "resume")] == [("s01", 1)]


def test_resume_line_and_age_wording():
    info = {"epoch": 3, "epochs": 10, "step": 17, "steps": 40, "written": "2026-12-04T19:40:12+00:00",
            "age_s": 245.0, "fold": "s07"}
    assert resume_line("20261204-loso-syn", info) == ("resuming 20261204-loso-syn fold s07 from epoch 3/10 step "
                                                      "17/40 (checkpoint written 2026-12-04 19:40, 4 min ago)")
    done = {**info, "epoch": 11, "step": 0, "fold": None, "age_s": 7200}
    assert resume_line("r", done) == "resuming r after its last epoch (10/10) (checkpoint written 2026-12-04 19:40, " \
                                     "2 h 00 min ago)"
    assert [format_age(s) for s in (-3, 12.4, 59.6, 245, 3600 * 2 + 300, 86400 * 3)] == \
        ["0 s", "12 s", "1 min", "4 min", "2 h 05 min", "3 days"]


def test_a_damaged_resume_checkpoint_says_to_delete_it(tmp_path, capsys):
    """Review: a truncated last.pt cannot be 're-saved'; the message says to delete it to start over."""
    from cmnet_core.cli import main
    from cmnet_core.data.synthetic_writer import write_synthetic_database
    db = tmp_path / "db"
    write_synthetic_database(db, n_subjects=2, clips_per_class=1, image_size=32, labels=("happiness", "surprise"))
    run = tmp_path / "run"
    args = ["train", str(db), "--image-size", "16", "--frames", "4", "--epochs", "1", "--batch-size", "2",
            "--cache", "off", "--device", "cpu", "--backbone", "small", "--landmarks", "none", "--run-dir", str(run)]
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.pt").write_bytes(b"PK\x03\x04" + b"\0" * 300)
    rc = main(args)
    err = capsys.readouterr().err
    assert rc != 0 and "Traceback" not in err
    assert f"delete {run / 'checkpoints' / 'last.pt'} to start this run over" in err, err


def test_a_second_process_cannot_train_in_a_run_folder_in_use(tmp_path):
    """Review D12: while one `cmnet train --run-dir X` trains, a second one in X is refused (both would write
    last.pt); once the first is killed, the same command resumes."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from cmnet_core.data.synthetic_writer import write_synthetic_database
    db = tmp_path / "db"
    write_synthetic_database(db, n_subjects=2, clips_per_class=2, image_size=32, labels=("happiness", "surprise"))
    run = tmp_path / "run"
    args = [sys.executable, "-m", "cmnet_core.cli", "train", str(db), "--image-size", "16", "--frames", "4",
            "--epochs", "400", "--batch-size", "2", "--cache", "off", "--device", "cpu", "--backbone", "small",
            "--landmarks", "none", "--run-dir", str(run)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    first = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        deadline = time.time() + 120
        while time.time() < deadline and not (run / "checkpoints" / "last.pt").exists():
            time.sleep(0.2)
        assert (run / "checkpoints" / "last.pt").exists()
        second = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode != 0 and "is in use: another cmnet process is training" in second.stderr
        assert "Traceback" not in second.stderr and "resuming" not in second.stdout
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    stop = tmp_path / "stop"
    stop.write_text("")        # the same command again, told to stop at once: it gets the folder and resumes
    third = subprocess.run([*args, "--cancel-file", str(stop)], env=env, capture_output=True, text=True, timeout=120)
    assert "is in use" not in third.stderr and third.returncode == 3, third.stderr[-500:]
