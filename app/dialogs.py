"""Every question and message box the app shows, in one place (tests monkeypatch these functions).

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
    if _non_interactive:
        return ""
    return QFileDialog.getExistingDirectory(parent, title, folder)


def save_file(parent: QWidget | None, title: str, suggestion: str, filter: str) -> str:
    if _non_interactive:
        return ""
    return QFileDialog.getSaveFileName(parent, title, suggestion, filter)[0]


def ask_frame(parent: QWidget | None, current: int, lo: int, hi: int) -> int | None:
    """The frame number to go to, or None when cancelled (or non-interactive)."""
    if _non_interactive:
        return None
    value, ok = QInputDialog.getInt(parent, "Go to frame", f"Frame number ({lo}–{hi}):", current, lo, hi)
    return value if ok else None
