"""Training, LOSO evaluation, metrics and checkpoints for CMNet (no Qt).

Modules: `trainer` (Trainer), `config` (TrainConfig), `loso` (folds, merge), `final` (final model / fine-tuning),
`metrics` (accuracy, UF1, UAR, paper F1), `checkpoint` (code-free checkpoints), `callbacks` (progress protocol),
`dataset` (preprocessed clips as tensors), `runs` (run folders), `options` (shared CLI options).

The names below are imported on first use (PEP 562), so importing a light submodule such as
`cmnet_core.train.options` does not import torch (the ``cmnet`` argument parser stays fast).
"""
from importlib import import_module

_EXPORTS = {"Callback": "callbacks", "Callbacks": "callbacks", "JsonlPrinter": "callbacks", "TqdmProgress": "callbacks",
            "Checkpoint": "checkpoint", "CheckpointError": "checkpoint", "check_compatible": "checkpoint",
            "load_checkpoint": "checkpoint", "save_checkpoint": "checkpoint",
            "FitResult": "trainer", "Trainer": "trainer", "TrainConfig": "config"}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
