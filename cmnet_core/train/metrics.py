"""Classification metrics for micro-expression recognition from confusion matrices.

Conventions (DESIGN.md §5):

* A confusion matrix ``cm`` has shape (C, C) over the protocol's *full* label list, rows = true class,
  columns = predicted class, so a class absent from one fold never changes the matrix shape.
* **UF1** and **UAR** follow the MEGC 2019 definitions (See et al., "MEGC 2019 – the second facial
  micro-expressions grand challenge"): the unweighted mean, over classes, of the per-class F1
  ``2TP / (2TP + FP + FN)`` and of the per-class recall ``TP / (TP + FN)``.
  **Classes are those with support** (at least one true sample): a class absent from the ground truth of a
  fold has neither a defined recall nor a meaningful F1, and the MEGC scripts average over the classes present
  in the ground truth. Its wrongly predicted samples still count: they are false negatives of their true
  classes. On a pooled LOSO matrix every protocol class has support, so the choice only matters per fold.
* The **paper's F1** (Wei et al., AAAI 2023, Tables 1–3) is ``2PR / (P + R)`` of macro precision P and macro
  recall R over the same classes; a class with support that is never predicted has precision 0.
* **Fold-averaged** figures are the mean over folds of each fold's figures (the paper's protocol);
  **pooled** figures come from the sum of the fold matrices (MEGC protocol).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np


def confusion_matrix(y_true: Iterable[int], y_pred: Iterable[int], num_classes: int) -> np.ndarray:
    """Confusion matrix (C, C) of int64 counts, rows = true class id, columns = predicted class id.

    Raises ``ValueError`` when the two sequences differ in length or hold an id outside 0..C-1.
    """
    t = np.asarray(list(y_true), dtype=np.int64)
    p = np.asarray(list(y_pred), dtype=np.int64)
    if t.shape != p.shape:
        raise ValueError(f"{t.size} true labels but {p.size} predictions")
    for name, a in (("true", t), ("predicted", p)):
        if a.size and (a.min() < 0 or a.max() >= num_classes):
            raise ValueError(f"a {name} class id is outside 0..{num_classes - 1}: {sorted(set(a.tolist()))}")
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    return cm


def _per_class(cm: np.ndarray) -> dict[str, np.ndarray]:
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    fp = predicted - tp
    fn = support - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        recall = np.where(support > 0, tp / support, np.nan)
        precision = np.where(predicted > 0, tp / np.where(predicted > 0, predicted, 1), 0.0)
        f1 = np.where(support > 0, 2 * tp / np.where(2 * tp + fp + fn > 0, 2 * tp + fp + fn, 1), np.nan)
    precision = np.where(support > 0, precision, np.nan)
    return {"tp": tp, "support": support, "predicted": predicted,
            "precision": precision, "recall": recall, "f1": f1}


def scores(cm: np.ndarray) -> dict[str, float]:
    """Accuracy, UF1, UAR and the paper's F1 of one confusion matrix (C, C); values in [0, 1].

    Returns ``{"accuracy", "uf1", "uar", "macro_precision", "macro_recall", "paper_f1", "n", "classes_scored"}``;
    ``classes_scored`` is the number of classes with support the macro figures average over.
    Raises ``ValueError`` for an empty or non-square matrix.
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"a confusion matrix must be square, got shape {cm.shape}")
    n = int(cm.sum())
    if n == 0:
        raise ValueError("the confusion matrix is empty (no samples)")
    pc = _per_class(cm)
    has = pc["support"] > 0
    p = float(np.mean(pc["precision"][has]))
    r = float(np.mean(pc["recall"][has]))
    return {
        "accuracy": float(pc["tp"].sum() / n),
        "uf1": float(np.mean(pc["f1"][has])),
        "uar": r,
        "macro_precision": p,
        "macro_recall": r,
        "paper_f1": 2 * p * r / (p + r) if p + r > 0 else 0.0,
        "n": n,
        "classes_scored": int(has.sum()),
    }


def per_class_report(cm: np.ndarray, labels: Sequence[str]) -> list[dict]:
    """One row per label of the full list: ``label, support, predicted, precision, recall, f1``.

    Precision/recall/F1 are ``None`` for a class without support (not scored, see module notes).
    Raises ``ValueError`` when ``labels`` does not match the matrix size.
    """
    cm = np.asarray(cm)
    if len(labels) != cm.shape[0]:
        raise ValueError(f"{len(labels)} labels for a {cm.shape[0]}-class confusion matrix")
    pc = _per_class(cm)

    def val(x: float) -> float | None:
        return None if np.isnan(x) else float(x)

    return [{"label": lab, "support": int(pc["support"][i]), "predicted": int(pc["predicted"][i]),
             "precision": val(pc["precision"][i]), "recall": val(pc["recall"][i]), "f1": val(pc["f1"][i])}
            for i, lab in enumerate(labels)]


def fold_averaged(fold_matrices: Sequence[np.ndarray]) -> dict[str, float]:
    """Mean over folds of each fold's accuracy, UF1, UAR and paper F1 (the paper's LOSO protocol).

    Raises ``ValueError`` when no fold is given.
    """
    if not fold_matrices:
        raise ValueError("no folds to average")
    per = [scores(cm) for cm in fold_matrices]
    return {k: float(np.mean([s[k] for s in per])) for k in ("accuracy", "uf1", "uar", "paper_f1")}


def loso_summary(fold_matrices: dict[str, np.ndarray], labels: Sequence[str]) -> dict:
    """Pooled and fold-averaged figures of a LOSO run.

    fold_matrices : subject -> its (C, C) test confusion matrix (full label list).
    Returns ``{"pooled": scores, "fold_averaged": ..., "per_fold": {subject: scores}, "confusion_matrix":
    list of lists, "per_class": per_class_report, "labels": [...]}``.
    """
    mats = [np.asarray(m) for m in fold_matrices.values()]
    pooled = np.sum(mats, axis=0)
    return {
        "labels": list(labels),
        "pooled": scores(pooled),
        "fold_averaged": fold_averaged(mats),
        "per_fold": {s: scores(m) for s, m in fold_matrices.items()},
        "confusion_matrix": pooled.astype(int).tolist(),
        "per_class": per_class_report(pooled, labels),
    }
