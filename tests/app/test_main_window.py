"""The main window driven through its commands and keys (offscreen): open, step, annotate, save, reopen,
undo, cursor sync, crash-safe saving, autosave recovery, closing with unsaved changes, CSV."""
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, Qt

from app import commands as C
from app.workspace.annotations import AnnotationStore
from cmnet_core.data import annotation_io as aio


def open_clip_in(window, clip, store_path: Path):
    window.files.show_document(store_path.parent, [clip], None, AnnotationStore(store_path, "test"))


def shown_value(window) -> int:
    img = window.frame_view.image.image
    return -1 if img is None else int(np.mean(img))


def test_open_step_annotate_save_reopen(make_window, array_clip, tmp_path, qtbot, messages):
    store = tmp_path / "clip.annotations.json"
    w = make_window()
    open_clip_in(w, array_clip(30, first=100, name="clipA", subject="s1"), store)
    assert w.state.frame == 100
    qtbot.waitUntil(lambda: shown_value(w) == 10, timeout=5000)  # frame 100 = index 0 → brightness 10
    w.commands.execute(C.GoToFrame, delta=1)
    w.commands.execute(C.GoToFrame, delta=10)
    assert w.state.frame == 111
    qtbot.waitUntil(lambda: shown_value(w) == 4 * 11 + 10, timeout=5000)
    w.commands.execute(C.SetMark, kind="onset")
    w.commands.execute(C.GoToFrame, frame=118)
    w.commands.execute(C.SetMark, kind="apex")
    w.commands.execute(C.GoToFrame, end="last")
    w.commands.execute(C.SetMark, kind="offset")
    w.commands.execute(C.SetField, name="emotion", value="surprise")
    w.commands.execute(C.SetField, name="aus", value="1+2")
    assert w.state.store.dirty and w.windowTitle().endswith("*")
    assert w.timeline.marks == {"onset": 111, "apex": 118, "offset": 129}
    assert w.annotation_panel.mark_values["apex"].text() == "118"
    assert w.commands.execute(C.SaveAnnotations)
    assert not w.state.store.dirty and store.exists()
    w.close()

    w2 = make_window()
    open_clip_in(w2, array_clip(30, first=100, name="clipA", subject="s1"), store)
    ann = w2.state.annotation()
    assert (ann.onset, ann.apex, ann.offset, ann.emotion, ann.aus) == (111, 118, 129, "surprise", "1+2")
    assert ann.apex_source == "annotated"
    assert w2.intensity_plot.marks["apex"].value() == 118
    assert [m for m in messages if m[0] == "error"] == []


def test_undo_redo_of_marks(make_window, array_clip, tmp_path):
    w = make_window()
    open_clip_in(w, array_clip(20), tmp_path / "a.json")
    w.commands.execute(C.GoToFrame, frame=5)
    w.commands.execute(C.SetMark, kind="onset")
    w.commands.execute(C.GoToFrame, frame=7)
    w.commands.execute(C.SetMark, kind="onset")
    assert w.state.annotation().onset == 7
    w.commands.undo_stack.undo()
    assert w.state.annotation().onset == 5
    w.commands.undo_stack.undo()
    assert w.state.annotation().onset is None
    w.commands.undo_stack.redo()
    assert w.state.annotation().onset == 5 and w.timeline.marks["onset"] == 5


def test_keys_step_and_mark(make_window, array_clip, tmp_path, qtbot):
    w = make_window()
    with qtbot.waitActive(w):
        w.show()
        w.activateWindow()
    open_clip_in(w, array_clip(40, first=1), tmp_path / "k.json")
    w.frame_view.graphics.setFocus()
    qtbot.keyClick(w, Qt.Key.Key_Right)
    assert w.state.frame == 2
    qtbot.keyClick(w, Qt.Key.Key_Right, Qt.KeyboardModifier.ControlModifier)
    assert w.state.frame == 12
    qtbot.keyClick(w, Qt.Key.Key_Left)
    assert w.state.frame == 11
    qtbot.keyClick(w, Qt.Key.Key_O)
    qtbot.keyClick(w, Qt.Key.Key_End)
    assert w.state.frame == 40
    qtbot.keyClick(w, Qt.Key.Key_F)
    qtbot.keyClick(w, Qt.Key.Key_Home)
    assert w.state.frame == 1
    ann = w.state.annotation()
    assert (ann.onset, ann.offset) == (11, 40)


