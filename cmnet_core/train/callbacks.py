"""How training reports progress: a small callback protocol (PyTorch Lightning style, no Qt).

The trainer and LOSO runner call the hooks of every `Callback` in a `Callbacks` list. The CLI prints
them as JSON lines (`JsonlPrinter`, read by the GUI's training subprocess) or as tqdm bars (`TqdmProgress`).
Each hook is one event of the vocabulary in `cmnet_core.train.events` (`encode` / `replay`).
"""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import IO, Iterable

from tqdm import tqdm

from .events import encode


class Callback:
    """Base class: every hook does nothing; override the ones you need."""

    def on_run_start(self, info: dict) -> None:
        """A run starts (before preprocessing); ``info`` holds the run folder, kind, database, protocol, clips,
        folds and ``device``, the resolved device as text (``"cuda:0 (NVIDIA H200)"``, ``"cpu"``)."""

    def on_preprocess(self, done: int, total: int, clip: str) -> None:
        """Clip ``clip`` (subject/name) was preprocessed: ``done`` of ``total`` clips (before training starts)."""

    def on_fold_start(self, fold: str, info: dict) -> None:
        """A fold (LOSO test subject, or ``"all"`` for a final model) starts training; ``info`` holds the clip
        counts and the ``device`` that trains it."""

    def on_epoch_start(self, epoch: int, epochs: int, steps: int) -> None:
        """Epoch ``epoch`` (1-based) of ``epochs`` starts; it has ``steps`` optimiser steps."""

    def on_step(self, step: int, steps: int, losses: dict) -> None:
        """Optimiser step ``step`` (1-based within the epoch) is done; ``losses`` maps term name -> float."""

    def on_epoch_end(self, epoch: int, metrics: dict) -> None:
        """Epoch ``epoch`` ended; ``metrics`` holds mean losses, lr and any validation scores."""

    def on_fold_end(self, fold: str, metrics: dict) -> None:
        """A fold finished; ``metrics`` are its test scores (empty for a final model without held-out data)."""

    def on_checkpoint(self, path: Path) -> None:
        """A checkpoint was written to ``path``."""

    def on_resume(self, info: dict) -> None:
        """Training continues from a checkpoint (``last.pt`` of an interrupted run: cancelled, killed or crashed);
        ``info`` holds ``checkpoint`` (its path), ``epoch`` (1-based epoch training continues in), ``epochs``,
        ``step`` (optimiser steps of that epoch already done), ``steps`` (steps per epoch), ``written`` (when the
        checkpoint was written, ISO 8601), ``age_s`` (seconds since) and, in a LOSO run, ``fold``."""

    def on_run_end(self, summary: dict) -> None:
        """The run ended; ``summary`` holds ``status`` (``"finished"``/``"cancelled"``) and the results."""

    def on_summary(self, summary: dict) -> None:
        """The command's closing summary, after ``on_run_end`` (``cmnet train``: the checkpoint and held-out
        figures; ``cmnet loso``: pooled and fold-averaged scores, the fold checkpoints, the comparison)."""

    def should_cancel(self) -> bool:
        """Return True to stop the run after the current step (a checkpoint is written to resume from)."""
        return False


class Callbacks(Callback):
    """Several callbacks called in order; cancels when any of them asks to."""

    def __init__(self, callbacks: Iterable[Callback] = ()):
        self.items = [c for c in callbacks if c is not None]

    def _each(name: str):  # noqa: N805 - builds the dispatching methods below
        def call(self, *args, **kwargs):
            for c in self.items:
                getattr(c, name)(*args, **kwargs)
        call.__name__ = name
        call.__doc__ = getattr(Callback, name).__doc__
        return call

    on_run_start = _each("on_run_start")
    on_preprocess = _each("on_preprocess")
    on_fold_start = _each("on_fold_start")
    on_epoch_start = _each("on_epoch_start")
    on_step = _each("on_step")
    on_epoch_end = _each("on_epoch_end")
    on_fold_end = _each("on_fold_end")
    on_checkpoint = _each("on_checkpoint")
    on_resume = _each("on_resume")
    on_run_end = _each("on_run_end")
    on_summary = _each("on_summary")
    del _each

    def should_cancel(self) -> bool:
        """True when any callback asks to cancel."""
        return any(c.should_cancel() for c in self.items)


def to_plain(x):
    """JSON-safe copy: Paths to str, NaN/inf to None, numpy scalars to Python numbers."""
    if isinstance(x, dict):
        return {str(k): to_plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_plain(v) for v in x]
    if isinstance(x, Path):
        return str(x)
    if hasattr(x, "item") and callable(x.item) and getattr(x, "ndim", 1) == 0:
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


