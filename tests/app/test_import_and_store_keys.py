"""Earlier reports of annotation tools, reproduced here (issue 14): CSV rows landing on another subject's clip,
a CSV without some columns wiping those fields, annotations of a moved read-only database vanishing, and a
frame folder of a database keeping a second, separate annotation file."""
from app import commands as C
from app.workspace.annotations import AnnotationStore
from cmnet_core.data.clip import Annotation


def casme_like_clips(array_clip):
    """Three clips as a CASME II database has them: EP02_01f belongs to sub01 and to sub02."""
    return [array_clip(20, name="EP02_01f", subject="sub01"), array_clip(20, name="EP02_01f", subject="sub02"),
            array_clip(20, name="EP01_11f", subject="sub02")]


def test_import_csv_matches_subject_spelling_and_never_moves_rows(make_window, array_clip, tmp_path, messages):
    w = make_window()
    clips = casme_like_clips(array_clip)
    w.files.show_document(tmp_path, clips, None, AnnotationStore(tmp_path / "db.json"))
    sheet = tmp_path / "coding.csv"
    sheet.write_text("Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Action Units,Estimated Emotion\n"
                     "01,EP02_01f,2,4,6,12,happiness\n"      # sub01 spelled as the CASME II sheet does
                     "03,EP02_01f,7,8,9,4,disgust\n"         # sub03 has no EP02_01f opened: must not land on sub02
                     "2,EP01_11f,3,5,7,,surprise\n"
                     ",EP02_01f,1,2,3,,fear\n")              # no subject: two clips fit
    w.commands.execute(C.ImportCSV, path=str(sheet))
    store = w.state.store
    assert store.get(("sub01", "EP02_01f")) == Annotation(2, 4, 6, "happiness", "12", "", "annotated")
    assert store.get(("sub02", "EP02_01f")) is None  # untouched
    assert store.get(("sub02", "EP01_11f")).emotion == "surprise"
    assert store.get(("01", "EP02_01f")) is None and store.get(("03", "EP02_01f")) is None
    kind, title, text = messages[-1]
    assert kind == "info" and text.startswith(
        "Imported 2 of 4 rows from coding.csv onto 2 clip(s); 1 row(s) unmatched, 1 ambiguous (not imported).")
    assert "row 3 (03/EP02_01f): subject '03' matches none of the opened clips named 'EP02_01f'" in text
    assert "row 5 (EP02_01f): clip name 'EP02_01f' is used by subjects sub01, sub02" in text


def test_import_csv_without_some_columns_keeps_those_fields(make_window, array_clip, tmp_path, messages):
    w = make_window()
    w.files.show_document(tmp_path, [array_clip(20, name="EP02_01f", subject="sub01")], None,
                    AnnotationStore(tmp_path / "one.json"))
    w.commands.execute(C.SetField, name="emotion", value="disgust")
    w.commands.execute(C.SetField, name="aus", value="4+L10")
    w.commands.execute(C.SetField, name="notes", value="brow first")
    sheet = tmp_path / "frames.csv"
    sheet.write_text("Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Notes\n01,EP02_01f,3,5,9,\n")
    w.commands.execute(C.ImportCSV, path=str(sheet))
    ann = w.state.annotation()
    # Action Units / Estimated Emotion absent: kept; Notes present and empty: cleared
    assert (ann.onset, ann.apex, ann.offset, ann.emotion, ann.aus, ann.notes) == (3, 5, 9, "disgust", "4+L10", "")
    assert [m for m in messages if m[0] == "error"] == []


def test_moved_read_only_database_reopens_with_its_annotations(make_window, tmp_path, messages):
    import os

    from cmnet_core.data.synthetic_writer import write_synthetic_database

    root = tmp_path / "mnt" / "db"
    write_synthetic_database(root, n_subjects=1, clips_per_class=1, image_size=32, labels=("happiness", "surprise"))

    def read_only(top, on=True):
        for folder, _, _ in os.walk(top):
            os.chmod(folder, 0o555 if on else 0o755)

    read_only(root)
    moved = tmp_path / "mnt" / "db_remounted"
    try:
        w = make_window()
        w.commands.execute(C.OpenPath, path=str(root))
        w.commands.execute(C.GoToFrame, frame=w.state.frame_numbers()[2])
        w.commands.execute(C.SetMark, kind="onset")
        w.commands.execute(C.SaveAnnotations)
        key = (w.state.clip.subject, w.state.clip.name)
        onset = w.state.frame_numbers()[2]
        root.rename(moved)
        w.commands.execute(C.OpenPath, path=str(moved))
        assert w.state.store.get(key).onset == onset
        infos = [m for m in messages if m[0] == "info"]
        assert len(infos) == 1 and infos[0][1] == "Annotations found" and str(root) in infos[0][2]
        # a frame folder of the moved database opens onto the same annotation
        folder = moved / key[0] / key[1]
        w.commands.execute(C.OpenPath, path=str(folder))
        assert (w.state.clip.subject, w.state.clip.name) == key and w.state.annotation().onset == onset
        assert len([m for m in messages if m[0] == "info"]) == 1  # told once
        assert [m for m in messages if m[0] == "error"] == []
    finally:
        for top in (root, moved):
            if top.exists():
                read_only(top, False)


def test_import_csv_leaves_out_rows_that_do_not_fit_and_says_so(make_window, array_clip, tmp_path, messages):
    """Review: marks past the clip's frames and a bad cell are listed with their row; the other rows import."""
    w = make_window()
    clips = [array_clip(20, name="EP02_01f", subject="sub01"), array_clip(20, name="EP03_02", subject="sub01")]
    w.files.show_document(tmp_path, clips, None, AnnotationStore(tmp_path / "two.json"))
    sheet = tmp_path / "marks.csv"
    sheet.write_text("Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame\n01,EP02_01f,3,150,200\n"
                     "01,EP03_02,2,peak,9\n01,EP03_02,2,4,9\n")
    w.commands.execute(C.ImportCSV, path=str(sheet))
    info = [m for m in messages if m[0] == "info"]
    assert len(info) == 1
    text = info[0][2]
    assert "row 2 (01/EP02_01f)" in text and "row 3 (01/EP03_02): ApexFrame 'peak'" in text
    store = w.state.store
    assert store.get(("sub01", "EP02_01f")) is None                   # past the clip's 20 frames: not imported
    assert store.get(("sub01", "EP03_02")).apex == 4
