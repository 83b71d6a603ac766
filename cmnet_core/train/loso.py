"""Leave-one-subject-out (LOSO) evaluation: one fold per subject, folds runnable alone, merged into one table.

Run folder layout::

    <run>/config.json                      everything that defines the run (written once, checked by every fold)
    <run>/folds/<subject>/result.json      test labels, predictions, probabilities, scores, history of one fold
    <run>/folds/<subject>/checkpoints/     last.pt (resume), best.pt (validation selection), final.pt;
                                           only final.pt is kept once the fold's result.json is written
    <run>/metrics.json, metrics.csv, per_class.csv   written by `merge`

Honesty rules (DESIGN.md §5): no clip of the test subject is trained on or used for model selection (asserted);
selection is by fixed epochs or by validation subjects drawn from the training subjects; the "oracle" figure
(best epoch chosen on the test subject) is only ever written beside the honest one, labelled as optimistic.
"""
from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from .callbacks import Callback, Callbacks, to_plain
from .checkpoint import code_version, now_iso
from .dataset import Sample
from .metrics import confusion_matrix, loso_summary, scores
from .runs import read_json, write_json
from .trainer import FitResult, Trainer, TrainConfig, describe_device, predict_samples, resolve_device

ORACLE_NOTE = ("oracle: for every fold the epoch with the best accuracy ON THE TEST SUBJECT was picked; this leaks "
               "test information and overstates performance. Report the honest figures; this one only shows the gap.")


class LosoError(Exception):
    """A LOSO run cannot proceed (unknown subject, settings differing from the run's config.json, no folds)."""