class JsonlPrinter(Callback):
    """Writes one JSON object per event, ``{"event": name, "time": unix seconds, ...}``, one per line.

    Used by ``--progress jsonl`` (stdout) for the GUI and for ``log.jsonl`` in the run folder.
    ``every`` thins ``step`` events (1 = every step); the last step of an epoch is always written.
    """

    def __init__(self, stream: IO[str] | None = None, every: int = 1):
        self.stream = stream if stream is not None else sys.stdout
        self.every = max(1, int(every))

    def emit(self, event: str, **fields) -> None:
        """Write one event line and flush."""
        self.stream.write(json.dumps(to_plain({"event": event, "time": round(time.time(), 3), **fields})) + "\n")
        self.stream.flush()

    def write(self, hook: str, *args) -> None:
        """Write the event that stands for ``hook(*args)`` (`cmnet_core.train.events.encode`)."""
        event = encode(hook, *args)
        self.emit(event.pop("event"), **event)

    def on_run_start(self, info):
        self.write("on_run_start", info)

    def on_preprocess(self, done, total, clip):
        self.write("on_preprocess", done, total, clip)

    def on_fold_start(self, fold, info):
        self.write("on_fold_start", fold, info)

    def on_epoch_start(self, epoch, epochs, steps):
        self.write("on_epoch_start", epoch, epochs, steps)

    def on_epoch_end(self, epoch, metrics):
        self.write("on_epoch_end", epoch, metrics)

    def on_fold_end(self, fold, metrics):
        self.write("on_fold_end", fold, metrics)

    def on_checkpoint(self, path):
        self.write("on_checkpoint", path)

    def on_resume(self, info):
        self.write("on_resume", info)

    def on_run_end(self, summary):
        self.write("on_run_end", summary)

    def on_summary(self, summary):
        self.write("on_summary", summary)

    def on_step(self, step, steps, losses):
        """Write the ``step`` event (every ``every``-th step and the last of the epoch)."""
        if step % self.every == 0 or step == steps:
            self.write("on_step", step, steps, losses)


def format_age(seconds: float) -> str:
    """A time span as people say it: ``"12 s"``, ``"4 min"``, ``"2 h 05 min"``, ``"3 days"`` (negative → 0 s)."""
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    if s < 2 * 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} days"


def resume_line(run: str, info: dict) -> str:
    """The line a resumed run prints (``info`` as in `Callback.on_resume`)::

        resuming 20261204-train-syn from epoch 3/10 step 17/40 (checkpoint written 2026-12-04 19:40, 4 min ago)

    ``step`` counts the steps of that epoch already done (0: the epoch starts from its beginning); a LOSO fold
    is named after the run (``… fold s01 from …``); a run stopped after its last epoch but before writing its
    final model says ``… after its last epoch (10/10) (checkpoint …)``."""
    fold = f" fold {info['fold']}" if info.get("fold") else ""
    written = str(info.get("written") or "")[:16].replace("T", " ") or "at an unknown time"
    when = f"(checkpoint written {written}, {format_age(info.get('age_s') or 0)} ago)"
    if info["epoch"] > info["epochs"]:  # stopped after its last epoch, before the final model was written
        return f"resuming {run}{fold} after its last epoch ({info['epochs']}/{info['epochs']}) {when}"
    return (f"resuming {run}{fold} from epoch {info['epoch']}/{info['epochs']} step {info['step']}/{info['steps']} "
            f"{when}")


class ResumeNotice(Callback):
    """Prints `resume_line` when training resumes from a checkpoint (for people; the event itself goes to
    log.jsonl and, with ``--progress jsonl``, stdout)."""

    def __init__(self, run: str, stream: IO[str] | None = None):
        self.run = run
        self.stream = stream if stream is not None else sys.stdout

    def on_resume(self, info):
        print(resume_line(self.run, info), file=self.stream, flush=True)


class TqdmProgress(Callback):
    """Progress bars for people at a terminal: one bar per epoch, showing the running losses."""

    def __init__(self, stream: IO[str] | None = None):
        self.stream = stream if stream is not None else sys.stderr
        self.bar: tqdm | None = None
        self.fold = ""

    def on_run_start(self, info):
        tqdm.write(f"device: {info.get('device', '?')}", file=self.stream)

    def on_preprocess(self, done, total, clip):
        if self.bar is None:
            self.bar = tqdm(total=total, desc="preprocessing", unit="clip", file=self.stream, leave=False)
        self.bar.update(done - self.bar.n)
        self.bar.set_postfix_str(clip, refresh=False)

    def on_fold_start(self, fold, info):
        self._close()
        self.fold = fold

    def on_epoch_start(self, epoch, epochs, steps):
        self._close()
        prefix = f"{self.fold} " if self.fold else ""
        self.bar = tqdm(total=steps, desc=f"{prefix}epoch {epoch}/{epochs}", file=self.stream, leave=False)

    def on_step(self, step, steps, losses):
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()}, refresh=False)

    def on_epoch_end(self, epoch, metrics):
        self._close()
        shown = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
        tqdm.write(f"{self.fold} epoch {epoch}: " + ", ".join(f"{k} {v:.4g}" for k, v in shown.items()),
                   file=self.stream)

    def on_fold_end(self, fold, metrics):
        if metrics:
            shown = {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
            tqdm.write(f"fold {fold}: " + ", ".join(f"{k} {v:.4g}" for k, v in shown.items()), file=self.stream)

    def on_run_end(self, summary):
        self._close()

    def _close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
