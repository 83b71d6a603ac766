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
