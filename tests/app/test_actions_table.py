"""The one actions table (app/actions.py) builds the menus, the keys and the F1 help, and the README's keys table
must say the same."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QKeySequence

from app import actions, commands
from app.actions import ACTIONS, help_text, readme_rows

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_keys_table() -> list[str]:
    """The lines of the README table whose header is ``| action | keys |``."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index("| action | keys |")
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return lines[start:end]


def test_readme_keys_table_is_the_actions_table():
    expected = readme_rows()
    assert readme_keys_table() == expected, "README keys table differs from app/actions.py; use:\n" + "\n".join(
        expected)


def test_table_entries_are_complete():
    names = [a.name for a in ACTIONS]
    assert len(names) == len(set(names))
    for a in ACTIONS:
        assert a.menu in actions.MENUS, a.name
        assert not (a.command and a.handler), a.name
        if a.keys:
            assert a.help, f"{a.name} has keys but no help row"
        if a.command:
            assert issubclass(getattr(commands, a.command), commands.AppCommand), a.name
    rows = dict(actions.help_rows())
    assert rows["one frame back / forward"] == "← / →"
    assert rows["undo / redo"] == "Ctrl+Z / Ctrl+Shift+Z or Ctrl+Y"
    assert actions.tooltip("back10") == "Back 10 frames (Ctrl+←)"


def test_standard_keys_are_what_the_table_documents(qapp):
    for a in ACTIONS:
        if a.standard and a.keys:
            bound = QKeySequence(getattr(QKeySequence.StandardKey, a.standard)).toString()
            assert bound in ("", a.keys[0]), f"{a.name}: the platform binds {bound}, the table says {a.keys[0]}"


def test_window_actions_menus_and_f1_come_from_the_table(make_window, messages):
    w = make_window()
    menus = {m.text(): m.menu() for m in w.menuBar().actions()}
    assert list(menus) == list(actions.MENUS)
    for a in ACTIONS:
        if a.name == "recent":
            assert w.recent_menu.title() == a.text
            continue
        act = w.actions_by_name[a.name]
        assert act in menus[a.menu].actions(), a.name
        if a.keys and not a.standard:
            assert [k.toString() for k in act.shortcuts()] == [QKeySequence(k).toString() for k in a.keys], a.name
    assert w.actions_by_name["redo"].shortcuts() == [QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")]
    w.actions_by_name["shortcuts"].trigger()
    assert messages == [("info", "Keyboard shortcuts", help_text())]
    assert "Space   play / pause" in help_text() and "O / A / F   set onset / apex / offset" in help_text()
