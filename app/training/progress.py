"""Reading a run's ``--progress jsonl`` output (Qt-free): `JsonlBuffer` turns chunks of bytes into events,
`RunProgress` keeps what the monitor shows (loss curves, fold metrics, position, ETA).

Events are the vocabulary of `cmnet_core.train.events` (one per `Callback` hook, written by
`cmnet_core.train.callbacks.JsonlPrinter`): `RunProgress` is itself a `Callback`, and `RunProgress.update`
replays each event onto its hooks (`cmnet_core.train.events.replay`, the exact inverse of the printer), so the
monitor sees what an in-process callback would. A baseline run (``--model
baseline``) has folds but no epochs or steps; its progress is counted in finished folds. The baseline folds of a
``--with-baseline`` run come after CMNet's, named ``baseline:<subject>``; CMNet's progress then stays complete.
"""
from __future__ import annotations

import json
import time

from cmnet_core.train.callbacks import Callback
from cmnet_core.train.events import replay

#: Prefix of the fold names of the baseline run beside CMNet (`cmnet_core.train.loso.run_loso`, with_baseline).
BASELINE_FOLD_PREFIX = "baseline:"
#: Seconds without any event after launch before the monitor adds a hint: what the process is probably doing
#: and where to look (`waiting_text`).
FIRST_EVENT_HINT_S = 120.0
#: Loss terms plotted, as named in the step events (Eq. 10 terms and their weighted sum).
LOSS_TERMS = ("l_id", "l_wrst", "l_pos", "l_c", "total")


class JsonlBuffer:
    """Splits a byte stream into lines; a partial last line is kept until its newline arrives."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> tuple[list[dict], list[str]]:
        """Add ``chunk``; return ``(events, other_lines)``: the complete lines that parse as JSON objects, and
        the other complete non-empty lines (decoded text)."""
        data = self._pending + chunk
        *lines, self._pending = data.split(b"\n")
        events, other = [], []
        for raw in lines:
            text = raw.decode("utf-8", errors="replace").strip()
            if not text:
                continue
            try:
                obj = json.loads(text)
            except ValueError:
                obj = None
            if isinstance(obj, dict) and "event" in obj:
                events.append(obj)
            else:
                other.append(text)
        return events, other


class RunProgress(Callback):
    """The state of one run, updated event by event (a `Callback`: the hooks below take the replayed events).

    losses : term -> list of (global step, value) — one point per step event, over all folds.
    fold_metrics : fold -> its test scores (fold_end events).
    folds : the folds the run will do (from run_start); fold, epoch, epochs, step, steps : where it is.
    status : ``"starting"``, ``"running"``, or the run_end status (``"finished"``, ``"cancelled"``).
    device : the device the run reported (run_start / fold_start), e.g. ``"cuda:0 (NVIDIA H200)"``; "" before.
    preprocessed : ``(done, total, clip)`` of the last preprocess event; None before the first one.
    resumed : the last ``resume`` event's info (training continued from a checkpoint: epoch, step, written,
        fold); None.
    """

    def __init__(self, clock=time.time) -> None:
        self.clock = clock
        self.losses: dict[str, list[tuple[int, float]]] = {k: [] for k in LOSS_TERMS}
        self.fold_metrics: dict[str, dict] = {}
        self.folds: list[str] = []
        self.fold = ""
        self.epoch = self.epochs = self.step = self.steps = 0
        self.global_step = 0
        self.status = "starting"
        self.run_dir = ""
        self.summary: dict = {}
        self.checkpoints: list[str] = []
        self.device = ""
        self.preprocessed: tuple[int, int, str] | None = None
        self.resumed: dict | None = None
        self._event_time: float | None = None
        self._first_step_time: float | None = None
        self._steps_timed = 0

    def update(self, event: dict) -> bool:
        """Take one parsed event line into account (`replay` onto the hooks below); the event's ``time``
        (else the clock) times the steps. Returns False for an event outside the vocabulary (ignored)."""
        self._event_time = event.get("time", self.clock())
        return replay(event, self)

    # ---- the hooks (events of cmnet_core.train.events) -------------------------------------------
    def on_run_start(self, info):
        self.status, self.run_dir = "running", info.get("run_dir", "")
        self.folds = list(info.get("folds") or ["all"])
        self.device = info.get("device") or self.device

    def on_preprocess(self, done, total, clip):
        self.preprocessed = (done, total, clip or "")

    def on_fold_start(self, fold, info):
        self.fold = fold or ""
        self.device = info.get("device") or self.device
        if not self.fold.startswith(BASELINE_FOLD_PREFIX):
            self.epoch, self.step = 0, 0

    def on_epoch_start(self, epoch, epochs, steps):
        self.epoch, self.epochs, self.steps, self.step = epoch, epochs, steps, 0

    def on_step(self, step, steps, losses):
        self.step, self.steps = step, steps
        self.global_step += 1
        for term in LOSS_TERMS:
            value = (losses or {}).get(term)
            if value is not None:
                self.losses[term].append((self.global_step, float(value)))
        now = self._event_time if self._event_time is not None else self.clock()
        if self._first_step_time is None:
            self._first_step_time = now
        else:
            self._steps_timed += 1
        self._last_step_time = now

    def on_fold_end(self, fold, metrics):
        if metrics:
            self.fold_metrics[fold] = metrics

    def on_resume(self, info):
        self.resumed = info

    def on_checkpoint(self, path):
        self.checkpoints.append(path or "")

    def on_run_end(self, summary):
        self.status = summary.get("status", "finished")
        self.summary = summary

    def on_summary(self, summary):
        self.summary = {**self.summary, **summary}

    def total_steps(self) -> int:
        """Steps of the whole run as far as known (folds × epochs × steps per epoch); 0 before the first epoch."""
        return len(self.folds) * self.epochs * self.steps if self.steps else 0

    def done_steps(self) -> int:
        """Steps done, counted as folds finished before the current one × steps per fold + steps in this fold.
        Between a fold's start and its first epoch (epoch 0: the model is being built) that fold has done none."""
        if not self.steps:
            return 0
        if self.fold.startswith(BASELINE_FOLD_PREFIX):  # every CMNet fold is done
            return self.total_steps()
        idx = self.folds.index(self.fold) if self.fold in self.folds else 0
        return idx * self.epochs * self.steps + max(self.epoch - 1, 0) * self.steps + self.step

    def preprocessing(self) -> bool:
        """True from the first preprocess event until the first epoch starts (while the run is going)."""
        return (self.preprocessed is not None and not self.steps and not self.fold
                and self.status in ("starting", "running"))

    def fraction(self) -> float:
        """Share of the run done, in [0, 1]: by steps, or by finished folds for a run without steps (baseline)."""
        total = self.total_steps()
        if not total:
            return min(1.0, len(self.fold_metrics) / len(self.folds)) if self.folds and self.fold else 0.0
        return min(1.0, self.done_steps() / total)

    def eta_seconds(self) -> float | None:
        """Seconds left: remaining steps × the mean time per step since the first step (which includes the
        evaluation between folds); None until two steps were seen or once the run ended."""
        if not self._steps_timed or self.status not in ("running", "starting"):
            return None
        per_step = (self._last_step_time - self._first_step_time) / self._steps_timed
        return max(0.0, (self.total_steps() - self.done_steps()) * per_step)


