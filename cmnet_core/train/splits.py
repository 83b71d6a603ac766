"""Which subjects validate: the one chooser that final training, fine-tuning and every LOSO / k-fold fold use.

A run that selects its model on validation data (``TrainConfig.selection == "val"``) holds ``val_subjects``
training subjects out of the fit. `choose_validation_subjects` draws them reproducibly from the run's seed and
the fold's name, independent of the order in which the database lists its subjects, so a fold re-run (a resumed
run, a SLURM array task, ``--merge``) validates on the same subjects, and final training (fold ``"all"``) uses
the same rule.
"""
from __future__ import annotations

import zlib
from typing import Iterable

import numpy as np

#: The fold name of a final model (all subjects train): the chooser's key for final training and fine-tuning.
FINAL_FOLD = "all"


def choose_validation_subjects(subjects: Iterable[str], count: int, seed: int, fold: str = FINAL_FOLD) -> list[str]:
    """``count`` subjects drawn from ``subjects`` (the training subjects of a fold, test subjects excluded).

    The draw uses ``numpy.random.default_rng([seed, crc32(fold)])`` over the sorted, de-duplicated subject
    names, so it depends on the seed, the fold and the set of subjects only. Returns them sorted; [] for
    ``count`` 0. Raises ``ValueError`` when fewer than ``count + 1`` subjects are given (at least one must
    remain to train on) or ``count`` is negative.
    """
    pool = sorted(set(subjects))
    if count < 0:
        raise ValueError(f"val_subjects={count}: give 0 or more validation subjects")
    if count == 0:
        return []
    if len(pool) <= count:
        raise ValueError(f"{len(pool)} training subjects cannot spare {count} for validation")
    rng = np.random.default_rng([int(seed), zlib.crc32(fold.encode("utf-8"))])   # anagrams differ too
    return sorted(rng.choice(pool, size=count, replace=False).tolist())


__all__ = ["FINAL_FOLD", "choose_validation_subjects"]
