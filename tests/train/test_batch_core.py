"""cmnet_core.batch: the per-clip rows shared by ``cmnet predict`` and the app, and `predict_many` (failed clips
go on, cancel stops, names made unique) with a stand-in predictor (no model)."""
import csv
import io

import numpy as np
import pytest

from cmnet_core.batch import BatchItem, predict_many, prediction_row, row_columns, safe_ident
from cmnet_core.data.clip import Annotation, Clip
from cmnet_core.inference import Prediction, PredictionCancelled
from cmnet_core.preprocess.errors import NoFaceError


class Source:
    def __init__(self, path="/data/v.mp4", n=10):
        from pathlib import Path

        self.path, self.frame_numbers, self.fps, self.size = Path(path), list(range(n)), 30.0, (8, 8)
        self.closed = 0

    def read(self, number):
        return np.zeros((8, 8, 3), np.uint8)

    def close(self):
        self.closed += 1


def clip(name, subject="s1", label="happiness", apex=4):
    return Clip(Source(f"/data/{name}"), name=name, subject=subject,
                annotation=Annotation(onset=1, apex=apex, offset=8, emotion=label))


class FakePredictor:
    """Predicts a fixed curve; clips named in ``no_face`` raise NoFaceError; ``cancel_at`` cancels there."""

    device = "cpu"
    labels = ["happiness", "surprise"]

    def __init__(self, no_face=(), cancel_at=None):
        self.no_face, self.cancel_at, self.seen = set(no_face), cancel_at, []

    def predict(self, c, progress=None, cancel=None):
        self.seen.append(c.name)
        progress(0.5, "preprocessing")
        if c.name == self.cancel_at:
            raise PredictionCancelled("stop")
        if c.name in self.no_face:
            raise NoFaceError(f"{c.name}: no face found in the first frames")
        return Prediction(labels=self.labels, probabilities=np.array([0.25, 0.75]),
                          intensity=np.array([0.1, 0.9, 0.3]), proto_mean=np.zeros(3), proto_sigma=np.ones(3),
                          frame_map=np.array([1.0, 4.0, 7.5]), apex_position=1, fps=30.0, clip_name=c.name,
                          source=str(c.path), apex_change=1.23456,
                          provenance={"apex_source": "spotted", "apex_spotter": "flow", "apex_confidence": 0.8,
                                      "preprocess_backend": "hint", "notes": ["a", "b"]})


def test_rows_failures_and_unique_names():
    items = [BatchItem("s1 clip/1", "/data/a", clip("a")), BatchItem("gone", "/data/gone", None, "does not exist"),
             BatchItem("s1 clip/1", "/data/b", clip("b")), BatchItem("张三", "/data/c", clip("c", subject="张"))]
    predictor = FakePredictor(no_face={"b"})
    fractions = []
    starts = []
    results = list(predict_many(predictor, items, progress=lambda f, m: fractions.append((f, m)),
                                started=lambda i, n, ident, src: starts.append((i, n, ident))))
    assert [r.ident for r in results] == ["s1_clip_1", "gone", "s1_clip_1-2", "张三"]
    assert starts == [(1, 4, "s1_clip_1"), (2, 4, "gone"), (3, 4, "s1_clip_1-2"), (4, 4, "张三")]
    assert [r.row["status"] for r in results] == ["done", "failed", "failed", "done"]
    assert results[1].row["error"] == "does not exist" and results[1].clip is None
    assert "no face found" in results[2].row["error"] and results[2].row["subject"] == "s1"
    assert results[2].row["true_label"] == "happiness" and results[2].prediction is None
    row = results[0].row
    assert row["label"] == "surprise" and row["p_happiness"] == 0.25 and row["p_surprise"] == 0.75
    assert row["annotated_apex"] == 4 and row["apex_frame"] == 4.0 and row["k_peak_frame"] == 4.0
    assert row["apex_confidence"] == 0.8 and row["apex_change"] == 1.2346 and row["notes"] == "a; b"
    assert row["subject"] == "s1" and row["device"] == "cpu" and results[3].row["subject"] == "张"
    # every clip's source closed once (the CLI's clips are its own); progress over the whole run
    assert all(item.clip.source.closed == 1 for item in items if item.clip is not None)
    assert (0.125, "clip 1/4 s1_clip_1: preprocessing") in fractions and fractions[-1][0] == 1.0
    # the CSV header: every key, failed rows first seen included
    assert row_columns([results[1].row, row])[:6] == ["clip", "subject", "source", "status", "error", "seconds"]
    assert row_columns([row])[-2:] == ["p_happiness", "p_surprise"]


def test_cancel_stops_the_run_and_close_false_keeps_sources():
    items = [BatchItem(n, f"/data/{n}", clip(n)) for n in "abc"]
    predictor = FakePredictor(cancel_at="b")
    got = []
    with pytest.raises(PredictionCancelled):
        for r in predict_many(predictor, iter(items), close=False, count=3):
            got.append(r.ident)
    assert got == ["a"] and predictor.seen == ["a", "b"]
    assert all(item.clip.source.closed == 0 for item in items)
    with pytest.raises(PredictionCancelled):
        list(predict_many(FakePredictor(), items, cancel=lambda: True))


def test_safe_ident_and_prediction_row_without_annotation():
    used = set()
    assert [safe_ident(x, used) for x in ("a b", "a_b", "a?b", "é.mp4")] == ["a_b", "a_b-2", "a_b-3", "é.mp4"]
    c = Clip(Source(), name="v")
    row = prediction_row(FakePredictor().predict(c, progress=lambda *a: None), c, "v", 0.12345, "cuda:0")
    assert row["annotated_apex"] == "" and row["true_label"] == "" and row["seconds"] == 0.123
    text = io.StringIO()
    w = csv.DictWriter(text, fieldnames=row_columns([row]))
    w.writeheader()
    w.writerow(row)
    assert next(csv.DictReader(io.StringIO(text.getvalue())))["device"] == "cuda:0"


def test_columns_keep_the_prediction_order_when_a_failed_row_comes_first():
    from cmnet_core.batch import row_columns

    failed = {"clip": "a", "subject": "s", "source": "x", "status": "failed", "error": "e", "seconds": 0,
              "true_label": "t"}
    done = {"clip": "b", "subject": "s", "source": "y", "status": "done", "error": "", "seconds": 1, "label": "l",
            "true_label": "t", "p_l": 1.0}
    assert row_columns([failed, done]) == list(done)
