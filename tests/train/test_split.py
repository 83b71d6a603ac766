"""Fold and hold-out splits: the test subject never reaches training or validation."""
import numpy as np
import pytest

from cmnet_core.preprocess.types import PreprocessedClip, PreprocessSettings
from cmnet_core.train.dataset import Sample
from cmnet_core.train.final import holdout_split
from cmnet_core.train.loso import LosoError, fold_dirname, split_fold


def _samples():
    pre = PreprocessedClip(np.zeros((2, 16, 16, 3), np.uint8), np.arange(2.0), 0, "annotated", "none",
                           PreprocessSettings(image_size=16, num_frames=2))
    return [Sample(pre, k % 3, f"s{s}", f"c{s}_{k}") for s in range(5) for k in range(3)]


@pytest.mark.parametrize("test_subject", ["s0", "s3"])
def test_split_fold_with_validation_subjects(test_subject):
    train, val, test = split_fold(_samples(), test_subject, 2, seed=4)
    assert {s.subject for s in test} == {test_subject} and len(test) == 3
    val_subjects = {s.subject for s in val}
    assert len(val_subjects) == 2 and test_subject not in val_subjects
    assert not {s.subject for s in train} & (val_subjects | {test_subject})
    assert len(train) + len(val) + len(test) == 15
    again = split_fold(_samples(), test_subject, 2, seed=4)[1]  # fixed by the seed
    assert [s.name for s in again] == [s.name for s in val]


def test_split_errors_and_names():
    with pytest.raises(LosoError, match="not in the database"):
        split_fold(_samples(), "s9", 0, 0)
    with pytest.raises(LosoError, match="cannot spare"):
        split_fold(_samples(), "s0", 4, 0)
    assert fold_dirname("casme2/sub01") == "casme2__sub01"


def test_holdout_fraction_is_stratified():
    train, held = holdout_split(_samples(), fraction=0.4, seed=1)
    assert sorted(s.label for s in held) == [0, 0, 1, 1, 2, 2]   # round(0.4 * 5) = 2 clips of each class
    assert len(train) == 9 and not {id(s) for s in train} & {id(s) for s in held}
    train, held = holdout_split(_samples(), subjects=["s1"])
    assert {s.subject for s in held} == {"s1"} and "s1" not in {s.subject for s in train}
    with pytest.raises(ValueError, match="not both"):
        holdout_split(_samples(), subjects=["s1"], fraction=0.2)
