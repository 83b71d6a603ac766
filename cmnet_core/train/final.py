"""Training a model to keep: a final model on all clips of a database, or fine-tuning a checkpoint on a lab's
own annotated clips (generic adapter, or the annotations the GUI saves), with an optional held-out part.

Held-out data for an honest figure: whole subjects (``holdout_subjects``) or, for a lab with one subject, a
stratified fraction of clips (``holdout_fraction``). Fine-tuning loads every weight of the checkpoint; with
``new_head`` the classifier (``classifier.*``) is re-initialised so the label set may differ.
"""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Sequence

import numpy as np

from ..preprocess.apex import apex_source_counts
from .callbacks import Callback, Callbacks
from .checkpoint import Checkpoint, check_compatible, code_version, load_checkpoint, now_iso, save_checkpoint
from .config import TrainConfig
from .dataset import Sample, preprocess_clips
from .metrics import confusion_matrix, per_class_report, scores
from .runs import RunFolder, write_json
from .splits import choose_validation_subjects
from .trainer import Trainer, describe_device, predict_samples, resolve_device

HEAD_PREFIX = "classifier."


def holdout_split(samples: Sequence[Sample], subjects: Sequence[str] = (), fraction: float = 0.0, seed: int = 0
                  ) -> tuple[list[Sample], list[Sample]]:
    """(train, held_out): the clips of ``subjects``, or a per-class ``fraction`` of clips drawn with ``seed``.

    Raises ``ValueError`` for an unknown subject, both options at once, a fraction outside [0, 1), or an
    empty training part.
    """
    if subjects and fraction:
        raise ValueError("hold out either subjects or a fraction of clips, not both")
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"holdout fraction {fraction} must lie in [0, 1)")
    known = {s.subject for s in samples}
    unknown = [s for s in subjects if s not in known]
    if unknown:
        raise ValueError(f"held-out subject(s) {unknown} not in the data; subjects: {', '.join(sorted(known))}")
    if subjects:
        held = [s for s in samples if s.subject in set(subjects)]
    else:
        rng = np.random.default_rng(seed)
        held_ids: set[int] = set()
        for label in sorted({s.label for s in samples}):
            idx = [i for i, s in enumerate(samples) if s.label == label]
            k = int(round(fraction * len(idx)))
            held_ids |= set(rng.choice(idx, size=min(k, len(idx) - 1), replace=False).tolist()) if k else set()
        held = [s for i, s in enumerate(samples) if i in held_ids]
    held_keys = {id(s) for s in held}
    train = [s for s in samples if id(s) not in held_keys]
    if not samples:
        raise ValueError("no clips to train on (0 usable clips; 'cmnet info' lists the skipped rows and why)")
    if not train:
        raise ValueError(f"nothing left to train on after holding out {len(held)} of {len(samples)} clips; "
                         "hold out fewer subjects or a smaller fraction")
    return train, held


def initial_weights(ckpt: Checkpoint, labels: Sequence[str], image_size: int, num_frames: int,
                    new_head: bool) -> dict:
    """The checkpoint's weights to start fine-tuning from (classifier dropped when ``new_head``).

    Raises `CheckpointError` when input size or N differ, or the labels differ without ``new_head``.
    """
    check_compatible(ckpt, labels=None if new_head else labels, image_size=image_size, num_frames=num_frames)
    if not new_head:
        return dict(ckpt.state_dict)
    return {k: v for k, v in ckpt.state_dict.items() if not k.startswith(HEAD_PREFIX)}


