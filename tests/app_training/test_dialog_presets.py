"""The training dialog's preset choice (auto / paper / fast / cpu): it says what auto resolves to on this machine,
loads the resolved preset's method and training defaults, and shows the tendency term and input as method settings.
No database and no training: widgets only."""
from __future__ import annotations

import pytest

from app.training.dialog import TrainingDialog
from app.training.request import PRESET_CHOICES


@pytest.fixture
def dialog(qtbot, tmp_path):
    dlg = TrainingDialog(tmp_path / "runs", tmp_path / "data")
    qtbot.addWidget(dlg)
    dlg.device.setCurrentIndex(dlg.device.findData("cpu"))
    return dlg


def _select(box, key):
    box.setCurrentIndex(box.findData(key))


def test_preset_choices_and_auto_on_the_cpu(dialog):
    assert [dialog.preset.itemData(i) for i in range(dialog.preset.count())] == ["auto", "paper", "fast", "cpu"]
    assert dialog.preset.itemText(0) == PRESET_CHOICES["auto"] == "auto (cpu on any device; paper only on request)"
    assert dialog.preset.currentData() == "auto" and dialog.resolved_preset() == "cpu"
    assert "auto → <b>cpu</b> on any device" in dialog.preset_note.text()
    assert "paper only when chosen" in dialog.preset_note.text()


def test_auto_preset_note_does_not_depend_on_cuda(dialog):
    """auto picks cpu on any device: the note must not suggest that a CUDA device would change it (review F7)."""
    cpu_note = dialog.preset_note.text()
    assert "CUDA" not in cpu_note and " here" not in cpu_note
    dialog.device.addItem("cuda:0 (test GPU)", "cuda:0")
    _select(dialog.device, "cuda:0")
    assert dialog.resolved_preset() == "cpu" and dialog.preset_note.text() == cpu_note
    # the cpu preset's defaults: Adam, 20 epochs, batch 8; position term + L_Wrst on onset-relative frames
    assert (dialog.epochs.value(), dialog.batch.value(), dialog.lr.value()) == (20, 8, 1e-3)
    assert "Adam" in dialog.lr_label.text()
    assert (dialog.method["tendency_loss"].value(), dialog.method["input"].value()) == ("both", "onset_diff")
    assert dialog.image_size.specialValueText() == "preset (32)"


def test_switching_preset_loads_its_defaults_and_the_request_carries_them(dialog):
    _select(dialog.preset, "paper")
    assert dialog.resolved_preset() == "paper"
    assert (dialog.epochs.value(), dialog.method["tendency_loss"].value(), dialog.method["input"].value()) == \
        (100, "wrst", "frames")
    assert "SGD, halved every 50 epochs" in dialog.lr_label.text()
    assert dialog.image_size.specialValueText() == "preset (224)"
    dialog.method["tendency_loss"].set_value("position")
    dialog.method["input"].set_value("onset_diff")
    dialog.epochs.setValue(7)

    class Db:  # request() needs an opened database; only these attributes are read
        root, name, protocol = "/data/syn", "synthetic", "synthetic-4"

    dialog.database = Db()
    req = dialog.request()
    assert (req.preset, req.epochs, req.method["tendency_loss"], req.method["input"]) == \
        ("paper", 7, "position", "onset_diff")
    cfg = req.model_config()
    assert (cfg.backbone, cfg.tendency_loss, cfg.input, cfg.image_size) == ("resnet18", "position", "onset_diff", 224)
    args = req.cli_arguments("/tmp/run")
    assert args[args.index("--tendency-loss") + 1] == "position" and args[args.index("--preset") + 1] == "paper"
    dialog.reset_method()  # "Preset defaults"
    assert (dialog.method["tendency_loss"].value(), dialog.method["input"].value()) == ("wrst", "frames")
    _select(dialog.preset, "fast")  # same training defaults as paper; the method is reloaded
    assert dialog.epochs.value() == 100 and dialog.image_size.specialValueText() == "preset (112)"
