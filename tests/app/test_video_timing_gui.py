"""The window's times come from the decoded timestamps (issue 13): frame label, timeline, playback; a video's frame
index is built off the GUI thread; a bare frame folder has an fps field, remembered per folder, and its times are
marked assumed until it is set."""
import threading
import time

import cv2
import numpy as np
import pytest

from app import commands as C
from cmnet_core.data.readers import VideoSource
from cmnet_core.data.timed_video import frame_pixels, write_timed_video


@pytest.fixture
def vfr_video(tmp_path):
    return write_timed_video(tmp_path, "vfr")      # 30 frames at 0, 60, 80, 140, 160 ... ms


@pytest.fixture
def bare_folder(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(10):
        cv2.imwrite(str(folder / f"img{i}.png"), frame_pixels(i))
    return folder


def test_vfr_video_label_timeline_and_playback_use_pts(make_window, vfr_video, qtbot, monkeypatch):
    gui = threading.current_thread()
    index_threads = []
    build = VideoSource.build_index

    def recording_build(self, cancelled=None):
        if not self.is_indexed:                           # this call builds the index
            index_threads.append(threading.current_thread())
            time.sleep(0.3)                               # a slow probe: the GUI must keep running meanwhile
        return build(self, cancelled)

    monkeypatch.setattr(VideoSource, "build_index", recording_build)
    w = make_window()
    ticks = []
    timer = w.startTimer(20)
    monkeypatch.setattr(w, "timerEvent", lambda ev: ticks.append(ev.timerId()))
    w.commands.execute(C.OpenPath, path=str(vfr_video))
    w.killTimer(timer)
    assert len(index_threads) == 1 and index_threads[0] is not gui
    assert len(ticks) >= 5                                # the event loop ran while the index was built
    clip = w.state.clip
    assert clip.time_source == "pts" and len(clip) == 30
    w.commands.execute(C.GoToFrame, frame=3)
    assert "t = 0.140 s (pts, variable frame rate)" in w.frame_label.text()   # 3 / 24.56 fps would say 0.122
    assert w.timeline.last_time_s == pytest.approx(1.18)
    # playback shows the frame whose pts is due: 0.07 s after frame 0 → frame 1 (0.06 s); frame / fps said 2
    w.speed.setCurrentIndex(w.speed.findData(1.0))
    w.commands.execute(C.GoToFrame, frame=0)
    w.playback._origin = (time.monotonic() - 0.07, 0.0)
    w.playback.timer.start()
    w.playback._tick()
    w.playback.stop()
    assert w.state.frame == 1


def test_bare_folder_fps_field_marks_assumed_times_and_is_remembered(make_window, bare_folder, qtbot, messages):
    w = make_window()
    w.commands.execute(C.OpenPath, path=str(bare_folder))
    assert w.state.clip.time_source == "assumed" and w.fps_box.isVisibleTo(w)
    assert w.fps_label.text() == "frame rate (assumed):"
    w.commands.execute(C.GoToFrame, frame=6)
    assert "t = 0.200 s  ASSUMED 30 fps" in w.frame_label.text()
    # a prediction made with the assumed rate is re-timed when the rate is set
    from cmnet_core.inference import Prediction

    clip = w.state.clip
    frame_map = np.array([0.0, 3.0, 6.0, 9.0])
    w.state.set_prediction(Prediction(
        labels=["a", "b"], probabilities=np.array([0.4, 0.6]), intensity=np.full(4, 0.5), proto_mean=np.full(4, 0.5),
        proto_sigma=np.full(4, 0.1), frame_map=frame_map, apex_position=2, fps=clip.fps,
        clip_name=clip.name, source=str(clip.path), position_times=frame_map / 30, time_source="assumed",
        timing_note=clip.timing_note, provenance={"notes": [clip.timing_note, "another note"]}))
    w.fps_box.setValue(200.0)
    assert w.state.clip.time_source == "nominal" and w.fps_label.text() == "frame rate:"
    assert "t = 0.030 s  @ 200 fps" in w.frame_label.text()
    pred = w.state.prediction
    assert pred.time_source == "nominal" and pred.timing_note is None and pred.provenance["notes"] == ["another note"]
    np.testing.assert_allclose(pred.times, frame_map / 200)
    assert [r["time_source"] for r in pred.table()] == ["nominal"] * 4
    # remembered for this folder: opened again, it keeps 200 fps
    w.commands.execute(C.OpenPath, path=str(bare_folder))
    assert w.state.clip.fps == 200.0 and w.state.clip.time_source == "nominal"
    # the app's --fps (OpenPath fps=) wins and is remembered
    w.commands.execute(C.OpenPath, path=str(bare_folder), fps=50.0)
    assert w.state.clip.fps == 50.0 and w.settings.remembered_fps(bare_folder) == 50.0
    assert not [m for m in messages if m[0] == "error"]


def test_video_has_no_fps_field(make_window, vfr_video):
    w = make_window()
    w.commands.execute(C.OpenPath, path=str(vfr_video))
    assert not w.fps_box.isVisibleTo(w)


def test_app_parses_fps():
    from app.main import parse_args

    assert parse_args(["folder", "--fps", "200"]).fps == 200.0
    with pytest.raises(SystemExit):
        parse_args(["folder", "--fps", "0"])


def test_folder_of_videos_is_indexed_off_the_gui_thread(make_window, tmp_path, monkeypatch):
    folder = tmp_path / "videos"
    folder.mkdir()
    write_timed_video(folder, "vfr")
    write_timed_video(folder, "h264_avi")
    gui = threading.current_thread()
    builders = []
    build = VideoSource.build_index

    def recording_build(self, cancelled=None):
        if not self.is_indexed:
            builders.append(threading.current_thread())
        return build(self, cancelled)

    monkeypatch.setattr(VideoSource, "build_index", recording_build)
    w = make_window()
    w.commands.execute(C.OpenPath, path=str(folder))
    assert len(builders) == 2 and gui not in builders
    frames = [w.clip_list.model.item(r, 3).text() for r in range(w.clip_list.model.rowCount())]
    assert frames == ["30", "30"]
    w.files.select_clip(1)
    assert w.state.clip.name == "vfr.mp4" and len(builders) == 2
    assert "(pts, variable frame rate)" in w.frame_label.text()
