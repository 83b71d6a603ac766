"""Issue 13 part 5: the app takes a database's annotation sheet three ways — ``--sheet`` on the command line,
File ▸ Open database with sheet…, and a question when the sheet is not in or beside the root (remembered)."""
import shutil

import cv2
import numpy as np
import pytest

from app import dialogs
from app.commands import OpenPath


@pytest.fixture
def root_and_sheet(tmp_path, annotation_sheets):
    """A CASME II tree (sub01/EP19_06f) with its sheet in an unrelated folder."""
    root = tmp_path / "data" / "CASME2_RAW_selected"
    clip = root / "sub01" / "EP19_06f"
    clip.mkdir(parents=True)
    img = np.full((24, 32, 3), 100, np.uint8)
    for n in range(36, 162):
        cv2.imwrite(str(clip / f"reg_img{n}.jpg"), img)
    sheets = tmp_path / "elsewhere"
    sheets.mkdir()
    sheet = sheets / "CASME2-coding-20140508.xlsx"
    shutil.copy(annotation_sheets / sheet.name, sheet)
    return root, sheet


def opened_clip(w):
    return w.state.database, w.state.clip


def test_no_sheet_asks_for_it_and_remembers_it(make_window, messages, root_and_sheet, monkeypatch):
    root, sheet = root_and_sheet
    w = make_window()
    chosen = []
    monkeypatch.setattr(dialogs, "open_file", lambda *a, **k: chosen.append(a) or str(sheet))
    w.commands.execute(OpenPath, path=str(root))
    asked = [m for m in messages if m[0] == "ask"]
    assert len(asked) == 1 and "annotation sheet" in asked[0][2] and len(chosen) == 1
    database, clip = opened_clip(w)
    assert database is not None and database.name == "casme2" and clip.annotation.apex == 71
    assert w.settings.remembered_sheet(root) == str(sheet.resolve())
    messages.clear()
    w.commands.execute(OpenPath, path=str(root))            # the remembered sheet: no question again
    assert not [m for m in messages if m[0] in ("ask", "error")] and w.state.database.sheet == sheet.resolve()


def test_declining_the_question_says_what_to_do(make_window, messages, root_and_sheet):
    root, _ = root_and_sheet
    messages.answers["yes_no"] = False
    w = make_window()
    w.commands.execute(OpenPath, path=str(root))
    errors = [m for m in messages if m[0] == "error"]
    assert len(errors) == 1 and "Open database with sheet" in errors[0][2] and str(root) in errors[0][2]
    assert w.state.database is None


def test_open_database_with_sheet_menu(make_window, messages, root_and_sheet, monkeypatch):
    root, sheet = root_and_sheet
    monkeypatch.setattr(dialogs, "open_folder", lambda *a, **k: str(root))
    monkeypatch.setattr(dialogs, "open_file", lambda *a, **k: str(sheet))
    w = make_window()
    action = next(a for a in w.actions() if a.text().replace("&", "") == "Open database with sheet…")
    action.trigger()
    assert w.state.database is not None and w.state.clip.annotation.onset == 36
    assert not [m for m in messages if m[0] in ("ask", "error")]


def test_sheet_on_the_command_line(make_window, messages, root_and_sheet):
    root, sheet = root_and_sheet
    w = make_window()
    w.commands.execute(OpenPath, path=str(root), sheet=str(sheet))   # what cmnet-studio ROOT --sheet FILE runs
    assert w.state.database is not None and w.state.clip.annotation.offset == 161
    from app.main import parse_args
    assert parse_args([str(root), "--sheet", str(sheet)]).sheet == str(sheet)


def test_a_sheet_that_does_not_fit_is_named(make_window, messages, root_and_sheet, annotation_sheets):
    root, _ = root_and_sheet
    w = make_window()
    wrong = annotation_sheets / "megc2019_composite_3class_gt.csv"
    w.commands.execute(OpenPath, path=str(root), sheet=str(wrong))
    errors = [m for m in messages if m[0] == "error"]
    assert len(errors) == 1 and str(wrong) in errors[0][2] and w.state.database is None


def test_clip_folder_of_a_database_whose_sheet_is_elsewhere(make_window, messages, root_and_sheet, monkeypatch):
    """Review D2: the clip folder asks for its database's sheet, then opens as that database's clip (200 fps, the
    sheet's marks); the sheet is remembered for the root, so the folder and the root open without a question."""
    root, sheet = root_and_sheet
    folder = root / "sub01" / "EP19_06f"
    monkeypatch.setattr(dialogs, "open_file", lambda *a, **k: str(sheet))
    w = make_window()
    w.commands.execute(OpenPath, path=str(folder))
    asked = [m for m in messages if m[0] == "ask"]
    assert len(asked) == 1 and "clip folder of a CASME II database" in asked[0][2]
    assert w.state.clip.fps == 200.0 and w.state.clip.annotation.apex == 71
    assert w.settings.remembered_sheet(root) == str(sheet.resolve())
    messages.clear()
    w.commands.execute(OpenPath, path=str(folder))
    w.commands.execute(OpenPath, path=str(root))
    assert not [m for m in messages if m[0] in ("ask", "error")] and w.state.database.name == "casme2"
