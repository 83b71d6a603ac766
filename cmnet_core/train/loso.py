"""Subject-wise evaluation: leave-one-subject-out (LOSO, one fold per subject) or k folds grouped by subject;
folds runnable alone, merged into one table.

Splits (config.json ``"split"`` and ``"folds"``, fold name -> its test subjects; runs written before these keys
existed are LOSO runs, `run_folds`): ``"loso"``: one fold per subject, named after it, in the database's order;
``"k-fold"`` (`kfold_folds`): the subjects sorted by name in natural order (``s2`` before ``s10``; for
zero-padded names such as CASME II's ``sub01``.. this is plain alphabetical order), fold i (``fold1``..``foldK``)
tests the subjects whose 0-based rank r has r mod K = i − 1 (the protocol of DESIGN.md §7's CASME II figures).

Run folder layout::

    <run>/config.json                      everything that defines the run (written once, checked by every fold)
    <run>/folds/<fold>/result.json         test labels, predictions, probabilities, scores, history of one fold
                                           (<fold> = the test subject in LOSO, fold1.. in k-fold)
    <run>/folds/<fold>/checkpoints/        last.pt (resume), best.pt (validation selection), final.pt while
                                           the fold trains; removed once result.json is written, unless fold
                                           models are kept (``keep_fold_models``: final.pt in float16, ~1/2)
    <run>/metrics.json, metrics.csv, per_class.csv   written by `merge`
    <run>/intensity.csv                    every test clip's intensity clues k_1..k_N (`merge`)
    <run>/timing.json                      preprocessing wall time of every invocation (`record_preprocess_time`)
    <run>/baseline/                        with ``with_baseline``: the same layout for the difference baseline
    <run>/comparison.json, comparison.csv  with ``with_baseline``: CMNet beside the baseline (`comparison`)

Model kinds (config.json ``"model_kind"``; runs written before it existed are CMNet runs): ``"cmnet"`` trains CMNet
per fold (`run_fold`); ``"baseline"`` fits `DifferenceBaseline` (logistic regression on the apex − onset
difference, DESIGN.md §7) per fold in seconds, saved as ``folds/<subject>/baseline.json`` (`run_baseline_fold`).
Both write result.json with the same keys (a baseline has ``selected_epoch`` null and ``history`` []) and every
result.json records the fold's wall time ``wall_s`` (CMNet also ``steps`` and ``step_s``, seconds per step).

Honesty rules (DESIGN.md §5): no clip of a test subject is trained on or used for model selection (asserted);
selection is by fixed epochs or by validation subjects drawn from the training subjects; the "oracle" figure
(best epoch chosen on the test subject) is only ever written beside the honest one, labelled as optimistic.
"""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
import time
from collections import Counter
from pathlib import Path
from typing import Sequence

import numpy as np

from ..preprocess.apex import apex_source_counts
from .callbacks import Callback, Callbacks, to_plain
from .checkpoint import code_version, now_iso
from .comparison import BASELINE_DIR, write_comparison
from .dataset import Sample
from .metrics import confusion_matrix, loso_summary, scores
from .runs import RunFolder, RunLog, fold_dirname, read_json, write_json
from .splits import choose_validation_subjects
from .trainer import (FitResult, Trainer, TrainConfig, describe_device, predict_samples_with_intensity,
                      resolve_device)

ORACLE_NOTE = ("oracle: for every fold the epoch with the best accuracy ON THE TEST SUBJECT was picked; this leaks "
               "test information and overstates performance. Report the honest figures; this one only shows the gap.")


#: The model kinds a LOSO run can evaluate (config.json ``"model_kind"``).
MODEL_KINDS = ("cmnet", "baseline")
#: result.json's ``selection`` for a baseline fold: nothing is selected (no epochs, no hyper-parameter search).
BASELINE_SELECTION = "none"


class LosoError(Exception):
    """A LOSO run cannot proceed (unknown subject, settings differing from the run's config.json, no folds)."""


def natural_key(name: str) -> tuple:
    """Sort key for natural order: digit runs compare as numbers (``"s2"`` < ``"s10"``), the rest as text."""
    return tuple((0, int(t), "") if t.isdigit() else (1, 0, t) for t in re.split(r"(\d+)", name) if t)


def kfold_folds(subjects: Sequence[str], k: int) -> dict[str, list[str]]:
    """k folds grouped by subject: ``{"fold1": [...], ..., "foldK": [...]}``.

    The subjects are sorted by `natural_key`; the subject of 0-based rank r goes to fold ``r mod k + 1``, so every
    subject is tested exactly once and the folds differ in size by at most one subject. Each fold's list is in
    that sorted order. Raises `LosoError` when k < 2 or k exceeds the number of subjects.
    """
    subjects = sorted(dict.fromkeys(subjects), key=natural_key)
    if int(k) != k or k < 2:
        raise LosoError(f"--k-folds {k}: use at least 2 folds (or leave it out for one fold per subject, LOSO)")
    if k > len(subjects):
        raise LosoError(f"--k-folds {k}: the database has only {len(subjects)} subjects, so at most {len(subjects)} "
                        "folds (every fold needs a test subject)")
    return {f"fold{i + 1}": subjects[i::k] for i in range(k)}


def run_folds(subjects: Sequence[str], k_folds: int | None = None) -> tuple[str, dict[str, list[str]]]:
    """The split of a run: ``("loso", {subject: [subject]})`` in the given order when ``k_folds`` is None, else
    ``("k-fold", kfold_folds(subjects, k_folds))``. Raises `LosoError` like `kfold_folds`."""
    if k_folds is None:
        return "loso", {s: [s] for s in subjects}
    return "k-fold", kfold_folds(subjects, k_folds)


def config_folds(config: dict) -> tuple[str, dict[str, list[str]]]:
    """``(split, folds)`` of a run's config.json; a config written before splits existed is LOSO over its
    database's subjects."""
    if "folds" in config:
        return config.get("split", "loso"), {k: list(v) for k, v in config["folds"].items()}
    return "loso", {s: [s] for s in config["database"]["subjects"]}


def split_fold(samples: Sequence[Sample], test_subject: str | Sequence[str], val_count: int, seed: int,
               fold: str | None = None) -> tuple[list[Sample], list[Sample], list[Sample]]:
    """(train, val, test) for one fold.

    test_subject : one subject (LOSO) or the fold's test subjects (k-fold).
    fold : the fold's name, which seeds the validation draw (default: the subject, for one subject; else the
           sorted subjects joined by ``+``).
    test = the clips of the test subjects; val = the clips of ``val_count`` training subjects drawn with ``seed``
    by `choose_validation_subjects` (the same rule as final training)
    (never a test subject); train = the rest. Raises `LosoError` for an unknown subject or too few subjects.
    """
    tests = [test_subject] if isinstance(test_subject, str) else list(test_subject)
    fold = fold if fold is not None else (tests[0] if len(tests) == 1 else "+".join(sorted(tests)))
    subjects = list(dict.fromkeys(s.subject for s in samples))
    unknown = [t for t in tests if t not in subjects]
    if unknown or not tests:
        raise LosoError(f"subject(s) {', '.join(map(repr, unknown)) or 'none'} not in the database; subjects: "
                        f"{', '.join(subjects)}")
    group = set(tests)
    others = [s for s in subjects if s not in group]
    try:
        val_subjects = set(choose_validation_subjects(others, val_count, seed, fold))
    except ValueError as exc:
        raise LosoError(str(exc)) from None
    test = [s for s in samples if s.subject in group]
    val = [s for s in samples if s.subject in val_subjects]
    train = [s for s in samples if s.subject not in group and s.subject not in val_subjects]
    # the LOSO guarantee, for every test subject of the fold: nothing of it reaches training or model selection
    assert not {s.subject for s in train + val} & group, "test subject leaked into training"
    return train, val, test


