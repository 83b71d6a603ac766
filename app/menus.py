"""Builds the window's menus and QActions from the actions table (`app.actions.ACTIONS`)."""
from __future__ import annotations

from operator import attrgetter

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow

from . import commands
from .actions import ACTIONS, MENUS, ActionSpec


def shortcuts(a: ActionSpec) -> list[QKeySequence]:
    """The key bindings of ``a``: its standard key's main binding on this platform, else its ``keys``."""
    if a.standard:
        return [QKeySequence(getattr(QKeySequence.StandardKey, a.standard))]
    return [QKeySequence(k) for k in a.keys]


def _slot(window: QMainWindow, a: ActionSpec):
    if a.command:
        command = getattr(commands, a.command)
        return lambda _=False: window.commands.execute(command, **a.params)
    method = attrgetter(a.handler)(window)
    if a.checkable:
        return lambda checked=False: method(checked, *a.args)
    return lambda _=False: method(*a.args)


def build_menus(window: QMainWindow, prebuilt: dict[str, QAction]) -> dict[str, QAction]:
    """Add the menus of `MENUS` to ``window``'s menu bar and one QAction per table entry (window shortcuts, so
    they work wherever the focus is in the window). Entries without command or handler come from ``prebuilt``
    (``recent`` is made a submenu). Returns the actions by name."""
    menus = {title: window.menuBar().addMenu(title) for title in MENUS}
    made: dict[str, QAction] = {}
    for a in ACTIONS:
        menu = menus[a.menu]
        if a.separator_before:
            menu.addSeparator()
        if a.name == "recent":
            window.recent_menu = menu.addMenu(a.text)
            continue
        act = prebuilt.get(a.name)
        if act is None:
            act = QAction(a.text, window)
            act.setCheckable(a.checkable)
            act.triggered.connect(_slot(window, a))
        if a.keys or a.standard:
            act.setShortcuts(shortcuts(a))
        act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        if a.tip:
            act.setStatusTip(a.tip)
        menu.addAction(act)
        window.addAction(act)
        made[a.name] = act
    return made
