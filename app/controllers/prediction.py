"""Prediction: loading a checkpoint (in a worker), predicting the current clip (in a worker, with progress and
cancel), the device choice, and showing the prediction on the intensity plot, the prediction panel and the
timeline's predicted apex."""
from __future__ import annotations

import threading

from PySide6.QtCore import QObject, QTimer

from cmnet_core.preprocess.apex import describe_apex_source

from ..dialogs import Dialogs
from ..widgets.annotation_panel import AnnotationPanel
from ..widgets.intensity_plot import IntensityPlot
from ..widgets.prediction_panel import PredictionPanel
from ..widgets.timeline import Timeline
from ..workers import Task, import_in_background
from ..workspace.document import Document
from ..workspace.prediction import emotion_mismatch, fresh_clip, label_mismatch, load_predictor, run_predictor
from .tasks import TaskRunner


class PredictionController(QObject):
    """Loads checkpoints into ``doc.predictor`` and predicts ``doc.clip`` with it."""

    def __init__(self, doc: Document, panel: PredictionPanel, annotation_panel: AnnotationPanel,
                 intensity_plot: IntensityPlot, timeline: Timeline, tasks: TaskRunner, dialogs: Dialogs,
                 parent: QObject) -> None:
        super().__init__(parent)
        self.doc, self.panel, self.annotation_panel = doc, panel, annotation_panel
        self.intensity_plot, self.timeline, self.tasks, self.dialogs = intensity_plot, timeline, tasks, dialogs
        self.task: Task | None = None
        self.checkpoint_path: str | None = None
        self.device = "auto"
        doc.clip_changed.connect(self.clip_changed)
        doc.prediction_changed.connect(self.prediction_changed)
        panel.cancelRequested.connect(self.cancel)
        panel.deviceChanged.connect(self.device_changed)

    def after_first_frame(self, fn, waited_ms: int = 0) -> None:
        """Call ``fn()`` once a frame is on screen (``doc.shown_frame``), or after 3 s without one (an empty
        window): work that imports torch starts only when the user already sees the clip."""
        if self.doc.shown_frame is not None or waited_ms >= 3000:
            fn()
        else:
            QTimer.singleShot(20, lambda: self.after_first_frame(fn, waited_ms + 20))

    @staticmethod
    def warm_up() -> threading.Thread:
        """Import PyTorch and the `Predictor`, and scipy.signal (the magnified view's band-pass), in a background
        thread (started once the first frame is on screen).

        A module's import holds Python's GIL while its C extension initialises (torch: ~0.23 s at a stretch on
        a 2-core machine), and the GUI thread waits for it: done now, while the user looks at the first frame,
        that wait does not fall on the first checkpoint load or prediction, nor on the first face detection (motion
        map, region curves, spotting on a whole video frame). Tasks started meanwhile wait for it
        (`app.workers.import_in_background`). Returns the thread."""
        def work() -> None:
            import torchvision  # noqa: F401 - the package before facenet-pytorch imports its submodules
            import cmnet_core.inference  # noqa: F401 - imports torch and the model
            import facenet_pytorch  # noqa: F401 - MTCNN's package (~0.13 s of GIL): the face of a whole video frame
            import scipy.signal  # noqa: F401 - ~0.7 s, GIL held in stretches: the magnified view's filter design
            import cmnet_core.spotting  # noqa: F401 - spotting's first click (scipy.ndimage, OpenCV's DIS)

        return import_in_background(work)

    def clip_changed(self) -> None:
        """The checkpoint stays; the last clip's results go."""
        self.panel.clear_result()
        self.intensity_plot.set_prediction(None)

    def prediction_changed(self) -> None:
        """Show ``doc.prediction`` (or nothing) on the plot, the panel and the timeline."""
        pred = self.doc.prediction
        self.intensity_plot.set_prediction(pred)
        self.panel.show_prediction(pred)
        provenance = getattr(pred, "provenance", None) or {}
        self.timeline.set_predicted_apex(
            None if pred is None else float(pred.frame_map[pred.apex_position]),
            describe_apex_source(provenance.get("apex_source", ""), provenance.get("apex_confidence")))

    def load_checkpoint(self, path: str, device: str | None = None, predict_after: bool = False) -> None:
        """Load ``path`` in a worker; on success the panel shows its metadata and the device in use
        (and, with ``predict_after``, the current clip is predicted)."""
        from cmnet_core.demo import resolve_checkpoint

        path = str(resolve_checkpoint(path))  # the name "demo" stands for the shipped demo model
        device = device or self.panel.device.currentData()
        self.panel.progress.setFormat("loading checkpoint…")

        def done(predictor) -> None:
            self.doc.predictor = predictor
            self.checkpoint_path = str(path)
            self.panel.show_checkpoint(path, predictor.metadata, str(predictor.device))
            self.panel.progress.setFormat("ready")
            self.annotation_panel.set_labels(self.doc.labels())
            self.doc.set_prediction(None)
            self.panel.show_warning(emotion_mismatch(predictor, self.doc.annotation().emotion))
            problem = label_mismatch(predictor, self.doc.database)
            if problem:
                self.dialogs.error("Checkpoint for other labels", problem)
            elif predict_after and self.doc.clip is not None:
                self.start()

        def failed(message: str) -> None:
            self.panel.progress.setFormat("no checkpoint")
            self.dialogs.error("Cannot load checkpoint",
                               f"{path}:\n{message}\n\nChoose a checkpoint written by CMNet Studio's training "
                               "(cmnet train / cmnet loso), or \"demo\" for the shipped synthetic demo model.")

        self.tasks.run(lambda progress, cancelled: load_predictor(path, device), done, failed)

    def device_changed(self, device: str) -> None:
        """The user chose another device: reload the checkpoint on it."""
        self.device = device
        if self.checkpoint_path:
            self.load_checkpoint(self.checkpoint_path, device)

    def start(self) -> None:
        """Predict the current clip (with the current annotation) in a worker with progress and cancel."""
        if self.task is not None:
            return
        clip = self.doc.clip
        ann = self.doc.annotation()
        work_clip = fresh_clip(clip).with_annotation(onset=ann.onset, apex=ann.apex, offset=ann.offset,
                                                     apex_source=ann.apex_source)
        predictor = self.doc.predictor
        self.panel.set_busy(True)

        def finish(result) -> None:
            self.task = None
            self.panel.set_busy(False)
            if clip is self.doc.clip:
                self.panel.progress.setFormat("done")
                self.doc.set_prediction(result)
            else:
                self.panel.clear_result()

        def failed(message: str) -> None:
            task = self.task
            self.task = None
            self.panel.set_busy(False)
            if task is not None and task.was_cancelled:
                self.panel.progress.setFormat("cancelled")
                return
            if clip is not self.doc.clip:  # the user moved on: this clip's failure is no longer news
                self.panel.clear_result()
                return
            self.panel.show_failure(message)
            self.dialogs.error("Prediction failed",
                               f"{clip.name}: {message}\n\nIf no face was found, check that the face is visible "
                               "and frontal in the clip; if the clip is very short, set onset and offset around "
                               "the movement and run again.")

        self.task = self.tasks.run(lambda progress, cancelled: run_predictor(predictor, work_clip, progress, cancelled),
                                   finish, failed, self.panel.show_progress)

    def cancel(self) -> None:
        """Ask the running prediction to stop."""
        if self.task is not None:
            self.task.cancel()
            self.panel.progress.setFormat("cancelling…")
