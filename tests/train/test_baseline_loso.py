"""The difference baseline as a LOSO model kind: ``cmnet loso --model baseline`` and ``--with-baseline`` on a tiny
synthetic database (3 subjects × 2 classes × 2 clips, 32 px, N = 8), its saved fold models (JSON, no pickle),
the comparison with CMNet, ``cmnet evaluate`` on both, and the cost (wall time, step time) every run records."""
import json
import pickle

import numpy as np
import pytest

from cmnet_core.cli import main
from cmnet_core.data.database import open_database
from cmnet_core.data.synthetic_writer import write_synthetic_database
from cmnet_core.preprocess.types import PreprocessSettings
from cmnet_core.train.dataset import preprocess_clips
from cmnet_core.train.fidelity import DifferenceBaseline
from cmnet_core.train.loso import LosoError, ensure_config, run_baseline_fold, split_fold
from cmnet_core.train.metrics import confusion_matrix, scores
from cmnet_core.train.run_index import read_run

SUBJECTS = ("s01", "s02", "s03")
TINY = ["--image-size", "32", "--frames", "8", "--cache", "off", "--device", "cpu"]
CMNET_TINY = ["--epochs", "1", "--batch-size", "4"]
#: result.json keys of every fold, CMNet or baseline.
RESULT_KEYS = {"subject", "test_subjects", "test_clips", "y_true", "y_pred", "probabilities", "confusion_matrix", "scores",
               "selected_epoch", "selection", "val_subjects", "train_subjects", "history", "intensity", "checkpoint", "steps",
               "step_s", "wall_s"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The database, a baseline run and a CMNet run with the baseline beside it (both through the CLI)."""
    base = tmp_path_factory.mktemp("baseline")
    db_root = base / "syn"
    write_synthetic_database(db_root, n_subjects=3, clips_per_class=2, image_size=40,
                             labels=("happiness", "surprise"))
    baseline, both = base / "baseline-run", base / "both-run"
    assert main(["loso", str(db_root), "--model", "baseline", *TINY, "--run-dir", str(baseline),
                 "--progress", "jsonl"]) == 0
    assert main(["loso", str(db_root), "--with-baseline", *TINY, *CMNET_TINY, "--run-dir", str(both),
                 "--progress", "jsonl"]) == 0
    return db_root, baseline, both


def _read(path):
    return json.loads(path.read_text())


def test_baseline_run_has_the_run_layout_and_its_uf1_follows_from_the_saved_predictions(runs):
    _, run, _ = runs
    config = _read(run / "config.json")
    assert config["model_kind"] == "baseline" and config["train_config"]["selection"] == "none"
    metrics = _read(run / "metrics.json")
    assert metrics["model_kind"] == "baseline" and metrics["complete"] and metrics["folds_done"] == 3
    y_true, y_pred, mats = [], [], []
    for subject in SUBJECTS:
        res = _read(run / "folds" / subject / "result.json")
        assert set(res) == RESULT_KEYS
        assert res["selected_epoch"] is None and res["history"] == [] and res["steps"] == 0 and res["step_s"] is None
        assert res["wall_s"] > 0 and res["checkpoint"] == str(run / "folds" / subject / "baseline.json")
        assert subject not in res["train_subjects"] and len(res["train_subjects"]) == 2   # the same LOSO folds
        assert res["y_pred"] == np.argmax(res["probabilities"], axis=1).tolist()
        y_true += res["y_true"]
        y_pred += res["y_pred"]
        mats.append(confusion_matrix(res["y_true"], res["y_pred"], 2))
    pooled = scores(confusion_matrix(y_true, y_pred, 2))
    for key in ("accuracy", "uf1", "uar", "paper_f1"):
        assert metrics["pooled"][key] == pytest.approx(pooled[key], abs=1e-12)
    assert metrics["fold_averaged"]["uf1"] == pytest.approx(np.mean([scores(m)["uf1"] for m in mats]), abs=1e-12)
    # these clips carry a clear expression: the regression on apex - onset separates them on unseen faces
    assert metrics["pooled"]["uf1"] > 0.6
    timing = metrics["timing"]
    assert set(timing["fold_wall_s"]) == set(SUBJECTS) and timing["step_s"] is None and timing["steps"] == 0
    assert timing["total_fold_wall_s"] == pytest.approx(sum(timing["fold_wall_s"].values()))
    assert timing["preprocess_wall_s"] > 0 and timing["preprocess_invocations"] == 1


def test_saved_baseline_loads_without_pickle_and_predicts_the_same(runs, monkeypatch):
    db_root, run, _ = runs
    config = _read(run / "config.json")
    db = open_database(db_root)
    samples = preprocess_clips(db.clips, db.labels, PreprocessSettings(**config["preprocess"]))
    train, _, test = split_fold(samples, "s02", 0, config["train_config"]["seed"])

    def refuse(*a, **k):
        raise AssertionError("pickle used")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    loaded = DifferenceBaseline.load(run / "folds" / "s02" / "baseline.json")
    probs = loaded.predict_proba([s.clip for s in test], 2)
    saved = np.asarray(_read(run / "folds" / "s02" / "result.json")["probabilities"])
    assert np.allclose(probs, saved, atol=1e-6)
    # save -> load gives back exactly the fitted model (JSON keeps every bit of the float64 parameters)
    fitted = DifferenceBaseline().fit([s.clip for s in train], [s.label for s in train])
    again = DifferenceBaseline.load(fitted.save(run / "again.json"))
    assert np.array_equal(again.predict_proba([s.clip for s in test], 2),
                          fitted.predict_proba([s.clip for s in test], 2))
    assert np.allclose(fitted.predict_proba([s.clip for s in test], 2), saved, atol=1e-6)
    with pytest.raises(ValueError, match="not a saved difference baseline"):
        bad = run / "bad.json"
        bad.write_text('{"format": "other"}')
        DifferenceBaseline.load(bad)
    # a fold whose training clips hold one class: a clear error naming the fold
    one_class = [s for s in samples if s.subject == "s01" or s.label == 0]
    with pytest.raises(LosoError, match=r"fold s01: the training clips .* hold 1 class\(es\) \(happiness\)"):
        run_baseline_fold(run / "unused", one_class, "s01", db.labels, 0)


def test_with_baseline_compares_both_models_on_the_same_folds(runs, capsys):
    _, _, run = runs
    cm_metrics, bl_metrics = _read(run / "metrics.json"), _read(run / "baseline" / "metrics.json")
    assert _read(run / "config.json")["model_kind"] == "cmnet"
    assert _read(run / "baseline" / "config.json")["model_kind"] == "baseline"
    assert '"status": "finished"' in (run / "baseline" / "log.jsonl").read_text().splitlines()[-1]
    comp = _read(run / "comparison.json")
    assert comp["same_folds"] and comp["folds"] == {"cmnet": list(SUBJECTS), "baseline": list(SUBJECTS)}
    assert len(comp["rows"]) == 8
    for row in comp["rows"]:
        c, b = cm_metrics[row["scope"]][row["metric"]], bl_metrics[row["scope"]][row["metric"]]
        assert (row["cmnet"], row["baseline"]) == (c, b) and row["difference"] == pytest.approx(c - b, abs=1e-12)
    lines = (run / "comparison.csv").read_text().splitlines()
    assert lines[0] == "scope,metric,cmnet,baseline,difference" and len(lines) == 9
    # both fold sets are the same LOSO folds
    for subject in SUBJECTS:
        a = _read(run / "folds" / subject / "result.json")
        b = _read(run / "baseline" / "folds" / subject / "result.json")
        assert a["test_clips"] == b["test_clips"] and a["y_true"] == b["y_true"]
    # the run index shows CMNet's UF1 and the baseline's beside it
    rec = read_run(run)
    assert rec.model_kind == "cmnet" and rec.baseline_scores["uf1"] == bl_metrics["pooled"]["uf1"]
    # cmnet evaluate RUN prints the same comparison; on the baseline run alone it prints its table
    assert main(["evaluate", str(run)]) == 0
    out = capsys.readouterr().out
    assert "CMNet vs difference baseline" in out and "pooled (MEGC) CMNet - baseline" in out
    diff = 100 * (cm_metrics["pooled"]["uf1"] - bl_metrics["pooled"]["uf1"])
    assert f"{diff:+9.2f}" in next(line for line in out.splitlines() if line.startswith("pooled (MEGC) CMNet - "))
    assert main(["evaluate", str(run / "baseline")]) == 0
    out = capsys.readouterr().out
    assert "model baseline" in out and "CMNet vs" not in out
    assert main(["loso", "--with-baseline", "--model", "baseline", str(run)]) == 2  # one baseline is enough


def test_cmnet_folds_record_wall_and_step_time(runs):
    _, _, run = runs
    metrics = _read(run / "metrics.json")
    for subject in SUBJECTS:
        res = _read(run / "folds" / subject / "result.json")
        assert set(res) == RESULT_KEYS and res["selected_epoch"] == 1 and len(res["history"]) == 1
        # 8 training clips, batch 4, 1 epoch: 2 optimiser steps
        assert res["steps"] == 2 and 0 < res["step_s"] < res["wall_s"]
        assert metrics["timing"]["fold_wall_s"][subject] == res["wall_s"]
    timing = metrics["timing"]
    assert timing["steps"] == 6 and timing["step_s"] == pytest.approx(
        np.mean([_read(run / "folds" / s / "result.json")["step_s"] for s in SUBJECTS]))
    assert timing["preprocess_wall_s"] > 0


def test_old_runs_without_model_kind_read_as_cmnet(runs, tmp_path):
    _, _, run = runs
    old = {k: v for k, v in _read(run / "config.json").items() if k != "model_kind"}
    (tmp_path / "config.json").write_text(json.dumps(old))
    new = {**old, "model_kind": "cmnet"}
    assert ensure_config(tmp_path, new)["model_kind"] == "cmnet"   # resuming an old run is not refused
    assert read_run(tmp_path).model_kind == "cmnet"
    with pytest.raises(LosoError, match="--model: \"cmnet\" in the run, \"baseline\" now"):
        ensure_config(tmp_path, {**old, "model_kind": "baseline"})
