"""A LOSO or evaluate run shows its confusion matrix and per-class F1 as a figure in the runs view; PNG and
SVG export."""
from __future__ import annotations

import json

import numpy as np
from PySide6.QtGui import QImage

from app.training.runs_table import RunsTable
from cmnet_core.cli import main
from cmnet_core.train.metrics import loso_summary
from cmnet_core.train.run_index import confusion_results
from cmnet_core.train.runs import write_json


def test_evaluate_and_loso_runs_show_their_confusion_matrix(qtbot, tmp_path, synth_root):
    runs = tmp_path / "runs"
    ev = runs / "20261204-120000-evaluate-demo"
    assert main(["evaluate", "demo", str(synth_root), "--out", str(ev), "--device", "cpu"]) == 0
    metrics = json.loads((ev / "metrics.json").read_text())
    labels = metrics["database"]["labels"]
    loso = runs / "20261204-110000-loso"
    folds = {"s01": np.array([[2, 0], [1, 1]]), "s02": np.array([[1, 1], [0, 2]])}
    write_json(loso / "config.json", {"kind": "loso", "database": {"name": "syn", "protocol": "p"},
                                      "created": "2026-12-04T11:00:00"})
    write_json(loso / "metrics.json", loso_summary(folds, ["happiness", "surprise"]))

    res = confusion_results(loso)
    assert res["confusion_matrix"] == [[3, 1], [1, 3]] and res["labels"] == ["happiness", "surprise"]
    assert res["f1"] == [0.75, 0.75] and res["scope"].startswith("all test clips, pooled")

    table = RunsTable(runs)
    qtbot.addWidget(table)
    assert [r.kind for r in table.records] == ["evaluate", "loso"]   # the evaluation is listed as a run
    table.select(ev)
    shown = table.figure.results
    assert shown["confusion_matrix"] == metrics["confusion_matrix"] and shown["labels"] == labels
    assert shown["scope"] == "the evaluated clips" and table.figure.save_button.isEnabled()
    assert f"({int(np.sum(metrics['confusion_matrix']))} clips)" in table.figure.title.text()
    table.select(loso)
    assert table.figure.results["confusion_matrix"] == [[3, 1], [1, 3]]

    png = table.figure.export(tmp_path / "cm.png")
    img = QImage(str(png))
    assert img.width() >= 800 and img.height() > 100
    svg = table.figure.export(tmp_path / "cm.svg").read_text()
    assert "<svg" in svg and "surprise" in svg and "F1 per class" in svg
    # an asymmetric matrix: cell (true t, predicted p) is drawn at row t, column p, shaded by its share of row t
    table.figure.show_results({"labels": ["a", "b"], "confusion_matrix": [[3, 1], [0, 4]], "f1": [0.86, 0.89],
                               "scope": "test"})
    image = next(i for i in table.figure.graphics.ci.getItem(0, 0).items if type(i).__name__ == "ImageItem")
    rect = image.mapRectToView(image.boundingRect())
    assert image.axisOrder == "row-major" and (rect.width(), rect.height()) == (2, 2)
    assert np.allclose(image.image, [[0.75, 0.25], [0.0, 1.0]])


def test_runs_without_results_show_none(qtbot, tmp_path):
    run = tmp_path / "20261204-final"
    write_json(run / "config.json", {"kind": "final"})
    write_json(run / "metrics.json", {"held_out": None, "checkpoint": "x"})
    assert confusion_results(run) is None
    table = RunsTable(tmp_path)
    qtbot.addWidget(table)
    table.select(run)
    assert table.figure.results is None and not table.figure.save_button.isEnabled()
