"""`cmnet predict` on a batch with bad inputs: every failure is recorded and the batch goes on; preprocessing
overrides (--landmarks, --apex-mode) in provenance; notes (a truncated video) printed under each clip."""
import csv
import json

import pytest
import torch

from cmnet_core.cli import main
from cmnet_core.data.readers import open_clip
from cmnet_core.inference import Predictor
from cmnet_core.model import CMNet, CMNetConfig
from cmnet_core.preprocess.apex import SPOTTER
from cmnet_core.preprocess.types import PreprocessSettings
from cmnet_core.train.checkpoint import save_checkpoint


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    """An untrained 32 px, N = 4 CMNet whose checkpoint preprocesses with a centre crop (landmarks 'none')."""
    torch.manual_seed(0)
    cfg = CMNetConfig.preset("fast", image_size=32, num_frames=4, backbone="small", small_widths=(8, 8, 16, 16))
    settings = PreprocessSettings(image_size=32, num_frames=4, landmarks="none", apex_mode="midpoint")
    meta = {"labels": ["negative", "positive"], "image_size": 32, "num_frames": 4, "preprocess": settings.to_dict(),
            "model_config": cfg.to_dict()}
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "final.pt", CMNet(cfg, 2).state_dict(), meta)


@pytest.fixture(scope="module")
def truncated(face_videos, tmp_path_factory):
    """WolfgangLanger_Pexels.mp4 cut to its first 20 % of bytes: the header says 472 frames, fewer decode."""
    data = (face_videos / "WolfgangLanger_Pexels.mp4").read_bytes()
    path = tmp_path_factory.mktemp("videos") / "trunc.mp4"
    path.write_bytes(data[: len(data) // 5])
    return path


def test_truncated_video_note(tiny_ckpt, truncated):
    clip = open_clip(truncated)
    decoded = len(clip.frame_numbers)
    assert clip.source.reported_count == 472 and 0 < decoded < 472 * 0.5
    pred = Predictor.load(tiny_ckpt, device="cpu").predict(clip)
    assert f"the video header says 472 frames but {decoded} decode (the file may be truncated or damaged); " \
           f"predicted on the {decoded} decoded frames" in pred.provenance["notes"]
    assert pred.frame_map[-1] <= decoded - 1
    clip.close()


def test_no_note_for_small_header_mismatch(tiny_ckpt, face_videos):
    clip = open_clip(face_videos / "no_face.mp4")       # header 98, 95 decode: within 5 %
    assert not any("header says" in n for n in Predictor.load(tiny_ckpt, device="cpu").predict(clip)
                   .provenance["notes"])
    clip.close()


def test_batch_records_every_failure_and_goes_on(tiny_ckpt, truncated, face_videos, tmp_path, capsys):
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video\n")
    licence = tmp_path / "LICENSE.txt"
    licence.write_text("MIT License\n")
    nope = tmp_path / "nope.mp4"
    out = tmp_path / "pred"
    paths = [fake, truncated, nope, licence, face_videos / "no_face.mp4"]
    rc = main(["predict", str(tiny_ckpt), *map(str, paths), "--out", str(out), "--device", "cpu",
               "--landmarks", "mtcnn", "--apex-mode", "spotting"])
    printed = capsys.readouterr().out
    assert rc == 1
    rows = list(csv.DictReader(open(out / "predictions.csv", encoding="utf-8")))
    assert [r["clip"] for r in rows] == ["fake", "trunc", "nope", "LICENSE", "no_face"]
    assert [r["status"] for r in rows] == ["failed", "done", "failed", "failed", "failed"]
    errors = {r["clip"]: r["error"] for r in rows}
    assert "fake.mp4: FFmpeg cannot open this video" in errors["fake"]
    assert "does not exist" in errors["nope"]
    assert "unsupported file type .txt" in errors["LICENSE"]
    assert "no face found" in errors["no_face"]
    result = json.loads((out / "predictions.json").read_text())
    assert [f["clip"] for f in result["failed"]] == ["fake", "nope", "LICENSE", "no_face"]
    done = result["clips"][0]
    # the overrides replace the checkpoint's settings and are recorded
    assert done["provenance"]["overrides"] == {"landmarks": {"checkpoint": "none", "used": "mtcnn"},
                                               "apex_mode": {"checkpoint": "midpoint", "used": "spotting"}}
    assert done["provenance"]["preprocess"]["landmarks"] == "mtcnn" and done["provenance"]["apex_source"] == "spotted"
    # the spotter and its confidence travel with the spotted apex: JSON, predictions.csv, the clip's CSV
    assert done["provenance"]["apex_spotter"] == SPOTTER and 0.0 <= done["provenance"]["apex_confidence"] <= 1.0
    assert rows[1]["apex_spotter"] == SPOTTER
    assert float(rows[1]["apex_confidence"]) == done["provenance"]["apex_confidence"]
    assert rows[0]["apex_spotter"] == ""                                      # failed rows leave it empty
    confidence = f"spotted, confidence {done['provenance']['apex_confidence']:.2f}, {SPOTTER}"
    assert confidence in (out / "trunc.csv").read_text(encoding="utf-8")
    # every failure and every note is printed; notes under their clip's line
    for ident in ("fake", "nope", "LICENSE", "no_face"):
        assert f"{ident}: FAILED" in printed
    lines = printed.splitlines()
    at = next(i for i, line in enumerate(lines) if "] trunc: " in line)
    notes = done["provenance"]["notes"]
    assert any("header says 472 frames" in n for n in notes)
    assert lines[at + 1: at + 1 + len(notes)] == [f"    note: {n}" for n in notes]
    assert "landmarks mtcnn (checkpoint: none); apex_mode spotting (checkpoint: midpoint)" in printed


def test_no_existing_input_fails_before_the_checkpoint(tmp_path, capsys):
    # the checkpoint does not exist either: the missing inputs are reported first, exit status 2
    rc = main(["predict", str(tmp_path / "missing.pt"), str(tmp_path / "a.mp4"), str(tmp_path / "b")])
    assert rc == 2
    err = capsys.readouterr().err
    assert f"no input exists: {tmp_path / 'a.mp4'}, {tmp_path / 'b'}" in err and "missing.pt" not in err


def test_bad_checkpoint_exit_2(tmp_path, capsys, face_videos):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert main(["predict", str(text), str(face_videos / "no_face.mp4")]) == 2
    assert "notes.txt is not a CMNet checkpoint (not a PyTorch file" in capsys.readouterr().err


def test_out_naming_an_existing_file_is_refused_and_kept(tmp_path, capsys, face_videos):
    target = tmp_path / "results.csv"
    target.write_text("my earlier results\n")
    rc = main(["predict", "demo", str(face_videos / "single_face.mp4"), "--out", str(target)])
    assert rc == 2
    assert "is an existing file, not a folder" in capsys.readouterr().err
    assert target.read_text() == "my earlier results\n"  # the user's file is untouched


def test_one_unreadable_video_in_a_folder_does_not_stop_the_others(tmp_path, face_videos, capsys):
    """Review D5: a folder of videos with one that cannot be read predicts (and preprocesses) the others and lists
    the bad one as failed."""
    import shutil
    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copy(face_videos / "single_face.mp4", folder / "a.mp4")
    (folder / "b.mp4").write_text("not a video\n" * 20)
    rc = main(["predict", "demo", str(folder), "--out", str(tmp_path / "out"), "--device", "cpu",
               "--landmarks", "none"])
    out = capsys.readouterr().out
    assert rc == 1 and "1 clip(s) predicted, 1 failed" in out and "b.mp4" in out
    rc = main(["preprocess", str(folder), "--out", str(tmp_path / "pp"), "--size", "32", "--landmarks", "none",
               "--no-cache"])
    captured = capsys.readouterr()
    assert rc == 1 and "1 clips: 1 done" in captured.out and "b.mp4" in captured.err


def test_demo_is_a_checkpoint_name_for_evaluate_and_fine_tuning(tmp_path, capsys):
    """Review: `cmnet evaluate demo DB` and `cmnet train DB --from demo` take the shipped demo model by name."""
    from cmnet_core.data.synthetic_writer import write_synthetic_database
    db = tmp_path / "db"
    write_synthetic_database(db, n_subjects=2, clips_per_class=1, image_size=64,
                             labels=("happiness", "surprise", "disgust", "repression"))
    rc = main(["evaluate", "demo", str(db), "--out", str(tmp_path / "ev"), "--device", "cpu"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    rc = main(["train", str(db), "--from", "demo", "--epochs", "1", "--batch-size", "4", "--cache", "off",
               "--device", "cpu", "--run-dir", str(tmp_path / "ft")])
    out, err = capsys.readouterr()
    assert rc == 0 and "does not exist" not in err, err
    assert (tmp_path / "ft" / "checkpoints" / "final.pt").exists()


def test_a_single_image_is_refused_with_what_to_open_instead(face_videos, tmp_path):
    import csv

    from cmnet_core.cli import main

    assert main(["predict", "demo", str(face_videos / "single_face.jpg"), "--out", str(tmp_path / "o")]) == 1
    (row,) = list(csv.DictReader(open(tmp_path / "o" / "predictions.csv", encoding="utf-8")))
    assert row["status"] == "failed" and "is a single image" in row["error"] and "open the video" in row["error"]
