"""Adapters and protocols against the real annotation sheets, with tiny frame trees in the real layouts."""
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pytest

from cmnet_core.data.adapters import casme2, casme3, samm, smic
from cmnet_core.data.adapters.common import count_labels
from cmnet_core.data.composite import megc2019_composite, read_megc2019_gt
from cmnet_core.data.database import DatabaseError, open_database
from cmnet_core.data.protocols import get_protocol

TINY = np.full((8, 8, 3), 120, np.uint8)


def frames(folder: Path, numbers, pattern: str) -> Path:
    """Write 8x8 frames named ``pattern.format(n)`` for each frame number."""
    folder.mkdir(parents=True, exist_ok=True)
    for n in numbers:
        assert cv2.imwrite(str(folder / pattern.format(n)), TINY)
    return folder


def reasons(db) -> dict[str, str]:
    """Skip item → reason."""
    return {s.item: s.reason for s in db.skips}


def skip_for(db, name: str) -> str:
    found = [s.reason for s in db.skips if s.item.endswith(f"/{name})") or s.item.endswith(name)]
    assert found, f"no skip for {name}"
    return found[0]


# ---- counts from the sheets alone ------------------------------------------------------------
def test_casme2_sheet_counts(annotation_sheets):
    rows, skips = casme2.read_rows(Path("root"), annotation_sheets / "CASME2-coding-20140508.xlsx")
    assert (len(rows), skips) == (255, [])
    assert rows[0].subject == "sub01" and rows[0].name == "EP02_01f"
    assert (rows[0].onset, rows[0].apex, rows[0].offset, rows[0].aus) == (46, 59, 86, "12")
    assert count_labels("casme2", get_protocol(None, "casme2"), rows) == {
        "disgust": 63, "happiness": 32, "repression": 27, "surprise": 25, "others": 99}
    assert count_labels("casme2", get_protocol("megc2019-3", "casme2"), rows) == {
        "negative": 90, "positive": 32, "surprise": 25}
    assert {r.aus for r in rows} >= {"4+L10", "12"}                   # int and text AUs


def test_samm_sheet_counts_below_the_preamble(annotation_sheets):
    rows, skips = samm.read_rows(Path("root"), annotation_sheets / "SAMM_Micro_FACS_Codes_v2.xlsx")
    assert (len(rows), skips) == (159, [])
    assert rows[0].where == "SAMM_Micro_FACS_Codes_v2.xlsx[MICRO_ONLY] row 15"   # header on row 14
    assert (rows[0].subject, rows[0].name, rows[0].onset) == ("006", "006_1_2", 5562)
    assert count_labels("samm", get_protocol(None, "samm"), rows) == {
        "anger": 57, "contempt": 12, "happiness": 26, "surprise": 15, "others": 26}
    assert count_labels("samm", get_protocol("megc2019-3", "samm"), rows) == {
        "negative": 92, "positive": 26, "surprise": 15}


def test_casme3_sheet_counts(annotation_sheets):
    rows, skips = casme3.read_rows(Path("root"), annotation_sheets / "casme3_partA_ME_label_JpgIndex_v2.xlsx")
    assert (len(rows), skips) == (860, [])
    assert (rows[1].subject, rows[1].name, rows[1].folder) == ("spNO.1", "b_166", Path("root/spNO.1/b/color"))
    assert count_labels("casme3", get_protocol(None, "casme3"), rows) == {
        "anger": 64, "disgust": 250, "fear": 86, "happy": 55, "sad": 57, "surprise": 187, "others": 161}
    assert count_labels("casme3", get_protocol("casme3-3", "casme3"), rows) == {
        "negative": 457, "positive": 55, "surprise": 187}


def test_megc2019_ground_truth(annotation_sheets):
    rows = read_megc2019_gt(annotation_sheets / "megc2019_composite_3class_gt.csv")
    assert len(rows) == 442
    per = {}
    for r in rows:
        per.setdefault(r.dataset, {}).setdefault(r.label, 0)
        per[r.dataset][r.label] += 1
    assert per == {"casme2": {"negative": 88, "positive": 32, "surprise": 25},
                   "samm": {"negative": 92, "positive": 26, "surprise": 15},
                   "smic": {"negative": 70, "positive": 51, "surprise": 43}}
    assert len({r.subject for r in rows}) == 68
    assert {r.subject for r in rows} >= {"casme2/sub01", "samm/006", "smic/s1"}


