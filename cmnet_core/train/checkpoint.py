"""CMNet checkpoints: weights plus self-describing metadata, loaded without ever running code (DESIGN.md §6).

File layout (``torch.save`` of plain containers only)::

    {"format": "cmnet-checkpoint", "format_version": 1,
     "metadata": "<JSON text>",          # labels, input size, N, preprocessing, model/training config, ...
     "model": {name: tensor},            # the CMNet state dict
     "train_state": {...} | absent}      # optimiser, scheduler, RNG states, position (for resuming)

Loading uses ``torch.load(weights_only=True)``: the restricted unpickler accepts tensors and plain
containers and refuses any other global, so a file carrying a pickle payload (``__reduce__``) cannot execute
code; such a file raises `CheckpointError`. The metadata is JSON text, never a pickled object; it is read and
written through `CheckpointMeta` (`cmnet_core.train.checkpoint_meta`), which refuses settings that disagree.
"""
from __future__ import annotations

import datetime as _dt
import io
import json
import pickle
import re
import subprocess
from dataclasses import dataclass
from importlib import metadata as _importlib_metadata
from pathlib import Path
from typing import Sequence

import torch

from ..safe_write import write_bytes_atomically
from .checkpoint_meta import REQUIRED_KEYS, CheckpointError, CheckpointMeta

FORMAT = "cmnet-checkpoint"
FORMAT_VERSION = 1


@dataclass
class Checkpoint:
    """A loaded checkpoint.

    state_dict : CMNet weights (tensors on the requested device).
    meta : the validated `CheckpointMeta` (labels, input size S in pixels, N frames, preprocessing, model and
        training configs, database, metrics, code version …).
    train_state : optimiser/scheduler/RNG state and position, present in checkpoints written during training.
    path : the file it came from.
    """

    state_dict: dict
    meta: CheckpointMeta
    train_state: dict | None = None
    path: Path | None = None

    @property
    def metadata(self) -> dict:
        """The metadata as the plain JSON dict stored in the file (`CheckpointMeta.to_dict`; a fresh copy)."""
        return self.meta.to_dict()

    @property
    def labels(self) -> list[str]:
        """Class names in class-id order."""
        return list(self.meta.labels)


