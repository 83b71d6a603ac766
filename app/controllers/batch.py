"""Batch prediction: one worker task predicts a set of clips of the document (progress, Cancel; a clip that fails
gets a failed row and the others go on), the results table fills as clips finish, and selecting a row shows that
clip with its prediction (the one the batch computed: nothing is predicted again)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDockWidget

from cmnet_core.batch import BatchResult

from ..dialogs import Dialogs
from ..widgets.batch_table import BatchPanel
from ..workers import Task
from ..workspace.batch import BATCH_RUNNING, BatchResults, batch_clips, run_batch
from ..workspace.document import Document
from .prediction import PredictionController
from .tasks import TaskRunner


class BatchController(QObject):
    """Runs batches with ``doc.predictor`` and keeps the last run's `BatchResults` (``results``).

    ``select_clip(index)`` makes clip ``index`` of the document current (`FilesController.select_clip`);
    ``status(text, ms)`` writes to the status bar; ``prediction`` the single-clip prediction (a batch and it never
    run at the same time: the face detector sets torch's process-wide thread count while it runs).
    """

    #: A clip's result, emitted from the worker thread and delivered on the GUI thread.
    resultReady = Signal(object)

    def __init__(self, doc: Document, panel: BatchPanel, dock: QDockWidget, tasks: TaskRunner, dialogs: Dialogs,
                 prediction: PredictionController, select_clip: Callable[[int], None],
                 status: Callable[[str, int], None], parent: QObject) -> None:
        super().__init__(parent)
        self.doc, self.panel, self.dock, self.tasks, self.dialogs = doc, panel, dock, tasks, dialogs
        self.prediction = prediction
        self.select_clip, self.status = select_clip, status
        self.results: BatchResults | None = None
        self.task: Task | None = None
        self.resultReady.connect(self._result)
        panel.cancelRequested.connect(self.cancel)
        panel.rowSelected.connect(self.show_row)

    def is_running(self) -> bool:
        """True while a batch runs."""
        return self.task is not None

    def running(self) -> str:
        """What prediction runs now, for a message ("" when none): a batch, or the current clip's."""
        if self.task is not None:
            return BATCH_RUNNING
        return "the prediction of the current clip" if self.prediction.task is not None else ""

    def start(self, indices: list[int]) -> None:
        """Predict clips ``indices`` of the document in one worker task (nothing when a batch runs already)."""
        doc = self.doc
        if self.running() or doc.predictor is None:
            return
        store = doc.store
        annotation_for = store.annotation_for if store is not None else (lambda c: c.annotation)
        clips = batch_clips(doc.clips, indices, annotation_for, doc.database is not None)
        if not clips:
            return
        predictor = doc.predictor
        self.results = BatchResults(clips, predictor.labels, doc.clips)
        self.panel.set_results(self.results)
        self.panel.set_busy(True)
        self.panel.show_progress(0.0, f"starting: {len(clips)} clip(s)")
        self.dock.show()
        self.dock.raise_()
        results = self.results

        def finish(_done) -> None:
            self.task = None
            self.panel.set_busy(False)
            self._summarise(results, "finished")

        def failed(message: str) -> None:
            task, self.task = self.task, None
            self.panel.set_busy(False)
            for row in results.cancel_rest():
                self.panel.row_changed(row)
            if task is not None and task.was_cancelled:
                self._summarise(results, "cancelled")
                return
            self._summarise(results, "stopped")
            self.dialogs.error("Batch prediction stopped", f"{message}\n\nThe clips done so far keep their results.")

        self.task = self.tasks.run(
            lambda progress, cancelled: run_batch(predictor, clips, self.resultReady.emit, progress, cancelled),
            finish, failed, self.panel.show_progress)

    def cancel(self) -> None:
        """Ask the running batch to stop (the clip being predicted stops at its next stage)."""
        if self.task is not None:
            self.task.cancel()
            self.panel.progress.setFormat("cancelling…")

    def _result(self, result: BatchResult) -> None:
        if self.results is not None and result.index <= len(self.results):
            self.panel.row_changed(self.results.set_result(result))

    def _summarise(self, results: BatchResults, how: str) -> None:
        counts = results.counts()
        text = (f"{how}: {counts.get('done', 0)} done, {counts.get('failed', 0)} failed"
                + (f", {counts['cancelled']} not run" if counts.get("cancelled") else "") + f" of {len(results)}")
        self.panel.progress.setValue(self.panel.progress.maximum())
        self.panel.progress.setFormat(text)
        self.panel.summary.setText(text)
        self.status(f"Batch prediction {text}", 8000)

    def show_row(self, row: int) -> None:
        """Show the clip of results row ``row`` in the window with its batch prediction (when it was done)."""
        results = self.results
        if results is None or not 0 <= row < len(results):
            return
        if results.document_clips is not self.doc.clips:
            self.status("These batch results belong to a document that is no longer open.", 6000)
            return
        clip = results.document_clips[results.clip_index[row]]
        self.select_clip(results.clip_index[row])
        if self.doc.clip is not clip:  # e.g. indexing its frames was cancelled
            return
        prediction = results.predictions[row]
        if prediction is not None:
            self.doc.set_prediction(prediction)
        elif results.rows[row]["status"] == "failed":
            self.status(f"{results.rows[row]['clip']}: {results.rows[row]['error']}", 8000)

    def export(self, path: str | Path) -> Path:
        """Write the results as CSV (UTF-8 with BOM) to ``path``. Raises `OSError`; ValueError without results."""
        if self.results is None:
            raise ValueError("no batch results yet: run Prediction ▸ Run on selected clips or Run on all clips")
        return self.results.write_csv(path)
