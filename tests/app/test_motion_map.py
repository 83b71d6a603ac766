"""The motion map in the window: flow from the onset to the frame on screen, head motion removed, drawn over the
frame and updated while scrubbing; off on N."""
from __future__ import annotations

import numpy as np

from app.commands import GoToFrame
from app.controllers.motion import reference_frame
from cmnet_core.data.synthetic import make_synthetic_clip

from test_main_window import open_clip_in


def test_motion_map_follows_the_frame_on_screen(make_window, tmp_path, qtbot):
    clip = make_synthetic_clip(5, "surprise", image_size=96, n_frames=40, amplitude_px=12.0)
    w = make_window()
    open_clip_in(w, clip, tmp_path / "m.json")
    qtbot.waitUntil(lambda: w.frame_view.image.image is not None, timeout=10_000)
    onset, apex = clip.annotation.onset, clip.annotation.apex
    w.actions_by_name["motion_map"].trigger()                                   # N
    assert not w.magnify_dock.isHidden() and w.magnify_panel.motion.isChecked()
    w.commands.execute(GoToFrame, frame=onset)
    assert reference_frame(w.state, previous=False) is None and w.motion.last is None   # nothing moved yet
    w.commands.execute(GoToFrame, frame=apex)
    qtbot.waitUntil(lambda: w.motion.last is not None, timeout=10_000)
    at_apex = float(np.linalg.norm(w.motion.last, axis=2).max())
    assert at_apex > 0.3 and w.frame_view.motion.image is not None            # the expression moved the face
    assert w.frame_view.motion.image.shape[2] == 4
    w.commands.execute(GoToFrame, frame=onset + 1)                             # scrubbing updates the map
    qtbot.waitUntil(lambda: w.motion.last is not None, timeout=10_000)
    assert float(np.linalg.norm(w.motion.last, axis=2).max()) < at_apex
    w.actions_by_name["motion_map"].trigger()                                   # N again: off
    assert w.motion.last is None and w.frame_view.motion.image is None


def test_region_curves_under_the_intensity_plot(make_window, tmp_path, qtbot):
    clip = make_synthetic_clip(5, "surprise", image_size=96, n_frames=40, amplitude_px=12.0)
    w = make_window()
    open_clip_in(w, clip, tmp_path / "r.json")
    w.magnify_panel.regions_button.click()
    qtbot.waitUntil(lambda: w.motion.region_result is not None, timeout=30_000)
    frames, curves, blinks = w.motion.region_result
    ann = clip.annotation
    assert frames[0] <= ann.onset and frames[-1] >= ann.offset and not w.region_curves.widget.isHidden()
    i_on, i_apex = list(frames).index(ann.onset), list(frames).index(ann.apex)
    brows = curves["left_brow"] + curves["right_brow"]
    assert brows[i_apex] > brows[i_on] + 0.2                   # a surprise raises the brows by the apex
    assert len(w.region_curves._items) >= len(curves)
    assert w.region_curves.plot.getViewBox().linkedView(0) is w.intensity_plot.plot.getPlotItem().getViewBox()
    w.commands.edit_annotation("Set onset", onset=ann.onset + 2)             # measured from the new onset
    qtbot.waitUntil(lambda: w.motion.region_result is not None and w.motion.region_result[0] is not frames
                    and w.motion._regions_for[0] == ann.onset + 2, timeout=30_000)
    moved_from = list(w.motion.region_result[0]).index(ann.onset + 2)
    assert all(v[moved_from] == 0 for v in w.motion.region_result[1].values())   # no motion at the onset itself


def _alpha_in_frame(w, shape) -> np.ndarray:
    """The motion map's alpha laid out in frame pixels (H, W) as FrameView draws it (its rect)."""
    import cv2

    rgba = w.frame_view.motion.image
    r = w.frame_view.motion.mapRectToParent(w.frame_view.motion.boundingRect())
    x, y, bw, bh = (int(round(v)) for v in (r.x(), r.y(), r.width(), r.height()))
    out = np.zeros(shape, np.uint8)
    out[y:y + bh, x:x + bw] = cv2.resize(rgba[..., 3], (bw, bh), interpolation=cv2.INTER_NEAREST)
    return out


