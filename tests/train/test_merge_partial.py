"""Honest partial merges (issue 20): `cmnet loso --merge` with folds missing exits with `EXIT_INCOMPLETE`, marks
metrics.json / metrics.csv partial and prints the commands that run exactly the missing folds (the SLURM array
indices too when the run was submitted with --slurm); folders that are not runs get a sentence; fold tasks pooling
at once share no temporary file. Baseline runs on a 3-subject synthetic database at 32 px (seconds)."""
import json
import multiprocessing
import shlex
import shutil

import pytest

from cmnet_core.cli import main
from cmnet_core.data.synthetic_writer import write_synthetic_database
from cmnet_core.train.loso import merge
from cmnet_core.train.options import EXIT_INCOMPLETE

TINY = ["--model", "baseline", "--image-size", "32", "--frames", "8", "--cache", "off"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished 3-fold baseline run whose database folder has a space in its name."""
    base = tmp_path_factory.mktemp("partial")
    db = base / "data base"
    write_synthetic_database(db, n_subjects=3, clips_per_class=1, image_size=32, labels=("happiness", "surprise"))
    run_dir = base / "run"
    assert main(["loso", str(db), *TINY, "--run-dir", str(run_dir)]) == 0
    return db, run_dir


def test_partial_merge_names_the_slurm_array_indices_of_the_missing_folds(run, tmp_path, capsys):
    db, run_dir = run
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    for fold in ("s01", "s03"):
        shutil.rmtree(copy / "folds" / fold)
    (copy / "slurm").mkdir()
    (copy / "slurm" / "folds.txt").write_text("s01\ns02\ns03\n")
    (copy / "slurm" / "folds.sbatch").write_text("#!/bin/bash\n")
    capsys.readouterr()
    assert main(["loso", "--merge", str(copy)]) == EXIT_INCOMPLETE
    err = capsys.readouterr().err
    local = shlex.join(["cmnet", "loso", str(db), "--model", "baseline", "--image-size", "32", "--frames", "8",
                        "--cache", "off", "--run-dir", str(copy), "--fold", "s01", "s03"])
    slurm = shlex.join(["sbatch", "--array=0,2", str(copy / "slurm" / "folds.sbatch")])
    assert f"PARTIAL result: 2 fold(s) missing (s01, s03)" in err and f"\n  {local}\n  {slurm}\n" in err
    assert "'" + str(db) + "'" in local                 # the space in the database folder is quoted
    metrics = json.loads((copy / "metrics.json").read_text())
    assert metrics["missing_folds_commands"] == [local, slurm] and metrics["pooled"]["n"] == 2


def test_merge_of_folders_that_are_no_runs_says_so_in_a_sentence(tmp_path, capsys):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    for folder, why in ((tmp_path / "nowhere", "(no such folder)"), (tmp_path / "file.txt", "(a file)"),
                        (tmp_path / "empty", "(no config.json)")):
        for extra in ([], ["--with-baseline"]):
            assert main(["loso", "--merge", str(folder), *extra]) == 2
            err = capsys.readouterr().err
            assert f"cmnet loso: {folder} is not a run folder {why}; give the folder cmnet loso wrote" in err
            assert "Errno" not in err and "Traceback" not in err


def _merge_many(path, times):
    from cmnet_core.train.loso import record_preprocess_time

    for _ in range(times):
        merge(path)
        record_preprocess_time(path, 0.5, 6, False)


def test_concurrent_merges_and_timing_records_lose_nothing(run, tmp_path):
    _, run_dir = run
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_merge_many, args=(copy, 10)) for _ in range(2)]
    for p in procs:
        p.start()
    _merge_many(copy, 10)
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0]
    assert json.loads((copy / "metrics.json").read_text())["complete"]
    assert sorted(p.name for p in copy.iterdir() if "tmp" in p.name) == []
    before = len(json.loads((run_dir / "timing.json").read_text())["preprocess"])
    assert len(json.loads((copy / "timing.json").read_text())["preprocess"]) == before + 30   # none lost


def test_run_files_are_written_through_unique_temporary_files(tmp_path, monkeypatch):
    import os

    from cmnet_core.train.runs import write_json

    moved = []
    real = os.replace

    def spy(src, dst):
        moved.append((os.path.basename(src), os.path.basename(dst)))
        return real(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    write_json(tmp_path / "metrics.json", {"a": 1})
    write_json(tmp_path / "metrics.json", {"a": 2})
    assert [d for _, d in moved] == ["metrics.json", "metrics.json"]
    sources = [s for s, _ in moved]
    assert len(set(sources)) == 2 and "metrics.json.tmp" not in sources      # two writers never share a name
    assert all(s.startswith(".metrics.json.") and s.endswith(".tmp") for s in sources)
    assert json.loads((tmp_path / "metrics.json").read_text()) == {"a": 2} and len(list(tmp_path.iterdir())) == 1
