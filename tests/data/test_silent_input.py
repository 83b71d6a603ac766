"""Issue 14, "silent or wrong acceptance": inputs that were taken wrongly or without a word."""
import csv
from pathlib import Path

import cv2
import numpy as np
import openpyxl
import pytest

from cmnet_core.data.adapters import casme2
from cmnet_core.data.database import open_database

TINY = np.full((8, 8, 3), 120, np.uint8)


def frames(folder: Path, numbers, pattern: str = "img{}.jpg") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for n in numbers:
        assert cv2.imwrite(str(folder / pattern.format(n)), TINY)
    return folder


def xlsx_to_csv(src: Path, dst: Path, delimiter: str = ";", bom: bool = True) -> Path:
    """Save the first sheet of ``src`` as a CSV the way a European spreadsheet program does."""
    wb = openpyxl.load_workbook(src, read_only=True, data_only=True)
    rows = [["" if v is None else v for v in r] for r in wb[wb.sheetnames[0]].iter_rows(values_only=True)]
    wb.close()
    with open(dst, "w", newline="", encoding="utf-8-sig" if bom else "utf-8") as fh:
        csv.writer(fh, delimiter=delimiter).writerows(rows)
    return dst


# ---- 1. CASME II sheet as .csv with BOM and ';' ------------------------------------------------
def casme2_root(tmp_path: Path) -> Path:
    root = tmp_path / "CASME2"
    frames(root / "sub01" / "EP02_01f", range(46, 87))
    frames(root / "sub01" / "EP19_05f", range(396, 447))
    return root


@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_casme2_csv_sheet_with_bom_and_semicolons(tmp_path, annotation_sheets, delimiter):
    root = casme2_root(tmp_path)
    sheet = xlsx_to_csv(annotation_sheets / "CASME2-coding-20140508.xlsx", tmp_path / "CASME2-coding.csv", delimiter)
    assert sheet.read_bytes().startswith(b"\xef\xbb\xbf")
    db = casme2.load(root, sheet)
    assert [(c.subject, c.name, c.label) for c in db.clips] == [
        ("sub01", "EP02_01f", "happiness"), ("sub01", "EP19_05f", "disgust")]
    assert (db.clips[0].onset, db.clips[0].apex, db.clips[0].offset) == (46, 59, 86)


def test_casme2_csv_sheet_found_beside_the_root(tmp_path, annotation_sheets):
    root = casme2_root(tmp_path)
    xlsx_to_csv(annotation_sheets / "CASME2-coding-20140508.xlsx", tmp_path / "CASME2-coding-20140508.csv")
    db = open_database(root)
    assert db.sheet.name == "CASME2-coding-20140508.csv"
    assert [c.name for c in db.clips] == ["EP02_01f", "EP19_05f"]


# ---- 2. generic clips.csv with only a `clip` column --------------------------------------------
def only_clip_column(root: Path) -> Path:
    frames(root / "trial1", range(1, 11), "f{:03d}.png")
    frames(root / "trial2", range(1, 6), "f{:03d}.png")
    (root / "clips.csv").write_text("clip\ntrial1\ntrial2\n")
    return root


def test_generic_clip_column_only_lists_unlabelled_clips(tmp_path):
    db = open_database(only_clip_column(tmp_path))
    assert db.name == "generic" and db.clips == []                      # nothing to train on ...
    assert [c.name for c in db.unlabelled] == ["trial1", "trial2"]      # ... but open for annotation
    assert all(c.label is None for c in db.unlabelled)
    skips = {s.item: s.reason for s in db.skips}
    assert set(skips) == {"clips.csv row 2 (trial1)", "clips.csv row 3 (trial2)"}
    reason = skips["clips.csv row 2 (trial1)"]
    assert "no emotion label" in reason and "left out of training" in reason and "emotion" in reason
    assert "2 unlabelled" in db.summary_text()


def test_gui_opens_unlabelled_generic_database(tmp_path):
    from app.workspace.opening import open_path

    clips, db, _ = open_path(only_clip_column(tmp_path))
    assert db is not None and [c.name for c in clips] == ["trial1", "trial2"]


def test_training_preflight_lists_unlabelled_reason(tmp_path):
    from cmnet_core.train.preflight import check_frames

    db = open_database(only_clip_column(tmp_path))
    text = "\n".join(p.message for p in check_frames(db))
    assert "no emotion label: listed for annotation" in text


# ---- 3. very short clips, mixed frame sizes, gaps: notes with the prediction -----------------------
def _clip(path):
    from cmnet_core.data.readers import open_clip

    return open_clip(path)


