"""`cmnet preprocess` on a synthetic database tree, a CASME II-layout tree and a real video."""
import csv
import json

import cv2
import pytest

from cmnet_core.cli import main
from cmnet_core.data.readers import open_clip
from cmnet_core.data.synthetic_writer import write_synthetic_database
from cmnet_core.preprocess.apex import SPOTTER


def _check_clip_folder(folder, n=16, size=None):
    pngs = sorted(folder.glob("frame_*.png"))
    assert len(pngs) == n
    if size:
        assert cv2.imread(str(pngs[0])).shape == (size, size, 3)
    info = json.loads((folder / "preprocess.json").read_text())
    rows = list(csv.DictReader(open(folder / "frame_map.csv")))
    assert len(info["frame_map"]) == n == len(rows)
    assert [float(r["source_frame"]) for r in rows] == pytest.approx(info["frame_map"], abs=1e-4)
    assert [int(r["is_apex"]) for r in rows].index(1) == info["apex_position"]
    assert info["apex_frame"] == info["frame_map"][info["apex_position"]]
    return info


def test_synthetic_database_tree_and_rerun_from_cache(tmp_path, capsys):
    db = write_synthetic_database(tmp_path / "syn", n_subjects=1, clips_per_class=1, image_size=64)
    args = ["preprocess", str(tmp_path / "syn"), "--landmarks", "hint", "--size", "32",
            "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache")]
    assert main(args) == 0
    assert "4 clips: 4 done, 0 from cache, 0 failed" in capsys.readouterr().out
    for clip in db.clips:
        info = _check_clip_folder(tmp_path / "out" / clip.subject / clip.name, size=32)
        assert info["frame_map"][0] == clip.onset and info["frame_map"][-1] == clip.offset
        assert info["apex_frame"] == clip.apex and info["apex_source"] == "annotated" and info["backend"] == "hint"
    assert main(args) == 0
    assert "4 clips: 0 done, 4 from cache, 0 failed" in capsys.readouterr().out


def test_casme2_layout_tree(tmp_path, face_videos, annotation_sheets, capsys):
    video = open_clip(face_videos / "single_face.mp4")
    folder = tmp_path / "CASME2" / "sub01" / "EP02_01f"                  # sheet row: onset 46, apex 59, offset 86
    folder.mkdir(parents=True)
    for i, n in enumerate(range(40, 90)):
        small = cv2.resize(video.frame(i), (320, 180), interpolation=cv2.INTER_AREA)
        cv2.imwrite(str(folder / f"img{n}.jpg"), cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
    rc = main(["preprocess", str(tmp_path / "CASME2"), "--sheet", str(annotation_sheets / "CASME2-coding-20140508.xlsx"),
               "--landmarks", "mtcnn", "--size", "64", "--out", str(tmp_path / "out"), "--no-cache"])
    out = capsys.readouterr().out
    assert rc == 0 and "casme2" in out and "1 clips: 1 done" in out
    info = _check_clip_folder(tmp_path / "out" / "sub01" / "EP02_01f", size=64)
    assert info["frame_map"][0] == 46 and info["frame_map"][-1] == 86
    assert info["apex_frame"] == 59 and info["apex_source"] == "annotated" and info["backend"] == "mtcnn"


def test_real_video_with_contact_sheet(tmp_path, face_videos, capsys):
    sheet = tmp_path / "sheet.png"
    rc = main(["preprocess", str(face_videos / "single_face.mp4"), "--landmarks", "mtcnn", "--apex", "midpoint",
               "--size", "96", "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "cache"),
               "--contact-sheet", str(sheet)])
    assert rc == 0
    info = _check_clip_folder(tmp_path / "out" / "single_face.mp4", size=96)
    assert info["frame_map"][0] == 0 and info["frame_map"][-1] == 71 and info["apex_source"] == "midpoint"
    image = cv2.imread(str(sheet))
    assert image.shape == (22 + 4 * (128 + 16), 4 * 128, 3)


def test_no_face_video_fails_with_status_1_and_bad_input_with_2(tmp_path, face_videos, capsys):
    rc = main(["preprocess", str(face_videos / "no_face.mp4"), "--landmarks", "mtcnn", "--apex", "midpoint",
               "--out", str(tmp_path / "out"), "--no-cache"])
    err = capsys.readouterr().err
    assert rc == 1 and "FAILED no_face.mp4" in err and "no face found" in err
    assert main(["preprocess", str(tmp_path / "missing.mp4"), "--out", str(tmp_path / "out")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["preprocess", str(face_videos / "single_face.mp4"), "--landmarks", "fan",
                 "--fan-dir", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert "2DFAN4-11f355bf06.pth.tar" in capsys.readouterr().err


def test_real_video_spotted_apex_lies_in_the_smile(tmp_path, face_videos):
    """single_face.mp4: neutral until ~frame 15, a smile rising to a plateau from ~frame 30 to ~65, relaxing at the
    end. The spotted apex is recorded with its spotter and confidence and lies on the plateau."""
    rc = main(["preprocess", str(face_videos / "single_face.mp4"), "--landmarks", "mtcnn", "--apex", "spotting",
               "--size", "64", "--out", str(tmp_path / "out"), "--no-cache"])
    assert rc == 0
    info = json.loads((tmp_path / "out" / "single_face.mp4" / "preprocess.json").read_text())
    assert info["apex_source"] == "spotted" and info["apex_spotter"] == SPOTTER
    assert 0.3 <= info["apex_confidence"] <= 1.0
    assert 28 <= info["apex_frame"] <= 66


def test_clips_whose_names_sanitise_alike_keep_their_own_outputs(tmp_path, face_videos, capsys):
    """Review D11: 张三.mp4 and 李四.mp4 (and 'a b.mp4' / 'a_b.mp4') each get their own output folder."""
    import shutil
    from cmnet_core.cli import main
    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("张三.mp4", "李四.mp4", "a b.mp4", "a_b.mp4"):
        shutil.copy(face_videos / "single_face.mp4", folder / name)
    out = tmp_path / "pp"
    assert main(["preprocess", str(folder), "--out", str(out), "--size", "32", "--frames", "4", "--landmarks",
                 "none", "--no-cache"]) == 0
    capsys.readouterr()
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(["张三.mp4", "李四.mp4", "a_b.mp4", "a_b.mp4-2"]), names
    assert all((out / n / "preprocess.json").exists() for n in names)
