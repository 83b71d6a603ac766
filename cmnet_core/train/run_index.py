"""The runs index: every run folder under a runs root (see `cmnet_core.train.runs`) summarised in one record
for comparing runs — kind, status, database and protocol, accuracy / UF1 / UAR, date, settings, checkpoint.

Reads only what the runs wrote (config.json, metrics.json, log.jsonl, checkpoints/); never changes a file.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

#: `RunRecord.settings` keys taken from config.json's train_config and model_config, in display order.
TRAIN_KEYS = ("epochs", "batch_size", "optimizer", "lr", "seed", "selection", "device")
MODEL_KEYS = ("image_size", "num_frames", "backbone", "input", "tendency_loss", "negative_sampling", "lambdas", "tau",
              "epsilon", "xi")


@dataclass
class RunRecord:
    """One run folder.

    kind : ``"loso"``, ``"final"``, ``"finetune"`` or ``""`` (config.json not written yet).
    model_kind : ``"cmnet"`` or ``"baseline"`` (config.json's ``model_kind``; runs written before it existed are
        ``"cmnet"``); ``""`` when config.json is not written yet.
    status : ``"finished"``, ``"cancelled"`` (resumable) or ``"incomplete"`` (no run_end event: still running,
        or stopped by a crash or a kill).
    scores : accuracy, uf1, uar, paper_f1 in [0, 1] — pooled over the folds for LOSO (MEGC), on the held-out clips
        for a final / fine-tuned model; empty when there is nothing scored yet.
    scope : what ``scores`` were computed on (``"LOSO pooled"``, ``"held-out"``, ``""``).
    folds_done, folds_total : finished LOSO folds / subjects (0 for other kinds).
    settings : the training and model settings of `TRAIN_KEYS` and `MODEL_KEYS`, plus ``preset`` (the name the CLI
        recorded in config.json, e.g. ``"cpu"``; absent for runs written before presets were recorded).
    checkpoint : ``checkpoints/final.pt`` of a finished final / fine-tuned model, else None (a LOSO run's fold
        models each miss one subject; they are evaluations, not models to use).
    baseline_scores : the pooled accuracy / uf1 / uar / paper_f1 of the baseline run beside a CMNet LOSO run
        (``<run>/baseline/metrics.json``, from ``--with-baseline``); empty when there is none.
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
    rec.settings = {**{k: tc[k] for k in TRAIN_KEYS if k in tc}, **{k: mc[k] for k in MODEL_KEYS if k in mc}}
    if isinstance(config.get("preset"), dict) and config["preset"].get("name"):
        rec.settings["preset"] = config["preset"]["name"]
    elif "use_wrst" in mc and "tendency_loss" not in mc:  # written before tendency_loss existed
        rec.settings["tendency_loss"] = "wrst" if mc["use_wrst"] else "none"
    keys = ("accuracy", "uf1", "uar", "paper_f1")
    if rec.kind == "loso":
        rec.folds_total = len(config.get("folds") or db.get("subjects", []))  # k-fold runs record their folds
        rec.folds_done = len(list(path.glob("folds/*/result.json")))
        if metrics.get("pooled"):
            rec.scores, rec.scope = {k: metrics["pooled"][k] for k in keys}, "LOSO pooled"
        baseline = _json(path / "baseline" / "metrics.json")
        if baseline.get("pooled"):
            rec.baseline_scores = {k: baseline["pooled"][k] for k in keys}
    elif metrics.get("held_out"):
        rec.scores, rec.scope = {k: metrics["held_out"][k] for k in keys}, "held-out"
    final = path / "checkpoints" / "final.pt"
    if rec.kind in ("final", "finetune") and rec.status == "finished" and final.is_file():
        rec.checkpoint = final
    return rec


def list_runs(root: str | Path) -> list[RunRecord]:
    """Every run folder directly under ``root`` (a folder holding config.json, log.jsonl or checkpoints/),
    newest first by folder name (names start with the date). An absent root gives an empty list."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
            and any((p / f).exists() for f in ("config.json", "log.jsonl", "checkpoints"))]
    return [read_run(p) for p in sorted(runs, key=lambda p: p.name, reverse=True)]