def run_config(database: dict, model_cfg, train_cfg: TrainConfig, preprocess: dict, apex_sources: dict) -> dict:
    """The content of config.json of a CMNet run: database, protocol, labels, settings, apex sources, code version,
    date, ``"model_kind": "cmnet"``."""
    return {"kind": "loso", "model_kind": "cmnet", "database": database, "model_config": model_cfg.to_dict(),
            "train_config": train_cfg.to_dict(), "preprocess": preprocess, "apex_sources": apex_sources,
            "code_version": code_version(), "created": now_iso()}


def baseline_config(database: dict, seed: int, preprocess: dict, apex_sources: dict) -> dict:
    """config.json of a baseline run: ``"model_kind": "baseline"``, the baseline's recipe as ``model_config``
    (feature side in pixels, C, scaler) and ``train_config`` with the seed and ``selection`` "none"."""
    from .fidelity import BASELINE_SIZE

    return {"kind": "loso", "model_kind": "baseline", "database": database,
            "model_config": {"model": "difference_baseline", "features": "grey apex - onset difference, "
                             "area-downsampled", "image_size": BASELINE_SIZE, "c": 100.0, "penalty": "l2",
                             "scaler": "standard", "classifier": "sklearn.linear_model.LogisticRegression"},
            "train_config": {"seed": int(seed), "selection": BASELINE_SELECTION},
            "preprocess": preprocess, "apex_sources": apex_sources, "code_version": code_version(),
            "created": now_iso()}


def model_kind(config: dict) -> str:
    """The model kind of a run's config.json (``"cmnet"`` for runs written before the key existed)."""
    return config.get("model_kind", "cmnet")


#: config.json keys not compared between the folds of a run: provenance, the preset choice (its effect is in
#: model_config and train_config) and the command that launched the run's first fold (`missing_folds_commands`).
_VOLATILE = ("code_version", "created", "preset", "command")


def ensure_config(run_dir: Path, config: dict) -> dict:
    """Write config.json, or check that an existing one has the same settings (folds of one run must agree).

    Raises `LosoError` naming the differing sections.
    """
    path = RunFolder(run_dir).config
    if path.exists():
        old = _existing_config(run_dir)
        _compare_config(path, old, config)
        return old
    write_json(path, config)
    return config


#: config.json sections known only after preprocessing (clip counts, apex sources); `precheck_config` skips them.
_AFTER_PREPROCESSING = ("database", "apex_sources")


def _existing_config(run_dir: Path) -> dict:
    """The parsed ``<run_dir>/config.json``, checked to be a LOSO run's (`check_loso_config`), with the keys of
    older runs filled in (model kind cmnet, LOSO split)."""
    old = read_json(RunFolder(run_dir).config, fix="restore it, or give another run folder (--run-dir)")
    check_loso_config(run_dir, old)
    old.setdefault("model_kind", "cmnet")  # written before model kinds existed
    old["split"], old["folds"] = config_folds(old)  # written before splits existed: LOSO
    return old


#: config.json fields that may differ between the folds of one run: they change how fast a fold runs, not what it
#: computes (DataLoader workers default to the CPUs SLURM gives a task; `Trainer.fit` ignores them on resume too).
_PER_INVOCATION = (("train_config", "num_workers"),)
#: config.json sections compared field by field (the others, e.g. ``folds``, as a whole).
_SETTINGS_SECTIONS = ("model_config", "train_config", "preprocess", "database")


def config_differences(old: dict, new: dict, skip: Sequence[str] = ()) -> list[tuple[str, object, object]]:
    """The settings in which two run configs differ: ``[(name, old value, new value), ...]``, sorted by name.

    ``name`` is the command-line option that sets the field when there is one (``--epochs``, ``--image-size``;
    `cmnet_core.train.options.CONFIG_OPTIONS`), else ``section.field`` (``train_config.momentum``) or the
    section (``split``; ``folds`` with other fold names as the numbers of folds). Sections in `_VOLATILE` and ``skip`` and the fields in `_PER_INVOCATION` are left out;
    a field that appears under two sections with the same option (``--image-size`` in ``model_config`` and
    ``preprocess``) is named once.
    """
    from .options import CONFIG_OPTIONS

    new = json.loads(json.dumps(to_plain(new)))
    out: dict[str, tuple[object, object]] = {}
    for key in sorted(set(old) | set(new), key=lambda k: (k == "folds", k)):  # the split named before its folds
        if key in _VOLATILE or key in skip or old.get(key) == new.get(key):
            continue
        a, b = old.get(key), new.get(key)
        if key in _SETTINGS_SECTIONS and isinstance(a, dict) and isinstance(b, dict):
            for field in sorted(set(a) | set(b)):
                if (key, field) in _PER_INVOCATION or a.get(field) == b.get(field):
                    continue
                name = CONFIG_OPTIONS.get(f"{key}.{field}", f"{key}.{field}")
                out.setdefault(name, (a.get(field), b.get(field)))
        elif key == "folds" and isinstance(a, dict) and isinstance(b, dict) and a.keys() != b.keys():
            out.setdefault(CONFIG_OPTIONS["folds"], (len(a), len(b)))  # K, not every fold's subjects
        else:
            out.setdefault(CONFIG_OPTIONS.get(key, key), (a, b))
    return [(name, a, b) for name, (a, b) in sorted(out.items())]


def _compare_config(path: Path, old: dict, config: dict, skip: Sequence[str] = ()) -> None:
    diff = config_differences(old, config, skip)
    if diff:
        shown = "; ".join(f"{name}: {_shown(a)} in the run, {_shown(b)} now" for name, a, b in diff)
        raise LosoError(f"{path} was written with other settings ({shown}); run this fold with the same options "
                        "as the run's other folds, or use another run folder (--run-dir)")


def _shown(value) -> str:
    """A config value as the user typed it: JSON, so a missing value reads ``null`` and a list ``[..]``."""
    return "(not set)" if value is None else json.dumps(value)


def precheck_config(run_dir: Path, config: dict) -> None:
    """`ensure_config`'s check before any preprocessing: when ``<run_dir>/config.json`` exists, compare every
    section that does not depend on the preprocessed clips (all but ``database`` and ``apex_sources``; ``config``
    need not hold those) and raise `LosoError` naming the differing sections. Writes nothing."""
    run_dir = Path(run_dir)
    if RunFolder(run_dir).config.exists():
        _compare_config(RunFolder(run_dir).config, _existing_config(run_dir), config, skip=_AFTER_PREPROCESSING)


