"""Prediction panel: checkpoint chooser with its metadata, device choice, run/cancel with progress,
and the predicted class probabilities as bars."""
from __future__ import annotations

import dataclasses
import html
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QComboBox, QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QProgressBar,
                               QPushButton, QVBoxLayout, QWidget)

from cmnet_core.preprocess.apex import describe_apex_source
from cmnet_core.train.checkpoint_meta import CheckpointError, CheckpointMeta

from ..workspace.prediction import metadata_dict


#: How the panel names the score scopes of `CheckpointMeta.metrics`.
SCOPE_TEXT = {"held_out": "held-out", "validation": "validation", "": ""}
#: Shown when a checkpoint records no scores (a final model trained on every subject).
NO_METRICS = ("— <span style='color:#777'>(no clips kept out of training were scored; hold out a subject or "
              "select by validation subjects for a figure)</span>")


def _fmt_scores(scores: dict) -> str:
    """``uf1 0.500, uar 0.500, accuracy 0.750, n 4`` from one scope's scores (other numbers and text after)."""
    first = [k for k in ("uf1", "uar", "accuracy", "n") if k in scores]
    parts = []
    for k in first + [k for k in scores if k not in first]:
        v = scores[k]
        if isinstance(v, bool):
            continue
        if isinstance(v, float):
            parts.append(f"{html.escape(str(k))} {v:.3f}")
        elif isinstance(v, (int, str)):
            parts.append(f"{html.escape(str(k))} {html.escape(str(v))}")
    return ", ".join(parts[:6])


def format_metrics(meta: CheckpointMeta) -> str:
    """Rich text of the scores a checkpoint records (`CheckpointMeta.scored_metrics`): one line per scope,
    e.g. ``validation (epoch 2; s03): uf1 0.667, uar 0.750, accuracy 0.750, n 4``; `NO_METRICS` when none."""
    lines = []
    for scope, scores in meta.scored_metrics():
        scores = dict(scores)
        where = [f"epoch {scores.pop('epoch')}"] if "epoch" in scores else []
        if isinstance(scores.get("subjects"), list):
            where.append(", ".join(map(str, scores.pop("subjects"))))
        text = _fmt_scores(scores)
        if not text:
            continue
        name = SCOPE_TEXT.get(scope, scope.replace("_", " "))
        label = name + (f" ({html.escape('; '.join(where))})" if where else "")
        lines.append(f"{label}: {text}" if label else text)
    return "<br>".join(lines) or NO_METRICS


def as_meta(meta) -> CheckpointMeta | None:
    """A `CheckpointMeta` from what the panel is given: one already, a metadata dict (as `Predictor.metadata`),
    or another dataclass/object (`app.prediction.metadata_dict`); None for nothing. A dict that does not validate
    (e.g. a partial one in a test) is kept as given: its known keys read, the rest in ``extra``."""
    if meta is None or isinstance(meta, CheckpointMeta):
        return meta
    d = metadata_dict(meta)
    if not d:
        return None
    try:
        return CheckpointMeta.from_dict(d)
    except CheckpointError:
        names = {f.name for f in dataclasses.fields(CheckpointMeta)} - {"extra"}
        known = {k: v for k, v in d.items() if k in names and v is not None}
        base = {"labels": [], "image_size": 0, "num_frames": 0, "preprocess": {}, "model_config": {}}
        return CheckpointMeta(**{**base, **known}, extra={k: v for k, v in d.items() if k not in names})


def describe_metadata(meta) -> str:
    """Rich text for the panel: labels, input size, N, training database, the recorded metrics (held-out and
    validation scores of a final model, the demo's figures) and a note for synthetic / demo models.

    meta : a `CheckpointMeta`, a checkpoint's metadata dict, or None (no checkpoint).
    """
    m = as_meta(meta)
    if m is None:
        return "<i>No checkpoint loaded.</i>"
    size = m.image_size or m.preprocess.get("image_size") or m.model_config.get("image_size")
    frames = m.num_frames or m.preprocess.get("num_frames") or m.model_config.get("num_frames")
    db = m.database or m.extra.get("train_database") or "—"
    if isinstance(db, dict):
        db = " ".join(str(db.get(k, "")) for k in ("name", "protocol")).strip() or "—"
    rows = [("Labels", ", ".join(map(str, m.labels or [])) or "—"),
            ("Input", f"{size} px, N = {frames}" if size else "—"),
            ("Trained on", str(db)),
            ("Metrics", format_metrics(m)),
            ]
    if m.is_demo:
        rows.append(("Note", "<b style='color:#e65100'>synthetic demo model — not for real data</b>"))
    elif m.synthetic or "synthetic" in str(db).lower():
        rows.append(("Note", "<b style='color:#e65100'>trained on synthetic data — not for real data</b>"))
    return "<table cellspacing=2>" + "".join(
        f"<tr><td style='color:#555;padding-right:8px'>{k}</td><td>{v}</td></tr>" for k, v in rows) + "</table>"


