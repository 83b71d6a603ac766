"""``--preset auto|paper|fast|cpu`` and the preset's training defaults on the command line (no training runs here:
the parser, `configs` and the recorded choice; the LOSO CLI test runs the whole thing)."""
from __future__ import annotations

import pytest

from cmnet_core.cli import build_parser
from cmnet_core.model.config import PRESET_FIELDS, CMNetConfig
from cmnet_core.train import options
from cmnet_core.train.config import PRESET_TRAINING, TrainConfig, auto_preset


def _configs(*flags):
    args = build_parser().parse_args(["loso", "d", *flags])
    mc, tc, settings = options.configs(args, "synthetic")
    return args, mc, tc, settings


def test_auto_follows_the_device():
    args, mc, tc, settings = _configs("--device", "cpu")
    assert args.preset == "auto" and args.preset_choice == {"name": "cpu", "asked": "auto",
                                                               "reason": "the default on any device; here --device cpu"}
    assert mc == CMNetConfig.preset("cpu") and settings.image_size == mc.image_size == 32
    # training settings: TrainConfig's defaults updated by PRESET_TRAINING["cpu"]
    assert (tc.optimizer, tc.lr, tc.epochs, tc.batch_size, tc.lr_step) == ("adam", 1e-3, 20, 8, 1000)
    assert options.preset_line(args.preset_choice) == "preset: cpu (auto: the default on any device; here --device cpu)"
    # on a GPU auto picks cpu too (the paper preset did not learn from small data on an H200: auto_preset)
    args, mc, tc, _ = _configs("--device", "cuda:1")
    assert args.preset_choice["name"] == "cpu" and mc == CMNetConfig.preset("cpu")
    assert "--device cuda:1" in args.preset_choice["reason"]
    assert (tc.optimizer, tc.epochs, tc.lr_step, tc.device) == ("adam", 20, 1000, "cuda:1")
    assert auto_preset(True) == auto_preset(False) == "cpu"
    # --device auto asks torch (this machine's answer, whatever it is)
    import torch

    args, mc, _, _ = _configs()
    assert args.preset_choice["name"] == auto_preset(torch.cuda.is_available())
    assert "CUDA" in args.preset_choice["reason"]


def test_named_preset_and_explicit_flags_win():
    args, mc, tc, _ = _configs("--preset", "fast", "--device", "cpu")
    assert args.preset_choice == {"name": "fast", "asked": "fast", "reason": "asked for with --preset"}
    assert mc == CMNetConfig.preset("fast") and tc.optimizer == "sgd" and tc.epochs == 100
    _, mc, tc, _ = _configs("--preset", "cpu", "--optimizer", "sgd", "--epochs", "3", "--lr", "0.01",
                            "--batch-size", "2", "--lr-step", "7")
    assert (tc.optimizer, tc.epochs, tc.lr, tc.batch_size, tc.lr_step) == ("sgd", 3, 0.01, 2, 7)
    assert mc.backbone == "small"  # the model stays the preset's
    assert tc.augment == "clip" and _configs("--preset", "cpu", "--augment", "none")[2].augment == "none"
    assert _configs("--preset", "paper")[2].augment == "none"
    with pytest.raises(SystemExit):
        build_parser().parse_args(["loso", "d", "--preset", "huge"])


def test_method_flags_reach_the_model_config():
    _, mc, _, _ = _configs("--preset", "paper", "--input", "onset_diff", "--tendency-loss", "position",
                           "--position-weight", "2.5", "--backbone", "small", "--image-size", "32",
                           "--readout", "k_attention")
    assert (mc.input, mc.tendency_loss, mc.position_weight, mc.backbone, mc.image_size, mc.readout) == \
        ("onset_diff", "position", 2.5, "small", 32, "k_attention")
    assert mc.use_position and not mc.use_wrst
    assert options.preset_line(_configs("--preset", "paper", "--input", "onset_diff")[0].preset_choice) == \
        "preset: paper (asked for with --preset), changed: input"
    # the loss-setting flags are METHOD_FIELDS, so `method_overrides` applies them to a checkpoint's model too
    args = build_parser().parse_args(["train", "d", "--from", "x.pt", "--tendency-loss", "none", "--input",
                                      "frames", "--position-weight", "0.5"])
    assert options.method_overrides(args) == {"input": "frames", "tendency_loss": "none", "position_weight": 0.5}
    assert {"input", "tendency_loss", "position_weight"} <= set(options.METHOD_FIELDS)
    # a checkpoint's model decides --preset auto when fine-tuning
    args = build_parser().parse_args(["train", "d", "--device", "cuda"])
    assert options.resolve_preset(args, CMNetConfig.preset("cpu", image_size=32))["name"] == "cpu"
    assert options.resolve_preset(args, CMNetConfig.preset("paper"))["name"] == "paper"
    assert options.preset_of(CMNetConfig.preset("fast")) == "fast"


def test_every_preset_has_training_settings_and_a_model():
    assert set(PRESET_TRAINING) == set(PRESET_FIELDS) == set(options.PRESET_NAMES)
    for name in options.PRESET_NAMES:
        args = build_parser().parse_args(["loso", "d", "--preset", name])
        _, tc, _ = options.configs(args, "synthetic")[:3]
        assert tc == TrainConfig(**{**TrainConfig().to_dict(), **PRESET_TRAINING[name], "device": "auto"})
