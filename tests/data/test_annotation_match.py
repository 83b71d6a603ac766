"""Matching coding-sheet rows to opened clips by Subject + Filename (issue 14, earlier reports)."""
from cmnet_core.data.annotation_io import AnnotationRecord, merge_imported, read_csv_annotations
from cmnet_core.data.annotation_match import match_records, subjects_match
from cmnet_core.data.clip import Annotation


def rec(subject, name, row, onset=1):
    return AnnotationRecord(subject, name, Annotation(onset=onset, apex=2, offset=3), row=row)


def test_subject_spellings_of_the_adapters():
    assert subjects_match("01", "sub01") and subjects_match("1", "sub01") and subjects_match("sub01", "sub01")
    assert subjects_match("6", "006") and subjects_match("006", "006") and subjects_match("s01", "s1")
    assert subjects_match("spNO.1", "spNO.1") and subjects_match("1", "spNO.1")
    assert not subjects_match("02", "sub01") and not subjects_match("s1", "sub1")
    assert not subjects_match("", "sub01") and not subjects_match("anna", "bob")


def test_shared_clip_names_never_land_on_another_subject():
    # CASME II: EP02_01f exists for sub01 and sub02; sub03 has no such clip
    keys = [("sub01", "EP02_01f"), ("sub02", "EP02_01f"), ("sub02", "EP01_11f")]
    records = [rec("01", "EP02_01f", 2), rec("2", "EP02_01f", 3), rec("03", "EP02_01f", 4),
               rec("", "EP02_01f", 5), rec("", "EP01_11f", 6), rec("01", "EP09_09", 7), rec("sub01", "EP02_01f", 8)]
    result = match_records(records, keys)
    assert [(r.row, key) for r, key in result.matched] == [
        (2, ("sub01", "EP02_01f")), (3, ("sub02", "EP02_01f")), (6, ("sub02", "EP01_11f"))]
    assert [(p.row, p.reason) for p in result.unmatched] == [
        (4, "subject '03' matches none of the opened clips named 'EP02_01f' (their subjects: sub01, sub02); "
            "not moved to another subject's clip"),
        (7, "no opened clip is named 'EP09_09'"),
        (8, "duplicate of row 2 (both name sub01/EP02_01f); only the first is imported")]
    assert [(p.row, p.reason) for p in result.ambiguous] == [
        (5, "clip name 'EP02_01f' is used by subjects sub01, sub02; the row has no Subject to tell them apart")]
    assert result.clips_annotated == 3
    text = result.summary("coding.csv")
    assert text.splitlines()[0] == ("Imported 3 of 7 rows from coding.csv onto 3 clip(s); 3 row(s) unmatched, "
                                    "1 ambiguous (not imported).")
    assert "  unmatched: row 4 (03/EP02_01f): subject '03' matches none" in text
    assert "  ambiguous: row 5 (EP02_01f): clip name 'EP02_01f' is used by" in text


def test_single_clip_takes_its_single_row_and_clip_without_subject_takes_any():
    assert [k for _, k in match_records([rec("01", "renamed", 2)], [("", "video")]).matched] == [("", "video")]
    # two rows for one loose clip: no guessing
    two = match_records([rec("01", "a", 2), rec("01", "b", 3)], [("", "video")])
    assert not two.matched and len(two.unmatched) == 2
    assert [k for _, k in match_records([rec("01", "EP02_01f", 2)], [("", "EP02_01f")]).matched] == [("", "EP02_01f")]


def test_csv_columns_present_decide_what_is_imported(tmp_path):
    path = tmp_path / "frames_only.csv"
    path.write_text("Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Action Units\n01,EP02_01f,5,7,9,\n")
    sheet = read_csv_annotations(path)
    assert sheet.fields == {"onset", "apex", "offset", "aus"}
    assert sheet.records[0].row == 2
    current = Annotation(onset=1, apex=2, offset=3, emotion="disgust", aus="4+L10", notes="brow", apex_source="")
    merged = merge_imported(current, sheet.records[0].annotation, sheet.fields)
    # emotion and notes columns are absent: kept; Action Units is present but empty: cleared
    assert merged == Annotation(onset=5, apex=7, offset=9, emotion="disgust", aus="", notes="brow",
                                apex_source="annotated")


def test_single_clip_fallback_never_crosses_subjects():
    """Review D7: one row of subject 02 must not land on the one open clip of sub01, whatever the names."""
    rows = [rec("02", "EP02_01f", row=2)]
    result = match_records(rows, [("sub01", "EP19_06f")])
    assert result.matched == [] and len(result.unmatched) == 1
    assert match_records([rec("01", "renamed", row=2)], [("sub01", "EP19_06f")]).matched[0][1] == ("sub01", "EP19_06f")
    assert match_records([rec("", "renamed", row=2)], [("sub01", "EP19_06f")]).matched[0][1] == ("sub01", "EP19_06f")
