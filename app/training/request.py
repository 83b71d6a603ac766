"""What the training dialog asks for, and the ``cmnet`` command line that runs it (Qt-free).

Modes: ``loso`` (every fold: ``cmnet loso DB``), ``fold`` (one test subject: ``cmnet loso DB --fold S``),
``final`` (a model on all clips: ``cmnet train DB``) and ``finetune`` (``cmnet train DB --from CKPT``).
The method's loss settings (λ1–λ3, ε, ξ, τ, negative sampling) go as the CLI's flags (``--lambdas``,
``--epsilon``, ``--xi``, ``--tau``, ``--negative-sampling``), always all of them, so the command line in the run's
log says exactly what was trained; a fine-tuning run keeps the checkpoint's own.
"""
from __future__ import annotations

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


def method_flags(method: dict) -> list[str]:
    """``cmnet`` flags for the method settings ``method`` (keys of `METHOD_FIELDS`; missing keys are left out)."""
    args: list[str] = []
    if "lambdas" in method:
        args += ["--lambdas", *(repr(float(v)) for v in method["lambdas"])]
    for key in ("epsilon", "xi", "tau"):
        if key in method:
            args += [f"--{key}", repr(float(method[key]))]
    if "negative_sampling" in method:
        args += ["--negative-sampling", str(method["negative_sampling"])]
    return args


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
            args += method_flags(self.method)
        args += ["--epochs", str(self.epochs), "--batch-size", str(self.batch_size), "--lr", repr(self.lr),
                 "--seed", str(self.seed), "--device", self.device]
        if self.cache:
            args += ["--cache", self.cache]
        return args + ["--run-dir", str(run_dir), "--progress", "jsonl",
                       "--cancel-file", str(run_dir / CANCEL_FILE)]

    def command(self, run_dir: str | Path, python: str = sys.executable) -> list[str]:
        """The full command line: ``python -m cmnet_core.cli ...``."""
        return [python, "-m", "cmnet_core.cli", *self.cli_arguments(run_dir)]
