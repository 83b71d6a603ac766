"""``cmnet evaluate RUN|CKPT [DB]``: the metrics of a LOSO run folder, or of a checkpoint on a database."""
from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

import numpy as np

from ..train.options import add_database_arguments, add_progress_arguments, say


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``evaluate`` on the ``cmnet`` subparsers."""
    p = subparsers.add_parser(
        "evaluate", help="metrics of a LOSO run, or of a checkpoint tested on a database",
        description="RUN (a cmnet loso run folder, CMNet or baseline): pool its finished folds again and print the "
                    "table (with CMNet beside the baseline when RUN holds baseline/, from --with-baseline). "
                    "CKPT DB: predict every clip of DB with the checkpoint (its preprocessing settings) and write "
                    "accuracy, UF1, UAR, the paper's F1, the confusion matrix and per-class report to --out "
                    "(e.g. cross-database testing; testing on the training data is not an evaluation).")
    p.add_argument("target", help="a LOSO run folder, or a checkpoint file")
    p.add_argument("db", nargs="?", help="database root (needed with a checkpoint)")
    p.add_argument("--out", help="output folder for a checkpoint evaluation (default runs/<date>-evaluate-<db>)")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda ...")
    add_database_arguments(p)
    add_progress_arguments(p)
    p.set_defaults(func=run)
    return p


def _evaluate_checkpoint(args) -> int:
    from ..data.clip import ClipError
    from ..data.database import open_database
    from ..inference import Predictor
    from ..preprocess.errors import PreprocessError
    from ..train.checkpoint import check_compatible
    from ..train.metrics import confusion_matrix, per_class_report, scores
    from ..train.runs import new_run_dir, write_json

    predictor = Predictor.load(args.target, device=args.device)
    db = open_database(args.db, sheet=args.sheet, kind=args.kind, protocol=args.protocol)
    check_compatible(predictor.checkpoint, labels=db.labels)
    out = Path(args.out) if args.out else new_run_dir("runs", f"evaluate-{db.name}")
    out.mkdir(parents=True, exist_ok=True)
    rows, y_true, y_pred = [], [], []
    started = time.perf_counter()
    for i, clip in enumerate(db.clips, start=1):
        try:
            pred = predictor.predict(clip)
        except (PreprocessError, ClipError) as exc:
            rows.append({"subject": clip.subject, "clip": clip.name, "true": clip.label, "predicted": "",
                         "error": str(exc)})
            say(args, f"[{i}/{len(db.clips)}] {clip.subject}/{clip.name}: FAILED: {exc}")
            continue
        y_true.append(db.label_index(clip.label))
        y_pred.append(int(np.argmax(pred.probabilities)))
        rows.append({"subject": clip.subject, "clip": clip.name, "true": clip.label, "predicted": pred.label,
                     "error": ""})
        say(args, f"[{i}/{len(db.clips)}] {clip.subject}/{clip.name}: {pred.label} (true {clip.label})")
    if not y_true:
        print("cmnet evaluate: no clip could be predicted", file=sys.stderr)
        return 2
    cm = confusion_matrix(y_true, y_pred, len(db.labels))
    result = {"checkpoint": args.target, "checkpoint_metadata": {k: predictor.metadata.get(k) for k in
                                                                 ("database", "protocol", "code_version", "date")},
              "database": {"name": db.name, "root": str(db.root), "protocol": db.protocol, "labels": db.labels},
              "scores": scores(cm), "confusion_matrix": cm.tolist(), "per_class": per_class_report(cm, db.labels),
              "failed": [r for r in rows if r["error"]],
              "timing": {"wall_s": round(time.perf_counter() - started, 3), "clips": len(db.clips),
                         "per_clip_s": round((time.perf_counter() - started) / max(1, len(db.clips)), 4),
                         "device": str(predictor.device)}}
    write_json(out / "metrics.json", result)
    with open(out / "predictions.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["subject", "clip", "true", "predicted", "error"])
        w.writeheader()
        w.writerows(rows)
    s = result["scores"]
    say(args, f"{db.name} ({db.protocol}), {s['n']} clips: accuracy {100 * s['accuracy']:.2f} %, UF1 "
              f"{100 * s['uf1']:.2f}, UAR {100 * s['uar']:.2f}, paper F1 {100 * s['paper_f1']:.2f}; "
              f"{result['timing']['wall_s']:.1f} s ({result['timing']['per_clip_s']:.3f} s per clip, preprocessing "
              f"included); written to {out}")
    return 0


def run(args: argparse.Namespace) -> int:
    """0 done, 2 bad input."""
    from ..data.database import DatabaseError
    from ..train.checkpoint import CheckpointError
    from ..train.comparison import comparison_table
    from ..train.loso import merge_with_baseline
    from ..train.loso import LosoError, summary_table

    from ..demo import resolve_checkpoint

    target = Path(args.target)
    try:
        if not target.exists():   # "demo": the shipped synthetic demo model, as in cmnet predict
            args.target = str(resolve_checkpoint(args.target))
            target = Path(args.target)
        if target.is_dir():
            if not (target / "config.json").exists():
                raise LosoError(f"{target} is not a run folder (no config.json)")
            summary, comparison = merge_with_baseline(target)
            say(args, summary_table(summary))
            if comparison:
                say(args, comparison_table(comparison))
            return 0
        if not args.db:
            print("cmnet evaluate: a checkpoint needs a database to test on (cmnet evaluate CKPT DB)", file=sys.stderr)
            return 2
        return _evaluate_checkpoint(args)
    except (DatabaseError, CheckpointError, LosoError, ValueError, OSError) as exc:
        print(f"cmnet evaluate: {exc}", file=sys.stderr)
        return 2
