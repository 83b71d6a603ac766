"""`cmnet loso DB --slurm` (issue 20): the batch scripts it writes (resources, a CPU-only task without --gres,
paths with spaces quoted, the options used for listing the folds too), the refusals before anything is queued, and
the submission through a stand-in sbatch. The fold script is run with bash as SLURM would run one array task (a
baseline fold on a 3-subject synthetic database at 32 px: seconds). A real SLURM: scripts/slurm_selftest.sh."""
import csv
import json
import os
import shlex
import shutil
import subprocess

import pytest

from cmnet_core.cli import main
from cmnet_core.data.synthetic_writer import write_synthetic_database
from cmnet_core.train.loso import LosoError
from cmnet_core.train import slurm
from cmnet_core.train.slurm import SlurmResources, check_resources, mem_mb

TINY = ["--model", "baseline", "--image-size", "32", "--frames", "8"]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """A 3-subject database in a folder with a space, and a sheet (in a folder with a space) covering s01, s02."""
    base = tmp_path_factory.mktemp("slurm") / "data base"
    root = base / "syn db"
    write_synthetic_database(root, n_subjects=3, clips_per_class=1, image_size=32, labels=("happiness", "surprise"))
    sheet = base / "sheet dir" / "two subjects.csv"
    sheet.parent.mkdir(parents=True)
    with open(root / "clips.csv", newline="", encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["subject"] != "s03"]
    with open(sheet, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return root, sheet


def _controller_answers() -> bool:
    return shutil.which("sbatch") is not None and slurm.cluster_nodes(timeout_s=5) != ""


@pytest.fixture(autouse=True)
def no_sinfo(request, monkeypatch):
    """The CLI tests do not ask this machine's sinfo (`check_resources` is tested with sinfo's text)."""
    if "real_sbatch" not in request.node.name:
        monkeypatch.setattr(slurm, "cluster_nodes", lambda timeout_s=15: "")


def _sbatch_lines(text):
    return [line[len("#SBATCH "):] for line in text.splitlines() if line.startswith("#SBATCH ")]


def test_dry_run_prints_cpu_only_scripts_and_writes_nothing(db, tmp_path, capsys):
    root, _ = db
    run = tmp_path / "my run"
    assert main(["loso", str(root), *TINY, "--slurm", "--dry-run", "--cpus", "2", "--mem", "3G", "--time", "0:20:00",
                 "--partition", "short", "--account", "lab", "--qos", "low", "--sbatch-arg=--constraint=avx2",
                 "--run-dir", str(run)]) == 0
    out = capsys.readouterr().out
    assert not run.exists()                                                  # dry run: nothing written
    folds_text = out.split("# ==> ")[1]
    assert _sbatch_lines(folds_text) == [
        "--job-name=cmnet-loso", "--array=0-2", "--cpus-per-task=2", "--mem=3G", "--time=0:20:00",
        "--partition=short", "--account=lab", "--qos=low", f'--output="{run}/slurm/fold-%A_%a.out"',
        "--open-mode=append", "--signal=B:TERM@120", "--requeue", "--constraint=avx2"]     # CPU only: no --gres
    merge_text = out.split("# ==> ")[2]
    assert "--dependency" not in _sbatch_lines(merge_text) and "--partition=short" in _sbatch_lines(merge_text)
    assert f"sbatch --parsable --dependency=afterany:FOLDS_JOB {shlex.quote(str(run / 'slurm' / 'merge.sbatch'))} " \
           "FOLDS_JOB" in out
    capsys.readouterr()
    assert main(["loso", str(root), *TINY, "--slurm", "--dry-run", "--gpus", "2", "--fold", "s03", "s01",
                 "--run-dir", str(run)]) == 0
    out = capsys.readouterr().out
    assert "#SBATCH --gres=gpu:2\n" in out                                  # a GPU request only when asked
    assert f"sbatch --parsable --array=2,0 {shlex.quote(str(run / 'slurm' / 'folds.sbatch'))}\n" in out


def test_fold_script_runs_one_array_task_with_the_sheet_and_paths_with_spaces(db, tmp_path, capsys, monkeypatch):
    root, sheet = db
    run = tmp_path / "my run"
    bin_dir = tmp_path / "bin"                        # a stand-in sbatch that records its calls and answers an id
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text('#!/bin/sh\necho "$@" >> "$(dirname "$0")/calls"\n'
                                    'case "$*" in *merge.sbatch*) echo 102;; *) echo 101;; esac\n')
    (bin_dir / "sbatch").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("CMNET_CACHE_DIR", raising=False)
    assert main(["loso", str(root), *TINY, "--sheet", str(sheet), "--slurm", "--cpus", "1", "--mem", "2G",
                 "--run-dir", str(run)]) == 0
    out = capsys.readouterr().out
    assert "submitted the folds as array job 101 and the merge as job 102 (afterany)" in out
    calls = (bin_dir / "calls").read_text().splitlines()
    assert calls == [f"--parsable {run}/slurm/folds.sbatch",
                     f"--parsable --dependency=afterany:101 {run}/slurm/merge.sbatch 101"]
    # the folds were listed with the same options as the folds get: the sheet covers two subjects
    assert (run / "slurm" / "folds.txt").read_text() == "s01\ns02\n"
    text = (run / "slurm" / "folds.sbatch").read_text()
    assert "#SBATCH --array=0-1\n" in text and shlex.quote(str(sheet)) in text
    # run array task 1 as SLURM would (bash, the task id in the environment): fold s02 of the run
    env = {**os.environ, "SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_JOB_ID": "101", "SLURM_JOB_ID": "104",
           "SLURM_CPUS_PER_TASK": "1"}
    done = subprocess.run(["bash", str(run / "slurm" / "folds.sbatch")], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "== attempt: job 101_1 (id 104), fold s02, restart 0" in done.stderr
    assert json.loads((run / "folds" / "s02" / "result.json").read_text())["test_subjects"] == ["s02"]
    config = json.loads((run / "config.json").read_text())
    assert config["database"]["sheet"] == str(sheet) and config["database"]["subjects"] == ["s01", "s02"]
    assert (run / "cache").is_dir()                                     # the shared preprocessing cache
    # the merge script: one fold of two is there -> exit 4 (no array left in the queue: no squeue here)
    merged = subprocess.run(["bash", str(run / "slurm" / "merge.sbatch")], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "SLURM_JOB_ID": "102"})
    assert merged.returncode == 4, merged.stderr
    assert f"sbatch --array=0 {shlex.quote(str(run / 'slurm' / 'folds.sbatch'))}" in merged.stderr
    assert json.loads((run / "metrics.json").read_text())["partial"]


def test_refused_before_anything_is_queued(db, tmp_path, capsys):
    root, _ = db
    run = tmp_path / "run"
    assert main(["loso", str(root), *TINY, "--seed", "2", "--fold", "s01", "--run-dir", str(run), "--cache",
                 "off"]) == 0
    before = sorted(p.name for p in run.rglob("*"))
    capsys.readouterr()
    # an existing run folder made with other options: each differing option named with the old and new value
    assert main(["loso", str(root), *TINY, "--seed", "3", "--image-size", "16", "--slurm", "--dry-run",
                 "--run-dir", str(run)]) == 2
    err = capsys.readouterr().err
    assert "(--image-size: 32 in the run, 16 now; --seed: 2 in the run, 3 now)" in err
    # without --dry-run on a machine without sbatch: said before anything is written
    if shutil.which("sbatch") is None:
        assert main(["loso", str(root), *TINY, "--seed", "2", "--slurm", "--run-dir", str(run)]) == 2
        assert "sbatch not found: --slurm submits from a SLURM login node" in capsys.readouterr().err
    assert main(["loso", str(root), *TINY, "--slurm", "--dry-run", "--mem", "lots", "--run-dir", str(run)]) == 2
    assert "--mem 'lots': give a size such as 16G or 4000M" in capsys.readouterr().err
    assert main(["loso", str(root), *TINY, "--slurm", "--dry-run", "--fold", "s09", "--run-dir", str(run)]) == 2
    assert "unknown subject(s) s09" in capsys.readouterr().err
    assert sorted(p.name for p in run.rglob("*")) == before


def test_resources_no_node_can_give_are_refused():
    sinfo = "debug*|2|3000|(null)\ndebug*|2|3000|(null)\n"
    check_resources(SlurmResources(cpus=2, mem="2G"), sinfo)                   # fits: no error
    with pytest.raises(LosoError, match=r"no node offers 8 CPUs, 32G memory per fold task \(the largest has 2 "
                                        r"CPUs, 3000 MB, gres \(null\)\); SLURM would keep the array pending"):
        check_resources(SlurmResources(cpus=8, mem="32G"), sinfo)
    with pytest.raises(LosoError, match="and a GPU per fold task"):
        check_resources(SlurmResources(cpus=1, mem="1G", gpus=1), sinfo)
    with pytest.raises(LosoError, match="--partition gpu: no such partition"):
        check_resources(SlurmResources(cpus=1, mem="1G", partition="gpu"), sinfo)
    assert (mem_mb("16G"), mem_mb("500M"), mem_mb("4000")) == (16384, 500, 4000)


@pytest.mark.skipif(not _controller_answers(),
                    reason="no SLURM controller answers here (sbatch/sinfo absent or no slurmctld); "
                           "scripts/slurm_selftest.sh runs the whole path on a single-node SLURM")
def test_real_sbatch_accepts_the_scripts(db, tmp_path):
    root, _ = db
    run = tmp_path / "sb run"
    assert main(["loso", str(root), *TINY, "--slurm", "--cpus", "1", "--mem", "1G", "--run-dir", str(run)]) == 0
    jobs = subprocess.run(["squeue", "-h", "-n", "cmnet-loso,cmnet-loso-merge", "-o", "%i"], capture_output=True,
                          text=True).stdout.split()
    subprocess.run(["scancel", "-n", "cmnet-loso-merge"], capture_output=True)
    subprocess.run(["scancel", "-n", "cmnet-loso"], capture_output=True)
    assert jobs
