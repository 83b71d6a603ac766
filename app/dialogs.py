"""Every question and message box the app shows, in one place (tests monkeypatch these functions)."""
from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

VIDEO_FILTER = "Videos and images (*.mp4 *.avi *.mov *.wmv *.mkv *.m4v *.jpg *.jpeg *.png *.bmp);;All files (*)"


def error(parent: QWidget | None, title: str, text: str) -> None:
    """Show an error that says what went wrong and what to do."""
    QMessageBox.warning(parent, title, text)


def info(parent: QWidget | None, title: str, text: str) -> None:
    QMessageBox.information(parent, title, text)


def ask_yes_no(parent: QWidget | None, title: str, text: str) -> bool:
    return QMessageBox.question(parent, title, text) == QMessageBox.StandardButton.Yes


def ask_save_discard_cancel(parent: QWidget | None, title: str, text: str) -> str:
    """Returns ``"save"``, ``"discard"`` or ``"cancel"``."""
    b = QMessageBox.StandardButton
    r = QMessageBox.question(parent, title, text, b.Save | b.Discard | b.Cancel, b.Save)
    return {b.Save: "save", b.Discard: "discard"}.get(r, "cancel")


def open_file(parent: QWidget | None, title: str, filter: str = VIDEO_FILTER, folder: str = "") -> str:
    """A file path, or "" when cancelled."""
    return QFileDialog.getOpenFileName(parent, title, folder, filter)[0]


def open_folder(parent: QWidget | None, title: str, folder: str = "") -> str:
    return QFileDialog.getExistingDirectory(parent, title, folder)


def save_file(parent: QWidget | None, title: str, suggestion: str, filter: str) -> str:
    return QFileDialog.getSaveFileName(parent, title, suggestion, filter)[0]


def ask_frame(parent: QWidget | None, current: int, lo: int, hi: int) -> int | None:
    """The frame number to go to, or None when cancelled."""
    value, ok = QInputDialog.getInt(parent, "Go to frame", f"Frame number ({lo}–{hi}):", current, lo, hi)
    return value if ok else None
