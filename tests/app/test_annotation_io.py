"""Annotation files: atomic saves with backups, autosave/recovery and the CASME II-style CSV (no Qt)."""
import os

import pytest

from cmnet_core.data import annotation_io as aio
from cmnet_core.data.annotation_io import AnnotationFileError, AnnotationRecord
from cmnet_core.data.clip import Annotation


def rec(subject="01", name="EP02_01f", onset=46, apex=59, offset=86, **kw):
    return AnnotationRecord(subject, name, Annotation(onset=onset, apex=apex, offset=offset, **kw))


def test_store_round_trip_and_rotating_backups(tmp_path):
    path = tmp_path / "ann.json"
    for apex in (50, 51, 52, 53, 54):
        aio.save_store(path, [rec(apex=apex, emotion="happiness", aus="12", notes="ö ✓")], source="x.mp4", backups=3)
    records, source = aio.load_store(path)
    assert source == "x.mp4"
    assert records[0].annotation == Annotation(46, 54, 86, "happiness", "12", "ö ✓", "")
    # .001 is the previous version, .003 the oldest kept; nothing older
    assert [aio.load_store(aio.backup_path(path, i))[0][0].annotation.apex for i in (1, 2, 3)] == [53, 52, 51]
    assert not aio.backup_path(path, 4).exists()


def test_crash_during_save_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "ann.json"
    aio.save_store(path, [rec(apex=50)])
    before = path.read_bytes()

    def boom(src, dst):
        raise OSError("disk full")

    with monkeypatch.context() as m:
        m.setattr(aio.os, "replace", boom)
        with pytest.raises(OSError, match="disk full"):
            aio.save_store(path, [rec(apex=60)])
    assert path.read_bytes() == before
    assert aio.load_store(path)[0][0].annotation.apex == 50
    assert [p.name for p in tmp_path.iterdir() if p.suffix == ".tmp"] == []  # no temp file left behind


def test_autosave_is_recoverable_until_saved(tmp_path):
    path = tmp_path / "ann.json"
    aio.save_store(path, [rec(apex=50)])
    assert aio.recoverable_autosave(path) is None
    aio.write_autosave(path, [rec(apex=70)])
    auto = aio.recoverable_autosave(path)
    assert auto == aio.autosave_path(path)
    assert aio.load_store(auto)[0][0].annotation.apex == 70
    aio.remove_autosave(path)
    assert aio.recoverable_autosave(path) is None


def test_load_store_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(AnnotationFileError, match=r"bad.json.*no backup \.001 exists yet"):
        aio.load_store(bad)  # no .001 yet: the message does not promise one
    aio.backup_path(bad, 1).write_text("{}")
    with pytest.raises(AnnotationFileError, match="bad.json.*copying bad.json.001 over it"):
        aio.load_store(bad)
    other = tmp_path / "other.json"
    other.write_text('{"clips": []}')
    with pytest.raises(AnnotationFileError, match="not a CMNet Studio annotation file"):
        aio.load_store(other)


def test_csv_round_trip_in_casme2_columns(tmp_path):
    path = tmp_path / "sheet.csv"
    records = [rec(emotion="disgust", aus="4+L10", notes="brow, then lip"),
               rec(subject="02", name="EP01_11f", onset=1, apex=None, offset=30)]
    aio.export_csv(path, records)
    header = path.read_text(encoding="utf-8").splitlines()[0]
    assert header == "Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Action Units,Estimated Emotion,Notes"
    back = aio.import_csv(path)
    assert [(r.subject, r.name) for r in back] == [("01", "EP02_01f"), ("02", "EP01_11f")]
    assert back[0].annotation.aus == "4+L10" and back[0].annotation.notes == "brow, then lip"
    assert back[0].annotation.apex_source == "annotated"
    assert back[1].annotation.apex is None and back[1].annotation.emotion is None


def test_csv_import_reports_row_and_column(tmp_path):
    path = tmp_path / "sheet.csv"
    path.write_text("Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Action Units,Estimated Emotion\n"
                    "01,EP02_01f,46,59,86,12,happiness\n"
                    "01,EP03_02,12,abc,40,4,disgust\n")
    sheet = aio.read_csv_annotations(path)        # the bad row is listed, the good one still read (review)
    assert [r.name for r in sheet.records] == ["EP02_01f"]
    assert len(sheet.problems) == 1 and sheet.problems[0].startswith("row 3 (01/EP03_02): ApexFrame 'abc'")
    path.write_text("Subject;Filename;OnsetFrame;ApexFrame;OffsetFrame\n01;a;1;30;20\n01;b;1;2;3\n01;c;5;2;9\n")
    sheet = aio.read_csv_annotations(path)        # ';' separators (European spreadsheets)
    assert [r.name for r in sheet.records] == ["b"]
    assert sheet.problems == ["row 2 (01/a): ApexFrame 30 is outside OnsetFrame..OffsetFrame 1..20",
                              "row 4 (01/c): ApexFrame 2 is outside OnsetFrame..OffsetFrame 5..9"]
    path.write_text("Subject,Filename,Onset\n01,a,1\n")
    with pytest.raises(AnnotationFileError, match="missing column.*OnsetFrame"):
        aio.import_csv(path)


def test_csv_import_accepts_slash_apex_and_extra_columns(tmp_path):
    path = tmp_path / "sheet.csv"
    path.write_text("Subject,Filename,Unnamed: 2,OnsetFrame,ApexFrame,OffsetFrame,Action Units,Estimated Emotion,"
                    "Objective Classes\n01,EP02_01f,,46,/,86,12,happiness,1\n", encoding="utf-8")
    (r,) = aio.import_csv(path)
    assert (r.annotation.onset, r.annotation.apex, r.annotation.offset) == (46, None, 86)
    assert os.path.getsize(path) > 0
