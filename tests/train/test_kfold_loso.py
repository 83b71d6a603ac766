"""Subject-grouped k-fold in ``cmnet loso --k-folds K``: the split (natural name order, rank mod K), the honesty
guarantee for groups, a tiny 2-fold run with the baseline beside CMNet (4 subjects × 2 classes × 1 clip, 32 px,
N = 8, 1 epoch), fold selection by name, resuming, and old LOSO run folders that still merge as LOSO."""
import json
import shutil

import numpy as np
import pytest

from cmnet_core.cli import main
from cmnet_core.preprocess.types import PreprocessedClip, PreprocessSettings
from cmnet_core.train.dataset import Sample
from cmnet_core.train.loso import LosoError, ensure_config, kfold_folds, merge, natural_key, run_folds, split_fold
from cmnet_core.data.synthetic_writer import write_synthetic_database
from cmnet_core.train.run_index import read_run

TINY = ["--image-size", "32", "--frames", "8", "--cache", "off", "--device", "cpu"]
CMNET_TINY = ["--epochs", "1", "--batch-size", "4"]
SUBJECTS = ("s01", "s02", "s03", "s04")
FOLDS = {"fold1": ["s01", "s03"], "fold2": ["s02", "s04"]}


def _read(path):
    return json.loads(path.read_text())


def test_kfold_assignment_is_rank_mod_k_in_natural_order():
    subjects = ["s10", "s2", "s1", "s11", "s3", "s20", "s4"]          # first-seen order of a sheet
    assert sorted(subjects, key=natural_key) == ["s1", "s2", "s3", "s4", "s10", "s11", "s20"]
    folds = kfold_folds(subjects, 3)
    assert folds == {"fold1": ["s1", "s4", "s20"], "fold2": ["s2", "s10"], "fold3": ["s3", "s11"]}
    # CASME II-like zero-padded names, 25 subjects in 5 folds: each tested exactly once, 5 per fold
    casme = [f"sub{i:02d}" for i in (26, *range(1, 25))]
    folds = kfold_folds(casme, 5)
    tested = [s for group in folds.values() for s in group]
    assert sorted(tested) == sorted(casme) and len(set(tested)) == 25
    assert [len(g) for g in folds.values()] == [5] * 5
    assert folds["fold1"] == ["sub01", "sub06", "sub11", "sub16", "sub21"]
    assert folds["fold5"] == ["sub05", "sub10", "sub15", "sub20", "sub26"]
    # LOSO keeps the database's order, one subject per fold named after it
    assert run_folds(["b", "a"]) == ("loso", {"b": ["b"], "a": ["a"]})
    assert run_folds(["b", "a"], 2) == ("k-fold", {"fold1": ["a"], "fold2": ["b"]})


@pytest.mark.parametrize("k, message", [(1, "at least 2 folds"), (0, "at least 2 folds"),
                                        (5, "only 4 subjects, so at most 4 folds")])
def test_bad_k_is_a_clear_error(k, message):
    with pytest.raises(LosoError, match=message):
        kfold_folds(SUBJECTS, k)


def _samples():
    pre = PreprocessedClip(np.zeros((2, 16, 16, 3), np.uint8), np.arange(2.0), 0, "annotated", "none",
                           PreprocessSettings(image_size=16, num_frames=2))
    return [Sample(pre, k % 3, f"s{s}", f"c{s}_{k}") for s in range(7) for k in range(3)]


def test_grouped_split_keeps_every_test_subject_out_of_training_and_validation():
    group = ["s1", "s4"]
    train, val, test = split_fold(_samples(), group, 2, seed=3, fold="fold2")
    assert {s.subject for s in test} == set(group) and len(test) == 6
    val_subjects = {s.subject for s in val}
    assert len(val_subjects) == 2 and not val_subjects & set(group)          # validation from training subjects
    assert not {s.subject for s in train} & (val_subjects | set(group))
    assert len(train) + len(val) + len(test) == 21
    again = split_fold(_samples(), group, 2, seed=3, fold="fold2")[1]
    assert [s.name for s in again] == [s.name for s in val]
    with pytest.raises(LosoError, match="'s9'"):
        split_fold(_samples(), ["s1", "s9"], 0, 0)
    with pytest.raises(LosoError, match="cannot spare"):
        split_fold(_samples(), ["s0", "s1", "s2", "s3", "s4"], 2, 0)


@pytest.fixture(scope="module")
def kfold_run(tmp_path_factory):
    """A 2-fold CMNet run with the baseline beside it, through the CLI."""
    base = tmp_path_factory.mktemp("kfold")
    db_root = base / "syn"
    write_synthetic_database(db_root, n_subjects=4, clips_per_class=1, image_size=40,
                             labels=("happiness", "surprise"))
    run = base / "run"
    assert main(["loso", str(db_root), "--k-folds", "2", "--with-baseline", *TINY, *CMNET_TINY,
                 "--run-dir", str(run), "--progress", "jsonl"]) == 0
    return db_root, run


