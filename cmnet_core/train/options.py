"""Command-line options shared by ``cmnet train``, ``cmnet loso`` and ``cmnet evaluate`` and their translation
into `CMNetConfig`, `TrainConfig`, `PreprocessSettings`, callbacks and databases.

Cancelling a CLI run: SIGINT/SIGTERM (Ctrl+C, ``QProcess.terminate()`` on Unix) or creating the file given by
``--cancel-file`` (portable, also on Windows) stops after the current step; the checkpoint is written and the
process exits with status `EXIT_CANCELLED`; the same command resumes.
"""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from . import config_fields
from ..model.config import PRESETS
from .callbacks import Callback, Callbacks, JsonlPrinter, ResumeNotice, TqdmProgress
from .runs import RunLog
from .config import PRESET_TRAINING, TrainConfig, auto_preset

#: The named presets (`cmnet_core.model.config.PRESETS`; that module imports no torch).
PRESET_NAMES = PRESETS
#: Training options whose default comes from the preset (`PRESET_TRAINING`) when not given on the command line.
PRESET_TRAIN_FIELDS = tuple(dict.fromkeys(k for values in PRESET_TRAINING.values() for k in values))

EXIT_CANCELLED = 3
#: Exit status of ``cmnet loso --merge`` when folds are missing: a partial table was written and marked as such
#: (metrics.json ``"partial": true``, metrics.csv's pooled row "pooled (PARTIAL: ...)"), and the command that runs
#: exactly the missing folds was printed.
EXIT_INCOMPLETE = 4

#: The command-line option behind a run's config.json field (``section.field``, or a whole section), for messages
#: that name what differs between two invocations (`cmnet_core.train.loso.config_differences`): every CLI setting of
#: the registry (`cmnet_core.train.config_fields`), the preprocessing flags and the run's own options.
CONFIG_OPTIONS = {
    **config_fields.config_options(),
    "preprocess.image_size": "--image-size", "preprocess.num_frames": "--frames",
    **{f"preprocess.{f}": "--" + f.replace("_", "-") for f in ("landmarks", "interpolation", "apex_mode")},
    "database.sheet": "--sheet", "database.protocol": "--protocol", "database.root": "DB (the database folder)",
    "model_kind": "--model", "split": "--k-folds", "folds": "--k-folds",
}


def add_database_arguments(p: argparse.ArgumentParser) -> None:
    """``--sheet``, ``--kind``, ``--protocol`` for a database argument (see `open_database`)."""
    g = p.add_argument_group("database")
    g.add_argument("--sheet", help="annotation sheet (default: the adapter's usual sheet inside the root)")
    g.add_argument("--kind", help="database kind (casme2, samm, smic, casme3, generic, synthetic); default: detect")
    g.add_argument("--protocol", help="label protocol (default: the adapter's default)")


def add_model_arguments(p: argparse.ArgumentParser) -> None:
    """Model and preprocessing options."""
    g = p.add_argument_group("model and preprocessing")
    g.add_argument("--preset", default="auto", choices=("auto",) + PRESET_NAMES,
                   help="CMNet preset: auto (cpu on any device: the paper preset does not learn from small data on a GPU either; printed and recorded in the "
                        "run's config.json), paper (224 px, two ResNet-18s, L_Wrst: as published), fast (the "
                        "paper's model at 112 px) or cpu (small CNN on onset-relative 32 px frames, position-aware tendency "
                        "term, LSTM read at the apex, Adam, clip augmentation; labelled departures that learn on a "
                        "CPU; README 'The method'); default auto")
    config_fields.add_arguments(g, model_fields())
    g.add_argument("--landmarks", choices=("auto", "fan", "mtcnn", "hint", "none"),
                   help="landmark backend (default: hint for synthetic databases, else auto)")
    g.add_argument("--apex-mode", default="annotated", choices=("annotated", "spotting", "midpoint"),
                   help="where the apex comes from (default annotated, spotting when absent)")
    g.add_argument("--interpolation", default="tim", choices=("tim", "linear"),
                   help="interpolation for clips shorter than N (default tim)")
    g.add_argument("--cache", help="preprocessing cache folder (default: $CMNET_CACHE_DIR/preprocess or "
                                   "~/.cache/cmnet/preprocess); 'off' disables it")
    add_method_arguments(p)


