"""Checks before a training run is launched: enough subjects, every class has clips, no missing frames, room
on disk for the run folder. Qt-free; the GUI's training dialog shows the result, a script can print it.

Each check returns `Problem`s: an ``"error"`` stops the launch, a ``"warning"`` is shown and the run may go on.
"""
from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

MODES = ("loso", "fold", "finetune", "final")
#: Bytes per float32 parameter.
_FLOAT = 4
#: Checkpoint copies of the weights per trained model: last.pt holds weights + SGD momentum (2), final.pt (1).
_COPIES = 3
#: Extra room kept free beyond the estimate (logs, metrics, file-system slack), bytes.
_MARGIN = 256 * 2**20
#: Clips listed by name in one message before "…".
_SHOWN = 5


@dataclass(frozen=True)
class Problem:
    """One finding: ``level`` is ``"error"`` (the run cannot start) or ``"warning"``; ``message`` says what
    is wrong and what to do."""

    level: str
    message: str


def _names(items: Sequence[str]) -> str:
    shown = ", ".join(items[:_SHOWN])
    return shown + (f" … ({len(items)} in all)" if len(items) > _SHOWN else "")


def check_subjects(db, mode: str, fold: str | None = None, holdout_subjects: Sequence[str] = (),
                   val_subjects: int = 0) -> list[Problem]:
    """Enough subjects for ``mode`` (one of `MODES`).

    LOSO needs at least 2 subjects (each fold trains on the others) plus ``val_subjects`` for validation
    selection; ``fold`` must name a subject of ``db``; held-out subjects must exist and leave one to train on.
    """
    subjects = db.subjects()
    out: list[Problem] = []
    if not db.clips:
        message = db.no_clips_message() if hasattr(db, "no_clips_message") else \
            f"{db.root}: no usable clips ({len(db.skips)} rows skipped)"
        return [Problem("error", message + "; fix the annotation sheet or choose another source")]
    if mode in ("loso", "fold"):
        need = 2 + val_subjects
        if len(subjects) < need:
            out.append(Problem("error", f"LOSO needs at least {need} subjects (one is tested, "
                                        f"{need - 1} train{' incl. validation' if val_subjects else ''}); "
                                        f"{db.name} has {len(subjects)}: {_names(subjects)}. Add subjects, or "
                                        "train a final model / fine-tune with a held-out fraction instead."))
        if mode == "fold" and fold not in subjects:
            out.append(Problem("error", f"fold {fold!r} is not a subject of {db.name}; choose one of "
                                        f"{_names(subjects)}"))
    else:
        unknown = [s for s in holdout_subjects if s not in subjects]
        if unknown:
            out.append(Problem("error", f"held-out subject(s) {_names(unknown)} not in {db.name}; subjects: "
                                        f"{_names(subjects)}"))
        elif holdout_subjects and set(holdout_subjects) >= set(subjects):
            out.append(Problem("error", "every subject is held out: nothing is left to train on"))
    return out


def check_classes(db, mode: str) -> list[Problem]:
    """Every class of the protocol has clips; in LOSO, warn about classes seen in one subject only.

    A class without clips cannot be learnt: an error, except when fine-tuning (the checkpoint's head keeps it,
    a warning). In LOSO a class whose clips all come from one subject is absent from that fold's training.
    """
    per_class = Counter(c.label for c in db.clips)
    empty = [lab for lab in db.labels if per_class[lab] == 0]
    out: list[Problem] = []
    if empty:
        text = (f"class(es) without clips in protocol {db.protocol}: {_names(empty)}. Annotate clips of "
                "these classes, or choose a protocol without them.")
        out.append(Problem("warning" if mode == "finetune" else "error", text))
    if mode in ("loso", "fold"):
        lone = sorted(lab for lab in db.labels
                      if per_class[lab] and len({c.subject for c in db.clips if c.label == lab}) == 1)
        if lone:
            out.append(Problem("warning", f"class(es) {_names(lone)} come from one subject only: the fold that tests "
                                          "that subject trains without them"))
    return out


def check_fold_classes(db, k_folds: int | None = None, model: str = "cmnet", with_baseline: bool = False,
                       fold: str | None = None, val_subjects: int = 0, seed: int = 0) -> list[Problem]:
    """Every LOSO / k-fold fold's training clips hold at least two classes (`cmnet_core.train.loso.one_class_folds`).

    A fold trained on one class predicts that class for every clip: an error for the baseline (``model
    "baseline"`` or ``with_baseline``; `cmnet loso` refuses it before any training), a warning for CMNet alone.
    ``fold``: only that fold; ``val_subjects`` / ``seed``: the validation subjects CMNet leaves out of training.
    A bad ``k_folds`` is reported as an error.
    """
    from .loso import LosoError, one_class_folds, one_class_message, run_folds

    try:
        _, folds = run_folds(db.subjects(), k_folds)
        todo = [fold] if fold in folds else list(folds)
        bad = one_class_folds(db.clips, folds, todo, val_subjects, seed)
    except LosoError as exc:
        return [Problem("error", str(exc))]
    baseline = model == "baseline" or with_baseline
    who = ("the baseline needs at least two; use fewer folds or another database" if baseline else
           "a model trained on one class predicts that class for every clip, so this fold measures nothing")
    return [Problem("error" if baseline else "warning", one_class_message(name, tests, classes, who))
            for name, (tests, classes) in bad.items()]


