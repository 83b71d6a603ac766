"""Fold and hold-out splits: the test subject never reaches training or validation."""
import numpy as np
import pytest

from cmnet_core.preprocess.types import PreprocessedClip, PreprocessSettings
from cmnet_core.train.dataset import Sample
from cmnet_core.train.final import holdout_split
from cmnet_core.train.loso import LosoError, fold_dirname, split_fold
from cmnet_core.train.splits import choose_validation_subjects


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


class S:
    def __init__(self, subject, label=0):
        self.subject, self.label, self.name = subject, label, f"{subject}_clip"


SUBJECTS = [f"s{i:02d}" for i in range(1, 11)]


def test_draw_depends_on_seed_fold_and_the_set_of_subjects_only():
    a = choose_validation_subjects(SUBJECTS, 3, seed=7, fold="s04")
    assert a == choose_validation_subjects(list(reversed(SUBJECTS)) + SUBJECTS[:2], 3, seed=7, fold="s04")
    assert len(a) == 3 and a == sorted(a) and set(a) <= set(SUBJECTS)
    draws = {tuple(choose_validation_subjects(SUBJECTS, 3, seed=s, fold="all")) for s in range(20)}
    assert len(draws) > 5  # the seed matters
    assert choose_validation_subjects(SUBJECTS, 0, seed=1) == []


def test_loso_fold_uses_the_chooser_whatever_the_database_order():
    samples = [S(s) for s in reversed(SUBJECTS)]
    train, val, test = split_fold(samples, "s04", 2, seed=5)
    others = [s for s in SUBJECTS if s != "s04"]
    assert sorted({s.subject for s in val}) == choose_validation_subjects(others, 2, seed=5, fold="s04")
    assert {s.subject for s in test} == {"s04"} and not {s.subject for s in train} & {"s04", *{v.subject for v in val}}


def test_too_few_subjects_is_a_clear_error():
    with pytest.raises(ValueError, match="2 training subjects cannot spare 2"):
        choose_validation_subjects(["a", "b"], 2, seed=0)
    with pytest.raises(LosoError, match="cannot spare"):
        split_fold([S("a"), S("b"), S("c")], "a", 2, seed=0)
