"""The app's logic without Qt (app.workspace): the document and its events, annotation edits and CSV import
plans, per-folder memories, window texts and timing. No QApplication is made here."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from app.workspace import editing, memory, texts, timing
from app.workspace.annotations import AnnotationStore, clip_key
from app.workspace.document import Document, Event
from cmnet_core.data.annotation_io import AnnotationRecord, CsvAnnotations
from cmnet_core.data.clip import Annotation, Clip


class Frames:
    """A frame source with numbered frames (gaps allowed) and a fixed rate; ``set_fps`` as a bare frame folder."""

    def __init__(self, numbers, fps=30.0, path="/data/frames"):
        self.frame_numbers, self.fps, self.path, self.size = list(numbers), fps, Path(path), (4, 4)

    def read(self, number):
        return np.zeros((4, 4, 3), np.uint8)

    def close(self):
        pass


def document(numbers=(1, 2, 3, 5, 8), name="EP01", subject="sub01", tmp=Path("/nonexistent")):
    doc = Document()
    clip = Clip(Frames(numbers), name=name, subject=subject)
    doc.set_source(Path("/data/frames"), [clip], AnnotationStore(tmp / "a.json", "test"))
    return doc


def test_event_calls_callbacks_in_order():
    seen = []
    e = Event()
    e.connect(lambda x: seen.append(("a", x)))
    e.connect(lambda x: seen.append(("b", x)))
    e.emit(3)
    assert seen == [("a", 3), ("b", 3)]


def test_document_frames_snap_step_and_events():
    doc = Document()
    frames, clips = [], []
    doc.frame_changed.connect(frames.append)
    doc.clip_changed.connect(lambda: clips.append(doc.clip.name))
    clip = Clip(Frames([1, 2, 3, 5, 8]), name="EP01")
    doc.set_source(Path("/x"), [clip], AnnotationStore(Path("/nonexistent/a.json")))
    assert clips == ["EP01"] and frames == [1] and doc.frame == 1
    doc.set_frame(6.4)            # nearest existing frame
    assert doc.frame == 5
    doc.step(1)                   # the gap 5 → 8 is one step
    assert doc.frame == 8
    doc.step(10)                  # clamped at the last frame, no event when it does not move
    assert frames == [1, 5, 8]
    assert doc.labels() == ["happiness", "disgust", "repression", "surprise", "others"]


def test_mark_and_field_edits():
    doc = document()
    assert editing.mark_change("apex", 3) == ("Set apex = 3", {"apex": 3, "apex_source": "annotated"})
    assert editing.mark_change("onset", None) == ("Clear onset", {"onset": None})
    assert editing.field_value("emotion", "") is None and editing.field_value("notes", "") == ""
    edit = editing.annotation_edit(doc, "Set onset = 2", onset=2)
    assert edit.key == ("sub01", "EP01") and edit.old is None and edit.new.onset == 2
    editing.apply_edit(doc.store, edit.key, edit.new)
    assert doc.annotation().onset == 2
    assert editing.annotation_edit(doc, "again", onset=2) is None   # nothing changes
    editing.apply_edit(doc.store, edit.key, None)
    assert doc.store.get(edit.key) is None


def test_import_plan_leaves_out_rows_outside_the_clip_and_says_so():
    doc = document()
    rows = [AnnotationRecord("sub01", "EP01", Annotation(onset=1, apex=3, offset=5), row=2),
            AnnotationRecord("sub02", "EP01", Annotation(onset=1), row=3),           # no such subject
            AnnotationRecord("sub01", "EP01", Annotation(onset=1), row=4)]           # a duplicate
    plan = editing.import_plan(doc, CsvAnnotations(rows, frozenset({"onset", "apex", "offset"})), "s.csv")
    assert [(e.key, e.new.apex, e.text) for e in plan.edits] == [(("sub01", "EP01"), 3, "Import EP01")]
    assert not plan.left_out and plan.needs_message()                # two unmatched rows
    bad = [AnnotationRecord("sub01", "EP01", Annotation(onset=1, offset=99), row=7)]
    plan = editing.import_plan(doc, CsvAnnotations(bad, frozenset({"onset", "offset"}), ["row 9 (a/b): no name"]),
                               "s.csv")
    assert plan.edits == [] and plan.left_out[0] == "row 9 (a/b): no name"
    assert plan.left_out[1].startswith("row 7 (sub01/EP01): offset 99 is outside")
    assert plan.summary("s.csv").splitlines()[0] == ("Imported 0 row(s) from s.csv; 2 row(s) that do not fit were "
                                                     "left out:")


def test_records_for_export_use_the_store_over_the_clip():
    doc = document()
    doc.store.set_by_key(clip_key(doc.clip), Annotation(apex=3))
    [rec] = editing.all_records(doc)
    assert (rec.subject, rec.name, rec.annotation.apex) == ("sub01", "EP01", 3)


def test_memories_are_plain_dicts(tmp_path):
    folder, sheet = tmp_path / "frames", tmp_path / "coding.xlsx"
    sheet.write_text("x")
    mem = memory.remember_fps({}, folder, 200)
    assert mem == {str(folder.resolve()): 200.0} and memory.remembered_fps(mem, folder) == 200.0
    assert memory.remembered_fps({str(folder.resolve()): -1}, folder) is None
    sheets = memory.remember_sheet({}, tmp_path, sheet)
    lookup = memory.sheet_lookup(sheets)
    assert lookup(tmp_path) == str(sheet.resolve())
    sheet.unlink()
    assert lookup(tmp_path) is None                    # a sheet that is gone is not offered
    assert memory.remember_sheet(sheets, tmp_path, None) == {}


def test_title_status_and_summaries(tmp_path):
    doc = document(tmp=tmp_path)
    assert texts.window_title(doc) == "CMNet Studio — sub01/EP01"
    doc.store.dirty, doc.is_demo = True, True
    assert texts.window_title(doc) == "CMNet Studio — synthetic demo — sub01/EP01*"
    assert texts.store_status(doc.store) == "unsaved changes"
    doc.store.dirty = False
    assert texts.store_status(doc.store) == "not saved yet" and texts.database_summary(None) == ""
    assert texts.earlier_versions_hint(tmp_path / "a.json") == " No earlier version of it is kept (no backup " \
                                                                "exists yet)."


def test_timing_texts_and_bare_folder():
    clip = Clip(Frames([0, 1, 2], fps=25.0))
    assert timing.timing_suffix(clip) == "  @ 25 fps"
    assert timing.frame_label(clip, 1).startswith("frame 1  [0–2]   t = 0.040 s")
    assert not timing.is_bare_folder(clip)            # no set_fps: not a frame folder opened on its own
    assert timing.retimed_prediction(None, clip, "") is None