def test_two_fold_run_writes_fold_folders_and_merges_all_clips(kfold_run, capsys):
    db_root, run = kfold_run
    config = _read(run / "config.json")
    assert config["split"] == "k-fold" and config["folds"] == FOLDS
    assert sorted(p.name for p in (run / "folds").iterdir()) == ["fold1", "fold2"]
    for name, subjects in FOLDS.items():
        res = _read(run / "folds" / name / "result.json")
        assert res["subject"] == name and res["test_subjects"] == subjects
        assert {c.split("_")[0] for c in res["test_clips"]} == {"happiness", "surprise"} and len(res["y_true"]) == 4
        assert not set(res["train_subjects"]) & set(subjects)
        assert sorted(res["train_subjects"] + subjects) == list(SUBJECTS)
        assert not (run / "folds" / name / "checkpoints").exists()   # fold models are kept only when asked
    metrics = _read(run / "metrics.json")
    assert metrics["split"] == "k-fold" and metrics["folds"] == FOLDS and metrics["complete"]
    assert metrics["pooled"]["n"] == 8 and sorted(metrics["per_fold"]) == ["fold1", "fold2"]
    assert sorted(metrics["timing"]["fold_wall_s"]) == ["fold1", "fold2"]
    # 4 training clips, batch 4, 1 epoch: one optimiser step per fold
    assert metrics["timing"]["steps"] == 2
    # cmnet evaluate RUN pools it again; the table names the split and the test subjects
    assert main(["evaluate", str(run)]) == 0
    out = capsys.readouterr().out
    assert "2-fold grouped by subject" in out and "test subjects: fold1 s01, s03; fold2 s02, s04" in out
    assert "CMNet vs difference baseline" in out and "same folds" in out
    assert read_run(run).folds_total == 2 and read_run(run).folds_done == 2
    # job arrays: the fold names
    assert main(["loso", str(db_root), "--k-folds", "2", "--list-subjects"]) == 0
    assert capsys.readouterr().out.split() == ["fold1", "fold2"]


def test_with_baseline_uses_the_same_folds(kfold_run):
    _, run = kfold_run
    bconfig = _read(run / "baseline" / "config.json")
    assert bconfig["split"] == "k-fold" and bconfig["folds"] == FOLDS
    for name in FOLDS:
        a = _read(run / "folds" / name / "result.json")
        b = _read(run / "baseline" / "folds" / name / "result.json")
        assert a["test_subjects"] == b["test_subjects"] and a["test_clips"] == b["test_clips"]
        assert a["y_true"] == b["y_true"] and b["train_subjects"] == a["train_subjects"]  # no validation: same
    comp = _read(run / "comparison.json")
    assert comp["same_folds"] and comp["folds"] == {"cmnet": ["fold1", "fold2"], "baseline": ["fold1", "fold2"]}


def test_fold_selection_by_name_resume_and_mismatched_split(kfold_run, tmp_path, capsys):
    db_root, _ = kfold_run
    run = tmp_path / "bl"
    args = ["loso", str(db_root), "--k-folds", "2", "--model", "baseline", *TINY, "--run-dir", str(run)]
    assert main([*args, "--fold", "fold2"]) == 0
    metrics = _read(run / "metrics.json")
    assert metrics["folds_missing"] == ["fold1"] and not metrics["complete"] and metrics["pooled"]["n"] == 4
    assert main([*args, "--fold", "fold1"]) == 0                       # the second job of the array
    metrics = _read(run / "metrics.json")
    assert metrics["complete"] and metrics["pooled"]["n"] == 8
    capsys.readouterr()
    assert main([*args, "--fold", "s01"]) == 2                          # subjects are not fold names here
    assert "unknown fold(s) s01; the k-fold split has fold1, fold2" in capsys.readouterr().err
    # the same folder with another split is refused, not mixed
    other = ["loso", str(db_root), "--model", "baseline", *TINY, "--run-dir", str(run)]
    assert main([*other, "--k-folds", "3"]) == 2
    assert "other settings (--k-folds: 2 in the run, 3 now)" in capsys.readouterr().err
    assert main(other) == 2
    assert 'other settings (--k-folds: "k-fold" in the run, "loso" now)' in capsys.readouterr().err
    # bad K on the command line: exit 2 with the reason, nothing run
    assert main(["loso", str(db_root), "--k-folds", "5", *TINY, "--run-dir", str(tmp_path / "x")]) == 2
    assert "only 4 subjects, so at most 4 folds" in capsys.readouterr().err
    assert main(["loso", str(db_root), "--k-folds", "1", "--list-subjects"]) == 2
    assert "at least 2 folds" in capsys.readouterr().err


def test_old_loso_run_without_split_merges_and_resumes_as_loso(kfold_run, tmp_path):
    db_root, _ = kfold_run
    run = tmp_path / "loso"
    assert main(["loso", str(db_root), "--model", "baseline", *TINY, "--run-dir", str(run)]) == 0
    config = _read(run / "config.json")
    assert config["split"] == "loso" and config["folds"] == {s: [s] for s in SUBJECTS}
    old = {k: v for k, v in config.items() if k not in ("split", "folds")}   # as written before k-fold existed
    (run / "config.json").write_text(json.dumps(old))
    summary = merge(run)
    assert summary["split"] == "loso" and sorted(summary["per_fold"]) == list(SUBJECTS)
    assert summary["pooled"]["n"] == 8 and summary["complete"]
    assert ensure_config(run, config)["split"] == "loso"                  # resuming it with new code is allowed
    shutil.rmtree(run / "folds" / "s02")
    assert main(["loso", str(db_root), "--model", "baseline", *TINY, "--run-dir", str(run)]) == 0
    assert _read(run / "metrics.json")["complete"] and "split" not in _read(run / "config.json")
