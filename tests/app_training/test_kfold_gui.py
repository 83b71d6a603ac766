"""The training dialog's "Folds" control: LOSO by default, K folds grouped by subject for a whole-run LOSO mode
(``--k-folds K`` on the command line), disabled in the other modes."""
from __future__ import annotations

import pytest

from app.training.request import TrainingRequest


@pytest.fixture
def dialog(offline_dialog):
    offline_dialog.k_folds.setMaximum(5)  # what opening a database of 5 subjects sets
    return offline_dialog


def test_folds_control_builds_k_fold_requests(dialog):
    assert dialog.k_folds.value() == 1 and dialog.k_folds.text() == "LOSO (one fold per subject)"
    req = dialog.request()
    assert req.k_folds is None and "--k-folds" not in req.cli_arguments("/tmp/run")
    dialog.k_folds.setValue(5)
    dialog.with_baseline.setChecked(True)
    req = dialog.request()
    args = req.cli_arguments("/tmp/run")
    assert req.k_folds == 5 and args[args.index("--k-folds") + 1] == "5" and "--with-baseline" in args
    assert req.run_name() == "kfold5-syn"
    dialog.k_folds.setValue(9)
    assert dialog.k_folds.value() == 5          # never more folds than subjects
    # one fold alone, final models and fine-tuning are not k-fold runs
    for mode in ("fold", "final", "finetune"):
        dialog.mode.setCurrentIndex(dialog.mode.findData(mode))
        assert not dialog.k_folds.isEnabled()
        assert dialog.request().k_folds is None
    dialog.mode.setCurrentIndex(dialog.mode.findData("loso"))
    assert dialog.k_folds.isEnabled() and dialog.request().k_folds == 5
    with pytest.raises(ValueError, match="needs mode 'loso' and at least 2 folds"):
        TrainingRequest(db="/d", mode="final", k_folds=3)
    with pytest.raises(ValueError, match="at least 2 folds"):
        TrainingRequest(db="/d", k_folds=1)