def precheck_run(run_dir: str | Path, subjects: Sequence[str], model_cfg, train_cfg: TrainConfig, settings,
                 k_folds: int | None = None, extra: dict | None = None, model: str = "cmnet",
                 with_baseline: bool = False) -> None:
    """`run_loso`'s check of an existing run folder before any preprocessing, also made by ``cmnet loso --slurm``
    before anything is queued: when ``<run_dir>/config.json`` (and, for ``with_baseline``,
    ``<run_dir>/baseline/config.json``) exists, every setting that does not depend on the preprocessed clips
    must equal what these arguments would write (the split and folds of ``subjects`` / ``k_folds`` included).
    Raises `LosoError` naming each differing option with the run's value and the new one (`config_differences`).
    Writes nothing."""
    run_dir = Path(run_dir)
    split, fold_map = run_folds(subjects, k_folds)
    protocol = {"split": split, "folds": fold_map}
    val_count = train_cfg.val_subjects if model == "cmnet" and train_cfg.selection == "val" else 0
    baseline = {**baseline_config(None, train_cfg.seed, settings.to_dict(), None), **protocol, **(extra or {})}
    if val_count:
        baseline["train_config"]["excluded_val_subjects"] = val_count
    if model == "baseline":
        precheck_config(run_dir, baseline)
        return
    precheck_config(run_dir, {**run_config(None, model_cfg, train_cfg, settings.to_dict(), None), **protocol,
                              **(extra or {})})
    if with_baseline:
        precheck_config(RunFolder(run_dir).baseline.path, baseline)


#: What a run folder may hold before its config.json is written (a run cancelled or refused while preprocessing).
_RUN_FILES = ("checkpoints", "log.jsonl", "timing.json", "folds", "baseline", "slurm", "cache", "launch.json", ".lock")
#: What may stand in a run folder before the run writes its config.json: the logs of whoever launched it (the
#: app's RunProcess writes progress.jsonl, stderr.log and launch.json (its command, for Resume) first,
#: scripts/slurm_loso.sh its slurm/ logs and the shared preprocessing cache/ (CMNET_CACHE_DIR=RUN/cache) that a
#: sibling fold task may create first, a cancel request file). Anything else (images, sheets, another run) means
#: the folder is not a new run's.
_LAUNCHER_SUFFIXES = (".log", ".jsonl", ".out", ".err", ".txt", ".request")


def check_run_dir(run_dir: str | Path, db_root: str | Path | None = None) -> None:
    """Check that ``run_dir`` can hold a cmnet loso run, before anything is written there.

    Refused (`LosoError`, message naming the folder and what to do): the database folder ``db_root`` itself; a
    folder whose config.json is not a LOSO run's (a ``cmnet train`` run, another tool's file; `check_loso_config`)
    or is damaged; a folder without config.json that holds files neither a run nor its launcher writes (e.g. a
    copy of a database; launcher logs such as the app's progress.jsonl / stderr.log / launch.json are accepted); a finished fold whose result.json (or the run's timing.json) is damaged — delete that file to
    re-run the fold. A missing or empty folder, or one a cancelled run left, is accepted. ``<run>/baseline/``
    (from ``--with-baseline``) is checked the same way.
    """
    run_dir = Path(run_dir)
    if db_root is not None and run_dir.resolve() == Path(db_root).resolve():
        raise LosoError(f"{run_dir} is the database folder; give the run its own folder (e.g. --run-dir "
                        f"runs/NAME) so the run's files do not go into the database")
    if not run_dir.exists():
        return
    if not run_dir.is_dir():
        raise LosoError(f"{run_dir} is a file, not a folder; give a new or empty folder as --run-dir")
    if RunFolder(run_dir).config.exists():
        try:
            _existing_config(run_dir)
        except LosoError as exc:
            raise LosoError(f"{exc}; cmnet loso needs its own run folder (--run-dir)") from None
    else:
        foreign = sorted(p.name for p in run_dir.iterdir()
                         if p.name not in _RUN_FILES and not (p.is_file() and p.suffix in _LAUNCHER_SUFFIXES))
        if foreign:
            shown = ", ".join(foreign[:4]) + (", ..." if len(foreign) > 4 else "")
            raise LosoError(f"{run_dir} is not a cmnet loso run folder: it holds other files ({shown}) and no "
                            "config.json; give a new or empty folder as --run-dir")
    run = RunFolder(run_dir)
    for fold in run.fold_folders():
        if fold.finished():
            read_json(fold.result, fix=_rerun_fix(fold.result))
    if run.timing.exists():
        read_json(run.timing, fix="delete it (only the record of preprocessing times is lost)")

    if (run_dir / BASELINE_DIR).is_dir():
        check_run_dir(run_dir / BASELINE_DIR)


def _rerun_fix(result_path: Path) -> str:
    """What to do about a damaged ``folds/<fold>/result.json``."""
    return f"delete it to re-run fold {result_path.parent.name} (the same cmnet loso command resumes the run)"


def run_created_nothing(run_dir: str | Path) -> bool:
    """True when ``run_dir`` holds no finished fold (result.json) and no checkpoint (*.pt): a run refused before
    any training finished, whose folder the command that created it may remove."""
    run_dir = Path(run_dir)
    return not any(run_dir.rglob("result.json")) and not any(run_dir.rglob("*.pt"))


def one_class_folds(clips, fold_map: dict[str, list[str]], todo: Sequence[str], val_count: int,
                    seed: int) -> dict[str, tuple[list[str], list[str]]]:
    """Folds of ``todo`` whose training clips hold fewer than two classes, checked on the database's clips before
    any preprocessing: ``{fold: (its test subjects, the classes present)}``.

    clips : objects with ``subject`` and ``label`` (``Database.clips``); ``val_count`` / ``seed``: the validation
    subjects `split_fold` takes out of training (0 for the baseline). A classifier trained on one class predicts
    that class for every clip, so such a fold measures nothing.
    """
    out = {}
    for name in todo:
        tests = fold_map[name]
        train, _, _ = split_fold(clips, tests, val_count, seed, fold=name)
        classes = sorted({c.label for c in train}, key=str)
        if len(classes) < 2:
            out[name] = (list(tests), [str(c) for c in classes])
    return out


def one_class_message(fold: str, tests: Sequence[str], classes: Sequence[str], who: str) -> str:
    """``fold FOLD: the training clips (all subjects but ...) hold N class(es) (...)`` + what it means for ``who``."""
    return (f"fold {fold}: the training clips (all subjects but {', '.join(tests)}) hold {len(classes)} class(es) "
            f"({', '.join(classes) or 'none'}); {who}")