def model_fields() -> list:
    """The registered `CMNetConfig` fields of group ``"model"`` on the CLI (``--image-size``, ``--frames``,
    ``--backbone``, ``--pretrained``): they shape the network, so a fine-tuned checkpoint keeps its own."""
    return config_fields.registry("cli", group="model", section="model_config")


def method_fields() -> list:
    """The registered `CMNetConfig` fields of group ``"method"`` on the CLI (the loss and input settings)."""
    return config_fields.registry("cli", group="method", section="model_config")


def add_method_arguments(p: argparse.ArgumentParser) -> None:
    """The method's loss settings (`CMNetConfig` fields registered for the CLI in group ``"method"``; default: the
    preset's values, see `method_overrides`)."""
    g = p.add_argument_group("method (loss settings; default: the paper's values; with --from they replace the "
                             "checkpoint's)")
    config_fields.add_arguments(g, method_fields())


#: `CMNetConfig` fields set by `add_method_arguments`, by name (`method_fields`).
METHOD_FIELDS = tuple(f.name for f in method_fields())


def method_overrides(args: argparse.Namespace) -> dict:
    """The `CMNetConfig` fields given on the command line by `add_method_arguments` (``lambdas`` as a tuple)."""
    return config_fields.cli_values(args, method_fields())


def model_overrides(args: argparse.Namespace) -> dict:
    """The `CMNetConfig` fields given on the command line by `add_model_arguments` (sizes, backbone, weights)."""
    return config_fields.cli_values(args, model_fields())


#: ``cmnet loso --model`` choices: key → what it is (`cmnet_core.train.loso.MODEL_KINDS`, repeated here so building
#: the parser imports no torch).
MODEL_CHOICES = {"cmnet": "CMNet (trained per fold, epochs, device)",
                 "baseline": "baseline: logistic regression on the apex - onset difference (scikit-learn, seconds)"}


def add_model_kind_arguments(p: argparse.ArgumentParser) -> None:
    """``--model cmnet|baseline`` and ``--with-baseline`` for ``cmnet loso``."""
    g = p.add_argument_group("model kind")
    g.add_argument("--model", default="cmnet", choices=tuple(MODEL_CHOICES),
                   help="cmnet: train CMNet per fold (default); baseline: fit a multinomial logistic regression "
                        "(scikit-learn, L2, C=100, z-scored) on the grey apex - onset difference at 16x16 per fold "
                        "(seconds, no device, no epochs; the training options are ignored)")
    g.add_argument("--with-baseline", action="store_true",
                   help="also run the baseline on the same folds into <run>/baseline/ and print CMNet beside it "
                        "(written to <run>/comparison.json and .csv)")


def train_fields(oracle: bool = False) -> list:
    """The registered `TrainConfig` fields on the CLI (``--oracle`` only with ``oracle``: ``cmnet loso``)."""
    return [f for f in config_fields.registry("cli", section="train_config")
            if not f.how.only or (oracle and f.how.only == "loso")]


def add_train_arguments(p: argparse.ArgumentParser, oracle: bool = False) -> None:
    """Optimisation options (`TrainConfig` fields registered for the CLI; ``--oracle`` with ``oracle``)."""
    g = p.add_argument_group("training (defaults from the preset; a flag given here wins)")
    config_fields.add_arguments(g, train_fields(oracle))


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """Run folder and progress options."""
    g = p.add_argument_group("run folder and progress")
    g.add_argument("--runs", default="runs", help="folder for new runs (default ./runs)")
    g.add_argument("--name", help="run name (default: derived from the command and database)")
    g.add_argument("--run-dir", help="use this exact run folder (resume, or share one folder between fold jobs)")
    add_progress_arguments(p)
    g.add_argument("--cancel-file", help="stop (resumably) as soon as this file exists")


