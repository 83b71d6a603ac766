"""What the training dialog asks for, and the ``cmnet`` command line that runs it (Qt-free).

Modes: ``loso`` (every fold: ``cmnet loso DB``), ``fold`` (one test subject: ``cmnet loso DB --fold S``),
``final`` (a model on all clips: ``cmnet train DB``) and ``finetune`` (``cmnet train DB --from CKPT``).
The method's settings (λ1–λ3, ε, ξ, τ, negative sampling, the tendency term, the input) go as the CLI's flags
(``--lambdas``, ``--epsilon``, ``--xi``, ``--tau``, ``--negative-sampling``, ``--tendency-loss``, ``--input``); the
dialog sends all of them, so the command line in the run's log says exactly what was trained; a fine-tuning run
keeps the checkpoint's own. The preset (``--preset``) is sent except when fine-tuning: ``auto`` resolves, as the
CLI does, to ``cpu`` on either device (`resolve_preset`; ``paper`` on request).
LOSO runs (``loso``, ``fold``) choose the model (``--model cmnet|baseline``; the baseline is a logistic regression
on the apex − onset difference, fitted in seconds, so the method and training settings are not sent) and, for
CMNet, whether the baseline also runs on the same folds (``--with-baseline``). A ``loso`` run may use K folds
grouped by subject instead of one per subject (``--k-folds K``: subjects in natural name order, fold = rank mod K).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from cmnet_core.train.config_fields import cli_flags, registry
from cmnet_core.model.config import CMNetConfig
from cmnet_core.train.config import PRESET_TRAINING, TrainConfig, auto_preset
from cmnet_core.train.options import MODEL_CHOICES

MODES = {"loso": "LOSO evaluation (all folds)", "fold": "One LOSO fold",
         "finetune": "Fine-tune from a checkpoint", "final": "Final model on all data"}
#: CMNetConfig fields the dialog edits (the method's settings), in display order: those registered for the dialog
#: (surface ``"dialog"`` in `cmnet_core.train.config_fields`).
METHOD_FIELDS = tuple(f.name for f in registry("dialog", section="model_config"))
#: The dialog's preset choices: key → text.
PRESET_CHOICES = {"auto": "auto (cpu on any device; paper only on request)",
                  "paper": "paper — 224 px, two ResNet-18s, L_Wrst (as published)",
                  "fast": "fast — the paper's model at 112 px",
                  "cpu": "cpu — small CNN, 32 px, onset-relative, position term, Adam (departures)"}


def resolve_preset(preset: str, device: str) -> str:
    """The preset a run uses: ``preset`` itself, or for ``"auto"`` what the CLI picks on ``device``
    (`cmnet_core.train.config.auto_preset`: ``"cpu"`` on either device)."""
    if preset != "auto":
        return preset
    return auto_preset(str(device).startswith("cuda"))


def training_defaults(preset: str) -> dict:
    """`TrainConfig` defaults updated by the preset's (`PRESET_TRAINING`): epochs, batch_size, lr, optimizer..."""
    return {**TrainConfig().to_dict(), **PRESET_TRAINING[preset]}
#: Name of the file whose existence asks the run to stop (``--cancel-file``), inside the run folder.
CANCEL_FILE = "cancel.request"


def method_defaults(preset: str = "paper") -> dict:
    """The values of the dialog's method settings (`METHOD_FIELDS`, the registry read now) in a preset (default the
    paper's, from `CMNetConfig`)."""
    cfg = CMNetConfig.preset(preset)
    return {f.name: getattr(cfg, f.name) for f in registry("dialog", section="model_config")}


def training_flags(training: dict) -> list[str]:
    """``cmnet`` flags for `TrainConfig` settings ``training`` (fields with a CLI flag; missing keys left out).
    Raises ``ValueError`` for a key without one (the run would silently differ from its train_config)."""
    fields = registry("cli", section="train_config")
    unknown = sorted(set(training) - {f.name for f in fields})
    if unknown:
        raise ValueError(f"{unknown}: no cmnet training flag sets them; give them the 'cli' surface too")
    return cli_flags(training, fields)


def method_flags(method: dict) -> list[str]:
    """``cmnet`` flags for the method settings ``method`` (`METHOD_FIELDS`, or any other `CMNetConfig` field with a
    method flag, e.g. ``position_weight``; missing keys are left out), in the registry's order:
    ``["--input", "frames", "--tau", "0.07", …, "--lambdas", "0.07", "0.71", "0.22", …]``.
    Raises ``ValueError`` for a key without a method flag (the run would silently differ from `model_config`)."""
    fields = registry("cli", group="method", section="model_config")
    unknown = sorted(set(method) - {f.name for f in fields})
    if unknown:
        raise ValueError(f"{unknown}: no cmnet method flag sets them; choose from {[f.name for f in fields]}")
    return cli_flags(method, fields)


