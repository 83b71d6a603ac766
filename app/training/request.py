"""What the training dialog asks for, and the ``cmnet`` command line that runs it (Qt-free).

Modes: ``loso`` (every fold: ``cmnet loso DB``), ``fold`` (one test subject: ``cmnet loso DB --fold S``),
``final`` (a model on all clips: ``cmnet train DB``) and ``finetune`` (``cmnet train DB --from CKPT``).
The method's loss settings (λ1–λ3, ε, ξ, τ, negative sampling) have no CLI flags yet; when they differ from the
paper's defaults the run goes through `app.training.cli_overrides`, which applies them to the CLI's config.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from cmnet_core.model.config import CMNetConfig
from cmnet_core.train.trainer import TrainConfig

MODES = {"loso": "LOSO evaluation (all folds)", "fold": "One LOSO fold",
         "finetune": "Fine-tune from a checkpoint", "final": "Final model on all data"}
#: CMNetConfig fields the dialog edits (the method's loss settings), in display order.
METHOD_FIELDS = ("lambdas", "epsilon", "xi", "tau", "negative_sampling")
#: Name of the file whose existence asks the run to stop (``--cancel-file``), inside the run folder.
CANCEL_FILE = "cancel.request"


def method_defaults() -> dict:
    """The paper's values of `METHOD_FIELDS` (from `CMNetConfig`)."""
    cfg = CMNetConfig()
    return {k: getattr(cfg, k) for k in METHOD_FIELDS}


@dataclass
class TrainingRequest:
    """One training run as chosen in the dialog.

    db : database root folder (any adapter; the app's own annotations are exported to a generic CSV folder).
    mode : a key of `MODES`.  fold : the test subject for mode ``fold``.
    checkpoint, new_head : the starting checkpoint for ``finetune``; ``new_head`` re-initialises the classifier.
    holdout_subjects : subjects kept out and scored (``final`` / ``finetune``).
    preset : ``"paper"`` (224 px) or ``"fast"`` (112 px); image_size / frames override it (pixels / N frames).
    method : values of `METHOD_FIELDS` (λ1–λ3, ε, ξ, τ, negative sampling).
    device : ``"cpu"``, ``"cuda"``, ``"cuda:1"``… (the dialog resolves "auto" so the GUI knows the device).
    cache : preprocessing cache folder, ``"off"``, or None for the CLI's default.
    """

    db: str
    mode: str = "loso"
    kind: str | None = None
    protocol: str | None = None
    fold: str | None = None
    checkpoint: str | None = None
    new_head: bool = False
    holdout_subjects: list[str] = field(default_factory=list)
    preset: str = "fast"
    image_size: int | None = None
    frames: int | None = None
    epochs: int = TrainConfig.epochs
    batch_size: int = TrainConfig.batch_size
    lr: float = TrainConfig.lr
    seed: int = TrainConfig.seed
    method: dict = field(default_factory=method_defaults)
    device: str = "cpu"
    cache: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown training mode {self.mode!r}; choose one of {list(MODES)}")

    def method_overrides(self) -> dict:
        """The method settings that differ from the paper's defaults (empty for fine-tuning: the checkpoint's
        own model settings are used)."""
        if self.mode == "finetune":
            return {}
        defaults = method_defaults()
        return {k: v for k, v in self.method.items() if defaults.get(k) != v}

    def model_config(self) -> CMNetConfig:
        """The `CMNetConfig` this run trains (preset, size overrides and method settings)."""
        sizes = {k: v for k, v in (("image_size", self.image_size), ("num_frames", self.frames)) if v}
        return CMNetConfig.preset(self.preset, **sizes, **self.method)

    def run_name(self) -> str:
        """A run-folder name: mode and database folder (``loso-synth``, ``fold-s01-casme2`` …)."""
        mode = f"fold-{self.fold}" if self.mode == "fold" else self.mode
        return f"{mode}-{Path(self.db).name}"

    def cli_arguments(self, run_dir: str | Path) -> list[str]:
        """Arguments after ``cmnet``: the subcommand, the database, the options, ``--run-dir``,
        ``--progress jsonl`` and ``--cancel-file <run_dir>/cancel.request``."""
        run_dir = Path(run_dir)
        args = ["loso" if self.mode in ("loso", "fold") else "train", str(self.db)]
        if self.mode == "fold":
            args += ["--fold", str(self.fold)]
        if self.mode == "finetune":
            args += ["--from", str(self.checkpoint)] + (["--new-head"] if self.new_head else [])
        if self.mode in ("final", "finetune") and self.holdout_subjects:
            args += ["--holdout-subject", *self.holdout_subjects]
        for flag, value in (("--kind", self.kind), ("--protocol", self.protocol)):
            if value:
                args += [flag, value]
        if self.mode != "finetune":
            args += ["--preset", self.preset]
            if self.image_size:
                args += ["--image-size", str(self.image_size)]
            if self.frames:
                args += ["--frames", str(self.frames)]
        args += ["--epochs", str(self.epochs), "--batch-size", str(self.batch_size), "--lr", repr(self.lr),
                 "--seed", str(self.seed), "--device", self.device]
        if self.cache:
            args += ["--cache", self.cache]
        return args + ["--run-dir", str(run_dir), "--progress", "jsonl",
                       "--cancel-file", str(run_dir / CANCEL_FILE)]

    def command(self, run_dir: str | Path, python: str = sys.executable) -> list[str]:
        """The full command line: ``python -m cmnet_core.cli ...``, or through `app.training.cli_overrides`
        when method settings differ from the paper's."""
        overrides = self.method_overrides()
        if overrides:
            head = [python, "-m", "app.training.cli_overrides", "--model", json.dumps(overrides)]
        else:
            head = [python, "-m", "cmnet_core.cli"]
        return head + self.cli_arguments(run_dir)
