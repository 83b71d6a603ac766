"""Explicit outcomes on the real files in ../shared/data/face_videos (MTCNN on the CPU)."""
import cv2
import numpy as np
import pytest

from cmnet_core.data.readers import open_clip
from cmnet_core.preprocess.align import alignment_matrix, padded_fraction, warp
from cmnet_core.preprocess.errors import NoFaceError, PreprocessError
from cmnet_core.preprocess.face import detect_faces, get_backend
from cmnet_core.preprocess.pipeline import preprocess_clip
from cmnet_core.preprocess.types import PreprocessSettings

SETTINGS = PreprocessSettings(image_size=112, landmarks="mtcnn", apex_mode="midpoint")


@pytest.fixture(scope="module")
def mtcnn():
    return get_backend("mtcnn")


def test_no_face_video_raises_naming_file_and_frames(face_videos):
    clip = open_clip(face_videos / "no_face.mp4")
    with pytest.raises(NoFaceError) as err:
        preprocess_clip(clip, SETTINGS)
    assert isinstance(err.value, PreprocessError)
    msg = str(err.value)
    assert "no_face.mp4" in msg and "frame 0 (onset)" in msg and str(clip.frame_numbers[-1]) in msg
    assert "landmarks 'none'" in msg


def test_multi_face_photo_takes_the_largest_face(face_videos, mtcnn):
    clip = open_clip(face_videos / "multi_face.jpg")
    result = preprocess_clip(clip, SETTINGS)
    faces = mtcnn.detect(clip.frame(0))
    assert len(faces) >= 2 and faces[0].area > faces[1].area
    assert any(f"{len(faces)} faces" in n and "largest" in n for n in result.notes)
    expected = warp(clip.frame(0), alignment_matrix(faces[0].points, 112, SETTINGS.margin), 112)
    np.testing.assert_array_equal(result.frames[0], expected)
    assert result.frames.shape == (16, 112, 112, 3) and np.all(result.frame_map == 0)


def test_face_leaving_the_view_is_noted(face_videos, mtcnn):
    clip = open_clip(face_videos / "face_noface.mov")
    result = preprocess_clip(clip, SETTINGS)
    last = clip.frame_numbers[-1]
    assert any(f"no face found in the last frame {last}" in n for n in result.notes)
    assert not any("aligned on frame" in n for n in result.notes)        # the onset had a face
    assert result.frame_map[0] == 0 and result.frame_map[-1] == last
    assert len(mtcnn.detect(result.frames[0])) == 1                       # face in the first crop
    assert mtcnn.detect(result.frames[-1]) == []                         # the cartoon sky in the last


def test_face_entering_the_view_aligns_on_first_frame_with_a_face(face_videos, mtcnn):
    clip = open_clip(face_videos / "noface_face.mov")
    result = preprocess_clip(clip, SETTINGS)
    note = next(n for n in result.notes if "no face in the onset frame 0" in n)
    ref = int(note.split("aligned on frame ")[1].split(",")[0])
    assert ref > 0 and ref in result.frame_map
    pos = int(np.flatnonzero(result.frame_map == ref)[0])
    faces = mtcnn.detect(result.frames[pos])
    assert len(faces) == 1
    eyes = faces[0].points[:2]
    assert abs(eyes[1, 1] - eyes[0, 1]) < 0.05 * 112                    # eyes level on the reference
    assert abs(eyes[:, 0].mean() - 55.5) < 0.1 * 112                     # and centred
    assert mtcnn.detect(result.frames[0]) == []                          # before the face: sky


