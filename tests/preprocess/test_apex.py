"""Apex helpers: position mapping, midpoint, spotting scores that ignore flicker and head drift."""
import cv2
import numpy as np
import pytest

from cmnet_core.preprocess.apex import apex_position, midpoint, motion_score, spotting_image
from cmnet_core.preprocess.errors import PreprocessError


def test_apex_position_maps_to_nearest_of_the_n():
    fmap = np.array([46, 50, 54, 58, 62.0])
    assert apex_position(fmap, 46) == 0
    assert apex_position(fmap, 55) == 2
    assert apex_position(fmap, 56) == 2                  # tie 54/58: the earlier position
    assert apex_position(fmap, 99) == 4
    assert apex_position(np.array([10, 10.4, 10.8, 11.2]), 11) == 2


def test_midpoint():
    assert midpoint([5, 6, 7, 8, 9]) == 7
    assert midpoint([5, 6, 7, 8]) == 6
    with pytest.raises(PreprocessError):
        midpoint([])


@pytest.fixture(scope="module")
def face_crop(face_videos):
    img = cv2.cvtColor(cv2.imread(str(face_videos / "single_face.jpg")), cv2.COLOR_BGR2RGB)
    return cv2.resize(img[60:480, 80:500], (224, 224), interpolation=cv2.INTER_AREA)


def test_spotting_ignores_flicker_and_small_head_drift(face_crop):
    onset = spotting_image(face_crop)
    brighter = spotting_image(np.clip(face_crop.astype(float) * 1.05, 0, 255).astype(np.uint8))
    drifted = spotting_image(cv2.warpAffine(face_crop, np.float32([[1, 0, 1.5], [0, 1, -1.0]]), (224, 224),
                                            borderMode=cv2.BORDER_REPLICATE))
    moved = face_crop.copy()
    moved[150:190, 60:160] = face_crop[146:186, 60:160]                # mouth region raised by 4 px
    local = spotting_image(moved)
    assert motion_score(onset, onset) == pytest.approx(0.0, abs=1e-6)
    assert motion_score(drifted, onset) < 0.4 * float(np.mean(np.abs(drifted - onset)))  # drift registered
    assert motion_score(brighter, onset) < 0.2 * 0.05                   # 5 % flicker cancels (<1 % left)
    assert motion_score(local, onset) > 1.5 * motion_score(drifted, onset)
    assert motion_score(local, onset) > 2 * motion_score(brighter, onset)
