"""Every question and message box the app shows, in one place (tests monkeypatch these functions).

`Dialogs` binds them to a parent window: commands and controllers get one instead of the window itself.

With `set_non_interactive` (``cmnet-studio --screenshot``) nothing modal is shown: messages go to stderr as one
line each, questions take their default answer, and `errors_reported` counts the errors for the exit status.
"""
from __future__ import annotations

import sys

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

SHEET_FILTER = "Annotation sheets (*.xlsx *.xls *.csv);;All files (*)"
VIDEO_FILTER = "Videos and images (*.mp4 *.avi *.mov *.wmv *.mkv *.m4v *.jpg *.jpeg *.png *.bmp);;All files (*)"


_non_interactive = False
errors_reported = 0


def set_non_interactive(on: bool = True) -> None:
    """Route every message and question to stderr with its default answer (no modal dialog can block)."""
    global _non_interactive
    _non_interactive = on


def is_non_interactive() -> bool:
    """True after `set_non_interactive` (``cmnet-studio --screenshot``)."""
    return _non_interactive


def _print(kind: str, title: str, text: str) -> None:
    print(f"{kind}: {title}: {' '.join(text.split())}", file=sys.stderr)


def error(parent: QWidget | None, title: str, text: str) -> None:
    """Show an error that says what went wrong and what to do."""
    global errors_reported
    errors_reported += 1
    if _non_interactive:
        _print("error", title, text)
        return
    QMessageBox.warning(parent, title, text)


def info(parent: QWidget | None, title: str, text: str) -> None:
    """Show a message that needs no decision."""
    if _non_interactive:
        _print("info", title, text)
        return
    QMessageBox.information(parent, title, text)


def ask_yes_no(parent: QWidget | None, title: str, text: str, default: bool = False) -> bool:
    """The user's answer; ``default`` when non-interactive (choose the default that loses no data)."""
    if _non_interactive:
        _print("question", title, f"{text} -> {'yes' if default else 'no'} (non-interactive)")
        return default
    return QMessageBox.question(parent, title, text) == QMessageBox.StandardButton.Yes


def ask_save_discard_cancel(parent: QWidget | None, title: str, text: str) -> str:
    """Returns ``"save"``, ``"discard"`` or ``"cancel"`` (``"cancel"`` when non-interactive: nothing is lost)."""
    if _non_interactive:
        _print("question", title, f"{text} -> cancel (non-interactive)")
        return "cancel"
    b = QMessageBox.StandardButton
    r = QMessageBox.question(parent, title, text, b.Save | b.Discard | b.Cancel, b.Save)
    return {b.Save: "save", b.Discard: "discard"}.get(r, "cancel")


def open_file(parent: QWidget | None, title: str, filter: str = VIDEO_FILTER, folder: str = "") -> str:
    """A file path, or "" when cancelled (or non-interactive)."""
    if _non_interactive:
        return ""
    return QFileDialog.getOpenFileName(parent, title, folder, filter)[0]


def open_folder(parent: QWidget | None, title: str, folder: str = "") -> str:
    """A folder path, or "" when cancelled (or non-interactive)."""
    if _non_interactive:
        return ""
    return QFileDialog.getExistingDirectory(parent, title, folder)


def beside(source, name: str) -> str:
    """The save dialog's suggestion ``name`` in the folder of ``source`` (a video file, or a frame folder: beside
    it), so the dialog opens there and not in the process's working directory; just ``name`` when ``source`` is
    not on disk (a synthetic clip)."""
    from pathlib import Path

    try:
        folder = Path(source).parent
        if Path(source).exists() and folder.is_dir():
            return str(folder / name)
    except (OSError, TypeError, ValueError):
        pass
    return name


def save_file(parent: QWidget | None, title: str, suggestion: str, filter: str) -> str:
    """A path to write, or "" when cancelled (or non-interactive)."""
    if _non_interactive:
        return ""
    return QFileDialog.getSaveFileName(parent, title, suggestion, filter)[0]


def ask_frame(parent: QWidget | None, current: int, lo: int, hi: int) -> int | None:
    """The frame number to go to, or None when cancelled (or non-interactive)."""
    if _non_interactive:
        return None
    value, ok = QInputDialog.getInt(parent, "Go to frame", f"Frame number ({lo}–{hi}):", current, lo, hi)
    return value if ok else None


def choose(parent: QWidget | None, title: str, text: str, options: list[str], current: int = 0) -> str:
    """One of ``options`` picked from a list, or "" when cancelled (or non-interactive)."""
    if _non_interactive:
        return ""
    value, ok = QInputDialog.getItem(parent, title, text, options, current, False)
    return value if ok else ""


def ask_close_with_run(parent: QWidget | None, text: str) -> str:
    """Ask what to do with active training runs when the app closes: ``"stop"``, ``"detach"`` or ``"cancel"``
    (``"cancel"`` when non-interactive: the app stays open, nothing is stopped)."""
    if _non_interactive:
        _print("question", "Training is running", f"{text} -> cancel (non-interactive)")
        return "cancel"
    box = QMessageBox(QMessageBox.Icon.Question, "Training is running", text, parent=parent)
    stop = box.addButton("Stop the run", QMessageBox.ButtonRole.DestructiveRole)
    detach = box.addButton("Let it continue", QMessageBox.ButtonRole.AcceptRole)
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return {stop: "stop", detach: "detach"}.get(box.clickedButton(), "cancel")


class Dialogs:
    """The questions and messages above, bound to ``parent`` (the window they are modal to). Each method calls
    the module function of the same name at call time, so a test's monkeypatch of the module applies."""

    def __init__(self, parent: QWidget | None) -> None:
        self.parent = parent

    def error(self, title: str, text: str) -> None:
        """`error` over the parent."""
        error(self.parent, title, text)

    def info(self, title: str, text: str) -> None:
        """`info` over the parent."""
        info(self.parent, title, text)

    def ask_yes_no(self, title: str, text: str, default: bool = False) -> bool:
        """`ask_yes_no` over the parent."""
        return ask_yes_no(self.parent, title, text, default=default)

    def ask_save_discard_cancel(self, title: str, text: str) -> str:
        """`ask_save_discard_cancel` over the parent."""
        return ask_save_discard_cancel(self.parent, title, text)

    def ask_close_with_run(self, text: str) -> str:
        """`ask_close_with_run` over the parent."""
        return ask_close_with_run(self.parent, text)

    def open_file(self, title: str, filter: str = VIDEO_FILTER, folder: str = "") -> str:
        """`open_file` over the parent."""
        return open_file(self.parent, title, filter, folder)

    def open_folder(self, title: str, folder: str = "") -> str:
        """`open_folder` over the parent."""
        return open_folder(self.parent, title, folder)

    def save_file(self, title: str, suggestion: str, filter: str) -> str:
        """`save_file` over the parent."""
        return save_file(self.parent, title, suggestion, filter)

    def ask_frame(self, current: int, lo: int, hi: int) -> int | None:
        """`ask_frame` over the parent."""
        return ask_frame(self.parent, current, lo, hi)

    def choose(self, title: str, text: str, options: list[str], current: int = 0) -> str:
        """`choose` over the parent."""
        return choose(self.parent, title, text, options, current)
