"""Training, LOSO evaluation, metrics and checkpoints for CMNet (no Qt).

Modules: `trainer` (TrainConfig, Trainer), `loso` (folds, merge), `final` (final model / fine-tuning),
`metrics` (accuracy, UF1, UAR, paper F1), `checkpoint` (code-free checkpoints), `callbacks` (progress protocol),
`dataset` (preprocessed clips as tensors), `runs` (run folders), `options` (shared CLI options).
"""
from .callbacks import Callback, Callbacks, JsonlPrinter, TqdmProgress
from .checkpoint import Checkpoint, CheckpointError, check_compatible, load_checkpoint, save_checkpoint
from .trainer import FitResult, Trainer, TrainConfig

__all__ = ["Callback", "Callbacks", "JsonlPrinter", "TqdmProgress", "Checkpoint", "CheckpointError",
           "check_compatible", "load_checkpoint", "save_checkpoint", "FitResult", "Trainer", "TrainConfig"]