def test_motion_map_on_a_whole_frame_covers_only_the_face(make_window, tmp_path, qtbot, whole_frame_clip):
    clip, true_box, true_points = whole_frame_clip("surprise")        # face off-centre, drifting noisy background
    w = make_window()
    open_clip_in(w, clip, tmp_path / "w.json")
    qtbot.waitUntil(lambda: w.frame_view.image.image is not None, timeout=10_000)
    w.actions_by_name["motion_map"].trigger()                                   # N
    w.commands.execute(GoToFrame, frame=clip.annotation.apex)
    qtbot.waitUntil(lambda: w.motion.last is not None, timeout=60_000)         # after the worker found the face
    x, y, bw, bh = w.motion.rect
    assert true_box[0] - 12 <= x and x + bw <= true_box[0] + 140 and true_box[1] - 12 <= y and bw == bh
    assert "on the face (MTCNN" in w.magnify_panel.status.text()
    alpha = _alpha_in_frame(w, (240, 320))
    outside = np.ones_like(alpha, bool)
    outside[y:y + bh, x:x + bw] = False
    assert alpha[outside].max() == 0                                            # the background is not coloured
    eye_d = true_points[1, 0] - true_points[0, 0]
    brow_y = int(true_points[:2, 1].mean() - 0.35 * eye_d)
    brows = alpha[brow_y - 4:brow_y + 4, int(true_points[0, 0]):int(true_points[1, 0])]
    assert (brows > 0).mean() > 0.3                                             # the raised brows are coloured
    assert w.motion.faces[clip.annotation.onset] is not None                    # kept for the reference frame


def test_motion_map_without_a_face_falls_back_to_the_whole_frame(make_window, tmp_path, qtbot, whole_frame_clip):
    clip, _, _ = whole_frame_clip(face=False)
    w = make_window()
    open_clip_in(w, clip, tmp_path / "n.json")
    qtbot.waitUntil(lambda: w.frame_view.image.image is not None, timeout=10_000)
    w.actions_by_name["motion_map"].trigger()
    w.commands.execute(GoToFrame, frame=20)
    qtbot.waitUntil(lambda: w.motion.last is not None, timeout=60_000)
    assert w.motion.rect is None and w.magnify_panel.status.text() == (
        f"no face in frame {clip.annotation.onset}: motion map on the whole frame")   # the onset
    r = w.frame_view.motion.mapRectToParent(w.frame_view.motion.boundingRect())
    assert (r.width(), r.height()) == (320, 240)


def test_region_curves_on_a_whole_frame_follow_the_face(make_window, tmp_path, qtbot, whole_frame_clip):
    clip, _, _ = whole_frame_clip("surprise")
    w = make_window()
    open_clip_in(w, clip, tmp_path / "rw.json")
    w.magnify_panel.regions_button.click()
    qtbot.waitUntil(lambda: w.motion.region_result is not None, timeout=60_000)
    frames, curves, _ = w.motion.region_result
    i_apex = list(frames).index(clip.annotation.apex)
    at_apex = {r: c[i_apex] for r, c in curves.items()}
    assert set(sorted(at_apex, key=at_apex.get)[-2:]) == {"left_brow", "right_brow"}, at_apex
    assert "region curves on the face" in w.magnify_panel.status.text()


def test_spotting_a_whole_frame_passes_the_face(make_window, tmp_path, qtbot, whole_frame_clip, monkeypatch):
    import cmnet_core.spotting

    clip, _, true_points = whole_frame_clip("surprise")
    seen = {}

    def fake_spot(source, **kwargs):
        seen.update(kwargs)
        return []

    monkeypatch.setattr(cmnet_core.spotting, "spot", fake_spot)
    w = make_window()
    open_clip_in(w, clip, tmp_path / "sw.json")
    w.candidates_dock.show()
    w.candidates_panel.spot_button.click()
    qtbot.waitUntil(lambda: w.spotting.task is None and "landmarks" in seen, timeout=60_000)
    assert np.abs(np.asarray(seen["landmarks"]) - true_points).max() < 8       # MTCNN's, in frame pixels
    assert "spotted on the face (MTCNN, frame 1" in w.candidates_panel.summary.text()