APEX_CHANGE_TIP = ("Apex change: how far the face moves between the onset frame and the peak of k_n, as one "
                   "number: the 99th percentile of the optical flow over the face (head translation removed), in "
                   "pixels of a 224-px face crop. k_n itself is normalised per clip (its peak is always near 1). "
                   "Only roughly calibrated: on synthetic clips it ranks clips by their true amplitude with a "
                   "Spearman correlation of about 0.4 (README, 'Calibration across clips').\n\n"
                   "k_n peak: the frame where the intensity clue is largest, an apex estimate from the frames "
                   "alone, shown beside the annotated (or spotted) apex.")


def describe_intensity(prediction) -> str:
    """Rich text: the k_n peak (apex estimate) beside the apex the model was given, and the clip-level apex change."""
    import math

    peak = getattr(prediction, "k_peak_frame", None)
    if peak is None:
        return " "
    apex = float(prediction.frame_map[prediction.apex_position])
    provenance = getattr(prediction, "provenance", None) or {}
    source = describe_apex_source(provenance.get("apex_source", ""), provenance.get("apex_confidence"))
    change = float(getattr(prediction, "apex_change", float("nan")))
    change_text = "—" if math.isnan(change) else f"{change:.1f} px"
    return (f"k_n peak (apex estimate): frame <b>{round(peak, 1):g}</b>"
            f" · apex{f' ({html.escape(str(source))})' if source else ''}: frame {round(apex, 1):g}<br>"
            f"Apex change (motion, uncalibrated): <b>{change_text}</b> <span style='color:#777'>(?)</span>")