def check_frames(db) -> list[Problem]:
    """Missing frames: rows the adapter skipped, and gaps in the frame numbers between onset and offset.

    Skipped rows are a warning (the run goes on without them); a clip whose onset..offset span has missing
    frame numbers is an error naming the clip and the first missing frame (temporal sampling would be wrong).
    """
    out: list[Problem] = []
    if db.skips:
        reasons = [f"{s.item}: {s.reason}" for s in db.skips]
        out.append(Problem("warning", f"{len(db.skips)} row(s) of {db.name} skipped and left out of training — "
                                      + "; ".join(reasons[:3]) + (" …" if len(reasons) > 3 else "")))
    gaps = []
    for clip in db.clips:
        lo, hi = clip.span()
        missing = sorted(set(range(lo, hi + 1)) - set(clip.frame_numbers))
        if missing:
            gaps.append(f"{clip.subject}/{clip.name} (frame {missing[0]}"
                        f"{f' and {len(missing) - 1} more' if len(missing) > 1 else ''})")
    if gaps:
        out.append(Problem("error", f"missing frames between onset and offset in {len(gaps)} clip(s): "
                                    f"{_names(gaps)}. Restore the frames or correct onset/offset."))
    return out


def count_parameters(model_cfg, num_classes: int) -> int:
    """Parameters of ``CMNet(model_cfg, num_classes)``, counted on the meta device (no memory, no weights)."""
    import torch

    from cmnet_core.model import CMNet

    with torch.device("meta"):
        model = CMNet(model_cfg, num_classes)
    return sum(p.numel() for p in model.parameters())


def run_bytes(n_params: int, n_models: int, val_selection: bool = False) -> int:
    """Disk bytes a run folder needs: per trained model (one per LOSO fold) ``last.pt`` (weights + momentum),
    ``final.pt`` and, with validation selection, ``best.pt``; float32 weights; plus a fixed margin."""
    copies = _COPIES + (1 if val_selection else 0)
    return n_models * copies * _FLOAT * n_params + _MARGIN


def _existing(path: Path) -> Path:
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_space(folder: str | Path, needed: int, what: str = "the run folder") -> list[Problem]:
    """An error when the disk holding ``folder`` (or its nearest existing parent) has less than ``needed`` bytes
    free (`shutil.disk_usage`)."""
    free = shutil.disk_usage(_existing(Path(folder))).free
    if free < needed:
        return [Problem("error", f"not enough space for {what} in {folder}: about {needed / 2**30:.2f} GiB needed, "
                                 f"{free / 2**30:.2f} GiB free. Free some space or choose another folder.")]
    return []


def n_models(db, mode: str) -> int:
    """Models a run trains: one per subject for LOSO, one otherwise."""
    return len(db.subjects()) if mode == "loso" else 1


def preflight(db, mode: str, runs_root: str | Path, model_cfg, fold: str | None = None,
              holdout_subjects: Sequence[str] = (), val_subjects: int = 0, k_folds: int | None = None,
              model: str = "cmnet", with_baseline: bool = False, seed: int = 0) -> list[Problem]:
    """All checks for launching ``mode`` on ``db`` into ``runs_root``; errors first.

    In ``"loso"`` / ``"fold"`` mode also `check_fold_classes` (``k_folds``, ``model``, ``with_baseline``, ``seed``:
    the run's split, model kind and seed).

    Raises ``ValueError`` for an unknown mode.
    """
    if mode not in MODES:
        raise ValueError(f"unknown training mode {mode!r}; choose one of {MODES}")
    problems = check_subjects(db, mode, fold, holdout_subjects, val_subjects) + check_classes(db, mode)
    if mode in ("loso", "fold") and db.clips and not has_errors(problems):
        problems += check_fold_classes(db, k_folds, model, with_baseline, fold if mode == "fold" else None,
                                       val_subjects, seed)
    problems += check_frames(db)
    if db.clips:
        need = run_bytes(count_parameters(model_cfg, len(db.labels)), n_models(db, mode), val_subjects > 0)
        problems += check_space(runs_root, need)
    return sorted(problems, key=lambda p: p.level != "error")


def has_errors(problems: Sequence[Problem]) -> bool:
    """True when any problem is an error."""
    return any(p.level == "error" for p in problems)