@dataclass
class TrainingRequest:
    """One training run as chosen in the dialog.

    db : database root folder (any adapter; the app's own annotations are exported to a generic CSV folder).
    mode : a key of `MODES`.  fold : the test subject for mode ``fold``.
    checkpoint, new_head : the starting checkpoint for ``finetune``; ``new_head`` re-initialises the classifier.
    holdout_subjects : subjects kept out and scored (``final`` / ``finetune``).
    preset : ``"auto"`` (`resolve_preset` on ``device``), ``"paper"`` (224 px), ``"fast"`` (112 px) or ``"cpu"``;
             image_size / frames override it (pixels / N frames).
    epochs, batch_size, lr : None = the preset's (`training_defaults`; not sent, the CLI fills them in).
    method : values of `METHOD_FIELDS` to set (λ1–λ3, ε, ξ, τ, negative sampling, tendency term, input); the
             fields left out keep the preset's values.
    training : values of the `TrainConfig` settings registered for the dialog (`training_flags`; the training box's
             own epochs / batch size / lr are the fields above); left out = the preset's.
    device : ``"cpu"``, ``"cuda"``, ``"cuda:1"``… (the dialog resolves "auto" so the GUI knows the device).
    cache : preprocessing cache folder, ``"off"``, or None for the CLI's default.
    model : ``"cmnet"`` or ``"baseline"`` (a key of `MODEL_CHOICES`; the baseline only for ``loso`` / ``fold``).
    with_baseline : CMNet LOSO runs (``loso`` / ``fold``): also run the baseline on the same folds.
    k_folds : mode ``loso`` only: None = one fold per subject; K >= 2 = K folds grouped by subject (``--k-folds``).
    """

    db: str
    mode: str = "loso"
    kind: str | None = None
    protocol: str | None = None
    fold: str | None = None
    checkpoint: str | None = None
    new_head: bool = False
    holdout_subjects: list[str] = field(default_factory=list)
    preset: str = "auto"
    image_size: int | None = None
    frames: int | None = None
    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    seed: int = TrainConfig.seed
    method: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    device: str = "cpu"
    cache: str | None = None
    model: str = "cmnet"
    with_baseline: bool = False
    k_folds: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown training mode {self.mode!r}; choose one of {list(MODES)}")
        if self.model not in MODEL_CHOICES:
            raise ValueError(f"unknown model {self.model!r}; choose one of {list(MODEL_CHOICES)}")
        if (self.model == "baseline" or self.with_baseline) and self.mode not in ("loso", "fold"):
            raise ValueError(f"the baseline runs as a LOSO evaluation (modes loso, fold), not in mode {self.mode!r}")
        if self.model == "baseline" and self.with_baseline:
            raise ValueError("with_baseline runs the baseline beside CMNet; a baseline run needs no second one")
        if self.k_folds is not None and (self.mode != "loso" or self.k_folds < 2):
            raise ValueError(f"k-fold ({self.k_folds} folds) needs mode 'loso' and at least 2 folds "
                             f"(mode {self.mode!r})")
        if self.preset not in PRESET_CHOICES:
            raise ValueError(f"unknown preset {self.preset!r}; choose one of {list(PRESET_CHOICES)}")

    def resolved_preset(self) -> str:
        """The preset the CLI will use for this request's device (`resolve_preset`)."""
        return resolve_preset(self.preset, self.device)

    def train_config(self) -> TrainConfig:
        """The `TrainConfig` the CLI will build: the preset's training defaults, then the values set here."""
        values = training_defaults(self.resolved_preset())
        values.update({k: v for k, v in (("epochs", self.epochs), ("batch_size", self.batch_size),
                                         ("lr", self.lr)) if v is not None}, seed=self.seed, device=self.device)
        return TrainConfig(**values)

    def model_config(self) -> CMNetConfig:
        """The `CMNetConfig` this run trains (preset, size overrides and method settings)."""
        sizes = {k: v for k, v in (("image_size", self.image_size), ("num_frames", self.frames)) if v}
        return CMNetConfig.preset(self.resolved_preset(), **sizes, **self.method)

    def run_name(self) -> str:
        """A run-folder name: mode and database folder (``loso-synth``, ``fold-s01-casme2`` …)."""
        mode = f"fold-{self.fold}" if self.mode == "fold" else f"kfold{self.k_folds}" if self.k_folds else self.mode
        model = "-baseline" if self.model == "baseline" else ""
        return f"{mode}{model}-{Path(self.db).name}"

    def cli_arguments(self, run_dir: str | Path) -> list[str]:
        """Arguments after ``cmnet``: the subcommand, the database, the options, ``--run-dir``,
        ``--progress jsonl`` and ``--cancel-file <run_dir>/cancel.request``."""
        run_dir = Path(run_dir)
        args = ["loso" if self.mode in ("loso", "fold") else "train", str(self.db)]
        if self.mode == "fold":
            args += ["--fold", str(self.fold)]
        baseline = self.model == "baseline"
        if baseline:
            args += ["--model", "baseline"]
        if self.with_baseline:
            args += ["--with-baseline"]
        if self.k_folds:
            args += ["--k-folds", str(self.k_folds)]
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
            if not baseline:
                args += method_flags(self.method)
        for flag, value in (("--epochs", self.epochs), ("--batch-size", self.batch_size), ("--lr", self.lr)):
            if value is not None and not baseline:
                args += [flag, repr(value) if isinstance(value, float) else str(value)]
        if not baseline:
            args += training_flags(self.training)
        args += ["--seed", str(self.seed), "--device", self.device]
        if self.cache:
            args += ["--cache", self.cache]
        return args + ["--run-dir", str(run_dir), "--progress", "jsonl",
                       "--cancel-file", str(run_dir / CANCEL_FILE)]

    def command(self, run_dir: str | Path, python: str = sys.executable) -> list[str]:
        """The full command line: ``python -m cmnet_core.cli ...``."""
        return [python, "-m", "cmnet_core.cli", *self.cli_arguments(run_dir)]
