"""Work that must stay off the GUI thread: frame decoding (with an LRU cache and prefetch) and tasks
such as prediction and checkpoint loading (progress, cancel, always a final signal)."""
from __future__ import annotations

import sys
import threading
import traceback
from collections import OrderedDict
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, QRunnable, QThread, QThreadPool, Signal

from cmnet_core.data.clip import Clip

from .workspace.prediction import Cancelled


def collect_garbage_in_gui_thread(interval_s: float = 1.0):
    """Stop Python's automatic garbage collection and collect on a QTimer in the GUI thread instead
    (pyqtgraph's `GarbageCollector`); returns the collector, which must be kept referenced.

    Why: the worker threads here (`Worker`, the `JobQueue` thread, the dialog's database opener) allocate Python
    objects, so the cyclic collector may run in one of them and finalise Qt wrappers created by the GUI thread;
    Qt then destroys widgets off the GUI thread and the process segfaults (seen in the test suite: "Fatal Python
    error: Segmentation fault … Garbage-collecting" in a worker opening a database). Collections then happen
    every ``interval_s`` seconds of event-loop time, in the GUI thread only. Needs a QApplication.
    """
    from pyqtgraph.util.garbage_collector import GarbageCollector

    return GarbageCollector(interval=interval_s)


#: Errors about the user's input (module, class): they are logged as one line, not with a traceback.
EXPECTED_ERRORS = (("cmnet_core.train.checkpoint", "CheckpointError"),
                   ("cmnet_core.preprocess.errors", "PreprocessError"), ("cmnet_core.data.clip", "ClipError"), ("cmnet_core.data.database", "DatabaseError"),
                   ("cmnet_core.data.annotation_io", "AnnotationFileError"),
                   ("cmnet_core.spotting", "SpottingInputError"))


def is_expected_error(exc: BaseException) -> bool:
    """True for `EXPECTED_ERRORS` (NoFaceError is a PreprocessError); a module not yet imported cannot have
    raised, so nothing is imported here."""
    for module, name in EXPECTED_ERRORS:
        cls = getattr(sys.modules.get(module), name, None)
        if cls is not None and isinstance(exc, cls):
            return True
    return False


#: Background imports and tasks exclude each other: two threads importing the same package at once (the warm-up
#: importing torchvision through facenet-pytorch while a task loading a checkpoint imports it through the model)
#: can see it half-initialised: "cannot import name 'InterpolationMode' from partially initialized module
#: 'torchvision.transforms'" (seen in the test suite). Tasks run together as before; an import waits for the
#: running tasks and tasks wait for the import.
_gate = threading.Condition()
_gate_state = {"tasks": 0, "importing": False}


def _enter_task() -> None:
    with _gate:
        while _gate_state["importing"]:
            _gate.wait()
        _gate_state["tasks"] += 1


def _leave_task() -> None:
    with _gate:
        _gate_state["tasks"] -= 1
        _gate.notify_all()


def import_in_background(imports: Callable[[], None], name: str = "cmnet-warm-up") -> threading.Thread:
    """Run ``imports()`` (module imports, e.g. torch) in a new thread once no `Task` is running, and return the
    thread; tasks started meanwhile wait until it has ended (see ``_gate``). The thread is not a daemon: a window
    closed within the first seconds waits for the imports to end (a daemon cut off inside torch's import at
    interpreter exit printed a RuntimeError traceback)."""
    def work() -> None:
        with _gate:
            while _gate_state["tasks"]:
                _gate.wait()
            _gate_state["importing"] = True
        try:
            imports()
        finally:
            with _gate:
                _gate_state["importing"] = False
                _gate.notify_all()

    thread = threading.Thread(target=work, name=name, daemon=False)
    thread.start()
    return thread


class TaskSignals(QObject):
    """Signals of a `Task`: exactly one of ``finished`` / ``error`` is emitted per run."""

    progress = Signal(float, str)  # fraction in [0, 1], message
    finished = Signal(object)      # the task's result
    error = Signal(str)            # a message for the user (also used for cancellation)


class Task(QRunnable):
    """Run ``fn(progress, cancelled)`` on the global `QThreadPool`.

    ``fn`` receives ``progress(fraction, message)`` and ``cancelled() -> bool`` and returns the result.
    Whatever happens (result, exception, `Cancelled`, cancellation ignored by ``fn``), the task emits
    ``finished(result)`` or ``error(message)`` exactly once; ``was_cancelled`` tells a cancel apart.
    """

    def __init__(self, fn: Callable[[Callable[[float, str], None], Callable[[], bool]], object]) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.signals = TaskSignals()
        self._fn = fn
        self._cancel = threading.Event()
        self._done = threading.Event()
        self.was_cancelled = False

    def cancel(self) -> None:
        """Ask the task to stop at its next check."""
        self._cancel.set()

    def is_done(self) -> bool:
        return self._done.is_set()

    def start(self) -> "Task":
        QThreadPool.globalInstance().start(self)
        return self

    def run(self) -> None:  # worker thread
        def progress(fraction: float, message: str = "") -> None:
            self.signals.progress.emit(float(fraction), str(message))

        try:
            _enter_task()   # not while `import_in_background` imports (half-imported packages)
            try:
                result = self._fn(progress, self._cancel.is_set)
            finally:
                _leave_task()
            if self._cancel.is_set():
                raise Cancelled()
        except Cancelled:
            self.was_cancelled = True
            self._done.set()
            self.signals.error.emit("Cancelled.")
        except BaseException as exc:  # noqa: BLE001 - every failure must reach the GUI as a message
            if is_expected_error(exc):
                print(f"{type(exc).__name__}: {' '.join(str(exc).split())}", file=sys.stderr)
            else:
                traceback.print_exc()
            self._done.set()
            self.signals.error.emit(str(exc) or type(exc).__name__)
        else:
            self._done.set()
            self.signals.finished.emit(result)


