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

from cmnet_core.data.synthetic_writer import write_synthetic_database
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    env.update(SLURM_CPUS_PER_TASK="2", OMP_NUM_THREADS="1")                   # 2 DataLoader workers by default
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
    assert f"cancelled; run the same command with --run-dir {run} to resume\n" in err
    assert json.loads((run / "config.json").read_text())["train_config"]["num_workers"] == 2
    last = torch.load(run / "folds" / "s01" / "checkpoints" / "last.pt", map_location="cpu", weights_only=False)
    state = last["train_state"]
    assert state["epoch"] == 0 and 2 <= state["step"] < 16       # mid-epoch: 16 training clips, batch 1
    # the same command resumes from that step and finishes the fold
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads((run / "folds" / "s01" / "result.json").read_text())["steps"] == 32


def test_batches_have_the_same_layout_whatever_the_worker_count(tmp_path):
    """A fold's result must not depend on --workers (which defaults to SLURM_CPUS_PER_TASK): batches stacked in the
    training process and in a worker are both contiguous, so the convolutions sum in the same order."""
    from torch.utils.data import DataLoader

    from cmnet_core.data.database import open_database
    from cmnet_core.preprocess.types import PreprocessSettings
    from cmnet_core.train.dataset import ClipDataset, preprocess_clips

    write_synthetic_database(tmp_path / "db", n_subjects=1, clips_per_class=1, image_size=32,
                             labels=("happiness", "surprise"))
    db = open_database(tmp_path / "db")
    samples = preprocess_clips(db.clips, db.labels, PreprocessSettings(image_size=32, num_frames=8,
                                                                       landmarks="hint"))
    batches = [[b for b in DataLoader(ClipDataset(samples), batch_sampler=[[0], [1]], num_workers=w)]
               for w in (0, 1)]
    for here, there in zip(*batches):
        assert torch.equal(here[0], there[0]) and here[0].stride() == there[0].stride() == (24576, 3072, 1024, 32, 1)
