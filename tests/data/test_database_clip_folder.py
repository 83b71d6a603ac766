"""Issue 13 part 2: a clip folder inside a recognised database tree, opened alone (GUI or `cmnet predict`), is that
database's clip: the database's fps (CASME II 200) and the sheet's onset/apex/offset, not 30 fps and a spotted apex."""
import csv
import shutil

import cv2
import numpy as np
import pytest

from app.workspace.opening import open_path
from cmnet_core.cli import main


@pytest.fixture
def casme2_clip_folder(tmp_path, annotation_sheets):
    """sub01/EP19_06f (onset 36, apex 71, offset 161, disgust in the real sheet) under CASME2_RAW_selected, the
    real sheet beside the root."""
    root = tmp_path / "CASME2_RAW_selected"
    clip = root / "sub01" / "EP19_06f"
    clip.mkdir(parents=True)
    rng = np.random.default_rng(0)
    base = rng.integers(40, 200, (48, 64, 3), dtype=np.uint8)
    for n in range(36, 162):
        cv2.imwrite(str(clip / f"reg_img{n}.jpg"), base)
    shutil.copy(annotation_sheets / "CASME2-coding-20140508.xlsx", tmp_path)
    return clip


def test_gui_opens_a_casme2_clip_folder_with_200_fps_and_the_sheets_marks(casme2_clip_folder):
    clips, database, _ = open_path(casme2_clip_folder)
    assert database is not None and database.name == "casme2" and len(clips) == 1
    clip = clips[0]
    assert (clip.subject, clip.name, clip.fps) == ("sub01", "EP19_06f", 200.0)
    assert (clip.annotation.onset, clip.annotation.apex, clip.annotation.offset) == (36, 71, 161)
    assert clip.label == "disgust" and clip.time_source == "nominal"
    assert clip.time_of(161) - clip.time_of(36) == pytest.approx(125 / 200)
    alone, db_alone, _ = open_path(casme2_clip_folder, fps=100.0)   # an explicit rate opens it by itself
    assert db_alone is None and alone[0].fps == 100.0


def test_predict_on_a_casme2_clip_folder_uses_200_fps_and_the_sheets_apex(casme2_clip_folder, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["predict", "demo", str(casme2_clip_folder), "--out", str(out), "--device", "cpu",
               "--landmarks", "none"])
    assert rc == 0, capsys.readouterr().err
    rows = list(csv.DictReader(line for line in (out / "sub01_EP19_06f.csv").read_text().splitlines()
                               if not line.startswith("#")))
    frames = [float(r["frame"]) for r in rows]
    times = [float(r["time_s"]) for r in rows]
    assert frames[0] == 36 and frames[-1] == 161
    assert times[-1] == pytest.approx(125 / 200) and {r["time_source"] for r in rows} == {"nominal"}
    pred = list(csv.DictReader((out / "predictions.csv").open()))[0]
    assert float(pred["apex_frame"]) == 71 and pred["apex_source"] in ("annotated", "sheet")


def test_predict_on_a_partial_casme2_tree_warns_once_about_labels_and_notes(tmp_path, annotation_sheets, capsys):
    """Issue 13 item 7: the demo checkpoint has no 'others'; 6 of sub01's 9 CASME II clips are 'others'. The
    warning comes once, at the start; a note every clip shares (the landmark fallback) is printed once."""
    import openpyxl
    rows = list(openpyxl.load_workbook(annotation_sheets / "CASME2-coding-20140508.xlsx",
                                       read_only=True).active.iter_rows(values_only=True))[1:]
    root = tmp_path / "CASME2_RAW_selected"
    img = np.full((24, 32, 3), 120, np.uint8)
    for r in rows:
        if str(r[0]).lstrip("0") == "1":
            clip = root / "sub01" / r[1]
            clip.mkdir(parents=True)
            for n in range(int(r[2]), int(r[4]) + 1, 1):
                cv2.imwrite(str(clip / f"reg_img{n}.jpg"), img)
    shutil.copy(annotation_sheets / "CASME2-coding-20140508.xlsx", tmp_path)
    rc = main(["predict", "demo", str(root), "--out", str(tmp_path / "out"), "--device", "cpu",
               "--landmarks", "none"])
    out = capsys.readouterr().out
    assert rc == 0
    lines = out.splitlines()
    warning = [ln for ln in lines if ln.startswith("warning:")]
    assert len(warning) == 1 and "6 of 9 clips have labels this checkpoint does not know (6 'others')" in warning[0]
    assert lines.index(warning[0]) < min(i for i, ln in enumerate(lines) if ln.startswith("[1/9]"))
    notes = [ln.strip() for ln in lines if ln.strip().startswith("note:")]
    assert len(notes) == len(set(notes)), notes
    import json
    saved = json.loads((tmp_path / "out" / "predictions.json").read_text())["warnings"]
    assert saved == [warning[0].removeprefix("warning: ")]        # kept with the results, not only printed


