"""Ties training into the main window: the Training menu's actions, the training window (runs table and one
tab per launched run), resuming a cancelled or killed run from the runs table, sending a finished model to the
prediction panel, and what happens to an active run when the app closes (stop it, let it continue on its own, or
do not close)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from cmnet_core.train.run_index import read_run
from cmnet_core.train.runs import new_run_dir

from ..dialogs import Dialogs
from ..workspace.document import Document
from ..settings import qsettings
from .dialog import TrainingDialog
from .monitor import RunMonitor
from .process import RunProcess
from .request import CANCEL_FILE, MODES, TrainingRequest
from .resume import read_launch, resume_offer
from .runs_table import RunsTable

SETTINGS_KEY = "training/runs_root"


class TrainingWindow(QWidget):
    """The training window: a "Runs" tab (the runs table) and one tab per run launched in this session."""

    def __init__(self, runs_root: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("CMNet Studio — training")
        self.tabs = QTabWidget()
        self.runs = RunsTable(runs_root)
        self.tabs.addTab(self.runs, "Runs")
        QVBoxLayout(self).addWidget(self.tabs)
        self.resize(1200, 760)


class TrainingManager(QObject):
    """Training for one main window.

    Parameters
    ----------
    parent : the main window (parent of the dialogs; raised when a model is sent to prediction), or None.
    doc : the open `Document` (its database and annotated clips are proposed for training).
    data_dir : ``() -> Path``, the app's data folder (runs go to ``<data_dir>/runs`` by default).
    load_checkpoint : ``(path) -> None``, load a model into the prediction panel.
    status : ``(text, ms) -> None``, a status-bar message.
    dialogs : the questions seam (default: `Dialogs` over ``parent``).
    """

    def __init__(self, parent: QWidget | None, doc: Document, data_dir: Callable[[], Path],
                 load_checkpoint: Callable[[str], None], status: Callable[[str, int], None],
                 dialogs: Dialogs | None = None) -> None:
        super().__init__(parent)
        self.main = parent
        self.doc, self.data_dir, self.load_checkpoint, self.status = doc, data_dir, load_checkpoint, status
        self.dialogs = dialogs or Dialogs(parent)
        self.monitors: list[RunMonitor] = []
        self.dialog: TrainingDialog | None = None
        self._window: TrainingWindow | None = None

    # ---- places ---------------------------------------------------------------------------------------
    def runs_root(self) -> Path:
        """The runs folder last used (the app's settings), else ``<app data>/runs``."""
        value = qsettings().value(SETTINGS_KEY, "")
        return Path(value) if value else self.data_dir() / "runs"

    def window(self) -> TrainingWindow:
        """The training window (made on first use)."""
        if self._window is None:
            self._window = TrainingWindow(self.runs_root())
            self._window.runs.checkpointChosen.connect(self.use_checkpoint)
            self._window.runs.resumeRequested.connect(self.resume)
        return self._window

    # ---- actions ----------------------------------------------------------------------------------------
    def annotated_pairs(self) -> list:
        """(clip, annotation as the user sees it) for every clip of the open document."""
        s = self.doc
        return [(c, s.store.annotation_for(c)) for c in s.clips] if s.store is not None else []

    def make_dialog(self) -> TrainingDialog:
        """A training dialog proposing the open database (if any) and the app's annotated clips."""
        db = self.doc.database
        self.dialog = TrainingDialog(self.runs_root(), self.data_dir(), self.annotated_pairs(),
                                     source=db.root if db is not None else None, parent=self.main)
        return self.dialog

    def new_run(self) -> RunMonitor | None:
        """Menu action: the dialog, then the launch."""
        dlg = self.make_dialog()
        if dlg.exec() != TrainingDialog.DialogCode.Accepted:
            return None
        return self.launch(dlg.request(), dlg.runs_folder())

    def show_runs(self) -> TrainingWindow:
        """Menu action: the training window on its Runs tab."""
        w = self.window()
        w.runs.set_root(self.runs_root())
        w.tabs.setCurrentWidget(w.runs)
        w.show()
        w.raise_()
        return w

    def launch(self, request: TrainingRequest, runs_root: str | Path, env: dict | None = None,
               cancel_grace: float | None = None) -> RunMonitor:
        """Create the run folder, start ``cmnet`` in it, and show its monitor in a new tab."""
        runs_root = Path(runs_root)
        qsettings().setValue(SETTINGS_KEY, str(runs_root))
        run_dir = new_run_dir(runs_root, request.run_name())
        title = (f"{MODES[request.mode]} · {Path(request.db).name}"
                 + (f" · fold {request.fold}" if request.fold else "")
                 + {"baseline": " · baseline", "cmnet": ""}[request.model]
                 + (" · with baseline" if request.with_baseline else ""))
        process = RunProcess(request.command(run_dir), run_dir, run_dir / CANCEL_FILE, env=env,
                             info={"title": title, "device": request.device})
        return self._follow(process, title, request.device, runs_root, cancel_grace)

    def resume(self, run_dir: str | Path, env: dict | None = None, cancel_grace: float | None = None
               ) -> RunMonitor | None:
        """Start a cancelled or killed run again with the command of its launch.json (same ``--run-dir``: the CLI
        continues from its checkpoints) and follow it in a new tab. None, with a status-bar message, when
        `resume_offer` refuses (finished, still running, not started from the app, another host). The interpreter
        of the recorded command is replaced by this app's when it no longer exists (a moved environment)."""
        run_dir = Path(run_dir)
        offer = resume_offer(read_run(run_dir), followed=run_dir in self.window().runs.active or any(
            m.is_running() and m.run_dir() == run_dir for m in self.monitors))
        if not offer.allowed:
            self.status(f"Not resumed: {offer.reason}", 15_000)
            return None
        command = list(offer.command)
        if not Path(command[0]).exists():
            command[0] = sys.executable
        launch = read_launch(run_dir) or {}
        title = f"{launch.get('title') or run_dir.name} · resumed"
        device = str(launch.get("device") or "?")
        process = RunProcess(command, run_dir, run_dir / CANCEL_FILE, env=env,
                             info={"title": launch.get("title") or run_dir.name, "device": device})
        return self._follow(process, title, device, run_dir.parent, cancel_grace)

    def _follow(self, process: RunProcess, title: str, device: str, runs_root: Path,
                cancel_grace: float | None) -> RunMonitor:
        """Show ``process`` in a new monitor tab of the training window and start it."""
        run_dir = process.run_dir
        kwargs = {} if cancel_grace is None else {"cancel_grace": cancel_grace}
        monitor = RunMonitor(process, title, device, **kwargs)
        monitor.finished.connect(lambda status, m=monitor: self._run_finished(m, status))
        monitor.useCheckpoint.connect(self.use_checkpoint)
        self.monitors.append(monitor)
        w = self.window()
        w.runs.set_root(runs_root)
        w.runs.active.add(run_dir)
        w.tabs.addTab(monitor, run_dir.name)
        w.tabs.setCurrentWidget(monitor)
        w.show()
        monitor.start()
        return monitor

    def _run_finished(self, monitor: RunMonitor, status: str) -> None:
        runs = self.window().runs
        runs.active.discard(monitor.run_dir())
        runs.refresh()
        runs.select(monitor.run_dir())
        self.status(f"Training run {monitor.run_dir().name}: {status}.", 10_000)

    def use_checkpoint(self, path: str) -> None:
        """Load ``path`` in the prediction panel of the main window."""
        self.load_checkpoint(str(path))
        if self.main is not None:
            self.main.raise_()
            self.main.activateWindow()

    # ---- closing ----------------------------------------------------------------------------------------
    def active(self) -> list[RunMonitor]:
        """The runs followed that are still running."""
        return [m for m in self.monitors if m.is_running()]

    def confirm_close(self) -> bool:
        """Ask about active runs; stop or detach them as chosen. False when the user cancels closing."""
        active = self.active()
        if not active:
            return True
        names = ", ".join(m.run_dir().name for m in active)
        answer = self.dialogs.ask_close_with_run(
            f"{len(active)} training run(s) still running ({names}).\n\nStop: the run stops after its current step; "
            "what finished is kept and it can be resumed.\nLet it continue: it keeps running without the app and "
            "writes into its run folder; its results appear in the runs table later.")
        if answer == "cancel":
            return False
        for m in active:
            m.stop() if answer == "stop" else m.detach()
        return True

    def shutdown(self) -> None:
        """Stop runs still followed (idempotent; detached runs are left alone) and close the training window."""
        for m in self.active():
            m.stop()
        if self._window is not None:
            self._window.close()