def run_fold(run_dir: Path, samples: Sequence[Sample], subject: str, labels: Sequence[str], model_cfg,
             train_cfg: TrainConfig, metadata: dict, callbacks: Callback | None = None,
             test_subjects: Sequence[str] | None = None, keep_model: bool = False) -> dict | None:
    """Train and test one fold named ``subject``; write and return ``folds/<subject>/result.json``.

    keep_model : keep the fold's model as ``checkpoints/final.pt`` in float16 (`keep_half_precision`); by
    default the fold's checkpoints folder is removed once result.json (predictions, probabilities, scores and
    the test clips' intensity clues ``intensity``, (M, N)) is written, so a run without fold models stays small.

    test_subjects : the fold's test subjects (k-fold); default ``[subject]`` (LOSO). result.json lists them under
    ``test_subjects`` and keeps the fold name under ``subject``. Resumes from the fold's ``last.pt`` if present.
    Returns None when cancelled (the checkpoint stays).
    result.json also holds ``wall_s`` (seconds this call took: training, prediction and writing; a resumed fold
    counts only the session that finished it), ``steps`` (optimiser steps of the whole fit) and ``step_s`` (mean
    seconds per step, from the Trainer's step timing, resumed sessions included).
    """
    started = time.perf_counter()
    cb = callbacks if callbacks is not None else Callbacks()
    fold_dir = RunFolder(run_dir).fold(subject)
    tests = list(test_subjects) if test_subjects is not None else [subject]
    train, val, test = split_fold(samples, tests, train_cfg.val_subjects if train_cfg.selection == "val" else 0,
                                  train_cfg.seed, fold=subject)
    trainer = Trainer(model_cfg, train_cfg, labels, fold_dir.checkpoints,
                      metadata={**metadata, "fold": subject}, callbacks=cb)
    cb.on_fold_start(subject, {"train_clips": len(train), "val_clips": len(val), "test_clips": len(test),
                               "test_subjects": tests, "val_subjects": sorted({s.subject for s in val}),
                               "device": describe_device(trainer.device)})
    fit: FitResult = trainer.fit(train, val=val, test=test if train_cfg.oracle else ())
    if fit.status != "finished":
        return None
    probs, clues = predict_samples_with_intensity(fit.model, test, trainer.device, train_cfg.batch_size)
    y_true = [s.label for s in test]
    y_pred = probs.argmax(1).tolist()
    cm = confusion_matrix(y_true, y_pred, len(labels))
    result = {"subject": subject, "test_subjects": tests, "test_clips": [s.name for s in test], "y_true": y_true,
              "y_pred": y_pred, "probabilities": probs.round(6).tolist(), "confusion_matrix": cm.tolist(),
              "scores": scores(cm), "selected_epoch": fit.selected_epoch, "selection": train_cfg.selection,
              "val_subjects": sorted({s.subject for s in val}), "train_subjects": sorted({s.subject for s in train}),
              "intensity": clues.round(5).tolist(), "history": fit.history,
              "checkpoint": str(fit.final_path) if keep_model else None, "steps": fit.steps, "step_s": fit.step_s}
    if fit.oracle_probs is not None:
        accs = [(float(np.mean(p.argmax(1) == np.asarray(y_true))), e) for e, p in enumerate(fit.oracle_probs)]
        best_e = max(accs, key=lambda t: (t[0], -t[1]))[1]
        ocm = confusion_matrix(y_true, fit.oracle_probs[best_e].argmax(1), len(labels))
        result["oracle"] = {"epoch": best_e + 1, "confusion_matrix": ocm.tolist(), "note": ORACLE_NOTE}
    result["wall_s"] = time.perf_counter() - started
    if keep_model:
        keep_half_precision(fit.final_path)
    write_json(fold_dir.result, result)
    if keep_model:
        for name in ("last.pt", "best.pt"):  # the fold is complete: keep final.pt only
            (fold_dir.checkpoints / name).unlink(missing_ok=True)
    else:
        shutil.rmtree(fold_dir.checkpoints, ignore_errors=True)
    cb.on_fold_end(subject, result["scores"])
    return result


def keep_half_precision(path: Path) -> Path:
    """Rewrite the checkpoint ``path`` with its floating-point weights in float16 (half the bytes; metadata
    ``weights_dtype: "float16"``). Loading casts them back to the model's float32 (`Predictor.load`,
    ``load_state_dict``); the classification of the fold's test clips is recorded in result.json before, from
    the float32 model. Raises `CheckpointError` for a file that does not load."""
    from .checkpoint import load_checkpoint, save_checkpoint

    ckpt = load_checkpoint(path)
    half = {k: v.half() if v.is_floating_point() else v for k, v in ckpt.state_dict.items()}
    return save_checkpoint(path, half, {**ckpt.metadata, "weights_dtype": "float16"})


def run_baseline_fold(run_dir: Path, samples: Sequence[Sample], subject: str, labels: Sequence[str], seed: int,
                      callbacks: Callback | None = None, event_prefix: str = "",
                      test_subjects: Sequence[str] | None = None, val_count: int = 0) -> dict:
    """Fit and test the difference baseline on one fold named ``subject`` (test subjects ``test_subjects``,
    default ``[subject]``); write and return ``folds/<subject>/result.json``.

    The fold is `split_fold`'s with ``val_count`` validation subjects left out: 0 for a baseline run (it selects
    nothing, so it trains on every subject outside the fold); beside a CMNet run with ``--selection val`` the
    CMNet folds' count and seed, so the baseline trains on exactly CMNet's training subjects (the val subjects,
    recorded under ``val_subjects``, are used by neither model's fit); the fitted model goes to
    ``folds/<subject>/baseline.json`` (`DifferenceBaseline.save`, no pickle; ``DifferenceBaseline.load`` reads
    it). result.json has run_fold's keys with ``selected_epoch`` None, ``history`` [], ``selection`` "none",
    ``steps`` 0, ``step_s`` None and ``wall_s`` (seconds: features, fit, prediction, writing).
    Events: fold_start / fold_end named ``event_prefix + subject``.
    Raises `LosoError` naming the fold when its training clips hold fewer than two classes.
    """
    from .fidelity import DifferenceBaseline

    started = time.perf_counter()
    cb = callbacks if callbacks is not None else Callbacks()
    fold_dir = RunFolder(run_dir).fold(subject)
    tests = list(test_subjects) if test_subjects is not None else [subject]
    train, val, test = split_fold(samples, tests, val_count, seed, fold=subject)
    classes = sorted({s.label for s in train})
    if len(classes) < 2:
        raise LosoError(one_class_message(subject, tests, [labels[c] for c in classes], "the baseline needs at "
                                          "least two"))
    cb.on_fold_start(event_prefix + subject, {"train_clips": len(train), "val_clips": 0, "test_clips": len(test),
                                              "test_subjects": tests, "val_subjects": [], "device": "cpu"})
    model = DifferenceBaseline().fit([s.clip for s in train], [s.label for s in train])
    path = model.save(fold_dir.baseline_model)
    probs = model.predict_proba([s.clip for s in test], len(labels))
    y_true = [s.label for s in test]
    y_pred = probs.argmax(1).tolist()
    cm = confusion_matrix(y_true, y_pred, len(labels))
    result = {"subject": subject, "test_subjects": tests, "test_clips": [s.name for s in test], "y_true": y_true,
              "y_pred": y_pred, "probabilities": probs.round(6).tolist(), "confusion_matrix": cm.tolist(),
              "scores": scores(cm), "selected_epoch": None, "selection": BASELINE_SELECTION,
              "val_subjects": sorted({s.subject for s in val}),
              "train_subjects": sorted({s.subject for s in train}), "history": [], "intensity": None,
              "checkpoint": str(path),
              "steps": 0, "step_s": None, "wall_s": time.perf_counter() - started}
    write_json(fold_dir.result, result)
    cb.on_checkpoint(path)
    cb.on_fold_end(event_prefix + subject, result["scores"])
    return result


