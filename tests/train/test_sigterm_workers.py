"""A SIGTERM to a fold process and its DataLoader workers (what SLURM's scancel, pre-emption and the time limit's
warning send to every process of a job) stops the fold cleanly: mid-epoch last.pt, exit status EXIT_CANCELLED,
no crashed worker; the same command resumes it. Workers default to SLURM_CPUS_PER_TASK. A real signal to a real
`cmnet loso` subprocess on a tiny synthetic database (3 subjects, 32 px, N = 8)."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from cmnet_core.data.synthetic import write_synthetic_database
from cmnet_core.train import options as opt


def test_workers_default_to_the_cpus_slurm_gave_the_task(monkeypatch):
    monkeypatch.delenv("SLURM_CPUS_PER_TASK", raising=False)
    assert opt.default_workers() == 0
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "3")
    assert opt.default_workers() == 3
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "junk")
    assert opt.default_workers() == 0


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="process groups and SIGTERM are POSIX")
def test_sigterm_to_the_fold_and_its_workers_stops_it_cleanly_mid_epoch(tmp_path):
    db = tmp_path / "db"
    write_synthetic_database(db, n_subjects=3, clips_per_class=4, image_size=32, labels=("happiness", "surprise"))
    run = tmp_path / "run"
    command = [sys.executable, "-m", "cmnet_core.cli", "loso", str(db), "--fold", "s01", "--image-size", "32",
               "--frames", "8", "--epochs", "2", "--batch-size", "1", "--cache", "off", "--device", "cpu",
               "--run-dir", str(run), "--progress", "jsonl"]
    env = {**os.environ, "SLURM_CPUS_PER_TASK": "2", "OMP_NUM_THREADS": "1"}   # 2 DataLoader workers by default
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)                              # its own process group
    try:
        deadline = time.monotonic() + 60
        for line in proc.stdout:
            event = json.loads(line)
            if event["event"] == "step" and event["step"] >= 2:                     # epoch 1 of 2
                break
            assert time.monotonic() < deadline, "no training step within 60 s"
        workers = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        os.killpg(proc.pid, signal.SIGTERM)                                       # the fold and its workers
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert len(workers) >= 2, "the DataLoader workers were not running when the signal came"
    assert proc.returncode == opt.EXIT_CANCELLED == 3, err
    assert "Traceback" not in err and "killed by signal" not in err
    assert f"cancelled; run the same command with --run-dir {run} to resume" in err
    assert json.loads((run / "config.json").read_text())["train_config"]["num_workers"] == 2
    last = torch.load(run / "folds" / "s01" / "checkpoints" / "last.pt", map_location="cpu", weights_only=False)
    state = last["train_state"]
    assert state["epoch"] == 0 and 2 <= state["step"] < 16       # mid-epoch: 16 training clips, batch 1
    # the same command resumes from that step and finishes the fold
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads((run / "folds" / "s01" / "result.json").read_text())["steps"] == 32
