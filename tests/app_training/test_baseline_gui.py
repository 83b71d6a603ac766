"""The baseline in the training GUI: the dialog's model choice and "also run the baseline" box build the right
request and command line; a CMNet run with a baseline beside it shows the baseline's UF1 next to CMNet's in the
runs table. (A baseline LOSO launched from the dialog: test_training_gui.py.)"""
from __future__ import annotations

import pytest

from app.training.request import TrainingRequest
from app.training.runs_table import RunsTable
from cmnet_core.train.runs import write_json


@pytest.fixture
def dialog(offline_dialog):
    return offline_dialog


def _select(box, key):
    box.setCurrentIndex(box.findData(key))


def test_dialog_model_choice_and_with_baseline_build_the_request(dialog):
    assert [dialog.model.itemData(i) for i in range(dialog.model.count())] == ["cmnet", "baseline"]
    assert dialog.model.itemText(1).startswith("baseline: logistic regression")
    # CMNet LOSO with the baseline beside it
    dialog.with_baseline.setChecked(True)
    req = dialog.request()
    assert (req.model, req.with_baseline) == ("cmnet", True)
    args = req.cli_arguments("/tmp/run")
    assert "--with-baseline" in args and "--model" not in args and "--epochs" in args
    # the baseline alone: no method or training settings, and no second baseline
    _select(dialog.model, "baseline")
    assert not dialog.with_baseline.isEnabled() and not dialog.method_box.isEnabled()
    assert not dialog.epochs.isEnabled() and not dialog.lr.isEnabled()
    req = dialog.request()
    assert (req.model, req.with_baseline, req.run_name()) == ("baseline", False, "loso-baseline-syn")
    args = req.cli_arguments("/tmp/run")
    assert args[:4] == ["loso", "/data/syn", "--model", "baseline"]
    assert not {"--with-baseline", "--epochs", "--lr", "--lambdas", "--tau"} & set(args)
    assert args[args.index("--device") + 1] == "cpu" and "--preset" in args
    # a final model is CMNet whatever the model box says
    _select(dialog.mode, "final")
    assert not dialog.model.isEnabled() and not dialog.with_baseline.isEnabled()
    req = dialog.request()
    assert (req.model, req.with_baseline, req.cli_arguments("/tmp/r")[0]) == ("cmnet", False, "train")
    assert dialog.method_box.isEnabled() and dialog.epochs.isEnabled()
    with pytest.raises(ValueError, match="LOSO evaluation"):
        TrainingRequest(db="/d", mode="final", model="baseline")
    with pytest.raises(ValueError, match="unknown model"):
        TrainingRequest(db="/d", model="svm")


def test_runs_table_shows_the_baseline_uf1_beside_cmnet(qtbot, tmp_path):
    scores = {"accuracy": 0.5, "uf1": 0.4321, "uar": 0.5, "paper_f1": 0.45, "n": 8}
    config = {"kind": "loso", "database": {"name": "casme2", "protocol": "casme2-5", "subjects": ["a", "b"]},
              "train_config": {"epochs": 5}, "model_config": {"image_size": 32}, "created": "2026-12-01T10:00:00"}
    both, old = tmp_path / "20261201-100000-loso", tmp_path / "20261130-100000-loso"
    write_json(both / "config.json", {**config, "model_kind": "cmnet"})
    write_json(both / "metrics.json", {"pooled": scores})
    write_json(both / "baseline" / "config.json", {**config, "model_kind": "baseline"})
    write_json(both / "baseline" / "metrics.json", {"pooled": {**scores, "uf1": 0.6107}})
    write_json(old / "config.json", config)  # written before model kinds existed
    table = RunsTable(tmp_path)
    qtbot.addWidget(table)
    assert table.table.rowCount() == 2   # baseline/ inside a run is not a run of its own
    assert (table.cell(both, "model"), table.cell(both, "UF1 %"), table.cell(both, "baseline UF1 %")) == \
        ("cmnet", "43.21", "61.07")
    assert (table.cell(old, "model"), table.cell(old, "baseline UF1 %")) == ("cmnet", "")
    table.select(both)
    assert "UF1 61.07 %" in table.detail.text()


def test_progress_of_a_baseline_run_and_of_the_baseline_beside_cmnet():
    from app.training.progress import RunProgress

    p = RunProgress(clock=lambda: 0.0)
    p.update({"event": "run_start", "folds": ["s01", "s02"], "device": "cpu"})
    p.update({"event": "preprocess", "done": 4, "total": 4, "clip": "s02/c"})
    assert p.preprocessing()
    p.update({"event": "fold_start", "fold": "s01"})
    assert not p.preprocessing() and p.fraction() == 0.0   # a baseline run: no steps, counted by folds
    p.update({"event": "fold_end", "fold": "s01", "metrics": {"uf1": 0.5}})
    assert p.fraction() == 0.5
    # CMNet with the baseline after it: CMNet's progress stays complete during the baseline's folds
    q = RunProgress(clock=lambda: 0.0)
    q.update({"event": "run_start", "folds": ["s01", "s02"]})
    for fold in ("s01", "s02"):
        q.update({"event": "fold_start", "fold": fold})
        q.update({"event": "epoch_start", "epoch": 1, "epochs": 1, "steps": 2})
        for step in (1, 2):
            q.update({"event": "step", "step": step, "steps": 2, "losses": {"total": 1.0}})
    assert q.fraction() == 1.0
    q.update({"event": "fold_start", "fold": "baseline:s01"})
    assert q.fraction() == 1.0 and q.done_steps() == 4


def test_progress_never_steps_back_at_a_fold_start():
    """fold_start sets epoch 0 until the fold's first epoch_start: the bar must not drop one epoch (review F15)."""
    from app.training.progress import RunProgress

    p = RunProgress(clock=lambda: 0.0)
    p.update({"event": "run_start", "folds": ["fold1", "fold2"]})
    seen = []
    for fold in ("fold1", "fold2"):
        p.update({"event": "fold_start", "fold": fold})
        seen.append(p.done_steps())
        for epoch in (1, 2):
            p.update({"event": "epoch_start", "epoch": epoch, "epochs": 2, "steps": 1})
            seen.append(p.done_steps())
            p.update({"event": "step", "step": 1, "steps": 1, "losses": {"total": 1.0}})
            seen.append(p.done_steps())
        p.update({"event": "fold_end", "fold": fold, "metrics": {"uf1": 0.5}})
        seen.append(p.done_steps())
    assert seen == sorted(seen), seen     # never backwards
    assert seen[5:7] == [2, 2] and p.fraction() == 1.0   # fold2's start keeps fold1's 2 of 4 steps (0.50)
