"""The live view of one training run: loss curves, per-fold metrics, position and ETA, device, Cancel.

The run is a `RunProcess` (the ``cmnet`` CLI with ``--progress jsonl``); a timer reads what it appended to its
progress file (partial lines buffered) and checks whether it ended. A run that dies is reported with the tail of
its stderr; the GUI goes on.
"""
from __future__ import annotations

import shlex
import time
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QHBoxLayout, QHeaderView, QLabel, QPlainTextEdit, QProgressBar, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from ..widgets.plot_style import styled_plot
from cmnet_core.train.callbacks import Callback, resume_line
from cmnet_core.train.events import replay

from .process import EXIT_CANCELLED, FileTail, RunProcess, tail_text
from .progress import FIRST_EVENT_HINT_S, LOSS_TERMS, JsonlBuffer, RunProgress, format_eta, waiting_text

CURVES = {"l_id": ("L_ID (Eq. 1)", "#1e88e5"), "l_wrst": ("L_Wrst (Eq. 9)", "#8e24aa"),
          "l_pos": ("L_pos (position term, not in the paper)", "#f4511e"),
          "l_c": ("L_C (cross-entropy)", "#43a047"), "total": ("total (Eq. 10)", "#212121")}
METRIC_COLUMNS = (("n", "n"), ("accuracy", "accuracy %"), ("uf1", "UF1 %"), ("uar", "UAR %"),
                  ("paper_f1", "paper F1 %"))
STATUS_COLOURS = {"starting": "#546e7a", "running": "#1565c0", "finished": "#2e7d32", "cancelled": "#ef6c00",
                  "failed": "#c62828", "detached": "#546e7a"}
#: Seconds between reads of the progress file.
POLL_MS = 200
#: Seconds a cancelled run may take to stop by itself before it is killed.
CANCEL_GRACE_S = 8.0


