"""Worker tasks started by the window: one list of them (so closing can cancel and wait for all), and
`run_blocking`, which waits for one task while the GUI keeps handling events."""
from __future__ import annotations

from PySide6.QtCore import QEventLoop, QObject, Qt, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from ..workers import Task


class TaskRunner(QObject):
    """The window's running `Task` objects (prediction, checkpoint loading, face detection).

    ``busyChanged(bool)``: True when the first task starts, False when the last one ends (the frame loader
    goes quiet meanwhile, `FrameLoader.set_quiet`)."""

    busyChanged = Signal(bool)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._parent = parent
        self.tasks: list[Task] = []

    def run(self, fn, finished, failed, progress=None) -> Task:
        """Start ``fn(progress, cancelled)`` on the pool; ``finished(result)`` or ``failed(message)`` follows on the
        GUI thread (``progress(fraction, message)`` meanwhile). The task is listed until it ends."""
        task = Task(fn)
        task.signals.finished.connect(finished)
        task.signals.error.connect(failed)
        if progress is not None:
            task.signals.progress.connect(progress)
        task.signals.finished.connect(lambda _r, t=task: self._forget(t))
        task.signals.error.connect(lambda _m, t=task: self._forget(t))
        self.tasks.append(task)
        if len(self.tasks) == 1:
            self.busyChanged.emit(True)
        return task.start()

    def _forget(self, task: Task) -> None:
        if task in self.tasks:
            self.tasks.remove(task)
            if not self.tasks:
                self.busyChanged.emit(False)

    def is_busy(self) -> bool:
        """True while a listed task runs."""
        return bool(self.tasks)

    def shutdown(self, timeout_ms: int = 30_000) -> None:
        """Cancel every listed task and wait (up to ``timeout_ms``) for the pool to finish."""
        for task in list(self.tasks):
            task.cancel()
        QThreadPool.globalInstance().waitForDone(timeout_ms)

    def run_blocking(self, fn, label: str):
        """Run ``fn(progress, cancelled)`` in a worker thread and return its result, or raise its exception here.

        The GUI thread keeps handling events meanwhile (a modal progress dialog with Cancel appears after 0.3 s),
        so a long probe never freezes the window; Cancel makes ``cancelled()`` return True.
        """
        box: dict = {}

        def work(progress, cancelled):
            try:
                box["result"] = fn(progress, cancelled)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the GUI thread below
                box["error"] = exc
            return None

        task = Task(work)
        dialog = QProgressDialog(label, "Cancel", 0, 0, self._parent)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(300)
        dialog.canceled.connect(task.cancel)
        loop = QEventLoop()
        timer = QTimer(interval=20)
        timer.timeout.connect(lambda: loop.quit() if task.is_done() else None)
        task.start()
        timer.start()
        if not task.is_done():
            loop.exec()
        timer.stop()
        dialog.canceled.disconnect(task.cancel)
        dialog.reset()
        dialog.deleteLater()
        if "error" in box:
            raise box["error"]
        return box.get("result")