def test_cursor_and_seekbar_sync_both_ways(make_window, array_clip, tmp_path, qtbot):
    w = make_window()
    w.show()
    open_clip_in(w, array_clip(50, first=10), tmp_path / "c.json")
    # frame view → cursor
    w.commands.execute(C.GoToFrame, frame=33)
    assert w.intensity_plot.cursor.value() == 33 and w.timeline.current == 33
    # cursor dragged → frame (snapped to the nearest frame) → frame view
    w.intensity_plot.cursor.setValue(41.4)
    assert w.state.frame == 41
    qtbot.waitUntil(lambda: shown_value(w) == 4 * 31 + 10, timeout=5000)
    assert w.intensity_plot.cursor.value() == 41  # snapped back onto the frame
    # seekbar click → frame → cursor
    x = int(w.timeline.x_of(20))
    qtbot.mouseClick(w.timeline, Qt.MouseButton.LeftButton, pos=QPoint(x, 20))
    assert w.state.frame == 20 and w.intensity_plot.cursor.value() == 20


def test_save_that_crashes_midway_keeps_previous_file(make_window, array_clip, tmp_path, monkeypatch, messages):
    store = tmp_path / "s.json"
    w = make_window()
    open_clip_in(w, array_clip(20, name="c"), store)
    w.commands.execute(C.GoToFrame, frame=3)
    w.commands.execute(C.SetMark, kind="onset")
    w.commands.execute(C.SaveAnnotations)
    before = store.read_bytes()
    w.commands.execute(C.GoToFrame, frame=9)
    w.commands.execute(C.SetMark, kind="onset")

    def crash(src, dst):
        raise OSError("No space left on device")

    with monkeypatch.context() as m:
        m.setattr(aio.os, "replace", crash)
        w.commands.execute(C.SaveAnnotations)
    assert store.read_bytes() == before
    assert aio.load_store(store)[0][0].annotation.onset == 3
    assert w.state.store.dirty  # the edit is still there to save again
    (kind, title, text) = messages[-1]
    assert kind == "error" and "No space left" in text and "previous file is unchanged" in text


def test_autosave_recovered_after_crash(make_window, array_clip, tmp_path, messages):
    store = tmp_path / "r.json"
    w = make_window()
    open_clip_in(w, array_clip(20, name="c"), store)
    w.commands.execute(C.GoToFrame, frame=6)
    w.commands.execute(C.SetMark, kind="apex")
    w.annotation.autosave_now()
    assert aio.autosave_path(store).exists() and not store.exists()
    w.state.store.dirty = False  # the "crash": the window goes away without saving
    w.shutdown()

    messages.answers["yes_no"] = True
    w2 = make_window()
    open_clip_in(w2, array_clip(20, name="c"), store)
    assert messages[-1][0] == "ask" and "Recover" in messages[-1][1]
    assert w2.state.annotation().apex == 6 and w2.state.store.dirty


def test_close_with_unsaved_changes_asks(make_window, array_clip, tmp_path, messages):
    w = make_window()
    w.show()
    open_clip_in(w, array_clip(20, name="c"), tmp_path / "u.json")
    w.commands.execute(C.SetMark, kind="onset")
    messages.answers["save_discard_cancel"] = "cancel"
    assert not w.close()
    assert w.isVisible() and messages[-1][0] == "ask"
    messages.answers["save_discard_cancel"] = "save"
    assert w.close()
    assert (tmp_path / "u.json").exists()


def test_csv_export_import_and_bad_sheet(make_window, array_clip, tmp_path, messages):
    w = make_window()
    open_clip_in(w, array_clip(20, name="EP02_01f", subject="01"), tmp_path / "x.json")
    w.commands.execute(C.GoToFrame, frame=4)
    w.commands.execute(C.SetMark, kind="onset")
    w.commands.execute(C.SetField, name="emotion", value="disgust")
    csv_path = tmp_path / "out.csv"
    w.commands.execute(C.ExportCSV, path=str(csv_path))
    lines = csv_path.read_text().splitlines()
    assert lines[1] == "01,EP02_01f,4,,,,disgust,"
    csv_path.write_text(lines[0] + "\n01,EP02_01f,2,5,9,4+L10,repression,\n")
    params = {"path": str(csv_path)}
    w.commands.execute(C.ImportCSV, **params)
    ann = w.state.annotation()
    assert (ann.onset, ann.apex, ann.offset, ann.aus, ann.emotion) == (2, 5, 9, "4+L10", "repression")
    w.commands.undo_stack.undo()
    assert w.state.annotation().onset == 4
    bad = tmp_path / "bad.csv"
    bad.write_text("Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Action Units,Estimated Emotion\n"
                   "01,EP02_01f,x,5,9,,\n")
    w.commands.execute(C.ImportCSV, path=str(bad))
    kind, title, text = messages[-1]
    # the bad row is listed (not a refusal of the whole file any more) and nothing changed
    assert kind == "info" and "row 2 (01/EP02_01f): OnsetFrame 'x'" in text and "Imported 0 row(s)" in text
    assert w.state.annotation().onset == 4