def test_face_cut_at_its_box_is_cropped_within_the_frame_and_noted(face_videos, tmp_path, mtcnn):
    img = cv2.imread(str(face_videos / "single_face.jpg"))
    x0, y0, x1, y1 = mtcnn.detect(img[..., ::-1].copy())[0].box.astype(int)
    tight = img[max(0, y0):y1, max(0, x0):x1]                            # the frame ends at the face box
    path = tmp_path / "tight.png"
    cv2.imwrite(str(path), tight)
    result = preprocess_clip(open_clip(path), SETTINGS)
    h, w = tight.shape[:2]
    assert any("pre-cropped" in n for n in result.notes), result.notes
    assert padded_fraction(result.alignment, (w, h), 112) < 0.03              # no sea of padding
    crop = result.frames[0]
    assert crop.shape == (112, 112, 3)
    faces, _ = detect_faces(mtcnn, crop)
    assert len(faces) == 1 and faces[0].box[2] - faces[0].box[0] > 0.5 * 112


def test_one_full_frame_detection_per_clip(face_videos, monkeypatch):
    """Issue 17: the last-frame check runs the detector on a small view around the face, not on the whole frame."""
    from cmnet_core.preprocess.pipeline import CHECK_VIEW_PX

    seen = []
    detector = get_backend("mtcnn", None)   # the instance the pipeline asks for
    real = detector.detect
    monkeypatch.setattr(detector, "detect", lambda image: seen.append(image.shape) or real(image))
    clip = open_clip(face_videos / "face_noface.mov")
    result = preprocess_clip(clip, SETTINGS)
    frame = clip.frame(clip.frame_numbers[0]).shape
    assert seen == [frame, (CHECK_VIEW_PX, CHECK_VIEW_PX, 3)]
    assert any(f"no face found in the last frame {clip.frame_numbers[-1]}" in n for n in result.notes)


def _moving_face_clip(folder, face_videos, last_shift_px: int):
    """A 9-frame folder: single_face.jpg on a 1200x600 canvas at x = 40 px, the last frame at x = 40 + shift."""
    face = cv2.imread(str(face_videos / "single_face.jpg"))
    folder.mkdir()
    for i in range(9):
        canvas = np.full((600, 1200, 3), face.reshape(-1, 3).mean(0), np.uint8)
        x = 40 + (last_shift_px if i == 8 else 0)
        canvas[19:19 + face.shape[0], x:x + face.shape[1]] = face
        cv2.imwrite(str(folder / f"img{i:03d}.png"), canvas)
    return open_clip(folder)


@pytest.mark.parametrize("shift_px, noted", [(60, False), (580, True)])
def test_last_frame_check_finds_a_moved_face_nearby_and_notes_a_far_move(face_videos, tmp_path, shift_px, noted):
    """The check looks around the reference face only: a face moved by about half an eye distance is found; one
    moved by a face width or more (here: still in the frame) is noted, as a face that left the view (the note says
    so: "or move far"); before issue 17 the whole frame was searched and the far move went unnoted."""
    clip = _moving_face_clip(tmp_path / "moving", face_videos, shift_px)
    result = preprocess_clip(clip, SETTINGS)
    note = [n for n in result.notes if "no face found in the last frame" in n]
    assert bool(note) == noted, result.notes
    if noted:
        assert "or move far" in note[0]


def test_last_frame_check_finds_a_face_that_fills_its_frame(face_videos, tmp_path, mtcnn):
    """A pre-cropped clip (the frame ends at the face box): the check's view reaches past the frame (padded with the
    clip's mean colour) and still finds the face, so no 'left the view' note."""
    img = cv2.imread(str(face_videos / "single_face.jpg"))
    x0, y0, x1, y1 = mtcnn.detect(img[..., ::-1].copy())[0].box.astype(int)
    folder = tmp_path / "tight"
    folder.mkdir()
    for i in range(5):
        cv2.imwrite(str(folder / f"f{i:03d}.png"), img[max(0, y0):y1, max(0, x0):x1])
    result = preprocess_clip(open_clip(folder), SETTINGS)
    assert any("pre-cropped" in n for n in result.notes), result.notes
    assert not any("no face found in the last frame" in n for n in result.notes), result.notes