_TIMING_FIX = "delete it (only the record of preprocessing times is lost)"


def run_lock(run_dir: str | Path):
    """The lock of a run folder, ``<run>/.lock`` (`filelock.FileLock`, a context manager): held while a process
    reads and rewrites the run's shared files (pooling in `merge`, appending to timing.json), so fold tasks of one
    run on a cluster finishing at once take turns instead of losing each other's writes."""
    from filelock import FileLock

    return FileLock(str(RunFolder(run_dir).lock))


def record_preprocess_time(run_dir: Path, wall_s: float, clips: int, cached: bool) -> None:
    """Append one invocation's preprocessing wall time (seconds, all ``clips``) to ``<run>/timing.json`` (under
    `run_lock`: concurrent fold tasks each keep their entry)."""
    path = RunFolder(run_dir).timing
    with run_lock(run_dir):
        timing = read_json(path, fix=_TIMING_FIX) if path.exists() else {"preprocess": []}
        timing["preprocess"].append({"wall_s": float(wall_s), "clips": int(clips), "cache": bool(cached),
                                     "at": now_iso()})
        write_json(path, timing)


def timing_summary(run_dir: Path, results: dict[str, dict]) -> dict:
    """The run's cost for metrics.json: ``fold_wall_s`` (subject -> seconds), ``total_fold_wall_s``,
    ``step_s`` (mean over the folds that report one, seconds per optimiser step; None for a baseline),
    ``steps`` (sum), ``preprocess_wall_s`` (sum over the invocations in timing.json; None when not recorded)
    and ``preprocess_invocations``."""
    walls = {s: r["wall_s"] for s, r in results.items() if r.get("wall_s") is not None}
    steps = [r["step_s"] for r in results.values() if r.get("step_s") is not None]
    path = RunFolder(run_dir).timing
    pre = read_json(path, fix=_TIMING_FIX).get("preprocess", []) if path.exists() else []
    return {"fold_wall_s": walls, "total_fold_wall_s": float(sum(walls.values())) if walls else None,
            "step_s": float(np.mean(steps)) if steps else None,
            "steps": int(sum(r.get("steps") or 0 for r in results.values())),
            "preprocess_wall_s": float(sum(p["wall_s"] for p in pre)) if pre else None,
            "preprocess_invocations": len(pre)}


def check_loso_config(run_dir: str | Path, config) -> None:
    """Check that ``config`` (the parsed ``<run_dir>/config.json``) is a LOSO / k-fold run's before merging it.

    Raises `LosoError` naming the folder and what to do for a ``cmnet train`` run (kind ``final`` or
    ``finetune``: evaluate its checkpoint instead) or a config without the database's labels and subjects/folds.
    """
    run_dir = Path(run_dir)
    kind = config.get("kind") if isinstance(config, dict) else None
    if kind in ("final", "finetune"):
        raise LosoError(f"{run_dir} is a training run, not a LOSO run; evaluate a checkpoint with "
                        f"`cmnet evaluate CKPT DB` (e.g. cmnet evaluate {run_dir / 'checkpoints' / 'final.pt'} DB)")
    database = config.get("database") if isinstance(config, dict) else None
    if (not isinstance(database, dict) or not isinstance(database.get("labels"), list)
            or not isinstance(config.get("folds", database.get("subjects")), (list, dict))
            or not isinstance(config.get("train_config"), dict)):
        raise LosoError(f"{run_dir / 'config.json'} is not the config of a cmnet loso run (no database labels, "
                        "subjects or training settings); give the folder cmnet loso wrote")


def missing_folds_commands(run_dir: str | Path, config: dict, missing: Sequence[str]) -> list[str]:
    """Shell commands that run exactly the ``missing`` folds of a run, for a partial merge's message.

    First ``cmnet loso DB OPTIONS --run-dir RUN --fold F ...``: DB and OPTIONS from config.json's ``command``
    (recorded by the fold that created the run: the options that define it, without ``--fold``, ``--run-dir``,
    progress or worker options); a run written before that key existed gets the database root and a reminder to
    add its options. Then, when the run was submitted to SLURM (``RUN/slurm/folds.sbatch`` and ``folds.txt``),
    ``sbatch --array=I,J RUN/slurm/folds.sbatch`` with the array indices of the missing folds. Every word is
    quoted for a POSIX shell (`shlex.join`). A ``RUN/baseline`` sub-run gives the commands of its CMNet run
    (the same invocation runs both)."""
    import shlex


    run_dir = Path(run_dir)
    if run_dir.name == BASELINE_DIR and (run_dir.parent / "config.json").is_file():
        run_dir = run_dir.parent
    command = config.get("command") if isinstance(config.get("command"), dict) else {}
    tail = ["--run-dir", str(run_dir), "--fold", *missing]
    if command.get("db"):
        local = shlex.join(["cmnet", "loso", command["db"], *command.get("options", []), *tail])
    else:
        local = (shlex.join(["cmnet", "loso", str(config.get("database", {}).get("root", "DB")), *tail])
                 + "   # add the options the run's other folds were given")
    out = [local]
    listing, script = run_dir / "slurm" / "folds.txt", run_dir / "slurm" / "folds.sbatch"
    if listing.is_file() and script.is_file():
        names = listing.read_text(encoding="utf-8").split()
        index = [str(names.index(m)) for m in missing if m in names]
        if index:
            out.append(shlex.join(["sbatch", f"--array={','.join(index)}", str(script)]))
    return out


