"""ELAN exchange from the window's commands: export the current clip's annotation, import it back (undoable)."""
from __future__ import annotations

import csv

import numpy as np
from PIL import Image

from app import commands as C
from app import dialogs
from app.actions import spec

from test_main_window import open_clip_in


def test_elan_export_import_round_trip_and_tab_text(make_window, array_clip, tmp_path, messages, monkeypatch):
    w = make_window()
    open_clip_in(w, array_clip(30, first=1, name="EP02_01f", subject="01"), tmp_path / "x.json")
    for frame, kind in ((4, "onset"), (9, "apex"), (20, "offset")):
        w.commands.execute(C.GoToFrame, frame=frame)
        w.commands.execute(C.SetMark, kind=kind)
    w.commands.execute(C.SetField, name="emotion", value="disgust")
    w.commands.execute(C.SetField, name="aus", value="4+L10")
    marked = w.state.annotation()
    eaf = tmp_path / "EP02_01f.eaf"
    assert w.commands.execute(C.ExportELAN, path=str(eaf)) and eaf.is_file()

    for frame, kind in ((2, "onset"), (3, "apex"), (25, "offset")):   # change everything, then import
        w.commands.execute(C.GoToFrame, frame=frame)
        w.commands.execute(C.SetMark, kind=kind)
    w.commands.execute(C.SetField, name="emotion", value="surprise")
    assert w.commands.execute(C.ImportELAN, path=str(eaf))
    assert w.state.annotation() == marked and w.commands.undo_stack.undoText() == "Import EP02_01f.eaf"
    w.commands.undo_stack.undo()
    assert w.state.annotation().emotion == "surprise"

    monkeypatch.setattr(dialogs, "choose", lambda parent, title, text, options, current=0: "frames")
    txt = tmp_path / "EP02_01f.txt"
    assert w.commands.execute(C.ExportELAN, path=str(txt))       # the time unit is asked for .txt
    rows = list(csv.reader(open(txt), delimiter="\t"))
    assert rows[0][1] == "begin (frames)" and ["ME", "2", "25", "24", "surprise"] in rows

    bad = tmp_path / "bad.eaf"
    bad.write_text("not xml")
    assert w.commands.execute(C.ImportELAN, path=str(bad))
    assert messages[-1][:2] == ("error", "Cannot import") and "bad.eaf is not an ELAN" in messages[-1][2]
    assert w.state.annotation().emotion == "surprise"              # nothing changed
    assert spec("export_elan").command == "ExportELAN" and "export_elan" in w.actions_by_name


def test_export_says_what_it_left_out_and_assumed_times(make_window, tmp_path, messages):
    folder = tmp_path / "frames"
    folder.mkdir()

    for i in range(1, 9):
        Image.fromarray(np.full((16, 16, 3), i * 20, np.uint8)).save(folder / f"img{i:03d}.png")
    w = make_window()
    w.commands.execute(C.OpenPath, path=str(folder))
    w.commands.execute(C.GoToFrame, frame=3)
    w.commands.execute(C.SetMark, kind="onset")
    w.commands.execute(C.SetField, name="emotion", value="surprise")
    assert w.commands.execute(C.ExportELAN, path=str(tmp_path / "f.eaf"))
    kind, title, text = messages[-1]
    assert (kind, title) == ("info", "Exported with gaps")
    assert "the onset (frame 3) without its offset; the emotion" in text and "assume 30 fps" in text
