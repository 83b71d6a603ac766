"""The training dialog's checks (`preflight`) see one-class training folds before the run: an error for the
baseline (cmnet loso refuses it), a warning for CMNet alone."""
from types import SimpleNamespace

from cmnet_core.train.preflight import check_fold_classes


def _db():
    # s01, s03 show happiness only, s02, s04 surprise only: with 2 folds each fold trains on one class
    clips = [SimpleNamespace(subject=s, label="happiness" if s in ("s01", "s03") else "surprise", name=f"{s}_c")
             for s in ("s01", "s02", "s03", "s04")]
    return SimpleNamespace(name="oc", clips=clips, labels=["happiness", "surprise"],
                           subjects=lambda: list(dict.fromkeys(c.subject for c in clips)))


def test_one_class_folds_are_an_error_for_the_baseline_and_a_warning_for_cmnet():
    db = _db()
    for kwargs in ({"model": "baseline"}, {"with_baseline": True}):
        problems = check_fold_classes(db, k_folds=2, **kwargs)
        assert [p.level for p in problems] == ["error", "error"]
        assert problems[0].message.startswith("fold fold1: the training clips (all subjects but s01, s03) hold 1 "
                                              "class(es) (surprise); the baseline needs at least two")
    problems = check_fold_classes(db, k_folds=2)
    assert [p.level for p in problems] == ["warning", "warning"] and "predicts that class" in problems[1].message
    assert check_fold_classes(db) == []                       # LOSO: every fold trains on both classes
    assert [p.level for p in check_fold_classes(db, k_folds=9)] == ["error"]   # a bad K is named
