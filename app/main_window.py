"""The main window: assembles the widgets (frame view + transport + seekbar, intensity plot, annotation and
prediction panels, clip list), the controllers that drive them, and the menus built from the actions table;
asks before closing.

Where things live: the document and its logic in `app.workspace` (no Qt); user actions in `app.commands`;
what reacts to the document in `app.controllers`; menus and keys in `app.actions`.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QIcon, QUndoStack
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QScrollArea, QSplitter, QVBoxLayout, QWidget

from . import dialogs
from .actions import help_text, tooltip
from .commands import (CommandContext, ExportBatchCSV, GoToFrame, LoadCheckpoint, OpenPath, RunPrediction, SetField,
                       SetMark, WindowHooks)
from .controllers.annotation import AnnotationController
from .controllers.batch import BatchController
from .controllers.files import FilesController
from .controllers.magnify import MagnifyController
from .controllers.motion import MotionController
from .controllers.spotting import SpottingController
from .controllers.playback import PlaybackController
from .controllers.prediction import PredictionController
from .controllers.tasks import TaskRunner
from .controllers.viewer import ViewerController
from .menus import build_menus
from .settings import AppSettings, default_window_size
from .training.manager import TrainingManager
from .widgets.annotation_panel import AnnotationPanel
from .widgets.candidates_panel import CandidatesPanel
from .widgets.batch_table import BatchPanel
from .widgets.clip_list import ClipList
from .widgets.frame_view import FrameView
from .widgets.intensity_plot import IntensityPlot
from .widgets.magnify_panel import MagnifyPanel
from .widgets.prediction_panel import PredictionPanel
from .widgets.region_plot import RegionCurves
from .widgets.timeline import Timeline
from .widgets.transport import Transport
from .workers import FrameLoader
from .workspace.document import Document
from .workspace.texts import APP_NAME

AUTOSAVE_MS = 30_000
#: The app icon, looked up in the repository's resources/ folder.
ICON_PATH = Path(__file__).resolve().parents[1] / "resources" / "cmnet-studio.svg"
#: The transport's stepping buttons: (action, standard icon or None, text without icon).
STEP_BUTTONS = (("first", "SP_MediaSkipBackward", ""), ("back10", None, "−10"), ("previous", "SP_ArrowLeft", ""),
                ("next", "SP_ArrowRight", ""), ("forward10", None, "+10"), ("last", "SP_MediaSkipForward", ""))


class MainWindow(QMainWindow):
    """One document (a video, frame folder or database) at a time.

    Parameters
    ----------
    data_dir : folder for annotation files of read-only sources; default: `cmnet_core.paths.data_dir`.
    autosave_ms : autosave period in milliseconds.

    Attributes: ``state`` the `Document`; ``commands`` the `CommandContext`; the controllers ``files``,
    ``playback``, ``viewer``, ``annotation``, ``prediction``, ``batch``, ``training``, ``tasks``;
    ``actions_by_name`` the QActions of `app.actions.ACTIONS`.
    """

    def __init__(self, data_dir: str | Path | None = None, autosave_ms: int = AUTOSAVE_MS) -> None:
        super().__init__()
        self.state = Document()
        self.settings = AppSettings(Path(data_dir) if data_dir else None)
        self.dialogs = dialogs.Dialogs(self)
        self.loader = FrameLoader(parent=self)
        self.tasks = TaskRunner(self)
        self.tasks.busyChanged.connect(self.loader.set_quiet)   # prediction gets the cores and the memory
        self._build_widgets()
        status = self.statusBar().showMessage
        # the order matters: each clip change clears the old prediction before the new clip is drawn
        self.prediction = PredictionController(self.state, self.prediction_panel, self.annotation_panel,
                                               self.intensity_plot, self.timeline, self.tasks, self.dialogs, self)
        self.viewer = ViewerController(self.state, self.loader, self.frame_view, self.timeline, self.intensity_plot,
                                       self.frame_label, self.fps_label, self.fps_box, self.tasks, self.settings,
                                       self.dialogs, status, self)
        self.annotation = AnnotationController(self.state, self.annotation_panel, self.timeline, self.intensity_plot,
                                               self.prediction_panel, self.clip_list, self.setWindowTitle, status,
                                               autosave_ms, self)
        self.playback = PlaybackController(self.state, self.play_button, self.speed, self)
        self.commands = CommandContext(self.state, QUndoStack(self), self.dialogs, self.settings, WindowHooks(
            status=status, commit_notes=self.annotation_panel.commit_notes, run_blocking=self.tasks.run_blocking,
            show_document=lambda *a, **k: self.files.show_document(*a, **k),  # files is made below, with commands
            refresh_clip_list=self.annotation.refresh_clip_list, load_checkpoint=self.prediction.load_checkpoint,
            start_prediction=self.prediction.start, export_plot=self.intensity_plot.export_image,
            selected_clips=self.clip_list.selected_indices, start_batch=lambda indices: self.batch.start(indices),
            prediction_running=lambda: self.batch.running(), export_batch=lambda path: self.batch.export(path)))
        self.training = TrainingManager(self, self.state, self.settings.data_dir, self.prediction.load_checkpoint,
                                        status, self.dialogs)
        self.batch = BatchController(self.state, self.batch_panel, self.batch_dock, self.tasks, self.dialogs,
                                     self.prediction, lambda i: self.files.select_clip(i), status, self)
        self.magnify = MagnifyController(self.state, self.magnify_panel, self.viewer, self.tasks, self.dialogs,
                                         status, self)
        self.motion = MotionController(self.state, self.magnify_panel, self.loader, self.frame_view,
                                       self.region_curves, self.tasks, self)
        self.spotting = SpottingController(self.state, self.candidates_panel, self.tasks, self.dialogs,
                                           lambda n: self.commands.execute(GoToFrame, frame=n),
                                           self.commands.edit_annotation, status, self,
                                           show_spans=self.intensity_plot.set_candidates)
        undo = self.commands.undo_stack
        self.actions_by_name = build_menus(self, {"undo": undo.createUndoAction(self, "&Undo"),
                                                  "redo": undo.createRedoAction(self, "&Redo"),
                                                  "clips": self.clip_dock.toggleViewAction(),
                                                  "batch_results": self.batch_dock.toggleViewAction(),
                                                  "magnify_panel": self.magnify_dock.toggleViewAction(),
                                                  "candidates": self.candidates_dock.toggleViewAction()})
        self.overlay_action = self.actions_by_name["overlay"]
        for name, box in (("magnified", self.magnify_panel.enabled), ("motion_map", self.magnify_panel.motion)):
            self.actions_by_name[name].setCheckable(True)   # a check mark in the View menu, kept with the panel's
            box.toggled.connect(self.actions_by_name[name].setChecked)
        self.viewer.overlayChanged.connect(self.overlay_action.setChecked)
        self.files = FilesController(self.commands, self.settings, self.dialogs, self.tasks, self.playback,
                                     self.prediction, self.annotation, self.banner, self.clip_dock, self.source_label,
                                     self.recent_menu, status, self)
        self._connect()
        self.setAcceptDrops(True)
        if ICON_PATH.is_file():  # a source checkout; an installed app without it keeps Qt's default icon
            self.setWindowIcon(QIcon(str(ICON_PATH)))
        self._restore_geometry()
        self.annotation.update_title()
        self.prediction.after_first_frame(self.prediction.warm_up)   # torch loads while the user looks at it

    # ---- construction ---------------------------------------------------------------------------
    def _build_widgets(self) -> None:
        self.setWindowTitle(APP_NAME)
        self.banner = QLabel()
        self.banner.setStyleSheet("background:#fff3e0; color:#e65100; padding:5px 10px; font-weight:bold;"
                                  "border-bottom:1px solid #ffcc80")
        self.banner.setWordWrap(True)  # one long line would make the window wider than the screen
        self.banner.hide()
        self.frame_view = FrameView()
        self.timeline = Timeline()
        self.transport = Transport([(name, icon, text, tooltip(name)) for name, icon, text in STEP_BUTTONS],
                                   tooltip("play"))
        t = self.transport
        self.play_button, self.speed, self.frame_label, self.fps_label, self.fps_box = (
            t.play_button, t.speed, t.frame_label, t.fps_label, t.fps_box)
        viewer = QWidget()
        vl = QVBoxLayout(viewer)
        vl.setContentsMargins(4, 4, 4, 0)
        vl.addWidget(self.frame_view, 1)
        vl.addWidget(self.transport)
        vl.addWidget(self.timeline)
        self.intensity_plot = IntensityPlot()
        self.intensity_plot.setMinimumHeight(150)   # a dock opened below (batch results) cannot squash the curve
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(viewer)
        self.splitter.addWidget(self.intensity_plot)
        self.region_curves = RegionCurves()   # per-region motion, same time axis as k_n (Motion panel button)
        self.region_curves.plot.setXLink(self.intensity_plot.plot.getPlotItem())
        self.splitter.addWidget(self.region_curves.widget)
        self.splitter.setCollapsible(2, False)   # shown with room to read when the curves arrive
        self.region_curves.widget.hide()
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
        self.side_dock = self._dock("Annotation and prediction", "side_dock", scroll,
                                    Qt.DockWidgetArea.RightDockWidgetArea)
        self.side_dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self.clip_list = ClipList()
        self.clip_dock = self._dock("Clips", "clip_dock", self.clip_list, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.clip_dock.hide()
        self.batch_panel = BatchPanel()
        self.candidates_panel = CandidatesPanel()
        self.candidates_dock = self._dock("Candidates (spotting)", "candidates_dock", self.candidates_panel,
                                          Qt.DockWidgetArea.LeftDockWidgetArea)
        self.tabifyDockWidget(self.clip_dock, self.candidates_dock)
        self.candidates_dock.hide()
        self.magnify_panel = MagnifyPanel()
        self.magnify_dock = self._dock("Motion: magnification and map", "magnify_dock", self.magnify_panel,
                                       Qt.DockWidgetArea.RightDockWidgetArea)
        self.magnify_dock.hide()
        self.batch_dock = self._dock("Batch results", "batch_dock", self.batch_panel,
                                     Qt.DockWidgetArea.BottomDockWidgetArea)
        self.batch_dock.hide()
        self.source_label = QLabel()
        self.statusBar().addPermanentWidget(self.source_label)

    def _restore_geometry(self) -> None:
        """The size and docks of the last session, else `default_window_size` for the screen (a 1366×768 laptop
        gets a window that fits)."""
        geometry, state = self.settings.window_geometry()
        if geometry is not None and self.restoreGeometry(geometry):
            if state is not None:
                self.restoreState(state)
            return
        screen = self.screen() or QGuiApplication.primaryScreen()
        avail = screen.availableGeometry()
        self.resize(*default_window_size(avail.width(), avail.height()))

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _connect(self) -> None:
        """Widget requests → commands (the same path as the menus and keys)."""
        ex = self.commands.execute
        self.transport.actionRequested.connect(lambda name: self.actions_by_name[name].trigger())
        self.timeline.frameRequested.connect(lambda n: ex(GoToFrame, frame=n))
        self.intensity_plot.cursorMoved.connect(lambda x: ex(GoToFrame, frame=x))
        ap = self.annotation_panel
        ap.markRequested.connect(lambda k: ex(SetMark, kind=k))
        ap.clearRequested.connect(lambda k: ex(SetMark, kind=k, clear=True))
        ap.jumpRequested.connect(lambda n: ex(GoToFrame, frame=n))
        ap.fieldEdited.connect(lambda name, v: ex(SetField, name=name, value=v))
        self.prediction_panel.chooseRequested.connect(lambda: ex(LoadCheckpoint))
        self.prediction_panel.runRequested.connect(lambda: ex(RunPrediction))
        self.clip_list.clipActivated.connect(self.files.select_clip)
        self.batch_panel.exportRequested.connect(lambda: ex(ExportBatchCSV))

    # ---- window-level behaviour -----------------------------------------------------------------------
    def show_shortcuts(self) -> None:
        """Help ▸ Keyboard shortcuts (F1): the keys table of `app.actions`."""
        self.dialogs.info("Keyboard shortcuts", help_text())

    def toggle_magnified(self) -> None:
        """View ▸ Magnified view (M): turn the magnified view on or off (its panel shows while it is on)."""
        on = not self.magnify_panel.enabled.isChecked()
        self.magnify_dock.setVisible(on or self.magnify_dock.isVisible())
        self.magnify_panel.enabled.setChecked(on)

    def toggle_motion_map(self) -> None:
        """View ▸ Motion map (N): the optical-flow map over the frame on or off (its panel shows while it is on)."""
        on = not self.magnify_panel.motion.isChecked()
        self.magnify_dock.setVisible(on or self.magnify_dock.isVisible())
        self.magnify_panel.motion.setChecked(on)

    def is_busy(self) -> bool:
        """True while a worker task (prediction, checkpoint loading) runs."""
        return self.tasks.is_busy()

    def dragEnterEvent(self, event) -> None:
        """Accept dragged files and folders."""
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        """Open the first dropped file or folder."""
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            event.acceptProposedAction()
            self.commands.execute(OpenPath, path=urls[0])

    def closeEvent(self, event) -> None:
        """Ask about unsaved annotations and running training first; then shut down."""
        if not self.commands.confirm_discard() or not self.training.confirm_close():
            event.ignore()
            return
        self.settings.save_window_geometry(self.saveGeometry(), self.saveState())
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop playback, cancel and wait for workers, stop the frame loader (idempotent)."""
        self.playback.stop()
        self.annotation.autosave_timer.stop()
        self.training.shutdown()
        self.tasks.shutdown()
        self.loader.stop()
        self.commands.close()