def test_protocol_errors():
    with pytest.raises(DatabaseError, match="does not apply"):
        get_protocol("samm-5", "casme2")
    with pytest.raises(DatabaseError, match="unknown label protocol"):
        get_protocol("casme2-7", "casme2")
    p = get_protocol(None, "samm")
    assert p.classify("samm", "Others") == ("others", "") and p.classify("samm", "Other") == ("others", "")
    assert "not a class" in p.classify("samm", "Fear")[1]
    assert "unknown emotion" in p.classify("samm", "joy")[1]


# ---- CASME II ------------------------------------------------------------------------------
@pytest.mark.parametrize("pattern", ["img{}.jpg", "reg_img{}.jpg"])          # RAW and Cropped
def test_casme2_tree(tmp_path, annotation_sheets, pattern):
    root = tmp_path / "CASME2"
    frames(root / "sub01" / "EP02_01f", range(40, 90), pattern)                  # raw: frames beyond 46..86
    frames(root / "sub01" / "EP19_05f", range(396, 447), pattern)
    frames(root / "sub02" / "EP01_11f", [n for n in range(46, 97) if n != 60], pattern)   # frame 60 lost
    frames(root / "sub26" / "EP99_99", range(3), pattern)                        # folder without a row
    sheet = annotation_sheets / "CASME2-coding-20140508.xlsx"
    db = open_database(root, sheet=sheet)
    assert db.name == "casme2" and db.protocol == "casme2-5"
    assert [(c.subject, c.name, c.label) for c in db.clips] == [
        ("sub01", "EP02_01f", "happiness"), ("sub01", "EP19_05f", "disgust")]
    c = db.clips[0]
    assert (c.onset, c.apex, c.offset, c.annotation.apex_source, c.fps) == (46, 59, 86, "annotated", 200.0)
    assert c.span() == (46, 86) and c.frame(46).shape == (8, 8, 3)
    assert skip_for(db, "EP01_11f").startswith("missing frames for onset..offset 46..96: 60 not in")
    assert skip_for(db, "EP99_99") == "clip folder has no row in the annotation sheet"
    assert skip_for(db, "EP03_02").startswith("missing clip folder")
    assert len(db.clips) + len(db.skips) == 256                               # 255 rows + 1 unlisted folder
    fear = [s.reason for s in db.skips if "fear" in s.reason]
    assert len(fear) == 2 and "not a class of protocol casme2-5" in fear[0]
    summary = db.summary()
    assert summary["per_class"]["happiness"] == 1 and summary["per_subject"] == {"sub01": 2}