def train_final(db, run_dir: str | Path, model_cfg, train_cfg: TrainConfig, settings, init: Checkpoint | None = None,
                new_head: bool = False, holdout_subjects: Sequence[str] = (), holdout_fraction: float = 0.0,
                callbacks: Callback | None = None, cache=None, extra: dict | None = None) -> dict | None:
    """Train (or fine-tune from ``init``) on ``db``; write ``checkpoints/final.pt`` and metrics into ``run_dir``.

    extra : more JSON-safe keys for config.json and metrics.json (e.g. the CLI's ``{"preset": {...}}``).
    Returns ``{"checkpoint", "selected_epoch", "train_clips", "held_out": scores | None, ...}`` (also written as
    metrics.json; with ``selection="val"`` also ``"validation"``: the selected model's scores on the validation
    subjects, with its ``epoch`` and ``subjects``). The checkpoint's metadata ``metrics`` records the same
    ``held_out`` and ``validation`` scores (the prediction panel shows them), or nothing when every subject was
    trained on. Returns None when cancelled (call again with the same ``run_dir`` to resume).
    Events: run_start (with the resolved ``device``), one ``on_preprocess`` per clip (cancel is checked between
    clips), fold_start ``"all"``, training. Raises `CheckpointError` for an unfitting ``init``, ``ValueError`` for
    bad hold-out options or a device that is not available.
    """
    run_dir = Path(run_dir)
    cb = callbacks if callbacks is not None else Callbacks()
    start = None
    if init is not None:
        start = initial_weights(init, db.labels, model_cfg.image_size, model_cfg.num_frames, new_head)
    metadata_kind = "finetune" if init is not None else "final"
    device = describe_device(resolve_device(train_cfg.device))  # a missing CUDA device fails before preprocessing
    cb.on_run_start({"run_dir": run_dir, "kind": metadata_kind, "database": db.name, "protocol": db.protocol,
                     "clips": len(db.clips), "device": device})
    samples = preprocess_clips(db.clips, db.labels, settings, cache=cache, callbacks=cb)
    if samples is None:
        cb.on_run_end({"status": "cancelled", "run_dir": run_dir})
        return None
    train, held = holdout_split(samples, holdout_subjects, holdout_fraction, train_cfg.seed)
    val: list[Sample] = []
    if train_cfg.selection == "val":
        chosen = set(choose_validation_subjects({s.subject for s in train}, train_cfg.val_subjects, train_cfg.seed))
        val = [s for s in train if s.subject in chosen]
        train = [s for s in train if s.subject not in chosen]
    apex_sources = apex_source_counts(s.clip for s in samples)
    metadata = {"preprocess": settings.to_dict(), "database": db.name, "protocol": db.protocol,
                "apex_sources": apex_sources, "run": str(run_dir),
                "fine_tuned_from": str(init.path) if init is not None else None, "new_head": bool(new_head),
                "train_subjects": sorted({s.subject for s in train})}
    if not RunFolder(run_dir).config.exists():
        write_json(RunFolder(run_dir).config, {
            "kind": metadata_kind, "database": {"name": db.name, "root": str(db.root), "protocol": db.protocol,
                                                "labels": list(db.labels), "clips": len(samples)},
            "model_config": model_cfg.to_dict(), "train_config": train_cfg.to_dict(), "preprocess": settings.to_dict(),
            "apex_sources": apex_sources, "fine_tuned_from": metadata["fine_tuned_from"], "new_head": bool(new_head),
            "holdout_subjects": list(holdout_subjects), "holdout_fraction": holdout_fraction,
            "code_version": code_version(), "created": now_iso(), **(extra or {})})
    trainer = Trainer(model_cfg, train_cfg, db.labels, RunFolder(run_dir).checkpoints, metadata, cb)
    cb.on_fold_start("all", {"train_clips": len(train), "val_clips": len(val), "test_clips": len(held),
                             "device": describe_device(trainer.device)})
    fit = trainer.fit(train, val=val, init_state=start)
    if fit.status != "finished":
        cb.on_run_end({"status": "cancelled", "run_dir": run_dir})
        return None
    result = {"checkpoint": str(fit.final_path), "selected_epoch": fit.selected_epoch, "train_clips": len(train),
              "held_out_clips": [f"{s.subject}/{s.name}" for s in held], "held_out": None,
              "database": db.name, "protocol": db.protocol, "apex_sources": apex_sources,
              "train_config": train_cfg.to_dict(), "history": fit.history, **(extra or {})}
    recorded = {}  # the checkpoint's metrics: what the model scored on clips it never trained on
    if val:
        probs = predict_samples(fit.model, val, trainer.device, train_cfg.batch_size)
        vcm = confusion_matrix([s.label for s in val], probs.argmax(1), len(db.labels))
        result["validation"] = {**scores(vcm), "epoch": fit.selected_epoch,
                                "subjects": sorted({s.subject for s in val})}
        recorded["validation"] = result["validation"]
    if held:
        probs = predict_samples(fit.model, held, trainer.device, train_cfg.batch_size)
        cm = confusion_matrix([s.label for s in held], probs.argmax(1), len(db.labels))
        result.update(held_out=scores(cm), confusion_matrix=cm.tolist(), per_class=per_class_report(cm, db.labels))
        recorded["held_out"] = scores(cm)
    if recorded:
        final = load_checkpoint(fit.final_path)
        final.meta.metrics = {**final.meta.metrics, **recorded}
        save_checkpoint(fit.final_path, final.state_dict, final.meta)
    write_json(RunFolder(run_dir).metrics, result)
    for name in ("last.pt", "best.pt"):   # finished: final.pt is the model; the resume state is not needed
        (RunFolder(run_dir).checkpoints / name).unlink(missing_ok=True)
    with open(RunFolder(run_dir).metrics_csv, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["scope", "n", "accuracy", "uf1", "uar", "paper_f1", "database", "protocol", "checkpoint"])
        if result["held_out"]:
            h = result["held_out"]
            w.writerow(["held_out", h["n"], *(f"{h[k]:.6f}" for k in ("accuracy", "uf1", "uar", "paper_f1")),
                        db.name, db.protocol, fit.final_path])
    cb.on_fold_end("all", result["held_out"] or {})
    cb.on_run_end({"status": "finished", "run_dir": run_dir, "checkpoint": fit.final_path,
                   "held_out": result["held_out"]})
    return result
