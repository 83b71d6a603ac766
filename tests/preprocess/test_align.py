"""One similarity transform per clip: eyes level, face centred, border replicated outside the frame."""
import cv2
import numpy as np
import pytest

from cmnet_core.preprocess.align import (MIN_MARGIN, alignment_matrix, centre_crop_matrix, fit_crop, outside_extent,
                                         outside_note, padded_fraction, warp)
from cmnet_core.preprocess.errors import PreprocessError
from cmnet_core.preprocess.face import MTCNNBackend


def _eye_angle_deg(points):
    d = points[1] - points[0]
    return float(np.degrees(np.arctan2(d[1], d[0])))


def _apply(matrix, points):
    return np.asarray(points) @ matrix[:, :2].T + matrix[:, 2]


def test_matrix_levels_eyes_and_centres_face():
    face = np.array([[100, 100], [160, 100], [130, 135], [108, 170], [152, 170]], dtype=float)
    theta = np.radians(17.0)
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    tilted = (face - [130, 130]) @ rot.T + [300, 220]
    m = alignment_matrix(tilted, 224, 0.6)
    out = _apply(m, tilted)
    assert abs(out[0, 1] - out[1, 1]) < 1e-9                         # eyes level
    assert abs((out[0, 0] + out[1, 0]) / 2 - 111.5) < 1e-9           # eye centre on the vertical midline
    assert out[0, 1] < 111.5 < (out[3, 1] + out[4, 1]) / 2          # eyes above the centre, mouth below
    unit = max(60.0, 70.0)                                           # max(eye distance, eye-mouth distance)
    assert np.isclose(np.linalg.norm(out[1] - out[0]), 60.0 * 224 / ((2.4 + 1.2) * unit))


def test_degenerate_landmarks_raise():
    with pytest.raises(PreprocessError, match="degenerate"):
        alignment_matrix(np.zeros((5, 2)), 224, 0.6)


def test_centre_crop_and_flat_padding_are_exact():
    img = np.tile(np.arange(40, dtype=np.uint8)[None, :, None] * 5, (20, 1, 3))   # horizontal ramp 0..195
    m = centre_crop_matrix(40, 20, 20)                  # 20x20 centre square, scale 1
    np.testing.assert_array_equal(warp(img, m, 20), img[:, 10:30])
    shifted = m.copy()
    shifted[0, 2] += 15                                  # move 15 px right: 5 columns from beyond the left edge
    out = warp(img, shifted, 20)
    assert outside_extent(shifted, (40, 20), 20) == {"left": 5, "top": 0, "right": 0, "bottom": 0}
    # outside the frame: the frame's mean colour (97.5 -> 98), not stripes of repeated edge pixels
    np.testing.assert_array_equal(out[:, :5, 0], np.full((20, 5), 98))
    np.testing.assert_array_equal(out[:, 6:, 0], img[:, 1:15, 0])
    assert "left 5 px" in outside_note(shifted, (40, 20), 20) and "25.0% of the crop padded" in \
        outside_note(shifted, (40, 20), 20)
    assert padded_fraction(shifted, (40, 20), 20) == pytest.approx(0.25)


def casme2_raw_like_points():
    """Landmarks of a face low in a 640x480 frame, as in CASME II RAW (the chin near the bottom edge)."""
    return np.array([[265.0, 300.0], [375.0, 300.0], [320.0, 350.0], [280.0, 398.0], [360.0, 398.0]])


def test_fit_crop_keeps_a_face_near_the_bottom_edge_inside_the_frame():
    pts = casme2_raw_like_points()
    plain = alignment_matrix(pts, 224, 0.6)
    assert outside_extent(plain, (640, 480), 224)["bottom"] > 10 and padded_fraction(plain, (640, 480), 224) > 0.05
    m, info = fit_crop(pts, (640, 480), 224, 0.6)
    assert padded_fraction(m, (640, 480), 224) < 0.03 and info["padded"] < 0.03
    assert MIN_MARGIN <= info["margin"] <= 0.6 and info["shift_px"] > 0
    face = cv2.transform(pts[None], m)[0]                  # every landmark still well inside the crop
    assert face.min() > 0.1 * 224 and face.max() < 0.9 * 224


def test_fit_crop_leaves_a_centred_face_alone():
    pts = casme2_raw_like_points() - [0, 120]              # the same face higher up: the crop fits as it is
    m, info = fit_crop(pts, (640, 480), 224, 0.6)
    np.testing.assert_allclose(m, alignment_matrix(pts, 224, 0.6))
    assert info == {"margin": 0.6, "shift_px": 0.0, "padded": 0.0}


@pytest.fixture(scope="module")
def mtcnn():
    return MTCNNBackend()


def test_real_face_rotated_10_degrees_comes_out_level(face_videos, mtcnn):
    img = cv2.cvtColor(cv2.imread(str(face_videos / "single_face.jpg")), cv2.COLOR_BGR2RGB)
    h, w = img.shape[:2]
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), 10, 1.0)
    rotated = cv2.warpAffine(img, rot, (w, h), borderMode=cv2.BORDER_REPLICATE)
    before = mtcnn.detect(img)[0].points
    faces = mtcnn.detect(rotated)
    assert len(faces) == 1
    assert abs(abs(_eye_angle_deg(faces[0].points) - _eye_angle_deg(before)) - 10) < 2  # the tilt is seen
    m = alignment_matrix(faces[0].points, 224, 0.6)
    crop = warp(rotated, m, 224)
    again = mtcnn.detect(crop)
    assert len(again) == 1
    assert abs(_eye_angle_deg(again[0].points)) < 2.0
    eyes = again[0].points[:2].mean(0)
    assert abs(eyes[0] - 111.5) < 224 * 0.05                         # centred horizontally
    assert 0.2 * 224 < eyes[1] < 0.5 * 224                           # eyes in the upper half
    box = again[0].box
    assert box[0] > 0 and box[2] < 224 and box[3] < 224              # whole face inside the crop