class FrameLoader(QObject):
    """Decodes frames of the current clip in one background thread, keeps an LRU cache and prefetches ahead.

    `request(number)` returns the frame at once when cached (uint8 RGB (H, W, 3)); otherwise it queues
    the number (only the latest request is kept, so fast scrubbing never builds a backlog) and
    ``frameReady(number, array)`` follows. After serving requests the thread decodes the next
    ``prefetch`` frames in order, which is what keeps playback and stepping smooth.
    """

    frameReady = Signal(int, object)
    frameFailed = Signal(int, str)

    def __init__(self, cache_bytes: int = 384 * 2**20, prefetch: int = 32, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cond = threading.Condition()
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_bytes = cache_bytes
        self._used = 0
        self._prefetch = prefetch
        self._clip: Clip | None = None
        self._numbers: list[int] = []
        self._index: dict[int, int] = {}
        self._wanted: int | None = None
        self._anchor: int | None = None
        self._generation = 0
        self._stopping = False
        self._quiet = False
        self._thread = _LoaderThread(self)
        self._thread.start()

    # ---- GUI-thread API ---------------------------------------------------------------------
    def set_clip(self, clip: Clip | None) -> None:
        """Switch to ``clip`` (None = nothing); empties the cache."""
        with self._cond:
            self._clip = clip
            self._numbers = list(clip.frame_numbers) if clip is not None else []
            self._index = {n: i for i, n in enumerate(self._numbers)}
            self._cache.clear()
            self._used = 0
            self._wanted = None
            self._anchor = None
            self._generation += 1
            self._cond.notify_all()

    def set_quiet(self, quiet: bool) -> None:
        """While ``quiet`` (a prediction or batch runs in a worker): decode only the frames asked for, no
        prefetch, and keep just the two most recent frames, so the loader takes neither a core nor memory from
        the work (the GUI then costs what ``cmnet predict`` costs). Prefetch resumes when it is turned off."""
        with self._cond:
            self._quiet = bool(quiet)
            if self._quiet:
                while len(self._cache) > 2:
                    _, old = self._cache.popitem(last=False)
                    self._used -= old.nbytes
            self._cond.notify_all()

    def request(self, number: int) -> np.ndarray | None:
        """The frame if cached (also re-aims prefetch there), else None and a later ``frameReady``."""
        with self._cond:
            self._anchor = number
            frame = self._cache.get(number)
            if frame is not None:
                self._cache.move_to_end(number)
            else:
                self._wanted = number
            self._cond.notify_all()
            return frame

    def peek(self, number: int) -> np.ndarray | None:
        """The frame if cached, else None; unlike `request` it neither queues a decode nor moves the prefetch."""
        with self._cond:
            return self._cache.get(number)

    def cached(self, number: int) -> bool:
        with self._cond:
            return number in self._cache

    def stop(self) -> None:
        """Stop the thread and wait for it (call before the window closes)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.wait()

    # ---- loader thread ------------------------------------------------------------------------
    def _next_job(self) -> tuple[int, Clip, int, bool] | None:
        """Block until there is something to decode; None means stop."""
        with self._cond:
            while True:
                if self._stopping:
                    return None
                if self._clip is not None:
                    if self._wanted is not None:
                        n, self._wanted = self._wanted, None
                        if n not in self._cache:
                            return n, self._clip, self._generation, True
                    if not self._quiet and self._anchor is not None and self._anchor in self._index:
                        i0 = self._index[self._anchor]
                        for n in self._numbers[i0: i0 + self._prefetch + 1]:
                            if n not in self._cache:
                                return n, self._clip, self._generation, False
                self._cond.wait()

    def _store(self, number: int, frame: np.ndarray, generation: int) -> bool:
        with self._cond:
            if generation != self._generation:
                return False
            self._cache[number] = frame
            self._used += frame.nbytes
            limit = 2 if self._quiet else None
            while len(self._cache) > 1 and (self._used > self._cache_bytes or (limit and len(self._cache) > limit)):
                _, old = self._cache.popitem(last=False)
                self._used -= old.nbytes
            return True

    def _work(self) -> None:
        while True:
            job = self._next_job()
            if job is None:
                return
            number, clip, generation, wanted = job
            try:
                frame = np.ascontiguousarray(clip.frame(number))
            except Exception as exc:  # noqa: BLE001 - a broken frame is shown as a message, never a crash
                if wanted:
                    self.frameFailed.emit(number, str(exc) or type(exc).__name__)
                with self._cond:  # remember it as unreadable so prefetch does not loop on it
                    if generation == self._generation:
                        self._numbers = [n for n in self._numbers if n != number]
                        self._index = {n: i for i, n in enumerate(self._numbers)}
                continue
            if self._store(number, frame, generation):
                self.frameReady.emit(number, frame)


class _LoaderThread(QThread):
    def __init__(self, loader: FrameLoader) -> None:
        super().__init__()
        self._loader = loader

    def run(self) -> None:
        self._loader._work()
