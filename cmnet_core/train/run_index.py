"""The runs index: every run folder under a runs root (see `cmnet_core.train.runs`) summarised in one record
for comparing runs — kind, status, database and protocol, accuracy / UF1 / UAR, date, settings, checkpoint.

Reads only what the runs wrote (config.json, metrics.json, log.jsonl, checkpoints/); never changes a file.
"""
from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from .config_fields import registry

#: `RunRecord.settings` keys taken from config.json's train_config and model_config, in display order: the
#: settings registered for the runs table (surface ``"runs"`` in `cmnet_core.train.config_fields`).
TRAIN_KEYS = tuple(f.name for f in registry("runs", section="train_config"))
MODEL_KEYS = tuple(f.name for f in registry("runs", section="model_config"))


@dataclass
class RunRecord:
    """One run folder.

    kind : ``"loso"`` (a LOSO or k-fold evaluation), ``"final"``, ``"finetune"`` or ``""`` (config.json not
        written yet).
    split : ``"loso"`` or ``"k-fold"`` for a ``"loso"`` run (config.json's ``split``; runs written before splits
        existed are ``"loso"``), ``""`` for other kinds.
    folds : fold name -> its test subjects (config.json's ``folds``; one subject per fold for LOSO).
    model_kind : ``"cmnet"`` or ``"baseline"`` (config.json's ``model_kind``; runs written before it existed are
        ``"cmnet"``); ``""`` when config.json is not written yet.
    status : ``"finished"``, ``"cancelled"`` (resumable) or ``"incomplete"`` (no run_end event: still running,
        or stopped by a crash or a kill).
    scores : accuracy, uf1, uar, paper_f1 in [0, 1] — pooled over the folds for LOSO (MEGC), on the held-out clips
        for a final / fine-tuned model; empty when there is nothing scored yet.
    scope : what ``scores`` were computed on (``"LOSO pooled"``, ``"5-fold pooled"``, ``"held-out"``, ``""``).
    folds_done, folds_total : finished folds / folds of the split (0 for other kinds).
    settings : the training and model settings of `TRAIN_KEYS` and `MODEL_KEYS`, plus ``preset`` (the name the CLI
        recorded in config.json, e.g. ``"cpu"``; absent for runs written before presets were recorded). For a
        baseline run ``image_size`` is the preprocessing crop size (config.json ``preprocess``), not the side of
        the difference image the baseline reads (``baseline_features``).
    baseline_features : side in pixels of the apex − onset difference a baseline run reads (16); 0 for CMNet.
    checkpoint : ``checkpoints/final.pt`` of a finished final / fine-tuned model, the checkpoint a ``cmnet evaluate
        --out`` folder evaluated, else None (a LOSO / k-fold run's fold models each miss their fold's test
        subjects; they are evaluations, not models to use).
    baseline_scores : the pooled accuracy / uf1 / uar / paper_f1 of the baseline run beside a CMNet LOSO run
        (``<run>/baseline/metrics.json``, from ``--with-baseline``); empty when there is none.
    baseline_folds_done : finished folds of that baseline run.
    baseline_mismatch : "" when the baseline finished the same folds as CMNet (its scores compare like with
        like); else why not, e.g. "the baseline finished 1 of 2 folds (fold2), CMNet 2 (fold1, fold2): its UF1
        is pooled over other folds".
    """

    path: Path
    name: str
    created: str = ""
    kind: str = ""
    model_kind: str = ""
    status: str = "incomplete"
    database: str = ""
    protocol: str = ""
    scores: dict = field(default_factory=dict)
    scope: str = ""
    folds_done: int = 0
    folds_total: int = 0
    settings: dict = field(default_factory=dict)
    checkpoint: Path | None = None
    baseline_scores: dict = field(default_factory=dict)
    split: str = ""
    folds: dict = field(default_factory=dict)
    baseline_features: int = 0
    baseline_folds_done: int = 0
    baseline_mismatch: str = ""

    def split_label(self) -> str:
        """``"LOSO"``, ``"5-fold by subject"`` (k-fold), or ``""`` for a run that is not an evaluation."""
        if self.kind != "loso":
            return ""
        return f"{len(self.folds)}-fold by subject" if self.split == "k-fold" else "LOSO"


def _finished_folds(run: Path) -> list[str]:
    """Folder names of the folds of ``run`` that wrote their result.json, sorted."""
    return sorted(p.parent.name for p in run.glob("folds/*/result.json"))


def _config_split(config: dict) -> tuple[str, dict]:
    """``(split, folds)`` of a loso config.json (without raising on a config that lacks them)."""
    if isinstance(config.get("folds"), dict):
        return config.get("split", "loso"), {k: list(v) for k, v in config["folds"].items()}
    subjects = (config.get("database") or {}).get("subjects") or []
    return "loso", {s: [s] for s in subjects}


def _json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def last_status(log: Path) -> str:
    """Status of the last ``run_end`` event in a run's log.jsonl, or ``"incomplete"`` (none, or no log)."""
    status = "incomplete"
    try:
        with open(log, encoding="utf-8") as fh:
            for line in fh:
                if '"run_end"' in line:
                    try:
                        status = json.loads(line).get("status", status)
                    except ValueError:
                        continue
    except OSError:
        pass
    return status


