"""The settings registry (issue 15 part 3): every `CMNetConfig` / `TrainConfig` field carries a `Setting`, every
setting registered for the CLI is a flag of ``cmnet train`` / ``cmnet loso`` whose parsed value reaches the config,
and a new field declared with `setting(...)` appears on the command line with no other edit."""
import dataclasses
import subprocess
import sys

import pytest

from cmnet_core.train import config_fields
from cmnet_core.cli import build_parser
from cmnet_core.train.config_fields import registry, setting
from cmnet_core.model import config as model_config
from cmnet_core.model.config import PRESET_FIELDS, CMNetConfig
from cmnet_core.train import options
from cmnet_core.train.config import TrainConfig


def _parser(command):
    return build_parser()._subparsers._group_actions[0].choices[command]


def _flags(command):
    return {s: a for a in _parser(command)._actions for s in a.option_strings}


def test_every_config_field_declares_its_setting():
    for section, cls in (("model_config", CMNetConfig), ("train_config", TrainConfig)):
        names = [f.name for f in config_fields.fields_of(section)]
        assert names == [f.name for f in dataclasses.fields(cls)]   # none missing (fields_of raises otherwise)


def test_every_cli_setting_is_a_flag_of_train_and_loso_with_its_choices():
    train, loso = _flags("train"), _flags("loso")
    for f in registry("cli"):
        assert f.flag in loso, f.name
        assert (f.flag in train) == (f.how.only != "loso"), f.name   # --oracle only in cmnet loso
        action = loso[f.flag]
        assert action.dest == f.dest
        if f.how.choices:
            assert tuple(action.choices) == f.how.choices
        assert options.CONFIG_OPTIONS[f"{f.section}.{f.name}"] == f.flag
    # the flags the project always had are registered ones (names unchanged)
    assert {"--image-size", "--frames", "--backbone", "--pretrained", "--lambdas", "--epsilon", "--xi", "--tau",
            "--negative-sampling", "--input", "--tendency-loss", "--readout", "--position-weight", "--epochs",
            "--batch-size", "--optimizer", "--lr", "--lr-step", "--augment", "--seed", "--class-balanced",
            "--selection", "--val-subjects", "--device", "--no-amp", "--workers"} <= set(train)


def test_help_names_each_presets_default_from_the_one_preset_table():
    help_text = _parser("train").format_help().replace("\n", " ")
    help_text = " ".join(help_text.split())
    assert "(default: the preset's, wrst for paper/fast, both for cpu)" in help_text     # --tendency-loss
    assert "(default: the preset's, 100 for paper/fast, 20 for cpu)" in help_text       # --epochs
    assert "(default 0.07 0.71 0.22)" in help_text                                      # --lambdas
    f = config_fields.field("model_config", "backbone")
    assert config_fields.preset_values("model_config", "backbone") == {
        p: PRESET_FIELDS[p].get("backbone", "resnet18") for p in PRESET_FIELDS}
    assert config_fields.default_text(f) == "default: the preset's, resnet18 for paper/fast, small for cpu"