def merge(run_dir: str | Path) -> dict:
    """Pool the finished folds of a run into metrics.json, metrics.csv and per_class.csv; return the summary.

    The summary holds the pooled figures (accuracy, UF1, UAR, paper F1 from the summed confusion matrix), the
    fold-averaged figures, per-fold figures (keyed by fold name), the per-class report, the list of missing folds,
    ``train_subjects`` (fold name -> the subjects its model was fitted on),
    ``split`` ("loso" or "k-fold") and ``folds`` (fold name -> test subjects; `config_folds`, so a run written
    before splits existed merges as LOSO), and — if the run recorded it — the separately labelled oracle figures.
    A run with missing folds is marked partial: ``complete`` false, ``partial`` true, ``partial_note`` ("PARTIAL:
    2 of 3 folds; missing: s02") and ``missing_folds_commands`` (`missing_folds_commands`) in metrics.json, and
    the pooled and fold-averaged rows of metrics.csv read ``pooled (PARTIAL: 2 of 3 folds; missing: s02)``.
    Pooling holds the run's lock (`run_lock`), so fold tasks finishing at once on a cluster pool one after
    the other and the last one's table holds every fold it saw; files are replaced atomically (unique temporary
    names), so a reader never sees half a table.
    Raises `LosoError` when ``run_dir`` has no config.json, its config.json is not a LOSO run's
    (`check_loso_config`) or no fold has finished; `DamagedFileError` (a ``ValueError``) naming a damaged
    config.json or result.json and what to do.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise LosoError(f"{run_dir} is not a run folder ({'a file' if run_dir.exists() else 'no such folder'}); "
                        "give the folder cmnet loso wrote (its --run-dir, or the folder it printed)")
    if not RunFolder(run_dir).config.is_file():
        raise LosoError(f"{run_dir} is not a run folder (no config.json); give the folder cmnet loso wrote "
                        "(its --run-dir, or the folder it printed)")
    config = read_json(RunFolder(run_dir).config, fix="restore it, or re-run the folds into a new run folder")
    check_loso_config(run_dir, config)
    labels = config["database"]["labels"]
    split, folds = config_folds(config)
    with run_lock(run_dir):
        results = {}
        for name in folds:
            path = RunFolder(run_dir).fold(name).result
            if path.exists():
                results[name] = read_json(path, fix=_rerun_fix(path))
        if not results:
            raise LosoError(f"{run_dir}: no finished fold (no folds/*/result.json); run the folds first: "
                            + " or ".join(missing_folds_commands(run_dir, config, list(folds))))
        missing = [s for s in folds if s not in results]
        summary = loso_summary({s: np.asarray(r["confusion_matrix"]) for s, r in results.items()}, labels)
        summary.update({
            "model_kind": model_kind(config), "split": split, "folds": folds,
            "folds_done": len(results), "folds_missing": missing, "complete": not missing, "partial": bool(missing),
            "selection": config["train_config"]["selection"],
            "selected_epochs": {s: r["selected_epoch"] for s, r in results.items()},
            "train_subjects": {s: r.get("train_subjects") for s, r in results.items()},
            "database": config["database"], "protocol": config["database"]["protocol"],
            "apex_sources": config["apex_sources"], "train_config": config["train_config"],
            "model_config": config["model_config"], "preprocess": config["preprocess"],
            "preset": config.get("preset"), "code_version": code_version(),
            "run_code_version": config["code_version"], "merged": now_iso(),
            "timing": timing_summary(run_dir, results)})
        if missing:
            summary["partial_note"] = (f"PARTIAL: {len(results)} of {len(folds)} folds; missing: "
                                       f"{', '.join(missing)}")
            summary["missing_folds_commands"] = missing_folds_commands(run_dir, config, missing)
        if all("oracle" in r for r in results.values()):
            o = loso_summary({s: np.asarray(r["oracle"]["confusion_matrix"]) for s, r in results.items()}, labels)
            summary["oracle"] = {"note": ORACLE_NOTE, "pooled": o["pooled"], "fold_averaged": o["fold_averaged"],
                                 "epochs": {s: r["oracle"]["epoch"] for s, r in results.items()}}
        write_json(RunFolder(run_dir).metrics, summary)
        _write_csv(run_dir, summary)
        _write_intensity_csv(run_dir, results, labels)
    return summary


def _csv_text(rows: Sequence[Sequence]) -> str:
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows(rows)
    return buf.getvalue()


def _write_csv(run_dir: Path, summary: dict) -> None:
    """metrics.csv and per_class.csv, each replaced atomically (`write_text_atomically`)."""
    from ..safe_write import write_text_atomically

    cols = ["accuracy", "uf1", "uar", "paper_f1"]
    prov = [summary["database"]["name"], summary["protocol"], ";".join(f"{k}:{v}" for k, v in
                                                                     summary["apex_sources"].items()),
            summary["selection"], summary["run_code_version"]]
    mark = f" ({summary['partial_note']})" if summary.get("partial") else ""
    rows = [["scope", "subject", "n", *cols, "database", "protocol", "apex_source", "selection", "code_version"]]
    for s, sc in summary["per_fold"].items():
        rows.append(["fold", s, sc["n"], *(f"{sc[c]:.6f}" for c in cols), *prov])
    rows.append(["pooled" + mark, "", summary["pooled"]["n"], *(f"{summary['pooled'][c]:.6f}" for c in cols), *prov])
    rows.append(["fold_averaged" + mark, "", "", *(f"{summary['fold_averaged'][c]:.6f}" for c in cols), *prov])
    if "oracle" in summary:
        o = summary["oracle"]
        rows.append(["ORACLE_pooled (optimistic, best epoch on test)" + mark, "", o["pooled"]["n"],
                     *(f"{o['pooled'][c]:.6f}" for c in cols), *prov])
    write_text_atomically(RunFolder(run_dir).metrics_csv, _csv_text(rows))
    per_class = [["label", "support", "predicted", "precision", "recall", "f1"]]
    for r in summary["per_class"]:
        per_class.append([r["label"], r["support"], r["predicted"],
                          *("" if r[k] is None else f"{r[k]:.6f}" for k in ("precision", "recall", "f1"))])
    write_text_atomically(RunFolder(run_dir).per_class_csv, _csv_text(per_class))


def _write_intensity_csv(run_dir: Path, results: dict, labels: Sequence[str]) -> None:
    """``intensity.csv``: one row per test clip of the finished folds (fold, clip, true and predicted label,
    k_1..k_N); folds written before result.json held ``intensity`` are left out. Replaced atomically."""
    from ..safe_write import write_text_atomically

    rows = []
    for fold, r in results.items():
        for clip, t, p, k in zip(r["test_clips"], r["y_true"], r["y_pred"], r.get("intensity") or []):
            rows.append([fold, clip, labels[t], labels[p], *(f"{v:.5f}" for v in k)])
    if not rows:
        return
    n = max(len(row) for row in rows) - 4
    header = ["fold", "clip", "true_label", "predicted_label", *(f"k_{i + 1}" for i in range(n))]
    write_text_atomically(RunFolder(run_dir).intensity_csv, _csv_text([header, *rows]))


def database_info(db, samples: Sequence[Sample]) -> dict:
    """Provenance of the database for config.json: name, root, sheet, protocol, labels, subjects, counts, skips."""
    return {"name": db.name, "root": str(db.root), "sheet": str(db.sheet) if db.sheet else None,
            "protocol": db.protocol, "labels": list(db.labels), "subjects": db.subjects(),
            "clips": len(samples), "per_class": dict(Counter(db.labels[s.label] for s in samples)),
            "skipped": len(db.skips)}


class _Renamed(Callback):
    """Passes fold and checkpoint events and cancel requests on to ``inner`` with fold names prefixed (the
    baseline folds of a ``with_baseline`` run appear as ``baseline:<subject>`` in the CMNet run's progress)."""

    def __init__(self, inner: Callback, prefix: str) -> None:
        self.inner, self.prefix = inner, prefix

    def on_fold_start(self, fold, info):
        self.inner.on_fold_start(self.prefix + fold, info)

    def on_fold_end(self, fold, metrics):
        self.inner.on_fold_end(self.prefix + fold, metrics)

    def on_checkpoint(self, path):
        self.inner.on_checkpoint(path)

    def should_cancel(self) -> bool:
        return self.inner.should_cancel()


def run_baseline_folds(run_dir: Path, samples: Sequence[Sample], todo: Sequence[str], labels: Sequence[str],
                       seed: int, callbacks: Callback, folds: dict[str, list[str]] | None = None,
                       val_count: int = 0) -> bool:
    """`run_baseline_fold` for every fold of ``todo`` without a result.json yet (``folds``: fold name -> test
    subjects; default LOSO, one subject per fold; ``val_count``: validation subjects left out of training, see
    `run_baseline_fold`); False when cancelled (asked between folds). Raises `LosoError` naming a fold whose
    training clips hold one class only."""
    for subject in todo:
        if RunFolder(run_dir).fold(subject).finished():
            continue
        if callbacks.should_cancel():
            return False
        run_baseline_fold(run_dir, samples, subject, labels, seed, callbacks,
                          test_subjects=(folds or {}).get(subject), val_count=val_count)
    return True


def run_loso(db, run_dir: str | Path, model_cfg, train_cfg: TrainConfig, settings, folds: Sequence[str] | None = None,
             callbacks: Callback | None = None, cache=None, extra: dict | None = None, model: str = "cmnet",
             with_baseline: bool = False, k_folds: int | None = None, keep_fold_models: bool = False) -> dict | None:
    """Preprocess ``db``, run the requested folds (all folds when ``folds`` is None) and merge.

    folds : fold names to run: test subjects in LOSO, ``fold1``.. with ``k_folds``.
    keep_fold_models : keep each fold's model (``folds/<fold>/checkpoints/final.pt``, float16); by default a
            fold keeps its predictions, scores and intensity clues only (`run_fold`).
    k_folds : None = LOSO (one fold per subject); K = K folds grouped by subject (`kfold_folds`: subjects in
            natural name order, fold i tests ranks r with r mod K = i − 1). config.json records ``split`` and
            ``folds`` (fold name -> test subjects); every invocation on one run folder must use the same split.

    settings : PreprocessSettings (for CMNet image_size/num_frames must equal the model's).
    cache : a `PreprocessCache` or None.
    extra : more JSON-safe keys for config.json (e.g. ``{"preset": {"name", "asked", "reason"}}`` from the CLI);
            folds of one run must agree on them too; merge copies ``preset`` into the summary.
    model : ``"cmnet"`` (train CMNet per fold; ``model_cfg`` / ``train_cfg``) or ``"baseline"`` (fit the
            difference baseline per fold; of ``train_cfg`` only the seed is used; seconds, no device).
    with_baseline : CMNet runs only: then also run the baseline on the same folds and preprocessed clips into
            ``<run>/baseline/`` (its own run folder with config.json, log.jsonl, folds, metrics.json) and write
            ``<run>/comparison.json`` and ``comparison.csv`` (`cmnet_core.train.comparison`); the returned summary
            then holds the comparison under ``"comparison"``. CMNet's metrics.json is written before the baseline
            starts. With ``selection "val"`` the baseline folds leave out the same validation subjects as CMNet's
            (train_config ``excluded_val_subjects``), so both models train on exactly the same subjects: "same
            folds" in the comparison is then true of the training sets too, not only of the test folds (simpler and
            more honest than disclosing a difference; the baseline selects nothing, so it loses only data that CMNet
            does not train on either).
    Checked before any preprocessing or event (so a refused run writes nothing, `LosoError`): the fold names,
    the device, an existing config.json (and ``<run>/baseline/config.json``) in every section that does not
    depend on the preprocessed clips (`precheck_config`), and every fold's training classes (`one_class_folds`):
    a fold with one class is refused for the baseline (``model "baseline"`` or ``with_baseline``); for CMNet
    alone it is reported in run_start's ``one_class_folds`` (fold -> classes; the CLI prints a warning).
    Events: run_start (with the resolved ``device``, ``split`` and the fold names to run), one ``on_preprocess``
    per clip (cancel is checked between clips), then the folds (a with_baseline run's baseline folds, the same
    folds, as ``baseline:<fold>``). The preprocessing wall time is appended to ``<run>/timing.json``. Returns the
    merged summary (see `merge`), or None when cancelled. Raises `LosoError` for unknown folds, k_folds < 2 or
    above the number of subjects, settings that differ from an existing run's config.json (the split included)
    or a baseline fold with one training class, ``ValueError`` for an unknown model, settings and model that
    disagree or a device asked for that is not available.
    """
    from .dataset import preprocess_clips

    if model not in MODEL_KINDS:
        raise ValueError(f"unknown model {model!r}; choose one of {', '.join(MODEL_KINDS)}")
    if with_baseline and model != "cmnet":
        raise ValueError("with_baseline runs the baseline beside CMNet; a baseline run needs no second baseline")
    if model == "cmnet" and (settings.image_size, settings.num_frames) != (model_cfg.image_size,
                                                                           model_cfg.num_frames):
        raise ValueError(f"preprocessing gives {settings.image_size} px x {settings.num_frames} frames but the model "
                         f"expects {model_cfg.image_size} px x {model_cfg.num_frames} frames")
    run_dir = Path(run_dir)
    cb = callbacks if callbacks is not None else Callbacks()
    split, fold_map = run_folds(db.subjects(), k_folds)
    todo = list(folds) if folds else list(fold_map)
    unknown = [s for s in todo if s not in fold_map]
    if unknown:
        what = "subject(s)" if split == "loso" else "fold(s)"
        raise LosoError(f"unknown {what} {', '.join(unknown)}; the {split} split has {', '.join(fold_map)}")
    # a missing CUDA device fails before preprocessing; the baseline runs on the CPU
    device = describe_device(resolve_device(train_cfg.device)) if model == "cmnet" else "cpu"
    val_count = train_cfg.val_subjects if model == "cmnet" and train_cfg.selection == "val" else 0
    # the baseline trains on CMNet's training subjects (its validation subjects left out), so one check serves both
    one_class = one_class_folds(db.clips, fold_map, todo, val_count, train_cfg.seed)
    if one_class and (model == "baseline" or with_baseline):
        name, (tests, classes) = next(iter(one_class.items()))
        raise LosoError(one_class_message(name, tests, classes, "the baseline needs at least two; nothing was "
                                          "trained (use fewer folds, or a database where every fold's training "
                                          "subjects show two classes)"))
    protocol = {"split": split, "folds": fold_map}

    def baseline_run_config(dbinfo=None, apex_sources=None) -> dict:
        config = {**baseline_config(dbinfo, train_cfg.seed, settings.to_dict(), apex_sources), **protocol,
                  **(extra or {})}
        if val_count:
            config["train_config"]["excluded_val_subjects"] = val_count
        return config

    bdir = RunFolder(run_dir).baseline.path
    precheck_run(run_dir, db.subjects(), model_cfg, train_cfg, settings, k_folds, extra, model, with_baseline)
    cb.on_run_start({"run_dir": run_dir, "kind": "loso", "model_kind": model, "split": split, "folds": todo,
                     "database": db.name,
                     "protocol": db.protocol, "clips": len(db.clips), "device": device,
                     **({"one_class_folds": {k: c for k, (_, c) in one_class.items()}} if one_class else {})})
    started = time.perf_counter()
    samples = preprocess_clips(db.clips, db.labels, settings, cache=cache, callbacks=cb)
    if samples is None:
        cb.on_run_end({"status": "cancelled", "run_dir": run_dir})
        return None
    preprocess_s = time.perf_counter() - started
    apex_sources = apex_source_counts(s.clip for s in samples)
    dbinfo = database_info(db, samples)

    if model == "baseline":
        ensure_config(run_dir, baseline_run_config(dbinfo, apex_sources))
        record_preprocess_time(run_dir, preprocess_s, len(samples), cache is not None)
        if not run_baseline_folds(run_dir, samples, todo, db.labels, train_cfg.seed, cb, fold_map):
            cb.on_run_end({"status": "cancelled", "run_dir": run_dir})
            return None
        return _finish(run_dir, cb)
    config = ensure_config(run_dir, {**run_config(dbinfo, model_cfg, train_cfg, settings.to_dict(), apex_sources),
                                     **protocol, **(extra or {})})
    record_preprocess_time(run_dir, preprocess_s, len(samples), cache is not None)
    metadata = {"preprocess": settings.to_dict(), "database": dbinfo["name"], "protocol": db.protocol,
                "apex_sources": apex_sources, "run": str(run_dir), "run_created": config["created"]}
    for subject in todo:
        if RunFolder(run_dir).fold(subject).finished():
            continue
        if run_fold(run_dir, samples, subject, db.labels, model_cfg, train_cfg, metadata, cb,
                    test_subjects=fold_map[subject], keep_model=keep_fold_models) is None:
            cb.on_run_end({"status": "cancelled", "run_dir": run_dir})
            return None
    if not with_baseline:
        return _finish(run_dir, cb)
    merge(run_dir)  # CMNet's metrics are on disk before the baseline starts
    ensure_config(bdir, baseline_run_config(dbinfo, apex_sources))
    record_preprocess_time(bdir, preprocess_s, len(samples), cache is not None)  # shared with the CMNet run
    blog = RunLog(bdir)
    blog.on_run_start({"run_dir": bdir, "kind": "loso", "model_kind": "baseline", "split": split, "folds": todo,
                       "database": db.name, "protocol": db.protocol, "clips": len(db.clips), "device": "cpu",
                       "beside": run_dir})
    bcb = Callbacks([blog, _Renamed(cb, "baseline:")])
    if not run_baseline_folds(bdir, samples, todo, db.labels, train_cfg.seed, bcb, fold_map, val_count):
        blog.on_run_end({"status": "cancelled", "run_dir": bdir})
        cb.on_run_end({"status": "cancelled", "run_dir": run_dir})
        return None
    return _finish(run_dir, cb, baseline=_finish(bdir, blog))


def _finish(run_dir: Path, cb: Callback, baseline: dict | None = None) -> dict:
    """Merge, write the comparison with the ``baseline`` summary when given (then under ``"comparison"``),
    report run_end (finished) and return the summary."""
    summary = merge(run_dir)
    comparison = None
    if baseline is not None:
        comparison = summary["comparison"] = write_comparison(run_dir, summary, baseline)
    cb.on_run_end({"status": "finished", "run_dir": run_dir, "pooled": summary["pooled"],
                   "fold_averaged": summary["fold_averaged"], "complete": summary["complete"],
                   **({"comparison": comparison["rows"]} if comparison else {})})
    return summary


def summary_table(summary: dict) -> str:
    """The result as a plain-text table: one line per fold (a k-fold run's folds with their test subjects), then
    pooled, fold-averaged and (labelled) oracle."""
    cols = ("accuracy", "uf1", "uar", "paper_f1")
    head = f"{'':28s} {'n':>4s} " + " ".join(f"{c:>9s}" for c in cols)

    def line(name, sc, n=""):
        return f"{name:28s} {str(n):>4s} " + " ".join(f"{100 * sc[c]:9.2f}" for c in cols)

    model = summary.get("model_kind", "cmnet")
    folds = summary.get("folds") or {}
    split = (f"{len(folds)}-fold grouped by subject (natural name order, rank mod {len(folds)})"
             if summary.get("split") == "k-fold" else "LOSO")
    rows = [f"{split} {summary['database']['name']} ({summary['protocol']}), model {model}, selection "
            f"{summary['selection']}, apex {summary['apex_sources']}, figures in %", head]
    rows += [line(f"fold {s}", sc, sc["n"]) for s, sc in summary["per_fold"].items()]
    rows.append(line("POOLED (MEGC)", summary["pooled"], summary["pooled"]["n"]))
    rows.append(line("fold-averaged (paper)", summary["fold_averaged"]))
    if "oracle" in summary:
        rows.append(line("oracle pooled (OPTIMISTIC)", summary["oracle"]["pooled"], summary["oracle"]["pooled"]["n"]))
    if summary.get("split") == "k-fold":
        rows.append("test subjects: " + "; ".join(f"{name} {', '.join(subs)}" for name, subs in folds.items()))
    if summary["folds_missing"]:
        rows.append(f"PARTIAL (incomplete): {len(summary['folds_missing'])} fold(s) missing: "
                    f"{', '.join(summary['folds_missing'])}; the figures above pool {summary['folds_done']} of "
                    f"{summary['folds_done'] + len(summary['folds_missing'])} folds")
        for command in summary.get("missing_folds_commands") or ():
            rows.append(f"  run the missing folds: {command}")
    if summary.get("timing"):
        rows.append(cost_line(summary["timing"]))
    return "\n".join(rows)


def cost_line(timing: dict) -> str:
    """One line of a run's cost (`timing_summary`): preprocessing, fold wall times, steps and seconds per step."""
    walls = timing["fold_wall_s"]
    parts = [f"preprocessing {timing['preprocess_wall_s']:.2f} s" if timing.get("preprocess_wall_s") is not None
             else "preprocessing time not recorded"]
    if walls:
        parts.append(f"folds {timing['total_fold_wall_s']:.1f} s in all ({len(walls)} fold(s), "
                     f"{min(walls.values()):.1f}-{max(walls.values()):.1f} s each)")
    if timing.get("step_s") is not None:
        parts.append(f"{timing['steps']} optimiser steps, {timing['step_s']:.3f} s per step")
    return "cost: " + "; ".join(parts)


def merge_with_baseline(run_dir: str | Path) -> tuple[dict, dict | None]:
    """Merge a run (`merge`) and, when it holds ``baseline/`` with finished folds, the baseline too, and write
    the comparison. Returns ``(summary, comparison or None)``. Raises `LosoError` when the run has no finished
    fold; a ``baseline/`` without finished folds gives no comparison."""
    run_dir = Path(run_dir)
    summary = merge(run_dir)
    bdir = RunFolder(run_dir).baseline.path
    if not (bdir / "config.json").exists():
        return summary, None
    try:
        baseline = merge(bdir)
    except LosoError:
        return summary, None
    return summary, write_comparison(run_dir, summary, baseline)
