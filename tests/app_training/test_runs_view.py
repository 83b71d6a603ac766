"""The runs table names a run's split and never puts an unmarked baseline UF1 beside CMNet's when the two were
pooled over different folds (review F1, F2)."""
from __future__ import annotations

from app.training.runs_table import HEADERS, RunsTable
from cmnet_core.train.run_index import read_run
from cmnet_core.train.runs import write_json

SCORES = {"accuracy": 0.5, "uf1": 0.5, "uar": 0.5, "paper_f1": 0.5, "n": 16}
DB = {"name": "rt", "protocol": "synthetic-4", "subjects": ["p1", "p2", "p3", "p4"]}


def _loso(run, model_kind="cmnet", split="k-fold", folds=None, done=(), preprocess=32, model_px=32):
    folds = folds or {"fold1": ["p1", "p3"], "fold2": ["p2", "p4"]}
    config = {"kind": "loso", "model_kind": model_kind, "split": split, "folds": folds, "database": DB,
              "train_config": {"epochs": 2}, "model_config": {"image_size": model_px},
              "preprocess": {"image_size": preprocess, "num_frames": 8}, "created": "2026-12-04T10:00:00"}
    write_json(run / "config.json", config)
    write_json(run / "metrics.json", {"pooled": SCORES})
    for fold in done:
        write_json(run / "folds" / fold / "result.json", {"fold": fold})


def test_baseline_uf1_on_fewer_folds_is_marked_partial(qtbot, tmp_path):
    partial, same = tmp_path / "20261204-cm", tmp_path / "20261204-same"
    _loso(partial, done=("fold1", "fold2"))     # CMNet finished both folds ...
    _loso(partial / "baseline", "baseline", done=("fold2",), model_px=16)   # ... the baseline only fold2
    write_json(partial / "baseline" / "metrics.json", {"pooled": {**SCORES, "uf1": 0.2727}})
    _loso(same, done=("fold1", "fold2"))
    _loso(same / "baseline", "baseline", done=("fold1", "fold2"), model_px=16)
    write_json(same / "baseline" / "metrics.json", {"pooled": {**SCORES, "uf1": 0.2727}})
    rec = read_run(partial)
    assert rec.baseline_folds_done == 1 and "1 of 2 folds (fold2)" in rec.baseline_mismatch
    assert read_run(same).baseline_mismatch == ""
    table = RunsTable(tmp_path)
    qtbot.addWidget(table)
    assert table.cell(partial, "UF1 %") == "50.00"
    assert table.cell(partial, "baseline UF1 %") == "27.27 (1/2 folds)"
    assert table.cell(same, "baseline UF1 %") == "27.27"   # same folds: the plain figure
    item = table.table.item(table.row_of(partial), HEADERS.index("baseline UF1 %"))
    assert "Not comparable" in item.toolTip()
    table.select(partial)
    assert "NOT comparable" in table.detail.text() and "1 of 2 folds" in table.detail.text()
    table.select(same)
    assert "same folds" in table.detail.text()


def test_kfold_runs_are_named_as_k_fold_and_say_what_each_fold_misses(qtbot, tmp_path):
    kf, lo, bl = tmp_path / "20261204-kf", tmp_path / "20261204-lo", tmp_path / "20261204-bl"
    _loso(kf, folds={"fold1": ["p1", "p3"], "fold2": ["p2", "p4"]}, done=("fold1", "fold2"))
    _loso(lo, split="loso", folds={s: [s] for s in DB["subjects"]})
    _loso(bl, "baseline", folds={"fold1": ["p1", "p3"], "fold2": ["p2", "p4"]}, preprocess=48, model_px=16)
    assert read_run(kf).split_label() == "2-fold by subject" and read_run(lo).split_label() == "LOSO"
    table = RunsTable(tmp_path)
    qtbot.addWidget(table)
    assert (table.cell(kf, "kind"), table.cell(kf, "scored on")) == ("2-fold", "2-fold pooled")
    assert (table.cell(lo, "kind"), table.cell(lo, "scored on")) == ("loso", "LOSO pooled")
    table.select(kf)
    text = table.detail.text()
    assert "2-fold by subject" in text and "misses one subject" not in text and "LOSO" not in text
    assert "misses its fold's test subjects (2 of 4 subjects; fold1: p1, p3; fold2: p2, p4)" in text
    table.select(lo)
    assert "A LOSO run" in table.detail.text() and "one test subject" in table.detail.text()
    # a baseline run: the px column is the preprocessing size it used, not its 16 px features
    assert table.cell(bl, "px") == "48" and table.cell(bl, "kind") == "2-fold"
    table.select(bl)
    assert "16×16 apex − onset difference of 48 px crops" in table.detail.text()
