"""Run folders: one layout for final, fine-tune and LOSO / k-fold runs (`RunFolder`), and their JSON files.

::

    <runs>/<date>-<name>/          RunFolder
        config.json                what was asked (database, model and training config, folds)
        log.jsonl                  every progress event (cmnet_core.train.events), appended on resume
        metrics.json, metrics.csv  the results (per_class.csv, intensity.csv, comparison.json/.csv for LOSO)
        checkpoints/               final.pt (+ last.pt / best.pt while training) of a final or fine-tune run
        timing.json, .lock         LOSO: preprocessing times; one process merges at a time
        launch.json, cancel.request, progress.jsonl, stderr.log   written by the app's launcher
        folds/<fold>/              FoldFolder: result.json, checkpoints/ (kept only with --keep-fold-models),
                                   baseline.json
        baseline/                  the difference baseline beside CMNet (``--with-baseline``): a RunFolder
"""
from __future__ import annotations

import datetime as _dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .callbacks import JsonlPrinter, to_plain


def new_run_dir(runs_root: str | Path = "runs", name: str = "run", create: bool = True) -> Path:
    """Create and return ``runs_root/<YYYYmmdd-HHMMSS>-<name>/`` (a ``-2``, ``-3`` suffix if it exists); with
    ``create`` False only the name is chosen (nothing is written)."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "run"
    base = Path(runs_root) / f"{stamp}-{safe}"
    path, k = base, 1
    while path.exists():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    if create:
        (path / "checkpoints").mkdir(parents=True)
    return path


def fold_dirname(subject: str) -> str:
    """Folder name of a subject's fold (``"casme2/sub01"`` -> ``"casme2__sub01"``)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", subject.replace("/", "__"))


@dataclass(frozen=True)
class FoldFolder:
    """``<run>/folds/<fold>/``: one LOSO / k-fold fold's files. ``path`` : the folder (it need not exist)."""

    path: Path

    @property
    def result(self) -> Path:
        """``result.json``: the fold's predictions, confusion matrix and scores; present once the fold finished."""
        return self.path / "result.json"

    @property
    def checkpoints(self) -> Path:
        """``checkpoints/``: the fold's Trainer folder (last.pt while training; final.pt when kept)."""
        return self.path / "checkpoints"

    @property
    def final_checkpoint(self) -> Path:
        """``checkpoints/final.pt``: the fold's CMNet model."""
        return self.checkpoints / "final.pt"

    @property
    def baseline_model(self) -> Path:
        """``baseline.json``: the fold's fitted difference baseline (``--model baseline``)."""
        return self.path / "baseline.json"

    def finished(self) -> bool:
        """True when the fold's result.json exists."""
        return self.result.exists()


@dataclass(frozen=True)
class RunFolder:
    """One run's folder, whatever the run (final model, fine-tune, LOSO, k-fold): the paths of its files
    (module docstring). Constructing one touches nothing on disk; `create` makes a new one."""

    path: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", Path(self.path))

    @classmethod
    def create(cls, runs_root: str | Path = "runs", name: str = "run") -> "RunFolder":
        """A new ``runs_root/<YYYYmmdd-HHMMSS>-<name>/`` with its ``checkpoints/`` (`new_run_dir`)."""
        return cls(new_run_dir(runs_root, name))

    @property
    def name(self) -> str:
        """The folder's name (``20261204-213000-loso``)."""
        return self.path.name

    config = property(lambda self: self.path / "config.json", doc="``config.json``: what the run was asked to do.")
    log = property(lambda self: self.path / "log.jsonl", doc="``log.jsonl``: every progress event of the run.")
    metrics = property(lambda self: self.path / "metrics.json", doc="``metrics.json``: the run's results.")
    metrics_csv = property(lambda self: self.path / "metrics.csv", doc="``metrics.csv``: the results as a table.")
    intensity_csv = property(lambda self: self.path / "intensity.csv",
                             doc="``intensity.csv``: LOSO test clips' intensity clues k_1..k_N.")
    per_class_csv = property(lambda self: self.path / "per_class.csv", doc="``per_class.csv``: LOSO per-class F1.")
    checkpoints = property(lambda self: self.path / "checkpoints", doc="``checkpoints/``: the Trainer's folder.")
    final_checkpoint = property(lambda self: self.path / "checkpoints" / "final.pt",
                                doc="``checkpoints/final.pt``: the model of a final or fine-tune run.")
    timing = property(lambda self: self.path / "timing.json", doc="``timing.json``: LOSO preprocessing times.")
    lock = property(lambda self: self.path / ".lock", doc="``.lock``: held while a LOSO process writes the run.")
    launch = property(lambda self: self.path / "launch.json",
                      doc="``launch.json``: the command the app launched (for Resume).")
    progress_log = property(lambda self: self.path / "progress.jsonl",
                            doc="``progress.jsonl``: the launched process's stdout (progress events), by the app.")
    stderr_log = property(lambda self: self.path / "stderr.log",
                          doc="``stderr.log``: the launched process's messages and errors, by the app.")
    cancel_request = property(lambda self: self.path / "cancel.request",
                              doc="``cancel.request``: the app's cancel file (the run stops at the next step).")
    folds = property(lambda self: self.path / "folds", doc="``folds/``: one `FoldFolder` per fold.")
    baseline = property(lambda self: RunFolder(self.path / "baseline"),
                        doc="``baseline/``: the difference baseline run beside CMNet (``--with-baseline``).")

    def fold(self, name: str) -> FoldFolder:
        """The folder of fold ``name`` (a subject, or a k-fold group's name)."""
        return FoldFolder(self.folds / fold_dirname(name))

    def fold_folders(self) -> list[FoldFolder]:
        """The fold folders present, sorted by folder name."""
        return [FoldFolder(p) for p in sorted(self.folds.glob("*")) if p.is_dir()]


def write_json(path: str | Path, data) -> Path:
    """Write ``data`` as indented JSON (Paths as text, NaN as null), atomically; returns the path.

    The text goes to a uniquely named temporary file beside ``path`` that is then moved over it
    (`cmnet_core.safe_write.write_text_atomically`), so processes writing the same file at once (fold tasks of one
    run on a cluster) never share a temporary file: a reader sees one whole version or the other. Raises
    `DiskFullError` when the disk is full (the previous file is kept).
    """
    from ..safe_write import write_text_atomically

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomically(path, json.dumps(to_plain(data), indent=2) + "\n")


class DamagedFileError(ValueError):
    """A run file (config.json, result.json, timing.json ...) is not valid JSON; the message names the file and
    what to do."""


def read_json(path: str | Path, fix: str | None = None):
    """Read a JSON file written by `write_json`.

    fix : what the user should do when the file is damaged (e.g. "delete it to re-run fold p2"). A file that is
    not valid JSON (damaged outside cmnet: `write_json` is atomic) raises `DamagedFileError` naming the file,
    the parse error and ``fix`` (default: restore it from a copy or delete it).
    """
    path = Path(path)
    text = path.read_text(encoding="utf-8", errors="replace")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DamagedFileError(f"{path} is not valid JSON ({exc}); it was damaged outside cmnet: "
                               f"{fix or 'restore it from a copy or delete it'}") from None


class RunLog(JsonlPrinter):
    """Appends every callback event to ``<run>/log.jsonl`` (the run's own record, kept when the run resumes)."""

    def __init__(self, run_dir: str | Path):
        self._file = open(RunFolder(run_dir).log, "a", encoding="utf-8")
        super().__init__(self._file)

    def on_run_end(self, summary):
        super().on_run_end(summary)
        self._file.close()