class RunMonitor(QWidget):
    """Monitor of one run.

    Parameters
    ----------
    process : the run, not started yet (`start` starts it).
    title : what the run is (mode, database), shown on top.
    device : the device the run was asked to use; shown as "requested" until the run reports the device it
        resolved (run_start / fold_start events), which then replaces it.
    clock : seconds, monotonic (`time.monotonic`; tests pass a fake one): until the run shows progress the
        monitor says how long ago it was launched, with a hint from `FIRST_EVENT_HINT_S` on (`waiting_text`).

    Signals: ``finished(str)`` with the final status (``"finished"``, ``"cancelled"``, ``"failed"``);
    ``useCheckpoint(str)`` when the user sends the finished run's model to the prediction panel.
    """

    finished = Signal(str)
    useCheckpoint = Signal(str)

    def __init__(self, process: RunProcess, title: str, device: str, cancel_grace: float = CANCEL_GRACE_S,
                 parent: QWidget | None = None, clock=time.monotonic) -> None:
        super().__init__(parent)
        self.process = process
        self.clock = clock
        self.launched_at: float | None = None
        self.progress = RunProgress()
        self._view_hooks = _MonitorHooks(self)
        self.buffer = JsonlBuffer()
        self.tail = FileTail(process.stdout_path)
        if process.stdout_path.is_file():  # a resumed run: show what this process writes, not the earlier ones
            self.tail.offset = process.stdout_path.stat().st_size
        self.cancel_grace = cancel_grace
        self.status = "starting"
        self.device = device
        self.final_checkpoint: str | None = None
        self.events_seen = 0
        self._dirty = False
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self.poll)
        self._build(title)

    # ---- layout ---------------------------------------------------------------------------------
    def _build(self, title: str) -> None:
        self.title = QLabel(f"<b>{title}</b><br><span style='color:#555'>{self.process.run_dir}</span>")
        self.title.setWordWrap(True)
        self.status_label = QLabel()
        self.device_label = QLabel(f"device: <b>{self.device}</b> (requested)")
        self.position_label = QLabel(waiting_text(self.progress, 0.0, self.process.stderr_path))
        self.position_label.setWordWrap(True)
        self.eta_label = QLabel(format_eta(None))
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setFormat("%p %")
        self.plot, pi, _legend = styled_plot("optimiser step (all folds)", "loss")
        self.fold_lines: list[pg.InfiniteLine] = []
        self.curves = {k: pi.plot(name=name, pen=pg.mkPen(colour, width=2)) for k, (name, colour) in CURVES.items()}
        self.fold_table = QTableWidget(0, len(METRIC_COLUMNS) + 1)
        self.fold_table.setHorizontalHeaderLabels(["fold (test subject)", *(h for _, h in METRIC_COLUMNS)])
        self.fold_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.fold_table.verticalHeader().hide()
        self.fold_table.setMaximumHeight(170)
        self.log = QPlainTextEdit(readOnly=True)
        self.log.setMaximumBlockCount(500)
        self.log.setMaximumHeight(130)
        self.log.setStyleSheet("font-family:monospace; font-size:9pt")
        self.cancel_button = QPushButton("Cancel run")
        self.cancel_button.setToolTip("Stop after the current step; finished folds and the last epoch's "
                                      "checkpoint are kept (the run can be resumed)")
        self.cancel_button.clicked.connect(self.cancel)
        self.folder_button = QPushButton("Open run folder")
        self.folder_button.clicked.connect(
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.process.run_dir))))
        self.use_button = QPushButton("Use for prediction")
        self.use_button.setEnabled(False)
        self.use_button.setToolTip("Load the finished model in the prediction panel")
        self.use_button.clicked.connect(lambda: self.useCheckpoint.emit(self.final_checkpoint))
        top = QHBoxLayout()
        top.addWidget(self.status_label)
        top.addSpacing(16)
        top.addWidget(self.device_label)
        top.addStretch(1)
        top.addWidget(self.eta_label)
        buttons = QHBoxLayout()
        buttons.addWidget(self.folder_button)
        buttons.addWidget(self.use_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        lay = QVBoxLayout(self)
        lay.addWidget(self.title)
        lay.addLayout(top)
        lay.addWidget(self.position_label)
        lay.addWidget(self.bar)
        lay.addWidget(self.plot, 1)
        lay.addWidget(self.fold_table)
        lay.addWidget(self.log)
        lay.addLayout(buttons)
        self._show_status("starting")

    # ---- running ----------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the process and the polling timer; a start failure is shown as a failed run."""
        self.append_log("$ " + shlex.join(self.process.command))
        self.launched_at = self.clock()
        try:
            self.process.start()
        except OSError as exc:
            self._end("failed", f"The training process could not be started: {exc}")
            return
        self.timer.start()

    def is_running(self) -> bool:
        """True while the process runs and this monitor follows it."""
        return self.timer.isActive() and self.process.running()

    def cancel(self) -> None:
        """Ask the run to stop after its current step; it is killed if still alive ``cancel_grace`` s later."""
        if self.process.running():
            self.process.cancel()
            self.cancel_button.setEnabled(False)
            self.position_label.setText("cancelling: the run stops after its current step and writes its "
                                        "checkpoint…")

    def detach(self) -> None:
        """Stop following the run and leave it running (it keeps writing to its run folder)."""
        self.timer.stop()
        self._show_status("detached")

    def stop(self, timeout: float = 15.0) -> None:
        """Cancel, wait up to ``timeout`` s, then kill; read what it wrote last (for shutting the app down)."""
        self.process.cancel()
        if self.process.wait(timeout) is None:
            self.process.kill()
        self.poll()

    def poll(self) -> None:
        """Read new progress, update the view, and finish when the process has ended (timer slot)."""
        self._read()
        if self.process.kill_if_overdue(self.cancel_grace):
            self.append_log(f"the run did not stop within {self.cancel_grace:g} s of Cancel and was killed")
        code = self.process.poll()
        if code is not None and self.timer.isActive():
            self._read()
            self._finish(code)
            return
        if self._dirty:
            self._refresh()
        self._show_waiting()

    def _show_waiting(self) -> None:
        """Until the run shows progress: the time since launch, and past `FIRST_EVENT_HINT_S` what it is probably
        doing, its stderr.log (with its last line) and how to stop it (`waiting_text`)."""
        if self.launched_at is None or self.process.cancel_requested_at is not None:
            return
        since = self.clock() - self.launched_at
        last = tail_text(self.process.stderr_path, 1) if since >= FIRST_EVENT_HINT_S else ""
        text = waiting_text(self.progress, since, self.process.stderr_path, last)
        if text is not None and text != self.position_label.text():
            self.position_label.setText(text)

    def _read(self) -> None:
        events, other = self.buffer.feed(self.tail.read_new())
        for line in other:
            self.append_log(line)
        for event in events:
            self.events_seen += 1
            self.progress.update(event)
            replay(event, self._view_hooks)
            self._dirty = True
        if events and self.status == "starting":
            self._show_status("running")

    def _finish(self, code: int) -> None:
        self.process.cleanup()
        run_status = self.progress.status
        if code == 0 and run_status == "finished":
            self._end("finished", "")
        elif code == EXIT_CANCELLED or (self.process.cancel_requested_at is not None):
            how = "was killed after Cancel" if self.process.killed else "stopped after Cancel"
            self._end("cancelled", f"The run {how}. Finished folds and the last saved epoch are kept in "
                                   f"{self.process.run_dir}; to resume, select it in the Runs tab and press Resume "
                                   "(or run the same command again).")
        else:
            why = f"was killed by signal {-code}" if code < 0 else f"ended with exit status {code}"
            stderr = tail_text(self.process.stderr_path, 20)
            self._end("failed", f"The training process {why} before finishing. What finished is kept in "
                                f"{self.process.run_dir} (to resume: the Runs tab, Resume).\n"
                                f"--- last lines of its error output ---\n{stderr}")

    def _end(self, status: str, message: str) -> None:
        self.timer.stop()
        self._refresh()
        self.cancel_button.setEnabled(False)
        if message:
            self.append_log(message)
        self._show_status(status)
        if status == "finished":
            self.bar.setValue(1000)
            self.eta_label.setText("done")
            self.use_button.setEnabled(self.final_checkpoint is not None)
        self.finished.emit(status)

    # ---- view ---------------------------------------------------------------------------------------
    def append_log(self, text: str) -> None:
        self.log.appendPlainText(text)

    def _show_status(self, status: str) -> None:
        self.status = status
        self.status_label.setText(f"<b style='color:{STATUS_COLOURS.get(status, '#000')}'>{status.upper()}</b>")

    def _refresh(self) -> None:
        self._dirty = False
        p = self.progress
        for term in LOSS_TERMS:
            points = p.losses[term]
            if points:
                xs, ys = zip(*points)
                self.curves[term].setData(list(xs), list(ys))
        if p.device:  # the run's own word replaces the request
            self.device = p.device
            self.device_label.setText(f"device: <b>{p.device}</b>")
        if p.preprocessing():
            done, total, clip = p.preprocessed
            self.bar.setValue(int(1000 * done / max(total, 1)))
            self.bar.setFormat(f"preprocessing {done}/{total}")
            self.position_label.setText(f"preprocessing clips (face alignment, N frames): {done}/{total}, "
                                        f"last {clip}")
        else:
            self.bar.setValue(int(1000 * p.fraction()))
            self.bar.setFormat("%p %")
        if p.steps:
            fold = f"fold {p.fold} ({p.folds.index(p.fold) + 1}/{len(p.folds)}) · " if p.fold in p.folds else ""
            last = {k: v[-1][1] for k, v in p.losses.items() if v}
            losses = "  ".join(f"{CURVES[k][0].split(' ')[0]} {v:.3f}" for k, v in last.items())
            self.position_label.setText(f"{fold}epoch {p.epoch}/{p.epochs} · step {p.step}/{p.steps}    {losses}")
        elif p.fold and p.fold in p.folds:  # a baseline run: no epochs, a fit per fold
            self.position_label.setText(f"fold {p.fold} ({p.folds.index(p.fold) + 1}/{len(p.folds)}) · fitting the "
                                        "baseline (logistic regression)")
        self.eta_label.setText(format_eta(p.eta_seconds()))

    def _mark_fold(self, fold: str) -> None:
        """A dashed vertical line where fold ``fold`` starts on the step axis."""
        line = pg.InfiniteLine(pos=self.progress.global_step + 0.5, angle=90,
                               pen=pg.mkPen("#90a4ae", width=1, style=pg.QtCore.Qt.PenStyle.DashLine),
                               label=fold, labelOpts={"position": 0.95, "color": "#546e7a"})
        self.plot.addItem(line)
        self.fold_lines.append(line)

    def _add_fold_row(self, fold: str, metrics: dict) -> None:
        row = self.fold_table.rowCount()
        self.fold_table.insertRow(row)
        self.fold_table.setItem(row, 0, QTableWidgetItem(fold))
        for col, (key, _) in enumerate(METRIC_COLUMNS, start=1):
            value = metrics.get(key)
            text = "" if value is None else str(value) if key == "n" else f"{100 * value:.2f}"
            self.fold_table.setItem(row, col, QTableWidgetItem(text))

    def run_dir(self) -> Path:
        return self.process.run_dir


class _MonitorHooks(Callback):
    """What the monitor draws per event, beyond `RunProgress`'s state: fold marks on the loss plot, rows of the
    fold table, the resume line in the log, and the final checkpoint (replayed events of
    `cmnet_core.train.events`)."""

    def __init__(self, monitor: RunMonitor) -> None:
        self.monitor = monitor

    def on_fold_start(self, fold, info):
        if len(self.monitor.progress.folds) > 1:
            self.monitor._mark_fold(fold or "")

    def on_fold_end(self, fold, metrics):
        if metrics:
            self.monitor._add_fold_row(fold, metrics)

    def on_resume(self, info):
        self.monitor.append_log(resume_line(self.monitor.process.run_dir.name, info))

    def on_run_end(self, summary):
        if summary.get("checkpoint"):
            self.monitor.final_checkpoint = str(summary["checkpoint"])
