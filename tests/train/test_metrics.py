"""Metrics against confusion matrices computed by hand (values worked out in the comments)."""
import numpy as np
import pytest

from cmnet_core.train.metrics import confusion_matrix, fold_averaged, loso_summary, per_class_report, scores

# rows = true, columns = predicted
CM3 = np.array([[3, 1, 0],
                [1, 2, 1],
                [0, 0, 2]])
# class 0: TP 3 FP 1 FN 1 -> F1 6/8, R 3/4, P 3/4
# class 1: TP 2 FP 1 FN 2 -> F1 4/7, R 1/2, P 2/3
# class 2: TP 2 FP 1 FN 0 -> F1 4/5, R 1,   P 2/3

FOLD_A = np.array([[2, 1, 0],   # class 1 absent from the ground truth of this fold, but predicted once
                   [0, 0, 0],
                   [1, 0, 1]])
FOLD_B = np.array([[1, 0, 0],
                   [0, 2, 0],
                   [0, 1, 1]])


def test_scores_three_classes():
    s = scores(CM3)
    assert s["n"] == 10
    assert s["accuracy"] == pytest.approx(0.7)
    assert s["uf1"] == pytest.approx((6 / 8 + 4 / 7 + 4 / 5) / 3)
    assert s["uar"] == pytest.approx((3 / 4 + 1 / 2 + 1) / 3)
    p, r = (3 / 4 + 2 / 3 + 2 / 3) / 3, 0.75
    assert s["macro_precision"] == pytest.approx(p)
    assert s["paper_f1"] == pytest.approx(2 * p * r / (p + r))
    assert s["paper_f1"] == pytest.approx(0.721154, abs=1e-6)


def test_absent_class_is_not_scored_but_its_predictions_count():
    s = scores(FOLD_A)
    # class 0: TP 2 FP 1 FN 1 -> F1 2/3, R 2/3, P 2/3 ; class 2: TP 1 FP 0 FN 1 -> F1 2/3, R 1/2, P 1
    assert s["classes_scored"] == 2
    assert s["accuracy"] == pytest.approx(3 / 5)
    assert s["uf1"] == pytest.approx(2 / 3)
    assert s["uar"] == pytest.approx(7 / 12)
    assert s["paper_f1"] == pytest.approx(2 * (5 / 6) * (7 / 12) / (5 / 6 + 7 / 12))
    report = per_class_report(FOLD_A, ["a", "b", "c"])
    assert [r["label"] for r in report] == ["a", "b", "c"]
    assert report[1] == {"label": "b", "support": 0, "predicted": 1, "precision": None, "recall": None, "f1": None}
    assert report[2]["precision"] == pytest.approx(1.0) and report[2]["recall"] == pytest.approx(0.5)


def test_never_predicted_class_has_precision_zero():
    s = scores(np.array([[2, 0], [1, 0]]))
    # class 0: P 2/3 R 1, class 1: P 0 (never predicted) R 0 -> P 1/3, R 1/2
    assert s["macro_precision"] == pytest.approx(1 / 3)
    assert s["uar"] == pytest.approx(0.5)
    assert s["uf1"] == pytest.approx((4 / 5 + 0) / 2)


def test_fold_averaged_and_pooled():
    avg = fold_averaged([FOLD_A, FOLD_B])
    # fold B: acc 4/5; F1 (1, 4/5, 2/3); R (1, 1, 1/2)
    assert avg["accuracy"] == pytest.approx((3 / 5 + 4 / 5) / 2)
    assert avg["uf1"] == pytest.approx((2 / 3 + (1 + 4 / 5 + 2 / 3) / 3) / 2)
    assert avg["uar"] == pytest.approx((7 / 12 + 2.5 / 3) / 2)
    summ = loso_summary({"s1": FOLD_A, "s2": FOLD_B}, ["a", "b", "c"])
    assert summ["confusion_matrix"] == [[3, 1, 0], [0, 2, 0], [1, 1, 2]]
    # pooled: class 0 TP 3 FP 1 FN 1; class 1 TP 2 FP 2 FN 0; class 2 TP 2 FP 0 FN 2
    assert summ["pooled"]["accuracy"] == pytest.approx(0.7)
    assert summ["pooled"]["uf1"] == pytest.approx((6 / 8 + 4 / 6 + 4 / 6) / 3)
    assert summ["pooled"]["uar"] == pytest.approx((3 / 4 + 1 + 1 / 2) / 3)
    assert summ["per_fold"]["s2"]["accuracy"] == pytest.approx(0.8)


def test_confusion_matrix_from_ids_and_errors():
    cm = confusion_matrix([0, 0, 1, 2, 2], [0, 1, 1, 2, 0], 4)
    assert cm.shape == (4, 4)
    assert cm.tolist() == [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]]
    with pytest.raises(ValueError, match="outside"):
        confusion_matrix([0, 5], [0, 1], 3)
    with pytest.raises(ValueError, match="empty"):
        scores(np.zeros((3, 3)))
