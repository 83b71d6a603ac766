"""CMNet beside the difference baseline on the same LOSO folds: one table, ``comparison.json`` and ``.csv``.

A run made with ``cmnet loso DB --with-baseline`` holds the CMNet run at ``<run>/`` and the baseline's own run
folder at ``<run>/baseline/`` (`cmnet_core.train.loso`). Figures: pooled accuracy, UF1, UAR and the paper's F1
(summed confusion matrix, MEGC) and the same figures averaged over folds (the paper's protocol); the difference
is CMNet − baseline, in the same units ([0, 1]; the table prints percentage points).
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

from .runs import write_json

METRICS = ("accuracy", "uf1", "uar", "paper_f1")
SCOPES = ("pooled", "fold_averaged")
#: Folder of the baseline run inside a CMNet run made with ``--with-baseline``.
BASELINE_DIR = "baseline"


def comparison(cmnet: dict, baseline: dict) -> dict:
    """CMNet's and the baseline's merged summaries (`cmnet_core.train.loso.merge`) side by side.

    Returns ``{"rows": [{"scope", "metric", "cmnet", "baseline", "difference"}], "folds": {"cmnet": [...],
    "baseline": [...]}, "same_folds": bool, "same_training": bool | None, "database", "protocol",
    "timing": {"cmnet", "baseline"}}`` with
    ``difference = cmnet − baseline`` (values in [0, 1]). ``same_folds`` is False when the two runs finished
    different folds (their figures then do not compare like for like). The baseline of a ``--with-baseline`` run
    trains on exactly CMNet's training subjects (with ``--selection val`` it leaves out CMNet's validation subjects,
    `cmnet_core.train.loso.run_loso`), so same folds means the same test and training subjects; ``same_training``
    checks it from the folds' ``train_subjects`` (False for a run made before that rule, whose baseline also
    trained on CMNet's validation subjects; None when the summaries do not record them). Raises ``ValueError``
    when the two runs are on different databases, protocols or label lists.
    """
    for key in ("name", "protocol", "labels"):
        if cmnet["database"].get(key) != baseline["database"].get(key):
            raise ValueError(f"the CMNet run and the baseline differ in database {key}: "
                             f"{cmnet['database'].get(key)!r} vs {baseline['database'].get(key)!r}")
    rows = [{"scope": scope, "metric": m, "cmnet": cmnet[scope][m], "baseline": baseline[scope][m],
             "difference": cmnet[scope][m] - baseline[scope][m]} for scope in SCOPES for m in METRICS]
    folds = {"cmnet": sorted(cmnet["per_fold"]), "baseline": sorted(baseline["per_fold"])}
    same = folds["cmnet"] == folds["baseline"]
    trained = [(s.get("train_subjects") or {}).get(f) for s in (cmnet, baseline) for f in folds["cmnet"]]
    known = same and None not in trained
    return {"rows": rows, "folds": folds, "same_folds": same,
            "same_training": (cmnet["train_subjects"] == baseline["train_subjects"]) if known else None,
            "database": cmnet["database"]["name"], "protocol": cmnet["protocol"],
            "timing": {"cmnet": cmnet.get("timing"), "baseline": baseline.get("timing")}}


def write_comparison(run_dir: str | Path, cmnet: dict, baseline: dict) -> dict:
    """`comparison` written to ``<run>/comparison.json`` and ``comparison.csv`` (scope, metric, cmnet,
    baseline, difference); returns it."""
    comp = comparison(cmnet, baseline)
    run_dir = Path(run_dir)
    write_json(run_dir / "comparison.json", comp)
    from ..safe_write import write_text_atomically

    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(["scope", "metric", "cmnet", "baseline", "difference"])
    for r in comp["rows"]:
        w.writerow([r["scope"], r["metric"], *(f"{r[k]:.6f}" for k in ("cmnet", "baseline", "difference"))])
    write_text_atomically(run_dir / "comparison.csv", buf.getvalue())  # unique temporary file, then replaced
    return comp


def comparison_table(comp: dict) -> str:
    """`comparison` as plain text: one line per scope and model, then CMNet − baseline, figures in %."""
    head = f"{'':38s} " + " ".join(f"{m:>9s}" for m in METRICS)
    same = {True: "same folds (test and training subjects)", None: "same test folds",
            False: "same test folds; the baseline also trains on CMNet's validation subjects"}
    rows = [f"CMNet vs difference baseline (logistic regression on apex - onset), {comp['database']} "
            f"({comp['protocol']}), {same[comp.get('same_training')]}, figures in %" if comp["same_folds"] else
            f"CMNet vs difference baseline, {comp['database']} ({comp['protocol']}), figures in %; WARNING: the "
            f"runs finished different folds (CMNet {len(comp['folds']['cmnet'])}, baseline "
            f"{len(comp['folds']['baseline'])}), so the figures do not compare like for like", head]
    by = {(r["scope"], r["metric"]): r for r in comp["rows"]}
    for scope, name in (("pooled", "pooled (MEGC)"), ("fold_averaged", "fold-averaged (paper)")):
        for key, label in (("cmnet", "CMNet"), ("baseline", "baseline"), ("difference", "CMNet - baseline")):
            fmt = "{:+9.2f}" if key == "difference" else "{:9.2f}"
            rows.append(f"{name + ' ' + label:38s} " + " ".join(fmt.format(100 * by[(scope, m)][key])
                                                                for m in METRICS))
    for key, label in (("cmnet", "CMNet"), ("baseline", "baseline")):
        t = (comp.get("timing") or {}).get(key)
        if t and t.get("total_fold_wall_s") is not None:
            rows.append(f"{label} folds: {t['total_fold_wall_s']:.1f} s in all"
                        + (f", {t['step_s']:.3f} s per optimiser step" if t.get("step_s") is not None else ""))
    return "\n".join(rows)