def test_unreadable_path_gives_a_message(make_window, tmp_path, messages):
    w = make_window()
    junk = tmp_path / "broken.mp4"
    junk.write_bytes(b"not a video at all")
    w.commands.execute(C.OpenPath, path=str(junk))
    assert w.state.clip is None
    kind, title, text = messages[-1]
    assert kind == "error" and "broken.mp4" in text
    w.commands.execute(C.OpenPath, path=str(tmp_path / "missing.mp4"))
    assert "does not exist" in messages[-1][2]


def test_database_clip_list_filter_and_sort(make_window, tmp_path, qtbot):
    from cmnet_core.data.synthetic import synthetic_database

    db = synthetic_database(n_subjects=2, clips_per_class=1, image_size=32, seed=1)
    w = make_window()
    w.show()
    w.files.show_document(tmp_path, db.clips, db, AnnotationStore(tmp_path / "db.json"))
    assert w.clip_dock.isVisible()
    cl = w.clip_list
    assert cl.proxy.rowCount() == 8
    cl.filter.setText("surprise")
    assert sorted(db.clips[i].name for i in cl.visible_rows()) == ["surprise_01", "surprise_01"]
    cl.filter.setText("")
    cl.table.sortByColumn(2, Qt.SortOrder.DescendingOrder)
    labels = [db.clips[i].label for i in cl.visible_rows()]
    assert labels == sorted(labels, reverse=True)
    cl.clipActivated.emit(cl.visible_rows()[0])
    assert w.state.clip is db.clips[cl.visible_rows()[0]]
    w.commands.execute(C.SetMark, kind="onset", frame=w.state.frame_numbers()[3])
    assert cl.model.item(db.clips.index(w.state.clip), 4).text() == "yes"


def test_recent_files_use_test_settings(make_window, qapp, tmp_path_factory):
    from app.settings import qsettings, settings_path

    assert settings_path().parent.parent == tmp_path_factory.getbasetemp()  # the sandbox, not the user's folder
    w = make_window()
    w.files.add_recent("/data/a.mp4")
    w.files.add_recent("/data/b.mp4")
    w.files.add_recent("/data/a.mp4")
    assert w.settings.recent_files()[:2] == ["/data/a.mp4", "/data/b.mp4"]
    assert [a.text() for a in w.recent_menu.actions()][:2] == ["/data/a.mp4", "/data/b.mp4"]
    # read back from the INI file in a new session, a one-entry list is a plain string (review D4: it was split
    # into characters, and the Recent menu offered "/", "t", "m" ...)
    qsettings().setValue("recent", "/data/only.mp4")
    w.files.add_recent("/data/c.mp4")
    assert w.settings.recent_files() == ["/data/c.mp4", "/data/only.mp4"]
    w.files.add_recent("clip.mp4")                      # typed on the command line: kept as an absolute path
    assert w.settings.recent_files()[0] == str(Path.cwd() / "clip.mp4")


def test_playback_runs_at_speed_and_stops_at_end(make_window, array_clip, tmp_path, qtbot):
    import time

    w = make_window()
    open_clip_in(w, array_clip(30, fps=30.0), tmp_path / "p.json")
    w.speed.setCurrentIndex(w.speed.findData(1.0))
    t0 = time.monotonic()
    w.playback.toggle()
    assert w.playback.timer.isActive() and w.play_button.text() == "Pause"
    qtbot.waitUntil(lambda: not w.playback.timer.isActive(), timeout=10_000)
    elapsed = time.monotonic() - t0
    assert w.state.frame == 29 and w.play_button.text() == "Play"
    assert 0.8 < elapsed < 3.0  # 29 frames at 30 fps ≈ 0.97 s