def test_flags_written_from_values_parse_back_to_the_same_values():
    """`cli_flags` (what the app sends) and `cli_values` (what the CLI reads) are inverses for every CLI setting."""
    values = {"lambdas": (0.1, 0.5, 0.4), "epsilon": 0.15, "xi": 0.02, "tau": 0.3, "negative_sampling": "random",
              "input": "onset_diff", "tendency_loss": "position", "readout": "k_attention", "position_weight": 2.5,
              "image_size": 48, "num_frames": 8, "backbone": "small", "pretrained": "none"}
    fields = registry("cli", section="model_config")
    assert {f.name for f in fields} == set(values)
    args = _parser("train").parse_args(["db", *config_fields.cli_flags(values, fields)])
    assert config_fields.cli_values(args, fields) == values
    assert {**options.model_overrides(args), **options.method_overrides(args)} == values
    train = _parser("loso").parse_args(["db", "--no-amp", "--class-balanced", "--oracle", "--epochs", "3"])
    tc = options.train_config(train, "paper")
    assert (tc.amp, tc.class_balanced, tc.oracle, tc.epochs, tc.val_subjects, tc.optimizer) == \
        (False, True, True, 3, 0, "sgd")
    tc = options.train_config(_parser("train").parse_args(["db", "--selection", "val"]), "cpu")
    assert (tc.selection, tc.val_subjects, tc.optimizer, tc.epochs, tc.augment) == ("val", 1, "adam", 20, "clip")
    assert tc.select_metric == "uf1"
    # --select-metric: TrainConfig.select_metric put on the CLI by one edit (surfaces=("cli",)) in the registry
    tc = options.train_config(_parser("train").parse_args(["db", "--selection", "val", "--select-metric", "uar"]),
                              "cpu")
    assert tc.select_metric == "uar" and options.CONFIG_OPTIONS["train_config.select_metric"] == "--select-metric"


def test_the_registry_and_the_parser_import_no_torch():
    code = ("import sys; from cmnet_core.train import config_fields as r; import cmnet_core.cli as cli; "
            "cli.build_parser(); r.registry(); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "False"


# ---- a new field is one edit -----------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ExtendedConfig(CMNetConfig):
    """`CMNetConfig` with one more method setting, declared as a new field would be (the only edit)."""

    warmup_frac: float = setting(0.25, help="share of the epochs with a linear lr warm-up", label="Warm-up share",
                                 column="warm-up", range=(0.0, 1.0), surfaces=("cli", "dialog", "runs"))


@pytest.fixture
def extended(monkeypatch):
    """CMNetConfig replaced by `ExtendedConfig` where the project looks it up by name."""
    monkeypatch.setattr(model_config, "CMNetConfig", ExtendedConfig)
    return ExtendedConfig


def test_a_new_field_becomes_a_flag_and_reaches_the_model_config(extended):
    for command in ("train", "loso"):
        action = _flags(command)["--warmup-frac"]
        assert action.type is float and action.default is None
        assert action.help == "share of the epochs with a linear lr warm-up (default 0.25)"
    args = _parser("train").parse_args(["db", "--warmup-frac", "0.5", "--preset", "cpu"])
    assert options.method_overrides(args) == {"warmup_frac": 0.5}
    mc, _, _ = options.configs(args, "synthetic")
    assert isinstance(mc, ExtendedConfig) and mc.warmup_frac == 0.5 and mc.backbone == "small"
    assert args.preset_choice["changed"] == ["warmup_frac"]
    assert options.method_overrides(_parser("train").parse_args(["db"])) == {}


def test_switches_keep_the_preset_value_when_absent_and_turn_both_ways(monkeypatch):
    """A boolean setting on by default gets --x / --no-x; an absent flag leaves the preset's value."""
    import argparse

    from cmnet_core.train.config_fields import Field, add_arguments, cli_flags, cli_values
    from cmnet_core.config_setting import Setting

    on = Field("train_config", "review_switch", True, Setting(help="a switch on by default", surfaces=("cli",),
                                                                         default_in_help=False))
    off = Field("train_config", "other_switch", False, Setting(help="a switch off by default", surfaces=("cli",),
                                                                           default_in_help=False))
    p = argparse.ArgumentParser()
    add_arguments(p, [on, off])
    assert cli_values(p.parse_args([]), [on, off]) == {}              # absent: nothing overridden
    assert cli_values(p.parse_args(["--no-review-switch", "--other-switch"]), [on, off]) == \
        {"review_switch": False, "other_switch": True}
    assert cli_values(p.parse_args(["--review-switch"]), [on]) == {"review_switch": True}
    assert cli_flags({"review_switch": False, "other_switch": True}, [on, off]) == ["--no-review-switch",
                                                                                     "--other-switch"]
