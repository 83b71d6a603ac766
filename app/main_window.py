"""The main window: frame view + seekbar, intensity plot, annotation and prediction panels, clip list."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, QSettings, QStandardPaths, Qt, QTimer
from PySide6.QtGui import QAction, QIcon, QKeySequence
from PySide6.QtWidgets import (QComboBox, QDockWidget, QDoubleSpinBox, QHBoxLayout, QLabel, QMainWindow,
                               QProgressDialog, QScrollArea, QSplitter, QStyle, QToolButton, QVBoxLayout, QWidget)

from cmnet_core.data.annotation_io import AnnotationFileError, AnnotationRecord
from cmnet_core.data.clip import Clip
from cmnet_core.preprocess.apex import describe_apex_source

from . import dialogs
from .annotations import AnnotationStore, clip_key
from .commands import (CommandContext, ExportCSV, ExportPlot, GoToFrame, ImportCSV, LoadCheckpoint, OpenPath,
                       RunPrediction, SaveAnnotations, SetField, SetMark)
from .prediction import detect_face, emotion_mismatch, fresh_clip, label_mismatch, load_predictor, run_predictor
from .state import AppState
from .training.manager import TrainingManager
from .widgets.annotation_panel import AnnotationPanel
from .widgets.clip_list import ClipList
from .widgets.frame_view import FrameView
from .widgets.intensity_plot import IntensityPlot
from .widgets.prediction_panel import PredictionPanel
from .widgets.timeline import Timeline
from .workers import FrameLoader, Task

APP_NAME = "CMNet Studio"
SPEEDS = (("0.1×", 0.1), ("0.25×", 0.25), ("0.5×", 0.5), ("1×", 1.0))
MAX_RECENT = 10
AUTOSAVE_MS = 30_000
#: The app icon, looked up in the repository's resources/ folder.
ICON_PATH = Path(__file__).resolve().parents[1] / "resources" / "cmnet-studio.svg"


class MainWindow(QMainWindow):
    """One document (a video, frame folder or database) at a time.

    Parameters
    ----------
    data_dir : folder for annotation files of read-only sources; default: Qt's AppDataLocation.
    autosave_ms : autosave period in milliseconds.
    """

    def __init__(self, data_dir: str | Path | None = None, autosave_ms: int = AUTOSAVE_MS) -> None:
        super().__init__()
        self._data_dir = Path(data_dir) if data_dir else None
        self.state = AppState()
        self.commands = CommandContext(self)
        self.loader = FrameLoader(parent=self)
        self.tasks: list[Task] = []
        self.prediction_task: Task | None = None
        self._overlay_task: Task | None = None
        self._overlay_pending = False
        self.checkpoint_path: str | None = None
        self.device = "auto"
        self.training = TrainingManager(self)
        self._build_widgets()
        self._build_actions()
        self._connect()
        self.play_timer = QTimer(self, interval=15)
        self.play_timer.timeout.connect(self._play_tick)
        self._play_origin: tuple[float, int] | None = None
        self.autosave_timer = QTimer(self, interval=autosave_ms)
        self.autosave_timer.timeout.connect(self.autosave_now)
        self.autosave_timer.start()
        self.setAcceptDrops(True)
        self.setWindowTitle(APP_NAME)
        if ICON_PATH.is_file():  # a source checkout; an installed app without it keeps Qt's default icon
            self.setWindowIcon(QIcon(str(ICON_PATH)))
        self.resize(1500, 920)
        self._update_title()

    # ---- construction ---------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.banner = QLabel()
        self.banner.setStyleSheet("background:#fff3e0; color:#e65100; padding:5px 10px; font-weight:bold;"
                                  "border-bottom:1px solid #ffcc80")
        self.banner.setWordWrap(True)  # one long line would make the window wider than the screen
        self.banner.hide()
        self.frame_view = FrameView()
        self.timeline = Timeline()
        self.play_button = QToolButton()
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._set_play_look(False)
        self.speed = QComboBox()
        for text, value in SPEEDS:
            self.speed.addItem(text, value)
        self.speed.setCurrentIndex(1)
        self.speed.setToolTip("Playback speed relative to the clip's frame rate")
        self.frame_label = QLabel("no clip")
        self.frame_label.setStyleSheet("font-family:monospace; font-size:11pt")
        self.frame_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.fps_label = QLabel("frame rate:")
        self.fps_box = QDoubleSpinBox()
        self.fps_box.setRange(0.01, 100_000.0)
        self.fps_box.setDecimals(3)
        self.fps_box.setSuffix(" fps")
        self.fps_box.setKeyboardTracking(False)
        self.fps_box.setToolTip("Frame rate of this frame folder (a folder has none of its own). Until you set it, "
                                "times assume 30 fps and are marked 'assumed'. Remembered for this folder.")
        self.fps_box.valueChanged.connect(self._fps_edited)
        transport = QHBoxLayout()
        buttons = []
        sp = QStyle.StandardPixmap
        for icon, text, tip, params in ((sp.SP_MediaSkipBackward, "", "First frame (Home)", {"end": "first"}),
                                        (None, "−10", "Back 10 frames (Ctrl+←)", {"delta": -10}),
                                        (sp.SP_ArrowLeft, "", "Previous frame (←)", {"delta": -1}),
                                        (sp.SP_ArrowRight, "", "Next frame (→)", {"delta": 1}),
                                        (None, "+10", "Forward 10 frames (Ctrl+→)", {"delta": 10}),
                                        (sp.SP_MediaSkipForward, "", "Last frame (End)", {"end": "last"})):
            b = QToolButton()
            if icon is not None:
                b.setIcon(self.style().standardIcon(icon))
            else:
                b.setText(text)
            b.setToolTip(tip)
            b.clicked.connect(lambda _=False, p=params: self.commands.execute(GoToFrame, **p))
            buttons.append(b)
        transport.addWidget(self.play_button)
        transport.addWidget(self.speed)
        transport.addSpacing(8)
        for b in buttons:
            transport.addWidget(b)
        transport.addSpacing(12)
        transport.addWidget(self.frame_label, 1)
        transport.addWidget(self.fps_label)
        transport.addWidget(self.fps_box)
        self.fps_label.hide()
        self.fps_box.hide()
        viewer = QWidget()
        vl = QVBoxLayout(viewer)
        vl.setContentsMargins(4, 4, 4, 0)
        vl.addWidget(self.frame_view, 1)
        vl.addLayout(transport)
        vl.addWidget(self.timeline)
        self.intensity_plot = IntensityPlot()
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(viewer)
        self.splitter.addWidget(self.intensity_plot)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([560, 340])
        central = QWidget()
        cl = QVBoxLayout(central)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(0)
        cl.addWidget(self.banner)
        cl.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        self.annotation_panel = AnnotationPanel()
        self.prediction_panel = PredictionPanel()
        side = QWidget()
        sl = QVBoxLayout(side)
        sl.addWidget(self.annotation_panel)
        sl.addWidget(self.prediction_panel, 1)
        scroll = QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setMinimumWidth(360)
        self.side_dock = QDockWidget("Annotation and prediction", self)
        self.side_dock.setObjectName("side_dock")
        self.side_dock.setWidget(scroll)
        self.side_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.side_dock)
        self.clip_list = ClipList()
        self.clip_dock = QDockWidget("Clips", self)
        self.clip_dock.setObjectName("clip_dock")
        self.clip_dock.setWidget(self.clip_list)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.clip_dock)
        self.clip_dock.hide()
        self.source_label = QLabel()
        self.statusBar().addPermanentWidget(self.source_label)

    def _action(self, menu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcuts(shortcut if isinstance(shortcut, list) else [QKeySequence(shortcut)])
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if tip:
            act.setStatusTip(tip)
        act.triggered.connect(slot)
        menu.addAction(act)
        self.addAction(act)
        return act

    def _build_actions(self) -> None:
        ex = self.commands.execute
        mb = self.menuBar()
        m = mb.addMenu("&File")
        self._action(m, "&Open video…", lambda: ex(OpenPath), QKeySequence.StandardKey.Open)
        self._action(m, "Open frame &folder or database…", lambda: ex(OpenPath, folder=True), "Ctrl+Shift+O")
        self._action(m, "Open database with &sheet…", lambda: ex(OpenPath, choose_sheet=True), "Ctrl+Alt+O",
                     "choose a database root, then its annotation sheet (when it is not in or beside the root)")
        self.recent_menu = m.addMenu("Open &recent")
        m.addSeparator()
        self._action(m, "&Save annotations", lambda: ex(SaveAnnotations), QKeySequence.StandardKey.Save)
        self._action(m, "Save annotations &as…", lambda: ex(SaveAnnotations, save_as=True), "Ctrl+Shift+S")
        self._action(m, "&Export annotations as CSV…", lambda: ex(ExportCSV), "Ctrl+E")
        self._action(m, "&Import annotations from CSV…", lambda: ex(ImportCSV), "Ctrl+I")
        self._action(m, "Export intensity &plot / table…", lambda: ex(ExportPlot), "Ctrl+Shift+E")
        m.addSeparator()
        self._action(m, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        m = mb.addMenu("&Edit")
        undo = self.commands.undo_stack.createUndoAction(self, "&Undo")
        undo.setShortcut(QKeySequence.StandardKey.Undo)
        redo = self.commands.undo_stack.createRedoAction(self, "&Redo")
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        m.addActions([undo, redo])
        m = mb.addMenu("&View")
        self._action(m, "Zoom &in", lambda: self.frame_view.zoom(0.8), QKeySequence.StandardKey.ZoomIn)
        self._action(m, "Zoom &out", lambda: self.frame_view.zoom(1.25), QKeySequence.StandardKey.ZoomOut)
        self._action(m, "&Fit frame", self.frame_view.fit, "Ctrl+0")
        self.overlay_action = self._action(m, "Face &landmark overlay", self._toggle_overlay, "L")
        self.overlay_action.setCheckable(True)
        m.addAction(self.clip_dock.toggleViewAction())
        m = mb.addMenu("&Navigate")
        self.play_action = self._action(m, "&Play / pause", self.toggle_play, "Space")
        self._action(m, "Previous frame", lambda: ex(GoToFrame, delta=-1), "Left")
        self._action(m, "Next frame", lambda: ex(GoToFrame, delta=1), "Right")
        self._action(m, "Back 10 frames", lambda: ex(GoToFrame, delta=-10), "Ctrl+Left")
        self._action(m, "Forward 10 frames", lambda: ex(GoToFrame, delta=10), "Ctrl+Right")
        self._action(m, "First frame", lambda: ex(GoToFrame, end="first"), "Home")
        self._action(m, "Last frame", lambda: ex(GoToFrame, end="last"), "End")
        self._action(m, "&Go to frame…", lambda: ex(GoToFrame), "Ctrl+G")
        m = mb.addMenu("&Annotate")
        for kind, key in (("onset", "O"), ("apex", "A"), ("offset", "F")):
            self._action(m, f"Set {kind} to current frame", lambda _=False, k=kind: ex(SetMark, kind=k), key)
        m = mb.addMenu("&Prediction")
        self._action(m, "&Choose checkpoint…", lambda: ex(LoadCheckpoint), "Ctrl+K")
        self._action(m, "&Run on current clip", lambda: ex(RunPrediction), "Ctrl+R")
        self._action(m, "&Cancel", self.cancel_prediction, "Esc")
        m = mb.addMenu("&Training")
        self._action(m, "&New training run…", self.training.new_run, tip="Train or evaluate CMNet (LOSO, "
                     "fine-tune, final model) in a separate process")
        self._action(m, "&Runs…", self.training.show_runs, tip="Compare training runs; use a model for prediction")
        m = mb.addMenu("&Help")
        self._action(m, "&Keyboard shortcuts", self._show_shortcuts, "F1")
        self._rebuild_recent()

    def _connect(self) -> None:
        s = self.state
        s.frameChanged.connect(self._frame_changed)
        s.clipChanged.connect(self._clip_changed)
        s.annotationChanged.connect(self._annotation_changed)
        s.predictionChanged.connect(self._prediction_changed)
        self.loader.frameReady.connect(self._frame_ready)
        self.loader.frameFailed.connect(self._frame_failed)
        self.timeline.frameRequested.connect(lambda n: self.commands.execute(GoToFrame, frame=n))
        self.intensity_plot.cursorMoved.connect(lambda x: self.commands.execute(GoToFrame, frame=x))
        self.play_button.clicked.connect(self.toggle_play)
        self.speed.currentIndexChanged.connect(lambda _i: self._restart_clock())
        ap = self.annotation_panel
        ap.markRequested.connect(lambda k: self.commands.execute(SetMark, kind=k))
        ap.clearRequested.connect(lambda k: self.commands.execute(SetMark, kind=k, clear=True))
        ap.jumpRequested.connect(lambda n: self.commands.execute(GoToFrame, frame=n))
        ap.fieldEdited.connect(lambda name, v: self.commands.execute(SetField, name=name, value=v))
        pp = self.prediction_panel
        pp.chooseRequested.connect(lambda: self.commands.execute(LoadCheckpoint))
        pp.runRequested.connect(lambda: self.commands.execute(RunPrediction))
        pp.cancelRequested.connect(self.cancel_prediction)
        pp.deviceChanged.connect(self._device_changed)
        self.clip_list.clipActivated.connect(self.select_clip)

    # ---- documents ------------------------------------------------------------------------------
    def data_dir(self) -> Path:
        """Where annotations of read-only sources and the demo's files are kept."""
        if self._data_dir is None:
            loc = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
            self._data_dir = Path(loc or Path.home() / ".cmnet-studio")
        return self._data_dir

    @staticmethod
    def _earlier_versions_hint(path: Path) -> str:
        """Where an earlier version of the annotation file ``path`` is, saying only what is on disk."""
        from cmnet_core.data.annotation_io import backup_path

        backups = [backup_path(path, i) for i in (1, 2, 3) if backup_path(path, i).exists()]
        if not backups:
            return " No earlier version of it is kept (no backup exists yet)."
        names = ", ".join(b.name for b in backups)
        return f" Earlier versions are kept as {names}: to go back, copy {backups[0].name} over {path.name}."

    def show_document(self, path: Path, clips: list[Clip], database, store: AnnotationStore,
                      is_demo: bool = False) -> None:
        """Make ``clips`` the document: load saved annotations, offer crash recovery, show the first clip."""
        try:
            store.load()
        except AnnotationFileError as exc:
            dialogs.error(self, "Annotations not loaded",
                          f"{exc}\n\nThe file is left untouched; new annotations will be saved over it only "
                          f"when you save.{self._earlier_versions_hint(store.path)}")
        except Exception as exc:  # noqa: BLE001 - a reader bug must not abort the window through Qt
            dialogs.error(self, "Annotations not loaded",
                          f"{store.path}: unexpected error while reading the annotations ({exc}). The file is "
                          "left untouched; move it aside to start with no annotations.")
        recoverable = store.recoverable()
        for notice in store.take_notices():
            dialogs.info(self, "Autosave not recovered", notice)
        if recoverable is not None:
            if dialogs.ask_yes_no(self, "Recover annotations",
                                  f"CMNet Studio did not close cleanly last time and kept unsaved annotations "
                                  f"for {path.name}. Recover them?", default=True):
                store.recover()
            else:
                store.discard_autosave()
        self.stop_playing()
        self.cancel_prediction()
        self.commands.undo_stack.clear()
        if store.dirty:
            self.commands.undo_stack.resetClean()
        self.state.set_source(path, clips, store, database, is_demo)
        self.banner.setVisible(is_demo)
        from cmnet_core.demo import DEMO_RECIPE

        self.banner.setText("SYNTHETIC DEMO — a generated face and a small CMNet trained on synthetic clips "
                            f"({DEMO_RECIPE.summary()}). Not real data. Open your own video with File ▸ Open "
                            "(Ctrl+O) or drop it here.")
        self.annotation_panel.set_labels(self.state.labels())
        self.refresh_clip_list()
        self.clip_dock.setVisible(database is not None or len(clips) > 1)
        if not is_demo:
            self._add_recent(str(path))
        self.source_label.setText(f"{path}" + (f"  ·  {database.name} · {database.protocol}" if database else ""))
        self._update_title()

    def refresh_clip_list(self) -> None:
        s = self.state
        db = s.database
        summary = (f"{db.name} · {db.protocol}: {len(db.clips)} clips, {len(db.subjects())} subjects"
                   + (f", {len(db.skips)} rows skipped" if db.skips else "")) if db else ""
        self.clip_list.set_clips(s.clips, [s.store.has(c) for c in s.clips] if s.store else [False] * len(s.clips),
                                 summary)
        if s.clip is not None and s.clip in s.clips:
            self.clip_list.select(s.clips.index(s.clip))

    def select_clip(self, index: int) -> None:
        """Make clip ``index`` of the document current (a video's frame index is built first, in a worker)."""
        if 0 <= index < len(self.state.clips) and self.state.clips[index] is not self.state.clip:
            from cmnet_core.data.clip import ClipError

            from .opening import needs_index, prepare_clip

            clip = self.state.clips[index]
            self.annotation_panel.commit_notes()
            self.cancel_prediction()
            self.stop_playing()
            if needs_index(clip):
                try:
                    self.run_blocking(lambda progress, cancelled: prepare_clip(clip, cancelled),
                                      f"Indexing the frames of {clip.path.name}…")
                except ClipError as exc:  # IndexCancelled included: stay on the current clip
                    self.statusBar().showMessage(f"{clip.name} not opened: {exc}", 8000)
                    return
            self.state.set_clip(clip)

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
        dialog = QProgressDialog(label, "Cancel", 0, 0, self)
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

    # ---- frame rate of bare frame folders ----------------------------------------------------------
    @staticmethod
    def _settings_dict(key: str) -> dict:
        """A dict kept as JSON under ``key`` in QSettings (``{}`` when absent or damaged)."""
        try:
            value = json.loads(QSettings().value(key, "{}") or "{}")
        except (TypeError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def _fps_memory(self) -> dict:
        return self._settings_dict("folder_fps")

    def _sheet_memory(self) -> dict:
        return self._settings_dict("database_sheets")

    def remembered_sheet(self, root: Path) -> str | None:
        """The annotation sheet the user chose for database root ``root`` (QSettings), or None (also when that
        file is gone)."""
        return self.sheet_lookup()(root)

    def sheet_lookup(self):
        """A function ``root -> sheet or None`` over a snapshot of the remembered sheets (plain Python, no QSettings:
        safe to call from a worker thread)."""
        memory = self._sheet_memory()

        def lookup(root: Path) -> str | None:
            value = memory.get(str(Path(root).resolve()))
            return value if isinstance(value, str) and Path(value).is_file() else None

        return lookup

    def remember_sheet(self, root: Path, sheet: str | Path | None) -> None:
        """Remember ``sheet`` for database root ``root`` (None forgets it)."""
        memory = self._sheet_memory()
        key = str(Path(root).resolve())
        if sheet is None:
            memory.pop(key, None)
        else:
            memory[key] = str(Path(sheet).resolve())
        QSettings().setValue("database_sheets", json.dumps(memory))

    def remembered_fps(self, path: Path) -> float | None:
        """The frame rate the user set for frame folder ``path`` (QSettings), or None."""
        value = self._fps_memory().get(str(Path(path).resolve()))
        return float(value) if isinstance(value, (int, float)) and value > 0 else None

    def remember_fps(self, path: Path, fps: float) -> None:
        """Remember ``fps`` (frames/s) for frame folder ``path``."""
        memory = self._fps_memory()
        memory[str(Path(path).resolve())] = float(fps)
        QSettings().setValue("folder_fps", json.dumps(memory))

    @staticmethod
    def is_bare_folder(clip: Clip | None) -> bool:
        """A frame folder opened on its own (no database gives its frame rate)."""
        return clip is not None and not clip.database and hasattr(clip.source, "set_fps") and len(clip) > 1

    def _fps_edited(self, value: float) -> None:
        clip = self.state.clip
        if not self.is_bare_folder(clip) or (clip.time_source == "nominal" and abs(clip.fps - value) < 1e-9):
            return
        old_note = clip.timing_note
        clip.source.set_fps(float(value))
        self.remember_fps(clip.path, value)
        pred = self.state.prediction
        if pred is not None and pred.source == str(clip.path):   # re-time it: its times and notes were assumed
            from dataclasses import replace

            import numpy as np

            notes = [n for n in pred.provenance.get("notes", []) if n != old_note]
            self.state.set_prediction(replace(
                pred, fps=clip.fps, time_source=clip.time_source, timing_note=clip.timing_note,
                position_times=np.array([clip.time_of(f) for f in pred.frame_map]),
                provenance={**pred.provenance, "notes": notes}))
        self._show_timing(clip)
        self._frame_changed(self.state.frame)

    def all_records(self) -> list[AnnotationRecord]:
        """Every clip's annotation (the app's edits over the sheet's), for CSV export."""
        s = self.state
        out = []
        for c in s.clips:
            ann = s.store.annotation_for(c) if s.store else c.annotation
            out.append(AnnotationRecord(*clip_key(c), ann))
        return out

    # ---- reacting to the state -------------------------------------------------------------------
    def _clip_changed(self) -> None:
        clip = self.state.clip
        self.loader.set_clip(clip)
        self.frame_view.clear()
        self.prediction_panel.clear_result()  # the checkpoint stays; the last clip's results go
        self.intensity_plot.set_prediction(None)
        self.annotation_panel.setEnabled(clip is not None)
        if clip is None:
            return
        nums = clip.frame_numbers
        self._show_timing(clip)
        self.intensity_plot.set_range(nums[0], nums[-1])
        self.intensity_plot.set_true_intensity(clip.true_intensity)
        self.frame_view.set_landmarks(clip.landmarks_hint)
        self._annotation_changed()
        if clip in self.state.clips:
            self.clip_list.select(self.state.clips.index(clip))
        self._update_title()

    def _frame_changed(self, number: int) -> None:
        self.timeline.set_current(number)
        self.intensity_plot.set_cursor(number)
        clip = self.state.clip
        if clip is not None:
            nums = clip.frame_numbers
            self.frame_label.setText(f"frame {number}  [{nums[0]}–{nums[-1]}]   "
                                     f"t = {self.state.time_of(number):.3f} s{self._timing_suffix(clip)}")
            frame = self.loader.request(number)
            if frame is not None:
                self.frame_view.set_frame(frame)
            self._update_overlay()

    @staticmethod
    def _timing_suffix(clip: Clip) -> str:
        """How the shown time was obtained: from the video's timestamps, a known rate, or an assumed one."""
        source = clip.time_source
        if source == "pts":
            return " (pts" + (", variable frame rate)" if getattr(clip.source, "is_vfr", False) else ")")
        if source == "assumed":
            return f"  ASSUMED {clip.fps:g} fps"
        return f"  @ {clip.fps:g} fps" + (" (timestamps unusable)" if clip.timing_note else "")

    def _show_timing(self, clip: Clip) -> None:
        """Timeline range with the last frame's time, the fps field for bare frame folders, the timing note."""
        nums = clip.frame_numbers
        self.timeline.set_range(nums[0], nums[-1], float(clip.times_s[-1]))
        bare = self.is_bare_folder(clip)
        self.fps_label.setVisible(bare)
        self.fps_box.setVisible(bare)
        if bare:
            self.fps_box.blockSignals(True)
            self.fps_box.setValue(clip.fps)
            self.fps_box.blockSignals(False)
            assumed = clip.time_source == "assumed"
            self.fps_label.setText("frame rate (assumed):" if assumed else "frame rate:")
            self.fps_label.setStyleSheet("color:#e65100; font-weight:bold" if assumed else "")
        note = clip.timing_note or ""
        self.frame_label.setToolTip(note)
        if note:
            self.statusBar().showMessage(f"Timing: {note}.", 10000)

    def _frame_ready(self, number: int, frame) -> None:
        if number == self.state.frame:
            self.frame_view.set_frame(frame)
            if self._overlay_pending:
                self._update_overlay()

    def _frame_failed(self, number: int, message: str) -> None:
        if number == self.state.frame:
            self.frame_view.show_message(f"frame {number} cannot be decoded:\n{message}")
            self.statusBar().showMessage(f"Frame {number} cannot be decoded ({message}).", 8000)

    def _annotation_changed(self) -> None:
        s = self.state
        if s.clip is None:
            return
        ann = s.annotation()
        problems = ann.validate(s.clip.frame_numbers)
        store = s.store
        status = ("unsaved changes" if store and store.dirty else f"saved in {store.path.name}"
                  if store and store.path.exists() else "not saved yet")
        self.annotation_panel.show_annotation(ann, problems, status)
        marks = {"onset": ann.onset, "apex": ann.apex, "offset": ann.offset}
        self.timeline.set_marks(marks)
        self.intensity_plot.set_marks(marks)
        self.prediction_panel.show_warning(emotion_mismatch(s.predictor, ann.emotion))
        if s.clip in s.clips and store is not None:
            self.clip_list.set_annotated(s.clips.index(s.clip), store.has(s.clip))
        self._update_title()

    def _prediction_changed(self) -> None:
        pred = self.state.prediction
        self.intensity_plot.set_prediction(pred)
        self.prediction_panel.show_prediction(pred)
        provenance = getattr(pred, "provenance", None) or {}
        self.timeline.set_predicted_apex(
            None if pred is None else float(pred.frame_map[pred.apex_position]),
            describe_apex_source(provenance.get("apex_source", ""), provenance.get("apex_confidence")))

    def _update_title(self) -> None:
        s = self.state
        parts = [APP_NAME]
        if s.is_demo:
            parts.append("synthetic demo")
        if s.clip is not None:
            parts.append(f"{s.clip.subject + '/' if s.clip.subject else ''}{s.clip.name}")
        dirty = "*" if s.store is not None and s.store.dirty else ""
        self.setWindowTitle(" — ".join(parts) + dirty)

    # ---- playback ----------------------------------------------------------------------------------
    def toggle_play(self) -> None:
        if self.play_timer.isActive():
            self.stop_playing()
        elif self.state.clip is not None:
            nums = self.state.frame_numbers()
            if self.state.frame == nums[-1]:
                self.state.set_frame(nums[0])
            self._restart_clock()
            self.play_timer.start()
            self._set_play_look(True)

    def stop_playing(self) -> None:
        self.play_timer.stop()
        self._set_play_look(False)

    def _set_play_look(self, playing: bool) -> None:
        sp = QStyle.StandardPixmap
        self.play_button.setIcon(self.style().standardIcon(sp.SP_MediaPause if playing else sp.SP_MediaPlay))
        self.play_button.setText("Pause" if playing else "Play")

    def _restart_clock(self) -> None:
        clip = self.state.clip
        if clip is not None and len(clip):
            self._play_origin = (time.monotonic(), clip.time_of(self.state.frame))

    def _play_tick(self) -> None:
        """Show the frame whose time (`Clip.times_s`: a video's pts) is due at wall-clock time × speed (frames not
        decoded in time are skipped, never queued)."""
        clip = self.state.clip
        if clip is None or not len(clip) or self._play_origin is None:
            self.stop_playing()
            return
        t0, media0 = self._play_origin
        due = media0 + (time.monotonic() - t0) * float(self.speed.currentData())
        nums = clip.frame_numbers
        if due >= clip.times_s[-1]:
            self.state.set_frame(nums[-1])
            self.stop_playing()
        else:
            self.state.set_frame(clip.frame_at_time(due))

    # ---- prediction -----------------------------------------------------------------------------
    def _run_task(self, fn, finished, failed, progress=None) -> Task:
        task = Task(fn)
        task.signals.finished.connect(finished)
        task.signals.error.connect(failed)
        if progress is not None:
            task.signals.progress.connect(progress)
        task.signals.finished.connect(lambda _r, t=task: self._forget(t))
        task.signals.error.connect(lambda _m, t=task: self._forget(t))
        self.tasks.append(task)
        return task.start()

    def _forget(self, task: Task) -> None:
        if task in self.tasks:
            self.tasks.remove(task)

    # ---- the embedded demo ----------------------------------------------------------------------
    def open_demo(self, with_model: bool = True) -> None:
        """Open the synthetic demo clip and (with ``with_model``) load the shipped demo model
        (`cmnet_core.demo.DEMO_CHECKPOINT`) and predict the clip. Nothing is trained here; when the file
        is missing (a stripped copy of the source tree) the status bar says how to rebuild it."""
        from cmnet_core.demo import demo_checkpoint_path, demo_clip, demo_dir

        if not self.commands.confirm_discard():
            return
        folder = demo_dir() if os.environ.get("CMNET_STUDIO_DEMO_DIR") else self.data_dir() / "demo"
        store = AnnotationStore(folder / "demo-annotations.json", "synthetic demo")
        self.show_document(Path("synthetic demo"), [demo_clip()], None, store, is_demo=True)
        if not with_model:
            return
        ckpt = demo_checkpoint_path()
        if ckpt.exists():
            self.load_checkpoint(str(ckpt), predict_after=True)
        else:
            self.statusBar().showMessage(f"The demo model {ckpt} is missing: rebuild it with "
                                         ".venv/bin/python scripts/build_demo.py, or choose a checkpoint (Ctrl+K).")

    def load_checkpoint(self, path: str, device: str | None = None, predict_after: bool = False) -> None:
        """Load ``path`` in a worker; on success the panel shows its metadata and the device in use
        (and, with ``predict_after``, the current clip is predicted)."""
        from cmnet_core.demo import resolve_checkpoint

        path = str(resolve_checkpoint(path))  # the name "demo" stands for the shipped demo model
        device = device or self.prediction_panel.device.currentData()
        self.prediction_panel.progress.setFormat("loading checkpoint…")

        def done(predictor) -> None:
            self.state.predictor = predictor
            self.checkpoint_path = str(path)
            self.prediction_panel.show_checkpoint(path, predictor.metadata, str(predictor.device))
            self.prediction_panel.progress.setFormat("ready")
            self.annotation_panel.set_labels(self.state.labels())
            self.state.set_prediction(None)
            self.state.predictorChanged.emit()
            self.prediction_panel.show_warning(emotion_mismatch(predictor, self.state.annotation().emotion))
            problem = label_mismatch(predictor, self.state.database)
            if problem:
                dialogs.error(self, "Checkpoint for other labels", problem)
            elif predict_after and self.state.clip is not None:
                self.start_prediction()

        def failed(message: str) -> None:
            self.prediction_panel.progress.setFormat("no checkpoint")
            dialogs.error(self, "Cannot load checkpoint",
                          f"{path}:\n{message}\n\nChoose a checkpoint written by CMNet Studio's training "
                          "(cmnet train / cmnet loso), or \"demo\" for the shipped synthetic demo model.")

        self._run_task(lambda progress, cancelled: load_predictor(path, device), done, failed)

    def _device_changed(self, device: str) -> None:
        self.device = device
        if self.checkpoint_path:
            self.load_checkpoint(self.checkpoint_path, device)

    def start_prediction(self) -> None:
        """Predict the current clip (with the current annotation) in a worker with progress and cancel."""
        if self.prediction_task is not None:
            return
        clip = self.state.clip
        ann = self.state.annotation()
        work_clip = fresh_clip(clip).with_annotation(onset=ann.onset, apex=ann.apex, offset=ann.offset,
                                                     apex_source=ann.apex_source)
        predictor = self.state.predictor
        self.prediction_panel.set_busy(True)

        def finish(result) -> None:
            self.prediction_task = None
            self.prediction_panel.set_busy(False)
            if clip is self.state.clip:
                self.prediction_panel.progress.setFormat("done")
                self.state.set_prediction(result)
            else:
                self.prediction_panel.clear_result()

        def failed(message: str) -> None:
            task = self.prediction_task
            self.prediction_task = None
            self.prediction_panel.set_busy(False)
            if task is not None and task.was_cancelled:
                self.prediction_panel.progress.setFormat("cancelled")
                return
            if clip is not self.state.clip:  # the user moved on: this clip's failure is no longer news
                self.prediction_panel.clear_result()
                return
            self.prediction_panel.show_failure(message)
            dialogs.error(self, "Prediction failed",
                          f"{clip.name}: {message}\n\nIf no face was found, check that the face is visible and "
                          "frontal in the clip; if the clip is very short, set onset and offset around the "
                          "movement and run again.")

        self.prediction_task = self._run_task(
            lambda progress, cancelled: run_predictor(predictor, work_clip, progress, cancelled),
            finish, failed, self.prediction_panel.show_progress)

    def cancel_prediction(self) -> None:
        if self.prediction_task is not None:
            self.prediction_task.cancel()
            self.prediction_panel.progress.setFormat("cancelling…")

    def is_busy(self) -> bool:
        """True while a worker task (prediction, checkpoint loading) runs."""
        return bool(self.tasks)

    # ---- saving, recent files, drag and drop -----------------------------------------------------
    def autosave_now(self) -> None:
        """Write the autosave file when there are unsaved annotations (timer-driven)."""
        store = self.state.store
        if store is None:
            return
        self.annotation_panel.commit_notes()
        try:
            store.autosave()
        except OSError as exc:
            self.statusBar().showMessage(f"Autosave failed: {exc}", 8000)

    def _add_recent(self, path: str) -> None:
        recent = [p for p in self.recent_files() if p != path]   # QSettings gives a 1-entry list back as a str
        QSettings().setValue("recent", [path] + recent[: MAX_RECENT - 1])
        self._rebuild_recent()

    def recent_files(self) -> list[str]:
        value = QSettings().value("recent", []) or []
        return [value] if isinstance(value, str) else list(value)

    def _rebuild_recent(self) -> None:
        self.recent_menu.clear()
        for p in self.recent_files():
            act = self.recent_menu.addAction(p)
            act.triggered.connect(lambda _=False, path=p: self.commands.execute(OpenPath, path=path))
        self.recent_menu.setEnabled(bool(self.recent_files()))

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            event.acceptProposedAction()
            self.commands.execute(OpenPath, path=urls[0])

    def _toggle_overlay(self) -> None:
        self.frame_view.set_overlay(self.overlay_action.isChecked())
        self._update_overlay()

    def _update_overlay(self) -> None:
        """With the overlay on: synthetic clips show their known landmarks; other clips get the face box and five
        landmarks detected on the current frame in a worker (one detection at a time, the latest frame wins)."""
        clip = self.state.clip
        if not self.overlay_action.isChecked() or clip is None or clip.landmarks_hint is not None:
            return
        if self._overlay_task is not None:
            self._overlay_pending = True
            return
        number = self.state.frame
        frame = self.loader.request(number)
        if frame is None:
            self._overlay_pending = True
            return
        self._overlay_pending = False

        def done(result) -> None:
            self._overlay_task = None
            if clip is self.state.clip:
                if result is None:
                    self.frame_view.set_landmarks(None)
                    self.statusBar().showMessage(f"No face found in frame {number}.", 4000)
                else:
                    self.frame_view.set_landmarks(result[1], result[0])
            if self._overlay_pending:
                self._update_overlay()

        def failed(message: str) -> None:
            self._overlay_task = None
            self.overlay_action.setChecked(False)
            self.frame_view.set_overlay(False)
            dialogs.error(self, "Face overlay unavailable", f"Face detection failed: {message}")

        self._overlay_task = self._run_task(lambda p, c: detect_face(frame), done, failed)

    def _show_shortcuts(self) -> None:
        dialogs.info(self, "Keyboard shortcuts",
                     "Space play/pause · ←/→ one frame · Ctrl+←/→ ±10 frames · Home/End first/last · "
                     "Ctrl+G go to frame\nO onset · A apex · F offset (current frame) · Ctrl+Z/Ctrl+Shift+Z "
                     "undo/redo · Ctrl+S save\nCtrl+R predict · Esc cancel · Ctrl+K checkpoint · L landmarks · "
                     "Ctrl+wheel or +/− zoom")

    def closeEvent(self, event) -> None:
        if not self.commands.confirm_discard() or not self.training.confirm_close():
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop playback, cancel and wait for workers, stop the frame loader (idempotent)."""
        self.stop_playing()
        self.autosave_timer.stop()
        self.training.shutdown()
        for task in list(self.tasks):
            task.cancel()
        from PySide6.QtCore import QThreadPool

        QThreadPool.globalInstance().waitForDone(30_000)
        self.loader.stop()
