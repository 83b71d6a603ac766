"""Run folders: ``<runs>/<date>-<name>/`` holding config.json, log.jsonl, metrics.json, metrics.csv, checkpoints/."""
from __future__ import annotations

import datetime as _dt
import json
import re
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
        self._file = open(Path(run_dir) / "log.jsonl", "a", encoding="utf-8")
        super().__init__(self._file)

    def on_run_end(self, summary):
        super().on_run_end(summary)
        self._file.close()