class ProbabilityBars(QWidget):
    """One labelled bar per class with its percentage beside it (never over the fill); the most probable
    class in bold."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setVerticalSpacing(3)
        self.bars: dict[str, QProgressBar] = {}
        self.names: dict[str, QLabel] = {}
        self.percents: dict[str, QLabel] = {}

    def set_labels(self, labels: list[str]) -> None:
        while self.grid.count():
            w = self.grid.takeAt(0).widget()
            if w is not None:
                w.deleteLater()
        self.bars, self.names, self.percents = {}, {}, {}
        for i, lab in enumerate(labels):
            name = QLabel(lab)
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setValue(0)
            bar.setTextVisible(False)
            bar.setMaximumHeight(14)
            percent = QLabel("—")
            percent.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            percent.setMinimumWidth(percent.fontMetrics().horizontalAdvance("100.0 %") + 4)
            self.grid.addWidget(name, i, 0)
            self.grid.addWidget(bar, i, 1)
            self.grid.addWidget(percent, i, 2)
            self.bars[lab], self.names[lab], self.percents[lab] = bar, name, percent

    def set_probabilities(self, labels: list[str], probabilities) -> None:
        """``probabilities`` (C,) in [0, 1] for ``labels`` (None clears)."""
        if list(self.bars) != list(labels):
            self.set_labels(list(labels))
        if probabilities is None:
            for lab, bar in self.bars.items():
                bar.setValue(0)
                self.percents[lab].setText("—")
                self.names[lab].setStyleSheet("")
                self.percents[lab].setStyleSheet("")
            return
        best = max(range(len(labels)), key=lambda i: float(probabilities[i]))
        for i, lab in enumerate(labels):
            p = float(probabilities[i])
            self.bars[lab].setValue(int(round(p * 1000)))
            self.percents[lab].setText(f"{100 * p:.1f} %")
            style = "font-weight:bold" if i == best else ""
            self.names[lab].setStyleSheet(style)
            self.percents[lab].setStyleSheet(style)

    def value(self, label: str) -> float:
        """The displayed probability of ``label`` in [0, 1]."""
        return self.bars[label].value() / 1000.0


class PredictionPanel(QGroupBox):
    """Signals: ``chooseRequested`` (pick a checkpoint), ``deviceChanged(str)``, ``runRequested``, ``cancelRequested``."""

    chooseRequested = Signal()
    deviceChanged = Signal(str)
    runRequested = Signal()
    cancelRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Prediction (CMNet)", parent)
        self.checkpoint = QLabel("<i>none</i>")
        self.checkpoint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.checkpoint.setWordWrap(True)
        choose = QPushButton("Choose checkpoint…")
        choose.clicked.connect(self.chooseRequested)
        self.meta = QLabel(describe_metadata(None))
        self.meta.setWordWrap(True)
        self.meta.setTextFormat(Qt.TextFormat.RichText)
        self.device = QComboBox()
        self.device.addItem("auto (CUDA when present)", "auto")
        self.device.addItem("CPU", "cpu")
        self.device.addItem("CUDA", "cuda")
        self.device.currentIndexChanged.connect(lambda _i: self.deviceChanged.emit(self.device.currentData()))
        self.device_note = QLabel()
        self.device_note.setWordWrap(True)
        self.run = QPushButton("Run on clip")
        self.run.setToolTip("Predict the emotion and the intensity curve of the current clip (Ctrl+R)")
        self.run.clicked.connect(self.runRequested)
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(self.cancelRequested)
        self.cancel.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.progress.setFormat("idle")
        self.result = QLabel(" ")
        self.result.setWordWrap(True)
        self.intensity_info = QLabel(" ")
        self.intensity_info.setWordWrap(True)
        self.intensity_info.setToolTip(APEX_CHANGE_TIP)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.setStyleSheet("color:#e65100")
        self.warning.hide()
        self.notes = QLabel()  # the prediction's notes (very short clip, mixed frame sizes, gaps, …)
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet("color:#e65100")
        self.notes.hide()
        self._loaded = False
        self.bars = ProbabilityBars()
        form = QFormLayout()
        form.addRow("Checkpoint", self.checkpoint)
        form.addRow("", choose)
        form.addRow("Model", self.meta)
        form.addRow("Device", self.device)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self.device_note)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run, 1)
        buttons.addWidget(self.cancel)
        lay.addLayout(buttons)
        lay.addWidget(self.warning)
        lay.addWidget(self.progress)
        lay.addWidget(self.result)
        lay.addWidget(self.intensity_info)
        lay.addWidget(self.notes)
        lay.addWidget(self.bars)
        lay.addStretch(1)

    def show_checkpoint(self, path: str | Path | None, metadata, device: str | None) -> None:
        """Show the loaded checkpoint, its metadata (a `CheckpointMeta` or its dict) and the device it runs on."""
        self.checkpoint.setText(Path(path).name if path else "<i>none</i>")
        self.checkpoint.setToolTip(str(path or ""))
        self.meta.setText(describe_metadata(metadata))
        meta = as_meta(metadata)
        self.bars.set_labels([str(x) for x in meta.labels] if meta is not None else [])
        self._loaded = path is not None
        self.show_device(device)

    def show_warning(self, text: str) -> None:
        """A warning above the progress bar (e.g. the annotated emotion is not a label of the model); '' hides it."""
        self.warning.setText(f"⚠ {text}" if text else "")
        self.warning.setVisible(bool(text))

    def clear_result(self) -> None:
        """Forget the last prediction, its failure and its progress (another clip became current)."""
        self.show_prediction(None)
        self.progress.setValue(0)
        self.progress.setFormat("ready" if self._loaded else "idle")

    def show_failure(self, reason: str) -> None:
        """Mark the run as failed and show the short reason (its first line) in the panel."""
        self.show_prediction(None)
        self.progress.setFormat("failed")
        first = (reason.strip().splitlines() or ["unknown error"])[0]
        self.result.setText(f"<span style='color:#b71c1c'>Prediction failed: {html.escape(first[:200])}</span>")

    def show_device(self, device: str | None) -> None:
        """``device`` in use (e.g. ``"cpu"``, ``"cuda:0"``); warns when a CUDA choice fell back to the CPU."""
        wanted = self.device.currentData()
        if device is None:
            self.device_note.setText("")
        elif str(device).startswith("cpu") and wanted in ("auto", "cuda"):
            self.device_note.setText("⚠ CUDA is not available: running on the CPU (slower; a clip takes seconds).")
            self.device_note.setStyleSheet("color:#e65100")
        else:
            self.device_note.setText(f"Running on {device}.")
            self.device_note.setStyleSheet("color:#2e7d32")

    def set_busy(self, busy: bool) -> None:
        self.run.setEnabled(not busy)
        self.cancel.setEnabled(busy)
        if busy:
            self.progress.setValue(0)
            self.progress.setFormat("starting…")

    def show_progress(self, fraction: float, message: str) -> None:
        self.progress.setValue(int(round(100 * max(0.0, min(1.0, fraction)))))
        self.progress.setFormat(f"{message} %p%" if message else "%p%")

    def show_prediction(self, prediction) -> None:
        """Probabilities of ``prediction`` (None clears)."""
        if prediction is None:
            self.result.setText(" ")
            self.intensity_info.setText(" ")
            self.notes.setText("")
            self.notes.hide()
            self.bars.set_probabilities(list(self.bars.bars), None)
            return
        labels = [str(x) for x in prediction.labels]
        probs = prediction.probabilities
        best = max(range(len(labels)), key=lambda i: float(probs[i]))
        self.result.setText(f"Predicted: <b>{labels[best]}</b> ({100 * float(probs[best]):.1f} %)")
        self.bars.set_probabilities(labels, probs)
        self.intensity_info.setText(describe_intensity(prediction))
        notes = [str(n) for n in ((getattr(prediction, "provenance", None) or {}).get("notes") or [])]
        self.notes.setText("<br>".join(f"⚠ {html.escape(n)}" for n in notes))
        self.notes.setVisible(bool(notes))