def test_still_image_gets_a_note(tmp_path):
    from cmnet_core.inference import source_notes

    assert cv2.imwrite(str(tmp_path / "face.png"), TINY)
    text = " ".join(source_notes(_clip(tmp_path / "face.png"), num_frames=16))
    assert "only 1 source frame" in text and "16" in text and "cannot show a course" in text


@pytest.mark.parametrize("n", [1, 2, 3])
def test_short_folder_gets_a_note(tmp_path, n):
    from cmnet_core.inference import source_notes

    clip = _clip(frames(tmp_path / "clip", range(1, n + 1)))
    text = " ".join(source_notes(clip, num_frames=16))
    assert f"only {n} source frame" in text and "to 16 (TIM)" in text
    assert "cannot show a course" in text


def test_long_enough_folder_gets_no_note(tmp_path):
    from cmnet_core.inference import source_notes

    folder = frames(tmp_path / "clip", range(1, 21))
    # a bare folder's only note: its frame rate is assumed (issue 13); with a known rate, none
    notes = source_notes(_clip(folder), num_frames=16)
    assert len(notes) == 1 and notes[0].startswith("no frame rate is known") and "--fps" in notes[0]
    from cmnet_core.data.readers import open_clip

    assert source_notes(open_clip(folder, fps=200.0), num_frames=16) == []


def test_one_frame_video_gets_a_note(tmp_path):
    from cmnet_core.inference import source_notes

    path = tmp_path / "one.avi"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (16, 16))
    w.write(np.zeros((16, 16, 3), np.uint8))
    w.release()
    text = " ".join(source_notes(_clip(path), num_frames=16))
    assert "only 1 source frame" in text


def test_mixed_sizes_and_gap_get_notes(tmp_path):
    from cmnet_core.inference import source_notes

    folder = frames(tmp_path / "clip", [1, 2, 3, 4, 5, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20])
    assert cv2.imwrite(str(folder / "img10.jpg"), np.full((12, 10, 3), 90, np.uint8))
    text = " ".join(source_notes(_clip(folder), num_frames=16))
    assert "frames of different sizes" in text and "img10.jpg" in text and "10x12" in text
    assert "frame numbers jump from 5 to 9" in text


def test_prediction_of_a_two_frame_folder_carries_the_note(tmp_path):
    from cmnet_core.data.synthetic import make_synthetic_clip
    from cmnet_core.demo import DEMO_CHECKPOINT
    from cmnet_core.inference import Predictor

    syn = make_synthetic_clip(7, "happiness", image_size=64, amplitude_px=12.0)
    folder = tmp_path / "two"
    folder.mkdir()
    for i, n in enumerate(syn.frame_numbers[:2]):
        assert cv2.imwrite(str(folder / f"img{i + 1}.png"), cv2.cvtColor(syn.frame(n), cv2.COLOR_RGB2BGR))
    pred = Predictor.load(DEMO_CHECKPOINT, device="cpu").predict(_clip(folder))
    assert any("only 2 source frames" in n and "interpolated to 16 (TIM)" in n for n in pred.provenance["notes"])


# ---- 4. `cmnet train` with 0 usable clips says what is true --------------------------------------
def test_train_with_only_unlabelled_clips_says_zero_usable(tmp_path, capsys):
    from cmnet_core.cli import main

    root = only_clip_column(tmp_path / "lab")
    rc = main(["train", str(root), "--runs", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "after holding out" not in err
    assert "0 usable clips" in err and "2 × no emotion label" in err and "clips.csv" in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").rglob("*.pt"))


def test_train_with_samm_sheet_as_casme2_hints_wrong_sheet(tmp_path, annotation_sheets, capsys):
    from cmnet_core.cli import main

    root = casme2_root(tmp_path)
    rc = main(["train", str(root), "--kind", "casme2", "--sheet",
               str(annotation_sheets / "SAMM_Micro_FACS_Codes_v2.xlsx"), "--runs", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "0 usable clips" in err and "wrong sheet?" in err and "SAMM" in err
    assert "missing clip folder" in err


def test_info_with_wrong_sheet_shows_the_hint(tmp_path, annotation_sheets):
    db = open_database(casme2_root(tmp_path), sheet=annotation_sheets / "SAMM_Micro_FACS_Codes_v2.xlsx", kind="casme2")
    assert db.clips == [] and "wrong sheet?" in db.summary_text()


def test_loso_with_only_unlabelled_clips_says_zero_usable(tmp_path, capsys):
    from cmnet_core.cli import main

    rc = main(["loso", str(only_clip_column(tmp_path / "lab")), "--runs", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert rc == 2 and "0 usable clips" in err and "no emotion label" in err
