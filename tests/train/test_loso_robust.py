"""Refusals of `cmnet loso` / `cmnet evaluate` / `cmnet train` before anything is written: a run folder that is not
a LOSO run's (a train run, another tool's config.json, the database, a copy of it), one-class training folds,
a baseline/ with other settings, unknown folds and devices (no half-made run folder left), damaged JSON files named
with what to do; `--merge --with-baseline`; with `--selection val` the baseline trains on CMNet's training
subjects. Tiny synthetic databases (2-4 subjects, 32 px, N = 8, 1 epoch)."""
import csv
import json
import shutil

import pytest
import torch

from cmnet_core.cli import main
from cmnet_core.data.synthetic_writer import write_synthetic_database
from cmnet_core.train.loso import LosoError
from cmnet_core.train.options import EXIT_INCOMPLETE

TINY = ["--image-size", "32", "--frames", "8", "--cache", "off", "--device", "cpu"]
CMNET_TINY = ["--epochs", "1", "--batch-size", "4"]


def _read(path):
    return json.loads(path.read_text())


def _tree(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture(scope="module")
def dbs(tmp_path_factory):
    """A 3-subject database and a 4-subject one whose k = 2 folds train on one class (s01, s03 happiness only;
    s02, s04 surprise only)."""
    base = tmp_path_factory.mktemp("robust")
    db = base / "syn"
    write_synthetic_database(db, n_subjects=3, clips_per_class=1, image_size=32, labels=("happiness", "surprise"))
    oc = base / "oc"
    write_synthetic_database(oc, n_subjects=4, clips_per_class=1, image_size=32, labels=("happiness", "surprise"))
    with open(oc / "clips.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["emotion"] = "happiness" if r["subject"] in ("s01", "s03") else "surprise"
    with open(oc / "clips.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return db, oc, base


# F0 -----------------------------------------------------------------------------------------------------------------
def test_run_dir_that_is_no_loso_run_is_refused_before_anything_is_written(dbs, tmp_path, capsys):
    db, _, _ = dbs
    train = tmp_path / "train-run"
    train.mkdir()
    (train / "config.json").write_text(json.dumps({"kind": "final", "database": {"name": "synthetic", "labels": [
        "happiness", "surprise"]}, "train_config": {}}))
    other = tmp_path / "junk"
    other.mkdir()
    (other / "config.json").write_text('{"name": "my other tool"}')
    copy = tmp_path / "dbcopy"
    shutil.copytree(db, copy)
    for folder, message in ((train, f"{train} is a training run, not a LOSO run"),
                            (other, "is not the config of a cmnet loso run"),
                            (db, f"{db} is the database folder"),
                            (copy, f"{copy} is not a cmnet loso run folder: it holds other files")):
        before = _tree(folder)
        for model in (["--model", "baseline"], CMNET_TINY):
            rc = main(["loso", str(db), *model, *TINY, "--run-dir", str(folder)])
            err = capsys.readouterr().err
            assert rc == 2 and message in err and "Traceback" not in err and "KeyError" not in err, err
            assert _tree(folder) == before          # no checkpoints/, log.jsonl, config.json, folds written
    for folder, message in ((train, f"{train} is a training run, not a LOSO run"),
                            (other, "is not the config of a cmnet loso run")):
        for command in (["loso", "--merge", str(folder)], ["evaluate", str(folder)]):
            assert main(command) == 2
            err = capsys.readouterr().err
            assert message in err and "Traceback" not in err and "KeyError" not in err


def test_merge_and_evaluate_on_a_database_folder_say_it_is_not_a_run_folder(dbs, capsys):
    db, _, _ = dbs
    for command in (["loso", "--merge", str(db)], ["evaluate", str(db)]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert f"{db} is not a run folder (no config.json)" in err and "Errno" not in err


# F5 -----------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", [["--model", "baseline"], ["--with-baseline", *CMNET_TINY]])
def test_one_class_fold_is_refused_for_the_baseline_before_any_training(dbs, tmp_path, capsys, model):
    _, oc, _ = dbs
    run = tmp_path / "run"
    rc = main(["loso", str(oc), "--k-folds", "2", *model, *TINY, "--run-dir", str(run)])
    err = capsys.readouterr().err
    assert rc == 2
    assert "fold fold1: the training clips (all subjects but s01, s03) hold 1 class(es) (surprise)" in err
    assert "the baseline needs at least two; nothing was trained" in err
    assert not run.exists()                          # refused before any fold: the new run folder is removed


def test_one_class_fold_is_a_warning_for_cmnet_alone(dbs, tmp_path, capsys, monkeypatch):
    _, oc, _ = dbs
    import cmnet_core.train.loso as loso

    def stop(*args, **kwargs):
        raise LosoError("stopped by the test")

    monkeypatch.setattr(loso, "run_loso", stop)     # the warning comes before the run
    assert main(["loso", str(oc), "--k-folds", "2", *CMNET_TINY, *TINY, "--run-dir", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "WARNING: fold fold1: the training clips (all subjects but s01, s03) hold 1 class(es) (surprise); a " \
           "model trained on one class predicts that class" in err
    assert "WARNING: fold fold2: the training clips (all subjects but s02, s04) hold 1 class(es) (happiness)" in err


def test_baseline_with_other_settings_is_refused_before_cmnet_trains(dbs, tmp_path, capsys):
    db, _, _ = dbs
    run = tmp_path / "mm"
    assert main(["loso", str(db), "--model", "baseline", "--image-size", "16", "--frames", "8", "--cache", "off",
                 "--run-dir", str(run / "baseline")]) == 0
    capsys.readouterr()
    rc = main(["loso", str(db), "--with-baseline", *CMNET_TINY, *TINY, "--run-dir", str(run)])
    err = capsys.readouterr().err
    assert rc == 2 and f"{run / 'baseline' / 'config.json'} was written with other settings (--image-size: 16 in " \
        "the run, 32 now)" in err
    assert not (run / "folds").exists() and not (run / "config.json").exists()   # no CMNet fold trained
    assert (run / "baseline" / "metrics.json").exists()                          # the existing run is kept
    log, timing = (run / "baseline" / "log.jsonl").read_text(), (run / "baseline" / "timing.json").read_text()
    assert main(["loso", str(db), "--model", "baseline", *TINY, "--run-dir", str(run / "baseline")]) == 2
    assert "was written with other settings (--image-size: 16 in the run, 32 now)" in capsys.readouterr().err
    # refused before preprocessing: no event appended to the run's log, no preprocessing time recorded
    assert (run / "baseline" / "log.jsonl").read_text() == log and (run / "baseline" / "timing.json").read_text() \
        == timing


# F8, F3, F4 (train), F6 on one small CMNet + baseline run -----------------------------------------------------------
@pytest.fixture(scope="module")
def val_run(dbs):
    db, _, base = dbs
    run = base / "val-run"
    assert main(["loso", str(db), "--with-baseline", "--selection", "val", "--fold", "s01", "--keep-fold-models", *CMNET_TINY, *TINY,
                 "--run-dir", str(run), "--progress", "jsonl"]) == 0
    return run


def test_with_selection_val_the_baseline_trains_on_cmnets_training_subjects(val_run, capsys):
    cm = _read(val_run / "folds" / "s01" / "result.json")
    bl = _read(val_run / "baseline" / "folds" / "s01" / "result.json")
    assert len(cm["val_subjects"]) == 1 and bl["val_subjects"] == cm["val_subjects"]
    assert bl["train_subjects"] == cm["train_subjects"] and len(bl["train_subjects"]) == 1
    assert _read(val_run / "baseline" / "config.json")["train_config"]["excluded_val_subjects"] == 1
    assert (val_run / "metrics.json").exists() and (val_run / "comparison.json").exists()
    # F3: merges and compares; one fold of three ran, so the merge says it is partial with its own exit status
    assert main(["loso", "--merge", str(val_run), "--with-baseline"]) == EXIT_INCOMPLETE
    captured = capsys.readouterr()
    assert "same folds (test and training subjects)" in captured.out
    assert "PARTIAL result: 2 fold(s) missing (s02, s03)" in captured.err


def test_merge_with_baseline_is_refused_when_there_is_no_baseline(val_run, tmp_path, capsys):
    cm_only = tmp_path / "cm-only"
    shutil.copytree(val_run, cm_only, ignore=shutil.ignore_patterns("baseline"))
    assert main(["loso", "--merge", str(cm_only), "--with-baseline"]) == 2
    err = capsys.readouterr().err
    assert f"{cm_only} holds no finished baseline folds" in err and "--merge does not train" in err
    assert main(["loso", "--merge", str(val_run / "baseline"), "--with-baseline"]) == 2
    assert f"{val_run / 'baseline'} is a baseline run; --with-baseline is for a CMNet run" in capsys.readouterr().err


def test_refused_runs_leave_no_new_run_folder(dbs, val_run, tmp_path, capsys):
    db, _, base = dbs
    new = tmp_path / "new"
    assert main(["loso", str(db), "--model", "baseline", *TINY, "--fold", "s09", "--run-dir", str(new)]) == 2
    err = capsys.readouterr().err
    assert "unknown subject(s) s09; the loso split has s01, s02, s03" in err and "['" not in err
    assert not new.exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    assert main(["loso", str(db), "--model", "baseline", *TINY, "--fold", "s09", "--run-dir", str(existing)]) == 2
    assert existing.is_dir()                                   # a folder that existed before is never removed
    if not torch.cuda.is_available():
        assert main(["loso", str(db), *CMNET_TINY, "--image-size", "32", "--frames", "8", "--cache", "off",
                     "--device", "cuda", "--run-dir", str(new)]) == 2
        assert not new.exists()
    lab = base / "lab"
    if not lab.exists():
        write_synthetic_database(lab, n_subjects=2, clips_per_class=1, image_size=32, labels=("disgust", "repression"))
    ckpt = val_run / "folds" / "s01" / "checkpoints" / "final.pt"
    capsys.readouterr()
    assert main(["train", str(lab), "--from", str(ckpt), "--epochs", "1", "--cache", "off", "--device", "cpu",
                 "--run-dir", str(new)]) == 2
    assert "--new-head" in capsys.readouterr().err and not new.exists()


def test_damaged_result_and_config_are_named_with_what_to_do(val_run, tmp_path, capsys):
    db = val_run.parent / "syn"
    run = tmp_path / "damaged"
    shutil.copytree(val_run, run)
    result = run / "baseline" / "folds" / "s01" / "result.json"
    result.write_text(result.read_text()[:200])
    assert main(["evaluate", str(run)]) == 2
    err = capsys.readouterr().err
    assert f"{result} is not valid JSON (" in err and "delete it to re-run fold s01" in err
    before = _tree(run)
    assert main(["loso", str(db), "--model", "baseline", *TINY, "--fold", "s01", "--run-dir",
                 str(run / "baseline")]) == 2
    assert f"{result} is not valid JSON" in capsys.readouterr().err and _tree(run) == before
    config = run / "config.json"
    config.write_text("{not json")
    for command in (["evaluate", str(run)], ["loso", "--merge", str(run)]):
        assert main(command) == 2
        err = capsys.readouterr().err
        assert f"{config} is not valid JSON (" in err and "restore it" in err and "Traceback" not in err


def test_comparison_says_when_the_baseline_trained_on_more_subjects(val_run, tmp_path, capsys):
    """A run made before the baseline left out CMNet's validation subjects: the table says so."""
    run = tmp_path / "old"
    shutil.copytree(val_run, run)
    result = run / "baseline" / "folds" / "s01" / "result.json"
    data = _read(result)
    data["train_subjects"] = sorted(data["train_subjects"] + data["val_subjects"])
    result.write_text(json.dumps(data))
    assert main(["evaluate", str(run)]) == 0
    out = capsys.readouterr().out
    assert "same test folds; the baseline also trains on CMNet's validation subjects" in out
    assert _read(run / "comparison.json")["same_training"] is False


def test_run_dir_made_by_a_launcher_is_accepted(dbs, tmp_path, capsys):
    """The app's RunProcess writes progress.jsonl and stderr.log before the CLI starts; SLURM writes slurm/."""
    db, _, _ = dbs
    run = tmp_path / "launched"
    (run / "slurm").mkdir(parents=True)
    (run / "cache").mkdir()  # slurm_loso.sh's shared preprocessing cache, made by whichever fold task starts first
    for name in ("progress.jsonl", "stderr.log", "slurm/fold-1-7.out"):
        (run / name).write_text("")
    assert main(["loso", str(db), "--model", "baseline", *TINY, "--run-dir", str(run)]) == 0
    assert (run / "metrics.json").exists() and (run / "progress.jsonl").exists()
