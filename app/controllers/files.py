"""Documents: showing what was opened (saved annotations loaded, crash recovery offered), the recent-files menu,
choosing another clip of the document (a video's frame index built in a worker first), and the embedded demo."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMenu

from cmnet_core.data.annotation_io import AnnotationFileError
from cmnet_core.data.clip import Clip

from ..commands import CommandContext, OpenPath
from ..dialogs import Dialogs
from ..settings import AppSettings
from ..workspace.annotations import AnnotationStore
from ..workspace.texts import demo_banner, earlier_versions_hint, source_label
from .annotation import AnnotationController
from .playback import PlaybackController
from .prediction import PredictionController
from .tasks import TaskRunner


class FilesController(QObject):
    """Opens documents into ``commands.state``."""

    def __init__(self, commands: CommandContext, settings: AppSettings, dialogs: Dialogs,
                 tasks: TaskRunner, playback: PlaybackController, prediction: PredictionController,
                 annotation: AnnotationController, banner: QLabel, clip_dock: QDockWidget, source_label: QLabel,
                 recent_menu: QMenu, status: Callable[[str, int], None], parent: QObject) -> None:
        super().__init__(parent)
        self.commands, self.doc = commands, commands.state
        self.settings, self.dialogs, self.tasks, self.status = settings, dialogs, tasks, status
        self.playback, self.prediction, self.annotation = playback, prediction, annotation
        self.banner, self.clip_dock, self.source_label, self.recent_menu = banner, clip_dock, source_label, recent_menu
        self.rebuild_recent()

    def show_document(self, path: Path, clips: list[Clip], database, store: AnnotationStore,
                      is_demo: bool = False) -> None:
        """Make ``clips`` the document: load saved annotations, offer crash recovery, show the first clip."""
        try:
            store.load()
        except AnnotationFileError as exc:
            self.dialogs.error("Annotations not loaded",
                               f"{exc}\n\nThe file is left untouched; new annotations will be saved over it only "
                               f"when you save.{earlier_versions_hint(store.path)}")
        except Exception as exc:  # noqa: BLE001 - a reader bug must not abort the window through Qt
            self.dialogs.error("Annotations not loaded",
                               f"{store.path}: unexpected error while reading the annotations ({exc}). The file "
                               "is left untouched; move it aside to start with no annotations.")
        recoverable = store.recoverable()
        for notice in store.take_notices():
            self.dialogs.info("Autosave not recovered", notice)
        if recoverable is not None:
            if self.dialogs.ask_yes_no("Recover annotations",
                                       f"CMNet Studio did not close cleanly last time and kept unsaved annotations "
                                       f"for {path.name}. Recover them?", default=True):
                store.recover()
            else:
                store.discard_autosave()
        self.playback.stop()
        self.prediction.cancel()
        self.commands.undo_stack.clear()
        if store.dirty:
            self.commands.undo_stack.resetClean()
        self.doc.set_source(path, clips, store, database, is_demo)
        self.banner.setVisible(is_demo)
        self.banner.setText(demo_banner())
        self.annotation.panel.set_labels(self.doc.labels())
        self.annotation.refresh_clip_list()
        self.clip_dock.setVisible(database is not None or len(clips) > 1)
        if self.clip_dock.isVisible():
            QTimer.singleShot(0, self.fit_clip_dock)   # once the table and the dock are laid out
        if not is_demo:
            self.add_recent(str(path))
        self.source_label.setText(source_label(path, database))
        self.annotation.update_title()

    def fit_clip_dock(self) -> None:
        """Widen the clip list to show all its columns, up to 25 % of the window (the frame keeps the rest; the
        list scrolls sideways beyond that)."""
        window, table = self.clip_dock.parentWidget(), self.clip_dock.widget().table
        if not isinstance(window, QMainWindow):
            return
        wanted = table.horizontalHeader().length() + table.verticalScrollBar().sizeHint().width() + 16
        window.resizeDocks([self.clip_dock], [min(wanted, int(window.width() * 0.25))], Qt.Orientation.Horizontal)

    def select_clip(self, index: int) -> None:
        """Make clip ``index`` of the document current (a video's frame index is built first, in a worker)."""
        if 0 <= index < len(self.doc.clips) and self.doc.clips[index] is not self.doc.clip:
            from cmnet_core.data.clip import ClipError

            from ..workspace.opening import needs_index, prepare_clip

            clip = self.doc.clips[index]
            self.annotation.panel.commit_notes()
            self.prediction.cancel()
            self.playback.stop()
            if needs_index(clip):
                try:
                    self.tasks.run_blocking(lambda progress, cancelled: prepare_clip(clip, cancelled),
                                            f"Indexing the frames of {clip.path.name}…")
                except ClipError as exc:  # IndexCancelled included: stay on the current clip
                    self.status(f"{clip.name} not opened: {exc}", 8000)
                    return
            self.doc.set_clip(clip)

    # ---- recent files -----------------------------------------------------------------------------------
    def add_recent(self, path: str) -> None:
        """Put ``path`` first in File ▸ Open recent."""
        self.settings.add_recent(path)
        self.rebuild_recent()

    def rebuild_recent(self) -> None:
        """Fill File ▸ Open recent from the settings (disabled when empty)."""
        self.recent_menu.clear()
        recent = self.settings.recent_files()
        for p in recent:
            act = self.recent_menu.addAction(p)
            act.triggered.connect(lambda _=False, path=p: self.commands.execute(OpenPath, path=path))
        self.recent_menu.setEnabled(bool(recent))

    # ---- the embedded demo ----------------------------------------------------------------------
    def open_demo(self, with_model: bool = True) -> None:
        """Open the synthetic demo clip and (with ``with_model``) load the shipped demo model
        (`cmnet_core.demo.DEMO_CHECKPOINT`) and predict the clip. Nothing is trained here; when the file
        is missing (a stripped copy of the source tree) the status bar says how to rebuild it."""
        from cmnet_core.demo import demo_checkpoint_path, demo_clip, demo_dir

        if not self.commands.confirm_discard():
            return
        folder = demo_dir() if os.environ.get("CMNET_STUDIO_DEMO_DIR") else self.settings.data_dir() / "demo"
        store = AnnotationStore(folder / "demo-annotations.json", "synthetic demo")
        self.show_document(Path("synthetic demo"), [demo_clip()], None, store, is_demo=True)
        if not with_model:
            return
        ckpt = demo_checkpoint_path()
        if ckpt.exists():   # once the clip is on screen: loading imports torch, which holds the GIL a while
            self.prediction.after_first_frame(lambda: self.prediction.load_checkpoint(str(ckpt), predict_after=True))
        else:
            self.status(f"The demo model {ckpt} is missing: rebuild it with .venv/bin/python scripts/build_demo.py, "
                        "or choose a checkpoint (Ctrl+K).", 0)