def fold_dirname(subject: str) -> str:
    """Folder name of a subject's fold (``"casme2/sub01"`` -> ``"casme2__sub01"``)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", subject.replace("/", "__"))


def split_fold(samples: Sequence[Sample], test_subject: str, val_count: int, seed: int
               ) -> tuple[list[Sample], list[Sample], list[Sample]]:
    """(train, val, test) for one LOSO fold.

    test = the clips of ``test_subject``; val = the clips of ``val_count`` training subjects drawn with ``seed``
    (never the test subject); train = the rest. Raises `LosoError` for an unknown subject or too few subjects.
    """
    subjects = list(dict.fromkeys(s.subject for s in samples))
    if test_subject not in subjects:
        raise LosoError(f"subject {test_subject!r} is not in the database; subjects: {', '.join(subjects)}")
    others = [s for s in subjects if s != test_subject]
    if len(others) <= val_count:
        raise LosoError(f"{len(others)} training subjects cannot spare {val_count} for validation")
    rng = np.random.default_rng([int(seed), sum(map(ord, test_subject))])
    val_subjects = set(rng.choice(others, size=val_count, replace=False).tolist()) if val_count else set()
    test = [s for s in samples if s.subject == test_subject]
    val = [s for s in samples if s.subject in val_subjects]
    train = [s for s in samples if s.subject != test_subject and s.subject not in val_subjects]
    # the LOSO guarantee: nothing of the test subject reaches training or model selection
    assert not {s.subject for s in train + val} & {test_subject}, "test subject leaked into training"
    return train, val, test


def run_config(database: dict, model_cfg, train_cfg: TrainConfig, preprocess: dict, apex_sources: dict) -> dict:
    """The content of config.json: database, protocol, labels, settings, apex sources, code version, date."""
    return {"kind": "loso", "database": database, "model_config": model_cfg.to_dict(),
            "train_config": train_cfg.to_dict(), "preprocess": preprocess, "apex_sources": apex_sources,
            "code_version": code_version(), "created": now_iso()}


_VOLATILE = ("code_version", "created", "preset")  # the preset choice: its effect is in model_config and train_config


def ensure_config(run_dir: Path, config: dict) -> dict:
    """Write config.json, or check that an existing one has the same settings (folds of one run must agree).

    Raises `LosoError` naming the differing sections.
    """
    path = run_dir / "config.json"
    if path.exists():
        old = read_json(path)
        new = json.loads(json.dumps(to_plain(config)))
        diff = [k for k in set(old) | set(new) if k not in _VOLATILE and old.get(k) != new.get(k)]
        if diff:
            raise LosoError(f"{path} was written with other settings ({', '.join(sorted(diff))} differ); run this "
                            "fold with the same arguments or use another run folder")
        return old
    write_json(path, config)
    return config


def run_fold(run_dir: Path, samples: Sequence[Sample], subject: str, labels: Sequence[str], model_cfg,
             train_cfg: TrainConfig, metadata: dict, callbacks: Callback | None = None) -> dict | None:
    """Train and test one fold (test subject ``subject``); write and return ``folds/<subject>/result.json``.

    Resumes from the fold's ``last.pt`` if present. Returns None when cancelled (the checkpoint stays).
    """
    cb = callbacks if callbacks is not None else Callbacks()
    fold_dir = run_dir / "folds" / fold_dirname(subject)
    train, val, test = split_fold(samples, subject, train_cfg.val_subjects if train_cfg.selection == "val" else 0,
                                  train_cfg.seed)
    trainer = Trainer(model_cfg, train_cfg, labels, fold_dir / "checkpoints",
                      metadata={**metadata, "fold": subject}, callbacks=cb)
    cb.on_fold_start(subject, {"train_clips": len(train), "val_clips": len(val), "test_clips": len(test),
                               "val_subjects": sorted({s.subject for s in val}),
                               "device": describe_device(trainer.device)})
    fit: FitResult = trainer.fit(train, val=val, test=test if train_cfg.oracle else ())
    if fit.status != "finished":
        return None
    probs = predict_samples(fit.model, test, trainer.device, train_cfg.batch_size)
    y_true = [s.label for s in test]
    y_pred = probs.argmax(1).tolist()
    cm = confusion_matrix(y_true, y_pred, len(labels))
    result = {"subject": subject, "test_clips": [s.name for s in test], "y_true": y_true, "y_pred": y_pred,
              "probabilities": probs.round(6).tolist(), "confusion_matrix": cm.tolist(), "scores": scores(cm),
              "selected_epoch": fit.selected_epoch, "selection": train_cfg.selection,
              "val_subjects": sorted({s.subject for s in val}), "train_subjects": sorted({s.subject for s in train}),
              "history": fit.history, "checkpoint": str(fit.final_path)}
    if fit.oracle_probs is not None:
        accs = [(float(np.mean(p.argmax(1) == np.asarray(y_true))), e) for e, p in enumerate(fit.oracle_probs)]
        best_e = max(accs, key=lambda t: (t[0], -t[1]))[1]
        ocm = confusion_matrix(y_true, fit.oracle_probs[best_e].argmax(1), len(labels))
        result["oracle"] = {"epoch": best_e + 1, "confusion_matrix": ocm.tolist(), "note": ORACLE_NOTE}
    write_json(fold_dir / "result.json", result)
    for name in ("last.pt", "best.pt"):  # the fold is complete: keep final.pt only (~2/3 of the disk space)
        (fold_dir / "checkpoints" / name).unlink(missing_ok=True)
    cb.on_fold_end(subject, result["scores"])
    return result


def merge(run_dir: str | Path) -> dict:
    """Pool the finished folds of a run into metrics.json, metrics.csv and per_class.csv; return the summary.

    The summary holds the pooled figures (accuracy, UF1, UAR, paper F1 from the summed confusion matrix), the
    fold-averaged figures, per-fold figures, the per-class report, the list of missing folds, and — if the run
    recorded it — the separately labelled oracle figures. Raises `LosoError` when no fold has finished.
    """
    run_dir = Path(run_dir)
    config = read_json(run_dir / "config.json")
    labels = config["database"]["labels"]
    results = {}
    for subject in config["database"]["subjects"]:
        path = run_dir / "folds" / fold_dirname(subject) / "result.json"
        if path.exists():
            results[subject] = read_json(path)
    if not results:
        raise LosoError(f"{run_dir}: no finished fold (no folds/*/result.json); run the folds first")
    missing = [s for s in config["database"]["subjects"] if s not in results]
    summary = loso_summary({s: np.asarray(r["confusion_matrix"]) for s, r in results.items()}, labels)
    summary.update({
        "folds_done": len(results), "folds_missing": missing, "complete": not missing,
        "selection": config["train_config"]["selection"],
        "selected_epochs": {s: r["selected_epoch"] for s, r in results.items()},
        "database": config["database"], "protocol": config["database"]["protocol"],
        "apex_sources": config["apex_sources"], "train_config": config["train_config"],
        "model_config": config["model_config"], "preprocess": config["preprocess"], "preset": config.get("preset"),
        "code_version": code_version(), "run_code_version": config["code_version"], "merged": now_iso()})
    if all("oracle" in r for r in results.values()):
        o = loso_summary({s: np.asarray(r["oracle"]["confusion_matrix"]) for s, r in results.items()}, labels)
        summary["oracle"] = {"note": ORACLE_NOTE, "pooled": o["pooled"], "fold_averaged": o["fold_averaged"],
                             "epochs": {s: r["oracle"]["epoch"] for s, r in results.items()}}
    write_json(run_dir / "metrics.json", summary)
    _write_csv(run_dir, summary)
    return summary


def _write_csv(run_dir: Path, summary: dict) -> None:
    cols = ["accuracy", "uf1", "uar", "paper_f1"]
    prov = [summary["database"]["name"], summary["protocol"], ";".join(f"{k}:{v}" for k, v in
                                                                     summary["apex_sources"].items()),
            summary["selection"], summary["run_code_version"]]
    with open(run_dir / "metrics.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["scope", "subject", "n", *cols, "database", "protocol", "apex_source", "selection", "code_version"])
        for s, sc in summary["per_fold"].items():
            w.writerow(["fold", s, sc["n"], *(f"{sc[c]:.6f}" for c in cols), *prov])
        w.writerow(["pooled", "", summary["pooled"]["n"], *(f"{summary['pooled'][c]:.6f}" for c in cols), *prov])
        w.writerow(["fold_averaged", "", "", *(f"{summary['fold_averaged'][c]:.6f}" for c in cols), *prov])
        if "oracle" in summary:
            o = summary["oracle"]
            w.writerow(["ORACLE_pooled (optimistic, best epoch on test)", "", o["pooled"]["n"],
                        *(f"{o['pooled'][c]:.6f}" for c in cols), *prov])
    with open(run_dir / "per_class.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["label", "support", "predicted", "precision", "recall", "f1"])
        for r in summary["per_class"]:
            w.writerow([r["label"], r["support"], r["predicted"],
                        *("" if r[k] is None else f"{r[k]:.6f}" for k in ("precision", "recall", "f1"))])


def database_info(db, samples: Sequence[Sample]) -> dict:
    """Provenance of the database for config.json: name, root, sheet, protocol, labels, subjects, counts, skips."""
    return {"name": db.name, "root": str(db.root), "sheet": str(db.sheet) if db.sheet else None,
            "protocol": db.protocol, "labels": list(db.labels), "subjects": db.subjects(),
            "clips": len(samples), "per_class": dict(Counter(db.labels[s.label] for s in samples)),
            "skipped": len(db.skips)}


def run_loso(db, run_dir: str | Path, model_cfg, train_cfg: TrainConfig, settings, folds: Sequence[str] | None = None,
             callbacks: Callback | None = None, cache=None, extra: dict | None = None) -> dict | None:
    """Preprocess ``db``, run the requested folds (all subjects when ``folds`` is None) and merge.

    settings : PreprocessSettings (image_size/num_frames must equal the model's).
    cache : a `PreprocessCache` or None.
    extra : more JSON-safe keys for config.json (e.g. ``{"preset": {"name", "asked", "reason"}}`` from the CLI);
            folds of one run must agree on them too; merge copies ``preset`` into the summary.
    Events: run_start (with the resolved ``device``), one ``on_preprocess`` per clip (cancel is checked between
    clips), then the folds. Returns the merged summary (see `merge`), or None when cancelled. Raises `LosoError`
    for unknown subjects or settings that differ from an existing run's config.json, ``ValueError`` when settings
    and model disagree or the device asked for is not available.
    """
    from .dataset import preprocess_clips

    if (settings.image_size, settings.num_frames) != (model_cfg.image_size, model_cfg.num_frames):
        raise ValueError(f"preprocessing gives {settings.image_size} px x {settings.num_frames} frames but the model "
                         f"expects {model_cfg.image_size} px x {model_cfg.num_frames} frames")
    run_dir = Path(run_dir)
    cb = callbacks if callbacks is not None else Callbacks()
    subjects = db.subjects()
    todo = list(folds) if folds else subjects
    unknown = [s for s in todo if s not in subjects]
    if unknown:
        raise LosoError(f"unknown subject(s) {unknown}; the database has {', '.join(subjects)}")
    device = describe_device(resolve_device(train_cfg.device))  # a missing CUDA device fails before preprocessing
    cb.on_run_start({"run_dir": run_dir, "kind": "loso", "folds": todo, "database": db.name,
                     "protocol": db.protocol, "clips": len(db.clips), "device": device})
    samples = preprocess_clips(db.clips, db.labels, settings, cache=cache, callbacks=cb)
    if samples is None:
        cb.on_run_end({"status": "cancelled", "run_dir": run_dir})
        return None
    apex_sources = dict(Counter(s.clip.apex_source for s in samples))
    dbinfo = database_info(db, samples)
    config = ensure_config(run_dir, {**run_config(dbinfo, model_cfg, train_cfg, settings.to_dict(), apex_sources),
                                     **(extra or {})})
    metadata = {"preprocess": settings.to_dict(), "database": dbinfo["name"], "protocol": db.protocol,
                "apex_sources": apex_sources, "run": str(run_dir), "run_created": config["created"]}
    for subject in todo:
        if (run_dir / "folds" / fold_dirname(subject) / "result.json").exists():
            continue
        if run_fold(run_dir, samples, subject, db.labels, model_cfg, train_cfg, metadata, cb) is None:
            cb.on_run_end({"status": "cancelled", "run_dir": run_dir})
            return None
    summary = merge(run_dir)
    cb.on_run_end({"status": "finished", "run_dir": run_dir, "pooled": summary["pooled"],
                   "fold_averaged": summary["fold_averaged"], "complete": summary["complete"]})
    return summary


def summary_table(summary: dict) -> str:
    """The LOSO result as a plain-text table: one line per fold, then pooled, fold-averaged and (labelled) oracle."""
    cols = ("accuracy", "uf1", "uar", "paper_f1")
    head = f"{'':28s} {'n':>4s} " + " ".join(f"{c:>9s}" for c in cols)

    def line(name, sc, n=""):
        return f"{name:28s} {str(n):>4s} " + " ".join(f"{100 * sc[c]:9.2f}" for c in cols)

    rows = [f"LOSO {summary['database']['name']} ({summary['protocol']}), selection {summary['selection']}, "
            f"apex {summary['apex_sources']}, figures in %", head]
    rows += [line(f"fold {s}", sc, sc["n"]) for s, sc in summary["per_fold"].items()]
    rows.append(line("POOLED (MEGC)", summary["pooled"], summary["pooled"]["n"]))
    rows.append(line("fold-averaged (paper)", summary["fold_averaged"]))
    if "oracle" in summary:
        rows.append(line("oracle pooled (OPTIMISTIC)", summary["oracle"]["pooled"], summary["oracle"]["pooled"]["n"]))
    if summary["folds_missing"]:
        rows.append(f"incomplete: {len(summary['folds_missing'])} fold(s) missing: "
                    f"{', '.join(summary['folds_missing'])}")
    return "\n".join(rows)
