"""Candidates in a long video from the window: spotted in a worker, listed, a click jumps, K accepts one as the
clip's annotation (undoable), CSV and ELAN export."""
from __future__ import annotations

import csv

import pympi

from cmnet_core.data.synthetic_long import synthetic_long_video
from cmnet_core.spotting import ACCEPTED_NOTE, interval_iou

from test_main_window import open_clip_in


def test_spot_list_jump_accept_and_export(make_window, tmp_path, qtbot):
    clip, (true,) = synthetic_long_video(0, 10 / 60, n_expressions=1, micro_fraction=1.0, blinks_per_minute=12)
    w = make_window()
    open_clip_in(w, clip, tmp_path / "s.json")
    w.candidates_dock.show()
    w.candidates_panel.spot_button.click()
    qtbot.waitUntil(lambda: w.spotting.task is None and bool(w.spotting.candidates), timeout=60_000)
    panel = w.candidates_panel
    assert panel.table.rowCount() == len(w.spotting.candidates) and "candidate" in panel.summary.text()
    bands = w.intensity_plot.candidate_bands          # shaded on the plot's time axis, micro and macro apart
    assert [tuple(round(v + 0.5 * s) for v, s in zip(b.getRegion(), (1, -1))) for b in bands] == [
        (c.onset, c.offset) for c in w.spotting.candidates]
    best = max(range(len(w.spotting.candidates)), key=lambda i: w.spotting.candidates[i].score)
    cand = w.spotting.candidates[best]
    assert interval_iou((cand.onset, cand.offset), (true.onset, true.offset)) >= 0.5
    panel.table.selectRow(best)
    panel.jumpRequested.emit(best)                                   # a click on the row
    assert w.state.frame == cand.onset
    before = w.state.annotation()
    w.actions_by_name["accept_candidate"].trigger()                  # K
    ann = w.state.annotation()
    assert (ann.onset, ann.apex, ann.offset, ann.notes, ann.apex_source) == (
        cand.onset, cand.apex, cand.offset, ACCEPTED_NOTE, "spotted")
    w.commands.undo_stack.undo()
    assert w.state.annotation() == before                           # one undoable edit
    out = w.spotting.export("csv", str(tmp_path / "c.csv"))
    rows = list(csv.DictReader(open(out, encoding="utf-8")))
    assert len(rows) == len(w.spotting.candidates) and int(rows[best]["onset"]) == cand.onset
    eaf = pympi.Elan.Eaf(str(w.spotting.export("eaf", str(tmp_path / "c.eaf"))))
    assert any(len(eaf.get_annotation_data_for_tier(t)) == len(rows) for t in eaf.get_tier_names())
    other, _ = synthetic_long_video(1, 10 / 60, n_expressions=1)
    open_clip_in(w, other, tmp_path / "other.json")
    assert w.intensity_plot.candidate_bands == [] and w.candidates_panel.table.rowCount() == 0


def test_a_still_image_is_refused_and_exports_open_beside_the_video(make_window, tmp_path, qtbot, messages,
                                                                    monkeypatch):
    """review21 #10: spotting a still image fails with spot()'s reason in the panel; #18/#30: the candidates'
    save dialog opens beside the video and the export never replaces it."""
    import cv2
    import numpy as np

    from app import dialogs
    from cmnet_core.data.readers import open_clip
    from cmnet_core.magnify import write_video
    from cmnet_core.spotting import Candidate

    cv2.imwrite(str(tmp_path / "still.png"), np.full((32, 32, 3), 90, np.uint8))
    w = make_window()
    open_clip_in(w, open_clip(tmp_path / "still.png"), tmp_path / "s.json")
    w.candidates_dock.show()
    w.candidates_panel.spot_button.click()
    qtbot.waitUntil(lambda: w.spotting.task is None and "not spotted" in w.candidates_panel.summary.text(),
                    timeout=30_000)
    assert "a still image has no motion to spot" in w.candidates_panel.summary.text()

    video = write_video(np.zeros((6, 16, 16, 3), np.uint8), tmp_path / "rec.mp4", 25.0)
    before = video.read_bytes()
    open_clip_in(w, open_clip(video), tmp_path / "r.json")
    w.spotting.clip, w.spotting.candidates = w.spotting.doc.clip, [Candidate(1, 2, 3, 0.12, "micro", "nose", 0.5)]
    asked = []
    monkeypatch.setattr(dialogs, "save_file", lambda parent, title, suggestion, flt: asked.append(suggestion)
                        or str(video))
    assert w.spotting.export("csv") is None and w.spotting.export("eaf") is None
    assert asked == [str(tmp_path / "rec_candidates.csv"), str(tmp_path / "rec_candidates.eaf")]
    assert "is the input file" in messages[-1][2] and video.read_bytes() == before


def test_spotting_summary_says_when_times_are_assumed(make_window, tmp_path, qtbot):
    """A frame folder without a known rate: micro vs macro depends on the assumed 30 fps, so the panel says so."""
    clip, _ = synthetic_long_video(0, 10 / 60, n_expressions=1, micro_fraction=1.0, blinks_per_minute=12)
    clip.source.time_source = "assumed"
    w = make_window()
    open_clip_in(w, clip, tmp_path / "a.json")
    w.candidates_panel.spot_button.click()
    qtbot.waitUntil(lambda: w.spotting.task is None and w.spotting.clip is not None, timeout=60_000)
    assert "times assume 30 fps" in w.candidates_panel.summary.text()
