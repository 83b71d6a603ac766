"""The training dialog's method widgets and the runs table's setting columns come from the settings registry
(`cmnet_core.train.config_fields`): every registered setting shows on its surfaces, and a field declared with
`setting(...)` shows in the dialog, the command line it sends and the runs table with no other edit (issue 15)."""
import dataclasses
import json

import pytest
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox

from app.training import request as request_module
from app.training.dialog import TrainingDialog
from app.training.runs_table import HEADERS, RunsTable
from cmnet_core.train.config_fields import registry, setting
from cmnet_core.model import config as model_config
from cmnet_core.model.config import CMNetConfig


@dataclasses.dataclass(frozen=True)
class ExtendedConfig(CMNetConfig):
    """`CMNetConfig` with one more method setting, declared as a new field would be (the only edit)."""

    warmup_frac: float = setting(0.25, help="share of the epochs with a linear lr warm-up", label="Warm-up share",
                                 column="warm-up", range=(0.0, 1.0), surfaces=("cli", "dialog", "runs"))


class Db:  # request() needs an opened database; only these attributes are read
    root, name, protocol = "/data/syn", "synthetic", "synthetic-4"


def _dialog(qtbot, tmp_path):
    dlg = TrainingDialog(tmp_path / "runs", tmp_path / "data")
    qtbot.addWidget(dlg)
    dlg.device.setCurrentIndex(dlg.device.findData("cpu"))
    dlg.preset.setCurrentIndex(dlg.preset.findData("paper"))
    dlg.database = Db()
    return dlg


def _run(root, model_config_values, name="2026-01-01-final-syn"):
    run = root / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({
        "kind": "final", "database": {"name": "synthetic", "protocol": "p"}, "created": "2026-01-01T10:00:00",
        "train_config": {"epochs": 3, "batch_size": 2, "optimizer": "adam", "lr": 0.01, "device": "cpu"},
        "model_config": model_config_values}), encoding="utf-8")
    return run


def test_every_dialog_setting_has_an_editor_with_the_presets_value(qtbot, tmp_path):
    dlg = _dialog(qtbot, tmp_path)
    fields = registry("dialog")
    assert list(dlg.method) == [f.name for f in fields]
    assert {"lambdas", "epsilon", "xi", "tau", "negative_sampling", "tendency_loss", "input"} == set(dlg.method)
    paper = CMNetConfig.preset("paper")
    for f in fields:
        assert dlg.method[f.name].value() == getattr(paper, f.name), f.name
        if f.how.choices:
            box = dlg.method[f.name].widget
            assert isinstance(box, QComboBox) and [box.itemData(i) for i in range(box.count())] == list(f.how.choices)
    assert dlg.method["tendency_loss"].widget.currentText() == "L_Wrst (Eqs. 5–9, paper)"   # choice_text
    xi = dlg.method["xi"].widget
    assert (xi.minimum(), xi.maximum(), xi.decimals()) == (0.0, 1.0, 4)
    assert dlg.request().method == {f.name: getattr(paper, f.name) for f in fields}


def test_every_runs_setting_is_a_column_showing_config_json(qtbot, tmp_path):
    values = {"image_size": 48, "num_frames": 8, "input": "onset_diff", "backbone": "small", "tau": 0.3,
              "negative_sampling": "random", "epsilon": 0.15, "xi": 0.02, "lambdas": [0.1, 0.5, 0.4],
              "tendency_loss": "both"}
    run = _run(tmp_path / "runs", values)
    table = RunsTable(tmp_path / "runs")
    qtbot.addWidget(table)
    shown = {"epochs": "3", "batch_size": "2", "optimizer": "adam", "lr": "0.01", "device": "cpu", "image_size": "48",
             "num_frames": "8", "input": "onset_diff", "backbone": "small", "tau": "0.3",
             "negative_sampling": "random", "epsilon": "0.15", "xi": "0.02", "lambdas": "0.1/0.5/0.4",
             "tendency_loss": "both"}
    assert {f.name for f in registry("runs")} == set(shown)
    for f in registry("runs"):
        assert f.column in HEADERS and table.cell(run, f.column) == shown[f.name], f.name


@pytest.fixture
def extended(monkeypatch):
    """CMNetConfig replaced by `ExtendedConfig` (one more field, `warmup_frac`) where it is looked up by name."""
    monkeypatch.setattr(model_config, "CMNetConfig", ExtendedConfig)
    monkeypatch.setattr(request_module, "CMNetConfig", ExtendedConfig)
    return ExtendedConfig


def test_a_new_field_shows_in_the_dialog_its_command_line_and_the_runs_table(extended, qtbot, tmp_path):
    dlg = _dialog(qtbot, tmp_path)
    editor = dlg.method["warmup_frac"]
    assert isinstance(editor.widget, QDoubleSpinBox) and editor.value() == 0.25
    assert (editor.widget.minimum(), editor.widget.maximum()) == (0.0, 1.0)
    assert editor.widget.toolTip() == "share of the epochs with a linear lr warm-up"
    editor.set_value(0.4)
    req = dlg.request()
    assert req.method["warmup_frac"] == 0.4 and req.model_config().warmup_frac == 0.4
    args = req.cli_arguments(tmp_path / "run")
    assert args[args.index("--warmup-frac") + 1] == "0.4"
    run = _run(tmp_path / "runs", {"image_size": 32, "warmup_frac": 0.4})
    table = RunsTable(tmp_path / "runs")
    qtbot.addWidget(table)
    assert table.cell(run, "warm-up") == "0.4" and table.cell(run, "px") == "32"


def test_a_new_training_setting_shows_in_the_dialog_and_its_command_line(monkeypatch, qtbot, tmp_path):
    """A `TrainConfig` field declared for the dialog and the CLI gets an editor in the Training box, the preset's
    value, and its flag in the command the dialog launches (and the review's switch: on by default, --no-x)."""
    from app.training import dialog as dialog_module
    from cmnet_core.train import config as train_config
    from cmnet_core.train.config import TrainConfig

    @dataclasses.dataclass
    class ExtendedTrain(TrainConfig):
        ema: bool = setting(True, help="keep an exponential moving average of the weights", label="EMA weights",
                            surfaces=("cli", "dialog"), group="training")

    monkeypatch.setattr(train_config, "TrainConfig", ExtendedTrain)
    monkeypatch.setattr(request_module, "TrainConfig", ExtendedTrain)
    monkeypatch.setattr(dialog_module, "training_defaults",
                        lambda preset: {**ExtendedTrain().to_dict(), **train_config.PRESET_TRAINING[preset]})
    dlg = _dialog(qtbot, tmp_path)
    editor = dlg.training_settings["ema"]
    assert editor.value() is True
    editor.set_value(False)
    args = dlg.request().cli_arguments(tmp_path / "run")
    assert "--no-ema" in args and "--ema" not in args