def code_version() -> str:
    """``git describe --always --dirty`` of the source tree when it is a git checkout, else the package version."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "describe", "--always", "--dirty", "--tags"], cwd=here,
                             capture_output=True, text=True, timeout=5)
        if out.returncode == 0 and out.stdout.strip():
            return "git:" + out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return "cmnet-studio " + _importlib_metadata.version("cmnet-studio")
    except _importlib_metadata.PackageNotFoundError:
        return "unknown"


def now_iso() -> str:
    """The current local time, ISO 8601 with seconds and UTC offset."""
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def save_checkpoint(path: str | Path, state_dict: dict, metadata: dict | CheckpointMeta,
                    train_state: dict | None = None) -> Path:
    """Write a checkpoint atomically (temporary file, then rename) and return its path.

    ``metadata`` (a `CheckpointMeta` or its dict) must be JSON-serialisable, hold `REQUIRED_KEYS` and pass
    `CheckpointMeta.validate` (so no checkpoint is written that loading would refuse); ``code_version`` and
    ``date`` are added when missing. ``train_state`` may hold only tensors, numbers, strings, None and
    lists/tuples/dicts of them.
    Raises `CheckpointError` for missing metadata keys or metadata that is not JSON, `DiskFullError` (an
    `OSError`: "disk full at PATH (N MB free)") when the disk is full and `OSError` when the file cannot be
    written; a failed write leaves no temporary file and the previous checkpoint at ``path`` untouched.
    """
    if isinstance(metadata, CheckpointMeta):
        metadata = metadata.to_dict()
    meta = CheckpointMeta.from_dict({"code_version": code_version(), "date": now_iso(), **metadata},
                                    source=f"checkpoint {path} (being written)")
    try:
        meta_text = json.dumps(meta.to_dict())
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"checkpoint metadata is not JSON-serialisable: {exc}") from exc
    payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "metadata": meta_text,
               "model": {k: v.detach().cpu() for k, v in state_dict.items()}}
    if train_state is not None:
        payload["train_state"] = train_state
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    torch.save(payload, buffer)  # in memory first: a full disk then fails as an OSError, never mid-pickle
    return write_bytes_atomically(path, buffer.getvalue())


_ZIP_MAGIC = b"PK\x03\x04"   # torch.save's zip format
_PICKLE_MAGIC = b"\x80"        # a pickle (protocol 2+): torch.save's legacy format
_WHAT_LOADS = "only the final.pt / last.pt files written by cmnet train or cmnet loso load"
_UNSAFE_GLOBAL = re.compile(r"Unsupported global: GLOBAL ([\w.]+)")


def _refusal(path: Path, exc: Exception) -> str:
    """Our message for a `torch.load(weights_only=True)` failure.

    PyTorch's own text is not repeated: it suggests ``weights_only=False``, which would run the file's code.
    """
    text = str(exc)
    unsafe = _UNSAFE_GLOBAL.search(text)
    if unsafe:
        return (f"{path} contains Python objects that would run code on loading; CMNet Studio refuses to load it. "
                f"Re-save it with cmnet ({_WHAT_LOADS}; refused object: {unsafe.group(1)})")
    if isinstance(exc, pickle.UnpicklingError) and "Weights only load failed" in text:
        operand = re.search(r"Unsupported operand \d+", text)
        detail = operand.group(0) if operand else "not plain data"
        return (f"{path} is not a CMNet checkpoint (a Python pickle that the safe loader refuses: {detail}; "
                f"{_WHAT_LOADS})")
    first = text.strip().split(". ")[0].splitlines()[0] if text.strip() else type(exc).__name__
    return f"{path} is not a readable CMNet checkpoint (damaged or incomplete file: {first}); copy or re-save it"


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> Checkpoint:
    """Read a checkpoint without executing code from it.

    Raises `CheckpointError` when the file is missing, is not a PyTorch file or not a CMNet checkpoint, is
    damaged, or holds anything but tensors and plain containers (e.g. a pickled object whose unpickling would
    run code). The messages never suggest ``torch.load(weights_only=False)``.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    with open(path, "rb") as f:
        head = f.read(4)
    if not (head.startswith(_ZIP_MAGIC) or head.startswith(_PICKLE_MAGIC)):
        what = "an empty file" if not head else "not a PyTorch file"
        raise CheckpointError(f"{path} is not a CMNet checkpoint ({what}; {_WHAT_LOADS})")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, AttributeError, ValueError, EOFError, KeyError, IndexError) as exc:
        raise CheckpointError(_refusal(path, exc)) from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a CMNet checkpoint (no '{FORMAT}' marker)")
    if payload.get("format_version", 0) > FORMAT_VERSION:
        raise CheckpointError(f"{path} has checkpoint format {payload['format_version']}; this cmnet reads up to "
                              f"{FORMAT_VERSION}: update cmnet-studio")
    try:
        meta = json.loads(payload["metadata"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: the checkpoint metadata is missing or not JSON") from exc
    return Checkpoint(state_dict=payload["model"], meta=CheckpointMeta.from_dict(meta, source=str(path)),
                      train_state=payload.get("train_state"), path=path)


def check_compatible(ckpt: Checkpoint, labels: Sequence[str] | None = None, image_size: int | None = None,
                     num_frames: int | None = None) -> None:
    """Raise `CheckpointError` when the checkpoint does not fit the data or settings it is used with.

    labels : the class names (in order) of the database/protocol it is evaluated or fine-tuned on.
    image_size, num_frames : the crop side in pixels and N the caller will feed.
    """
    where = f"checkpoint {ckpt.path}" if ckpt.path else "checkpoint"
    if labels is not None and list(labels) != ckpt.labels:
        raise CheckpointError(
            f"{where} predicts {ckpt.labels} but the data uses {list(labels)}; evaluate with the same protocol, "
            "or fine-tune with a new classifier head (cmnet train --from CKPT --new-head)")
    for name, want in (("image_size", image_size), ("num_frames", num_frames)):
        if want is not None and int(getattr(ckpt.meta, name)) != int(want):
            raise CheckpointError(f"{where} was trained with {name} {getattr(ckpt.meta, name)} but {want} was asked; "
                                  f"use the checkpoint's preprocessing settings")