def add_progress_arguments(p: argparse.ArgumentParser) -> None:
    """``--progress human|jsonl``."""
    p.add_argument("--progress", default="human", choices=("human", "jsonl"),
                   help="human: progress bars on stderr; jsonl: one JSON object per event on stdout (for the GUI)")


def open_db(args: argparse.Namespace):
    """`open_database` from ``args.db`` and the database options."""
    from cmnet_core.data.database import open_database

    return open_database(args.db, sheet=args.sheet, kind=args.kind, protocol=args.protocol)


def resolve_preset(args: argparse.Namespace, model_cfg=None) -> dict:
    """The preset this run uses: ``{"name", "asked", "reason"}`` (also stored as ``args.preset_choice``).

    ``--preset auto`` → `auto_preset`: ``cpu`` on either device (``--device cpu``, ``cuda…`` or ``auto``; the
    reason names the device). With ``model_cfg`` (fine-tuning ``--from``) auto
    follows the checkpoint's model instead (`preset_of`). A named preset is used as given.
    """
    asked = getattr(args, "preset", None) or "auto"
    device = str(getattr(args, "device", None) or "auto")
    if asked != "auto":
        choice = {"name": asked, "asked": asked, "reason": "asked for with --preset"}
    elif model_cfg is not None:
        name = preset_of(model_cfg)
        choice = {"name": name, "asked": "auto", "reason": f"the checkpoint's model is the {name} preset's"}
    elif device == "cpu":
        choice = {"name": auto_preset(False), "asked": "auto", "reason": "the default on any device; here --device cpu"}
    elif device.startswith("cuda"):
        choice = {"name": auto_preset(True), "asked": "auto",
                  "reason": f"the default on any device; here --device {device} (the paper preset does not learn "
                            "from small data on a GPU either)"}
    else:
        import torch

        cuda = bool(torch.cuda.is_available())
        choice = {"name": auto_preset(cuda), "asked": "auto",
                  "reason": "the default on any device; here --device auto, " + (
                      "CUDA available (the paper preset does not learn from small data on a GPU either)" if cuda
                      else "no CUDA device")}
    args.preset_choice = choice
    return choice


def preset_of(model_cfg) -> str:
    """The preset a `CMNetConfig` was made from, judged by its fields: ``cpu`` when every `PRESET_FIELDS` value of
    the cpu preset except the sizes matches, else ``paper`` at 224 px and ``fast`` otherwise."""
    from cmnet_core.model.config import PRESET_FIELDS

    cpu = {k: v for k, v in PRESET_FIELDS["cpu"].items() if k not in ("image_size", "num_frames")}
    if all(getattr(model_cfg, k) == v for k, v in cpu.items()):
        return "cpu"
    return "paper" if model_cfg.image_size == 224 else "fast"


def preset_line(choice: dict) -> str:
    """One line for `say`: which preset and why, and the model settings changed from it (``choice["changed"]``)."""
    why = f"auto: {choice['reason']}" if choice["asked"] == "auto" else choice["reason"]
    changed = choice.get("changed")
    return f"preset: {choice['name']} ({why})" + (f", changed: {', '.join(changed)}" if changed else "")


def default_workers() -> int:
    """DataLoader workers when ``--workers`` is not given: ``SLURM_CPUS_PER_TASK`` (the CPUs SLURM gave this task)
    when it is set to a positive whole number, else 0 (load in the training process). Workers only load clips;
    results do not depend on their number (`cmnet_core.train.loso` does not compare it between folds)."""
    import os

    value = os.environ.get("SLURM_CPUS_PER_TASK", "")
    return int(value) if value.isdigit() and int(value) > 0 else 0