def test_info_on_a_casme2_clip_folder_names_its_database_clip(casme2_clip_folder, capsys):
    """Review D1: `cmnet info` agrees with the app and predict on a clip folder of a database."""
    import json
    assert main(["info", str(casme2_clip_folder)]) == 0
    out = capsys.readouterr().out
    assert "clip sub01/EP19_06f of the casme2 database" in out and "200 fps, onset 36, apex 71, offset 161" in out
    assert "assume 30 fps" not in out
    assert main(["info", str(casme2_clip_folder), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["time_source"] == "nominal" and d["database_clips"][0]["apex"] == 71


def test_predict_on_a_clip_folder_whose_sheet_is_elsewhere_says_how_to_give_it(casme2_clip_folder, tmp_path,
                                                                                 capsys):
    """Review D2: without a sheet in or beside the root, predict says which database the folder belongs to and
    that --sheet gives its frame rate and marks; with --sheet it gets them."""
    sheet = tmp_path / "CASME2-coding-20140508.xlsx"
    elsewhere = tmp_path / "sheets"
    elsewhere.mkdir()
    moved = sheet.rename(elsewhere / sheet.name)
    rc = main(["predict", "demo", str(casme2_clip_folder), "--out", str(tmp_path / "o1"), "--device", "cpu",
               "--landmarks", "none"])
    out = capsys.readouterr().out
    assert rc == 0 and "is a clip folder of a CASME II database" in out and "--sheet FILE" in out
    rc = main(["predict", "demo", str(casme2_clip_folder), "--out", str(tmp_path / "o2"), "--device", "cpu",
               "--landmarks", "none", "--sheet", str(moved)])
    capsys.readouterr()
    pred = list(csv.DictReader((tmp_path / "o2" / "predictions.csv").open()))[0]
    assert rc == 0 and float(pred["apex_frame"]) == 71


def test_a_clip_folder_whose_sheet_row_was_left_out_says_why(casme2_clip_folder):
    """Review D10: sub09/EP13_02 is a 'fear' row (not a casme2-5 class): opened alone it gets the database's 200 fps
    and a note saying why the sheet's marks are not there, not 'assume 30 fps'."""
    folder = casme2_clip_folder.parents[1] / "sub09" / "EP13_02"
    folder.mkdir(parents=True)
    img = np.full((24, 32, 3), 90, np.uint8)
    for n in range(1, 30):
        cv2.imwrite(str(folder / f"reg_img{n}.jpg"), img)
    clips, database, _ = open_path(folder)
    clip = clips[0]
    assert database is None and clip.fps == 200.0 and clip.time_source == "nominal"
    assert "left out" in clip.timing_note and "fear" in clip.timing_note and "casme2 database" in clip.timing_note
    rc = main(["predict", "demo", str(folder), "--out", str(folder.parents[2] / "o"), "--device", "cpu",
               "--landmarks", "none"])
    assert rc == 0
    rows = list(csv.DictReader(line for line in (folder.parents[2] / "o" / "EP13_02.csv").read_text().splitlines()
                               if not line.startswith("#")))
    assert {r["time_source"] for r in rows} == {"nominal"} and float(rows[-1]["time_s"]) == pytest.approx(28 / 200)