def format_duration(seconds: float) -> str:
    """``"1 h 02 min"``, ``"3 min 05 s"``, ``"12 s"`` (negative → ``"0 s"``)."""
    s = max(0, int(round(seconds)))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    if s >= 60:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s} s"


def format_eta(seconds: float | None) -> str:
    """``"ETA 1 h 02 min"``, ``"ETA 3 min 05 s"``, ``"ETA 12 s"``; ``"ETA —"`` when unknown."""
    return "ETA —" if seconds is None else f"ETA {format_duration(seconds)}"


def waiting_text(progress: RunProgress, since_launch_s: float, stderr_path, last_stderr: str = "") -> str | None:
    """What the monitor says while a run has shown no progress yet, or None once it has (preprocessing events,
    a fold, steps) or ended.

    since_launch_s : seconds since the process was started. Before any event: "waiting for the first event —
    2 min 10 s since launch (…)"; after run_start but before the first clip is preprocessed: "preparing the first
    clip — … since launch". From `FIRST_EVENT_HINT_S` on a hint follows: what the process is probably doing at
    that stage, its error-output file ``stderr_path`` and its last line ``last_stderr``, and how to stop it.
    """
    if progress.preprocessed is not None or progress.fold or progress.steps:
        return None
    if progress.status not in ("starting", "running"):
        return None
    elapsed = format_duration(since_launch_s)
    if progress.status == "starting":
        text = (f"waiting for the first event — {elapsed} since launch (starting Python, reading the database and "
                "its annotation sheet)…")
        doing = ("starting Python and PyTorch (a minute or more from a cold disk) or opening the database (its "
                 "annotation sheet, each clip's frames or video header; slow on a network drive)")
    else:
        text = (f"preparing the first clip — {elapsed} since launch (face detection and alignment; the first run "
                "loads the landmark model)…")
        doing = ("detecting and aligning the face of the first clip: on the first run the landmark model is "
                 "loaded and compiled (numba), and long or high-resolution videos take a while to decode; "
                 "later runs read the preprocessing cache")
    if since_launch_s < FIRST_EVENT_HINT_S:
        return text
    last = (f" Its last line: “{last_stderr.strip()}”." if last_stderr.strip()
            else " It has written nothing there yet.")
    return (f"{text}\nNo progress for {format_duration(since_launch_s)}: the process is probably {doing}. Its "
            f"messages and errors go to {stderr_path}.{last} “Cancel run” stops it; what finished is kept and "
            "the run can be resumed.")
