"""Facial motion on whole frames: the face located by MTCNN (`locate_face`, weights inside the facenet-pytorch
wheel, offline), the flow and the region curves computed on its box, not on the frame squashed to a square."""
from __future__ import annotations

import numpy as np
import pytest

from cmnet_core.motion import REGIONS, region_curves, residual_flow
from cmnet_core.preprocess.face import FaceLocation, locate_face


def _inside(box, outer) -> bool:
    x, y, w, h = box
    ox, oy, ow, oh = outer
    return ox <= x and oy <= y and x + w <= ox + ow and y + h <= oy + oh


def test_locate_face_finds_the_face_off_centre(whole_frame_clip):
    clip, true_box, true_points = whole_frame_clip()
    found = locate_face(clip.frame(1))
    assert isinstance(found, FaceLocation) and found.score > 0.9
    x, y, w, h = found.box
    assert w == h and 60 <= w <= 140                          # square, about the face (128 px crop, chin to brows)
    assert _inside(found.box, (true_box[0] - 12, true_box[1] - 12, 152, 152))   # on the face, not the background
    assert np.abs(found.points - true_points).max() < 8        # the 5 landmarks within 8 px of the truth
    assert found.corners == (x, y, x + w, y + h)
    assert np.allclose(found.points_in_box(), found.points - [x, y])


def test_locate_face_clamps_to_the_frame_and_says_none_without_a_face(whole_frame_clip):
    clip, _, _ = whole_frame_clip(at=(0, 0))                   # the face in the top left corner
    x, y, w, h = locate_face(clip.frame(1), margin=0.5).box
    assert x == 0 and y == 0 and w <= 320 and h <= 240
    empty, _, _ = whole_frame_clip(face=False)
    assert locate_face(empty.frame(1)) is None
    with pytest.raises(ValueError, match="uint8 RGB"):
        locate_face(np.zeros((20, 20), np.uint8))
    with pytest.raises(ValueError, match="margin"):
        locate_face(clip.frame(1), margin=-0.1)


def test_region_curves_on_whole_frames_name_the_brows_like_on_the_crop(whole_frame_clip):
    clip, _, _ = whole_frame_clip("surprise")
    ann = clip.annotation
    frames = np.stack([clip.frame(n) for n in clip.frame_numbers])
    onset, apex = ann.onset - 1, ann.apex - 1
    found = locate_face(frames[onset])
    curves = region_curves(frames, reference=onset, landmarks=found.points, face_box=found.box)
    at_apex = {r: curves[r][apex] for r in REGIONS}
    top2 = sorted(at_apex, key=at_apex.get, reverse=True)[:2]
    assert set(top2) == {"left_brow", "right_brow"}, at_apex  # a surprise raises the brows
    assert min(at_apex["left_brow"], at_apex["right_brow"]) > 3 * at_apex["chin"]
    # the same frames without the face box: regions at fixed fractions of the whole frame, on the background
    blind = region_curves(frames, reference=onset)
    assert max(blind, key=lambda r: blind[r][apex]) not in ("left_brow", "right_brow") or \
        blind["left_brow"][apex] < 0.5 * at_apex["left_brow"]


def test_residual_flow_on_the_face_box_ignores_the_moving_background(whole_frame_clip):
    clip, _, _ = whole_frame_clip("surprise")
    ann = clip.annotation
    a, b = clip.frame(ann.onset), clip.frame(ann.apex)
    found = locate_face(a)
    flow = residual_flow(a, b, 128, box=found.box, landmarks=found.points)
    assert flow.shape == (128, 128, 2)
    mag = np.linalg.norm(flow, axis=2)
    lm = (found.points - found.box[:2]) * 128 / found.box[2]
    brow_y = int(lm[:2, 1].mean() - 0.35 * (lm[1, 0] - lm[0, 0]))
    brows = mag[max(brow_y - 6, 0):brow_y + 6, int(lm[0, 0]) - 8:int(lm[1, 0]) + 8]
    mouth = mag[int(lm[3, 1]) + 10:int(lm[3, 1]) + 20, int(lm[3, 0]):int(lm[4, 0])]
    assert brows.mean() > 0.25 and brows.mean() > 5 * mouth.mean(), (brows.mean(), mouth.mean())
    with pytest.raises(ValueError, match="does not fit"):
        residual_flow(a, b, 64, box=(300, 200, 100, 100))


def test_the_map_on_a_face_box_leaves_its_corners_clear():
    from cmnet_core.motion import face_ellipse, flow_to_rgba

    flow = np.full((64, 64, 2), 2.0, np.float32)                 # everything moved 2.8 px
    weight = face_ellipse(64, 64)
    assert weight[32, 32] == 1.0 and weight[0, 0] == 0.0 and weight[2, 32] == 1.0 and weight[32, 2] == 0.0
    alpha = flow_to_rgba(flow, opacity=1.0, min_px=0.5, weight=weight)[..., 3]
    assert alpha[32, 32] == 255 and alpha[0, 0] == 0 and alpha[63, 63] == 0
    assert (flow_to_rgba(flow, opacity=1.0, min_px=0.5)[..., 3] == 255).all()
    with pytest.raises(ValueError, match="weight"):
        flow_to_rgba(flow, weight=np.ones((8, 8)))


def test_magnify_face_and_spot_use_the_same_face_location(whole_frame_clip):
    from cmnet_core.commands.magnify import FACE_MARGIN, face_crop
    from cmnet_core.commands.spot import _landmarks

    clip, _, true_points = whole_frame_clip()
    frame = clip.frame(1)
    x0, y0, x1, y1 = face_crop(frame)
    assert (x0, y0, x1, y1) == locate_face(frame, margin=FACE_MARGIN).corners and x1 - x0 == y1 - y0
    assert np.abs(_landmarks(clip) - true_points).max() < 8
    empty, _, _ = whole_frame_clip(face=False)
    assert face_crop(empty.frame(1)) is None and _landmarks(empty) is None
