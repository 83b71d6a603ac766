"""Issue 13 parts 4 and 4b: crops stay inside the frame where the face allows (CASME II RAW faces near the bottom
edge), and a face that fills its frame (CASME II Cropped) is cropped as that face, not as a small face in padding;
and (review D8) preprocessing outputs are written whole or not at all."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from cmnet_core.data.clip import Annotation, Clip
from cmnet_core.data.readers import FolderSource
from cmnet_core.preprocess.align import padded_fraction
from cmnet_core.preprocess.face import MTCNNBackend, detect_faces
from cmnet_core.preprocess.pipeline import preprocess_clip
from cmnet_core.preprocess.types import PreprocessSettings

FACES = Path(__file__).resolve().parents[2] / "resources" / "faces"


def tight_face(name: str = "man_video_a") -> np.ndarray:
    """A real face cut cheek to cheek and brow to chin and scaled to 231 px wide, as in CASME II Cropped
    (231x282 px frames the face fills edge to edge): RGB uint8 (H, W, 3)."""
    img = cv2.cvtColor(cv2.imread(str(FACES / f"{name}.jpg")), cv2.COLOR_BGR2RGB)
    a = json.loads((FACES / "landmarks.json").read_text())["faces"][name]["anchors"]
    le, re_ = np.array(a["left_eye"]), np.array(a["right_eye"])
    iod, cx, ey = re_[0] - le[0], (le[0] + re_[0]) / 2, le[1]
    x0, x1, y0, y1 = int(cx - iod), int(cx + iod), int(max(0, ey - 0.7 * iod)), int(ey + 1.9 * iod)
    tight = np.ascontiguousarray(img[y0:y1, x0:x1])
    return cv2.resize(tight, (231, round(231 * tight.shape[0] / tight.shape[1])), interpolation=cv2.INTER_CUBIC)


def frame_folder(path: Path, frame: np.ndarray, n: int = 10) -> Path:
    path.mkdir(parents=True)
    for i in range(n):
        cv2.imwrite(str(path / f"reg_img{46 + i}.jpg"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture(scope="module")
def mtcnn():
    return MTCNNBackend()


@pytest.mark.parametrize("name", ["man_video_a", "woman_video_a", "single_jpg"])
def test_a_face_filling_its_frame_is_detected_as_that_face(mtcnn, name):
    face = tight_face(name)
    h, w = face.shape[:2]
    plain = mtcnn.detect(face)
    faces, note = detect_faces(mtcnn, face)
    x0, y0, x1, y1 = faces[0].box
    assert (x1 - x0) < 1.3 * w and (y1 - y0) < 1.3 * h, faces[0].box      # not a face 2.5x the image
    if plain:   # what MTCNN alone says, for the record: a box far past the frame
        assert plain[0].box[0] < -0.15 * (plain[0].box[2] - plain[0].box[0]) and "fills the frame" in note


def test_face_filling_its_frame_gives_a_crop_of_that_face_with_little_padding(tmp_path, mtcnn):
    face = tight_face()
    folder = frame_folder(tmp_path / "sub01" / "EP02_01f", face)
    clip = Clip(source=FolderSource(folder, 200.0), name="EP02_01f", subject="sub01",
                annotation=Annotation(onset=46, apex=50, offset=55))
    settings = PreprocessSettings(image_size=64, num_frames=8)           # default landmarks ("auto")
    result = preprocess_clip(clip, settings)
    share = padded_fraction(result.alignment, (face.shape[1], face.shape[0]), 64)
    assert share < 0.03 and result.padded == pytest.approx(share), (share, result.notes)
    crop = cv2.resize(result.frames[0], (192, 192), interpolation=cv2.INTER_CUBIC)
    again, _ = detect_faces(mtcnn, crop)
    assert again and (again[0].box[2] - again[0].box[0]) > 0.5 * 192      # the face fills the crop
    eyes = again[0].points[:2]
    assert 0.3 * 192 < eyes[1, 0] - eyes[0, 0] < 0.7 * 192 and 0.2 * 192 < eyes[:, 1].mean() < 0.55 * 192
    assert any("pre-cropped" in n for n in result.notes)


def test_casme2_raw_like_frame_gives_under_3_percent_padding(tmp_path):
    """A 640x480 frame whose face sits low (chin near the bottom edge), cropped with landmark hints."""
    from tests.preprocess.test_align import casme2_raw_like_points
    frame = np.full((480, 640, 3), 90, np.uint8)
    frame[400:, :] = 200                                                   # "shirt" below the face
    folder = frame_folder(tmp_path / "raw", frame)
    pts = casme2_raw_like_points()
    clip = Clip(source=FolderSource(folder, 200.0), name="raw", annotation=Annotation(onset=46, apex=50, offset=55),
                landmarks_hint=pts)
    result = preprocess_clip(clip, PreprocessSettings(image_size=64, num_frames=8, landmarks="hint"))
    assert padded_fraction(result.alignment, (640, 480), 64) < 0.03
    assert any("face near the frame edge" in n for n in result.notes), result.notes


def test_a_real_face_low_in_a_640x480_frame_gives_under_3_percent_padding(tmp_path, face_videos):
    """CASME II RAW: 640x480 frames with the chin near the bottom edge; the default landmarks find the face."""
    img = cv2.cvtColor(cv2.imread(str(face_videos / "single_face.jpg")), cv2.COLOR_BGR2RGB)
    face = MTCNNBackend().detect(img)[0]
    x0, y0, x1, y1 = face.box.astype(int)
    h = y1 - y0
    cut = img[max(0, y0 - h // 2):y1, max(0, x0 - h // 3):x1 + h // 3]   # ends at the chin
    scale = 300 / cut.shape[0]   # a face of about 200 px, as in CASME II
    cut = cv2.resize(cut, (round(cut.shape[1] * scale), 300))
    frame = np.full((480, 640, 3), 60, np.uint8)
    left = (640 - cut.shape[1]) // 2
    frame[480 - 300:, left:left + cut.shape[1]] = cut[:, :min(cut.shape[1], 640 - left)]   # chin at the bottom
    folder = frame_folder(tmp_path / "sub01" / "EP01_01", frame)
    clip = Clip(source=FolderSource(folder, 200.0), name="EP01_01", annotation=Annotation(onset=46, apex=50,
                                                                                          offset=55))
    result = preprocess_clip(clip, PreprocessSettings(image_size=64, num_frames=8))
    assert result.padded < 0.03, (result.padded, result.notes)


def test_outputs_are_written_whole_or_not_at_all(tmp_path, monkeypatch):
    """Review D8: a disk that fills up halfway through a clip's PNGs leaves neither a half-written clip folder nor
    a temporary one, keeps the previous outputs, and says "disk full"."""
    from cmnet_core.preprocess import export
    from cmnet_core.safe_write import DiskFullError
    from cmnet_core.preprocess.types import PreprocessedClip

    result = PreprocessedClip(frames=np.zeros((8, 16, 16, 3), np.uint8), frame_map=np.arange(8.0), apex_position=3,
                              apex_source="annotated", backend="none", settings=PreprocessSettings(16, 8))
    out = tmp_path / "pp" / "clip"
    export.write_outputs(result, out, source="x")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real, calls = export._write_png, []

    def flaky(path, rgb):
        calls.append(path)
        if len(calls) > 4:
            raise OSError(f"could not write {path}")
        real(path, rgb)

    monkeypatch.setattr(export, "_write_png", flaky)
    monkeypatch.setattr("cmnet_core.safe_write.free_mb", lambda path: 0.0)
    with pytest.raises(DiskFullError, match="disk full at .*clip"):
        export.write_outputs(result, out, source="y")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in (tmp_path / "pp").iterdir()) == ["clip"]   # no .partial folder left
