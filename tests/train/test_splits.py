"""One validation-subject chooser for final training and every fold."""
import pytest

from cmnet_core.train.loso import LosoError, split_fold
from cmnet_core.train.splits import choose_validation_subjects


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