def train_config(args: argparse.Namespace, preset: str) -> TrainConfig:
    """`TrainConfig` from the options: `TrainConfig`'s defaults, updated by ``PRESET_TRAINING[preset]``, updated by
    the training flags given (`train_fields`; ``--workers`` absent: `default_workers`; ``--val-subjects`` only
    counts with ``--selection val``)."""
    values = {**TrainConfig().to_dict(), **PRESET_TRAINING.get(preset, {})}
    values.update(config_fields.cli_values(args, train_fields(oracle=True)))
    if getattr(args, "workers", None) is None:
        values["num_workers"] = default_workers()
    if values["selection"] != "val":
        values["val_subjects"] = 0
    return TrainConfig(**values)


def configs(args: argparse.Namespace, db_name: str, init_model=None):
    """``(CMNetConfig, TrainConfig, PreprocessSettings)`` from the parsed options.

    The preset is resolved first (`resolve_preset`; the choice is left in ``args.preset_choice``); the model is
    ``CMNetConfig.preset(name)`` with the model and method flags given (`model_overrides`, `method_overrides`),
    the training settings come from
    `train_config`. ``init_model``: the `CMNetConfig` of a checkpoint to fine-tune (``--preset auto`` then follows it).
    Raises ``ValueError`` (from `CMNetConfig`) for an out-of-range method setting, e.g. ``--tau 0``.
    """
    from cmnet_core.model import CMNetConfig
    from cmnet_core.preprocess.types import PreprocessSettings

    name = resolve_preset(args, init_model)["name"]
    overrides = {**model_overrides(args), **method_overrides(args)}
    mc = CMNetConfig.preset(name, **overrides)
    base = CMNetConfig.preset(name)
    # fields that differ from the named preset: "paper" with a departure switched on is no longer the paper's method
    changed = sorted(k for k in mc.to_dict() if getattr(mc, k) != getattr(base, k))
    if changed:
        args.preset_choice["changed"] = changed
    tc = train_config(args, name)
    landmarks = args.landmarks or ("hint" if db_name == "synthetic" else "auto")
    settings = PreprocessSettings(image_size=mc.image_size, num_frames=mc.num_frames, landmarks=landmarks,
                                  interpolation=args.interpolation, apex_mode=args.apex_mode)
    return mc, tc, settings


def make_cache(args: argparse.Namespace):
    """The `PreprocessCache` asked for (None with ``--cache off``)."""
    from cmnet_core.preprocess.cache import PreprocessCache, default_cache_dir

    if args.cache == "off":
        return None
    return PreprocessCache(Path(args.cache) if args.cache else default_cache_dir())


class CancelRequest(Callback):
    """Asks the run to stop on SIGINT/SIGTERM or when ``cancel_file`` exists."""

    def __init__(self, cancel_file: str | None = None):
        self.cancel_file = Path(cancel_file) if cancel_file else None
        self.requested = False
        self._previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._on_signal)

    def _on_signal(self, signum, frame) -> None:
        self.requested = True

    def on_run_end(self, summary) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}

    def should_cancel(self) -> bool:
        if self.cancel_file is not None and self.cancel_file.exists():
            self.requested = True
        return self.requested


def callbacks(args: argparse.Namespace, run_dir: Path | None) -> Callbacks:
    """Progress printer (tqdm or JSON lines on stdout), the run's log.jsonl, the "resuming …" line (where `say`
    writes), and the cancel request."""
    items: list[Callback] = [JsonlPrinter(sys.stdout) if args.progress == "jsonl" else TqdmProgress()]
    if run_dir is not None:
        items.append(RunLog(run_dir))
        items.append(ResumeNotice(Path(run_dir).name, sys.stderr if args.progress == "jsonl" else sys.stdout))
    items.append(CancelRequest(getattr(args, "cancel_file", None)))
    return Callbacks(items)


def say(args: argparse.Namespace, text: str) -> None:
    """A human message: stderr in jsonl mode (stdout carries only JSON), else stdout."""
    print(text, file=sys.stderr if args.progress == "jsonl" else sys.stdout, flush=True)