def read_run(path: str | Path) -> RunRecord:
    """Summarise one run folder (missing or unreadable files leave fields empty)."""
    path = Path(path)
    config = _json(path / "config.json")
    metrics = _json(path / "metrics.json")
    db = config.get("database", {})
    rec = RunRecord(path=path, name=path.name, created=config.get("created", ""), kind=config.get("kind", ""),
                    model_kind=config.get("model_kind", "cmnet") if config else "",
                    status=last_status(path / "log.jsonl"), database=db.get("name", ""),
                    protocol=db.get("protocol", ""))
    tc, mc = config.get("train_config", {}), config.get("model_config", {})
    sections = {"train_config": tc, "model_config": mc}   # the registry read now: a field added later shows too
    rec.settings = {f.name: sections[f.section][f.name] for f in registry("runs") if f.name in sections[f.section]}
    if isinstance(config.get("preset"), dict) and config["preset"].get("name"):
        rec.settings["preset"] = config["preset"]["name"]
    elif "use_wrst" in mc and "tendency_loss" not in mc:  # written before tendency_loss existed
        rec.settings["tendency_loss"] = "wrst" if mc["use_wrst"] else "none"
    if rec.model_kind == "baseline":
        rec.baseline_features = int(mc.get("image_size") or 0)
        pre = config.get("preprocess") if isinstance(config.get("preprocess"), dict) else {}
        if pre.get("image_size"):
            rec.settings["image_size"] = pre["image_size"]  # the crops it was given, not its 16 px features
        else:
            rec.settings.pop("image_size", None)
    keys = ("accuracy", "uf1", "uar", "paper_f1")
    if rec.kind == "loso":
        rec.split, rec.folds = _config_split(config)
        rec.folds_total = len(rec.folds)
        done = _finished_folds(path)
        rec.folds_done = len(done)
        if metrics.get("pooled"):
            scope = f"{len(rec.folds)}-fold pooled" if rec.split == "k-fold" else "LOSO pooled"
            rec.scores, rec.scope = {k: metrics["pooled"][k] for k in keys}, scope
        baseline = _json(path / "baseline" / "metrics.json")
        if baseline.get("pooled"):
            rec.baseline_scores = {k: baseline["pooled"][k] for k in keys}
            bdone = _finished_folds(path / "baseline")
            rec.baseline_folds_done = len(bdone)
            if bdone != done:
                rec.baseline_mismatch = (
                    f"the baseline finished {len(bdone)} of {rec.folds_total} folds ({', '.join(bdone) or 'none'}), "
                    f"CMNet {len(done)} ({', '.join(done) or 'none'}): its UF1 is pooled over other folds than "
                    "CMNet's, so the two do not compare")
    elif metrics.get("held_out"):
        rec.scores, rec.scope = {k: metrics["held_out"][k] for k in keys}, "held-out"
    elif not config and metrics.get("scores") and metrics.get("confusion_matrix"):   # cmnet evaluate --out
        rec.kind, rec.status, rec.scope = "evaluate", "finished", "evaluated"
        rec.scores = {k: metrics["scores"][k] for k in keys}
        db = metrics.get("database") or {}
        rec.database, rec.protocol = db.get("name", ""), db.get("protocol", "")
        rec.created = _dt.datetime.fromtimestamp((path / "metrics.json").stat().st_mtime).isoformat(timespec="seconds")
        evaluated = Path(str(metrics.get("checkpoint") or ""))
        if evaluated.is_file():   # the model it evaluated, offered for prediction
            rec.checkpoint = evaluated
    final = path / "checkpoints" / "final.pt"
    if rec.kind in ("final", "finetune") and rec.status == "finished" and final.is_file():
        rec.checkpoint = final
    return rec


def list_runs(root: str | Path) -> list[RunRecord]:
    """Every run folder directly under ``root`` (a folder holding config.json, log.jsonl or checkpoints/, or the
    metrics.json of ``cmnet evaluate --out``), newest first by folder name (names start with the date). An absent
    root gives an empty list."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
            and any((p / f).exists() for f in ("config.json", "log.jsonl", "checkpoints", "metrics.json"))]
    return [read_run(p) for p in sorted(runs, key=lambda p: p.name, reverse=True)]


def confusion_results(path: str | Path) -> dict | None:
    """What the runs view draws for run folder ``path``: ``{"labels", "confusion_matrix" (C, C) counts, rows =
    true class, "f1" per class (None without support), "scope"}`` from its metrics.json — the pooled matrix of a
    LOSO / k-fold run, the held-out clips' of a final model, an evaluation's — or None when it has none (a run
    that is not finished, a final model trained on every subject)."""
    metrics = _json(Path(path) / "metrics.json")
    cm, per_class = metrics.get("confusion_matrix"), metrics.get("per_class")
    if not cm or not per_class:
        return None
    if "pooled" in metrics:
        scope = "all test clips, pooled over the folds"
    elif metrics.get("held_out"):
        scope = f"{metrics['held_out'].get('n', '')} held-out clips".strip()
    else:
        scope = "the evaluated clips"
    return {"labels": [r["label"] for r in per_class], "confusion_matrix": cm,
            "f1": [r.get("f1") for r in per_class], "scope": scope}
