"""Commands need no window: a `CommandContext` over a `Document`, an undo stack, the dialogs seam and recorded
hooks runs marks, undo and a CSV import."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QUndoStack

from app import commands as C
from app.dialogs import Dialogs
from app.settings import AppSettings
from app.workspace.annotations import AnnotationStore
from app.workspace.document import Document


def context(clip, tmp_path):
    doc = Document()
    doc.set_source(Path("/x"), [clip], AnnotationStore(tmp_path / "a.json", "test"))
    said = []
    hooks = C.WindowHooks(status=lambda text, ms: said.append(text), commit_notes=lambda: None,
                          run_blocking=None, show_document=None, refresh_clip_list=lambda: said.append("refresh"),
                          load_checkpoint=None, start_prediction=None, export_plot=None)
    return C.CommandContext(doc, QUndoStack(), Dialogs(None), AppSettings(tmp_path), hooks), said


def test_marks_undo_and_import_without_a_window(qapp, array_clip, tmp_path, messages):
    ctx, said = context(array_clip(20, first=1, name="EP01", subject="sub01"), tmp_path)
    changes = []
    ctx.state.annotation_changed.connect(lambda: changes.append(ctx.state.annotation().onset))
    ctx.state.set_frame(4)
    assert ctx.execute(C.SetMark, kind="onset")
    assert changes == [4] and ctx.undo_stack.undoText() == "Set onset = 4" and ctx.state.store.dirty
    ctx.undo_stack.undo()
    assert changes[1:] == [None, None] and not ctx.state.store.dirty   # the edit, then "clean again"
    sheet = tmp_path / "s.csv"
    sheet.write_text("Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame\nsub01,EP01,2,5,9\nsub01,EP02,1,2,3\n")
    ctx.execute(C.ImportCSV, path=str(sheet))
    ann = ctx.state.annotation()
    assert (ann.onset, ann.apex, ann.offset) == (2, 5, 9)
    assert said[0] == "refresh" and said[1].startswith("Imported 1 of 2 rows from s.csv")
    assert messages and messages[-1][:2] == ("info", "Some rows not imported")   # EP02 is not open
    ctx.undo_stack.undo()                                                          # the import is one step
    assert ctx.state.annotation().onset is None
    ctx.close()