def quirky_casme2_sheet(path: Path) -> Path:
    """A newer-style CASME II sheet: blank unnamed columns, Objective Classes, int subject, '/' apex."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Subject", "Filename", None, "OnsetFrame", "ApexFrame", "OffsetFrame", None,
               "Action Units", "Objective Classes", "Estimated Emotion"])
    ws.append([1, "EP02_01f", None, 46, "/", 86, None, 12, 1, "happiness"])
    ws.append(["01", "EP19_05f", None, 396, 416, 446, None, "4+L10", 3, "disgust"])
    ws.append([2, "EP01_11f", None, 46, 99, 96, None, 15, 2, "repression"])      # apex after offset
    ws.append([2, "EP02_04f", None, 31, 79, 141, None, "12+15", 2, "joy"])       # unknown emotion
    ws.append([None, None, None, None, None, None, None, None, None, None])
    ws.append([2, "EP03_02f", None, "?", 81, 136, None, 15, 2, "repression"])    # onset not a number
    wb.save(path)
    return path


def test_casme2_quirks_and_slash_apex(tmp_path):
    root = tmp_path / "raw"
    frames(root / "sub01" / "EP02_01f", range(46, 87), "img{}.jpg")
    frames(root / "sub01" / "EP19_05f", range(396, 447), "img{}.jpg")
    frames(root / "sub02" / "EP01_11f", range(46, 97), "img{}.jpg")
    sheet = quirky_casme2_sheet(tmp_path / "CASME2-coding-2019.xlsx")
    db = casme2.load(root, sheet)
    assert [c.name for c in db.clips] == ["EP02_01f", "EP19_05f"]
    slash = db.clips[0].annotation
    assert (slash.apex, slash.apex_source) == (None, "")
    assert "apex '/'" in slash.notes and "row 2" in slash.notes
    assert db.clips[1].annotation.aus == "4+L10" and db.clips[1].subject == "sub01"
    r = reasons(db)
    assert r["CASME2-coding-2019.xlsx[Sheet] row 4 (sub02/EP01_11f)"] == "apex 99 is outside onset..offset 46..96"
    assert r["CASME2-coding-2019.xlsx[Sheet] row 5 (sub02/EP02_04f)"].startswith("unknown emotion 'joy'")
    assert r["CASME2-coding-2019.xlsx[Sheet] row 7 (2/EP03_02f)"] == "onset '?' is not a frame number"
    strict = casme2.load(root, sheet, slash_apex="skip")
    assert [c.name for c in strict.clips] == ["EP19_05f"]
    assert reasons(strict)["CASME2-coding-2019.xlsx[Sheet] row 2 (1/EP02_01f)"] == "apex '/' is not a frame number"


def test_casme2_sheet_problems_name_the_file(tmp_path):
    (tmp_path / "sub01" / "EP01_01").mkdir(parents=True)
    with pytest.raises(DatabaseError, match="no CASME II annotation sheet"):
        casme2.load(tmp_path)
    wb = openpyxl.Workbook()
    wb.active.append(["Subject", "Clip"])
    wb.save(tmp_path / "other.xlsx")
    with pytest.raises(DatabaseError, match="other.xlsx"):
        casme2.load(tmp_path, tmp_path / "other.xlsx")


# ---- SAMM ----------------------------------------------------------------------------------
def test_samm_tree(tmp_path, annotation_sheets):
    root = tmp_path / "SAMM"
    frames(root / "006" / "006_1_2", range(5562, 5633), "006_{:05d}.jpg")
    frames(root / "028" / "028_4_1", range(1071, 1135), "028_{:05d}.jpg")
    db = open_database(root, sheet=annotation_sheets / "SAMM_Micro_FACS_Codes_v2.xlsx")
    assert db.name == "samm"
    assert [(c.subject, c.name, c.label, c.onset, c.apex, c.offset) for c in db.clips] == [
        ("006", "006_1_2", "anger", 5562, 5588, 5632)]
    assert skip_for(db, "028_4_1") == "apex 1143 is outside onset..offset 1071..1134"
    assert skip_for(db, "032_3_1") == "apex 1930 is outside onset..offset 4896..4970"
    assert skip_for(db, "006_1_3").startswith("missing clip folder")
    assert len(db.clips) + len(db.skips) == 159
    assert sum("not a class of protocol samm-5" in s.reason for s in db.skips) == 23   # disgust, fear, sadness


# ---- SMIC-HS -------------------------------------------------------------------------------
def smic_tree(root: Path) -> Path:
    frames(root / "s1" / "micro" / "negative" / "s1_ne_02", range(563854, 563900), "image{:06d}.bmp")
    frames(root / "s20" / "micro" / "negative" / "s20_ne_01", range(100, 117), "image{:06d}.bmp")  # renumbered
    frames(root / "s3" / "micro" / "surprise" / "s3_sur_99", range(10, 20), "image{:06d}.bmp")
    frames(root / "s3" / "non_micro" / "s3_x_01", range(3), "image{}.bmp")
    return root


def test_smic_without_apex_sheet(tmp_path):
    root = smic_tree(tmp_path / "HS")
    db = open_database(root)
    assert db.name == "smic" and db.protocol == "smic-3" and db.sheet is None
    assert [(c.subject, c.name, c.label, c.apex, c.annotation.apex_source) for c in db.clips] == [
        ("s1", "s1_ne_02", "negative", None, ""), ("s3", "s3_sur_99", "surprise", None, ""),
        ("s20", "s20_ne_01", "negative", None, "")]
    assert db.clips[0].span() == (563854, 563899)
    assert reasons(db)["s3/non_micro"].startswith("non-micro-expression")


def test_smic_apex_sheet_mapping(tmp_path, annotation_sheets):
    root = smic_tree(tmp_path / "HS")
    db = smic.load(root, annotation_sheets / "smic_apex.xlsx")
    by = {c.name: c for c in db.clips}
    same = by["s1_ne_02"].annotation                       # clip files carry the long-video numbers
    assert (same.apex, same.apex_source) == (563884, "sheet")
    mapped = by["s20_ne_01"].annotation                    # clip renumbered from 100: onset + 7
    assert (mapped.apex, mapped.apex_source) == (107, "sheet")
    assert "17581046" in mapped.notes and "clip length agrees" in mapped.notes
    assert (by["s3_sur_99"].apex, by["s3_sur_99"].annotation.apex_source) == (None, "")
    unused = [s for s in db.skips if "no such clip folder" in s.reason]
    assert len(unused) == 162                               # 164 apex rows, 2 used


# ---- CAS(ME)^3 -----------------------------------------------------------------------------
def test_casme3_tree(tmp_path, annotation_sheets):
    root = tmp_path / "partA"
    frames(root / "spNO.1" / "b" / "color", range(160, 185), "{}.jpg")
    frames(root / "spNO.1" / "e" / "color", range(60, 110), "{}.jpg")         # two MEs share it
    db = open_database(root, sheet=annotation_sheets / "casme3_partA_ME_label_JpgIndex_v2.xlsx")
    assert db.name == "casme3" and db.protocol == "casme3-7"
    assert [(c.name, c.label, c.onset, c.apex, c.offset) for c in db.clips] == [
        ("b_166", "disgust", 166, 175, 179), ("e_62", "others", 62, 68, 96), ("e_96", "others", 96, 102, 106)]
    assert db.clips[1].source is db.clips[2].source
    assert skip_for(db, "d_112") == "apex 83 is outside onset..offset 112..358"
    assert skip_for(db, "e_1812") == "onset 1812 is after offset 0"
    assert len(db.clips) + len(db.skips) == 860


# ---- MEGC 2019 composite -------------------------------------------------------------------
def test_megc2019_composite(tmp_path, annotation_sheets):
    c2 = tmp_path / "casme2"
    frames(c2 / "sub01" / "EP02_01f", range(46, 87), "img{}.jpg")
    sm = tmp_path / "samm"
    frames(sm / "006" / "006_1_2", range(5562, 5633), "006_{:05d}.jpg")
    sc = smic_tree(tmp_path / "smic")
    db = megc2019_composite(annotation_sheets / "megc2019_composite_3class_gt.csv",
                            {"casme2": c2, "samm": sm, "smic": sc},
                            {"casme2": annotation_sheets / "CASME2-coding-20140508.xlsx",
                             "samm": annotation_sheets / "SAMM_Micro_FACS_Codes_v2.xlsx"})
    assert db.protocol == "megc2019-3" and db.labels == ["negative", "positive", "surprise"]
    assert sorted((c.subject, c.name, c.label) for c in db.clips) == [
        ("casme2/sub01", "EP02_01f", "positive"), ("samm/006", "006_1_2", "negative"),
        ("smic/s1", "s1_ne_02", "negative"), ("smic/s20", "s20_ne_01", "negative")]
    assert len(db.clips) + len(db.skips) == 442
    assert any(s.reason.startswith("missing clip folder") for s in db.skips)
    why = {s.item.rsplit(" ", 1)[-1]: s.reason for s in db.skips}
    assert why["(samm/028/028_4_1)"] == "apex 1143 is outside onset..offset 1071..1134"   # SAMM's own reason
    assert why["(casme2/sub01/EP19_05f)"].startswith("missing clip folder")


# ---- generic folder of clips + CSV ---------------------------------------------------------
def test_generic_folder_and_csv(tmp_path):
    w = cv2.VideoWriter(str(tmp_path / "happy_01.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (16, 16))
    for _ in range(20):
        w.write(np.zeros((16, 16, 3), np.uint8))
    w.release()
    frames(tmp_path / "p02" / "trial1", range(1, 11), "f{:03d}.png")
    (tmp_path / "labels.csv").write_text(
        "subject,clip,onset,apex,offset,emotion,aus,notes\n"
        "p01,happy_01,2,8,15,Happy,12,smiled\n"            # bare name → happy_01.avi
        "p02,p02/trial1,,,,Sad,,\n"                        # whole frame folder, apex to spot
        "p02,p02/trial2,1,2,3,Sad,,\n"                     # missing clip
        "p01,happy_01.avi,2,18,15,Happy,,\n"               # apex after offset
        "p03,happy_01.avi,2,5,40,Happy,,\n"                # offset beyond the video
        ",happy_01.avi,1,2,3,,,\n")                        # no emotion
    db = open_database(tmp_path)
    assert db.name == "generic" and db.protocol == "as-is" and db.labels == ["Happy", "Sad"]
    assert [(c.subject, c.name, c.label, c.onset, c.apex, c.offset) for c in db.clips] == [
        ("p01", "happy_01", "Happy", 2, 8, 15), ("p02", "trial1", "Sad", None, None, None)]
    assert len(db.clips[0]) == 20 and db.clips[0].annotation.notes == "smiled"
    assert db.clips[1].span() == (1, 10)
    r = reasons(db)
    assert r["labels.csv row 4 (p02/trial2)"].startswith("missing clip")
    assert r["labels.csv row 5 (happy_01.avi)"] == "apex 18 is outside onset..offset 2..15"
    assert r["labels.csv row 6 (happy_01.avi)"] == "offset 40 is outside the clip's frames 0..19"
    assert r["labels.csv row 7 (happy_01.avi)"].startswith("no emotion label: listed for annotation")
