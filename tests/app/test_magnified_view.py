"""The magnified view in the window: computed in a worker, shown frame-exact beside the original (or alone),
off again on M, exported as a video."""
from __future__ import annotations

import av
import numpy as np

from app.commands import GoToFrame
from app.workspace.magnify_view import compose, magnify_window, working_size
from cmnet_core.data.clip import Annotation
from cmnet_core.data.synthetic import make_synthetic_clip

from test_main_window import open_clip_in


class Frames:  # magnify_window reads only the frame numbers
    frame_numbers = range(1, 501)


def test_window_size_and_composition():
    clip = Frames()
    assert magnify_window(clip, 10, Annotation(onset=100, offset=140)) == tuple(range(80, 161))
    window = magnify_window(clip, 10, Annotation())
    assert window[0] == 10 and len(window) == 200
    assert magnify_window(clip, 480, Annotation())[-1] == 500            # near the end: the last 200 frames
    assert magnify_window(clip, 10, Annotation(onset=300))[0] == 280      # an onset alone: from just before it
    assert working_size(2880, 2160) == (256, 192) and working_size(64, 48) == (64, 48)
    a, m = np.zeros((10, 8, 3), np.uint8), np.full((10, 8, 3), 200, np.uint8)
    assert compose(a, m, True).shape == (10, 20, 3) and (compose(a, m, False) == 200).all()
    assert compose(a, None, True) is a


def test_magnified_view_side_by_side_then_alone_then_off_and_export(make_window, tmp_path, qtbot):
    clip = make_synthetic_clip(5, "surprise", image_size=64, n_frames=40)
    w = make_window()
    open_clip_in(w, clip, tmp_path / "m.json")
    qtbot.waitUntil(lambda: w.frame_view.image.image is not None, timeout=10_000)
    original = w.frame_view.image.image.copy()
    w.actions_by_name["magnified"].trigger()                                    # M
    qtbot.waitUntil(lambda: w.magnify.shown is not None, timeout=30_000)
    assert not w.magnify_dock.isHidden() and "magnified" in w.magnify_panel.status.text()
    # the frame is redrawn through the filter (at once, or when the loader hands it back)
    qtbot.waitUntil(lambda: w.frame_view.image.image.shape[1] == 64 * 2 + 4, timeout=10_000)
    shown = w.frame_view.image.image
    assert shown.shape == (64, 64 * 2 + 4, 3)                                   # original | gap | magnified
    assert np.array_equal(shown[16:, :64], original[16:])                      # below the "original" badge
    assert not np.array_equal(shown[:16, :64], original[:16])                  # the badge
    index, frames = w.magnify.shown
    w.commands.execute(GoToFrame, frame=20)
    qtbot.waitUntil(lambda: w.state.shown_frame == 20, timeout=10_000)
    assert np.array_equal(w.frame_view.image.image[16:, 68:], frames[index[20]][16:])  # frame-exact
    w.magnify_panel.side_by_side.setChecked(False)
    qtbot.waitUntil(lambda: w.frame_view.image.image.shape == (64, 64, 3), timeout=10_000)
    assert np.array_equal(w.frame_view.image.image[16:], frames[index[20]][16:])
    badge_pixels = w.frame_view.image.image[:16]
    assert ((badge_pixels == [255, 255, 0]).all(axis=-1)).any()                 # "MAGNIFIED x10 linear", yellow
    assert w.frame_label.text().endswith("MAGNIFIED x10 linear")                # also where zooming keeps it
    out = w.magnify.export(str(tmp_path / "mag.mp4"))
    with av.open(str(out)) as c:
        assert sum(1 for _ in c.decode(video=0)) == len(index)
    w.actions_by_name["magnified"].trigger()                                    # M again: off
    assert w.magnify.shown is None
    qtbot.waitUntil(lambda: w.loader.peek(20) is not None, timeout=10_000)
    w.viewer.redraw()
    assert np.array_equal(w.frame_view.image.image, w.loader.peek(20))


def test_method_choice_recomputes_with_phase(make_window, tmp_path, qtbot):
    """The panel's method feeds MagnifySettings: phase gives other frames than linear, named in the status."""
    clip = make_synthetic_clip(5, "surprise", image_size=64, n_frames=40)
    w = make_window()
    open_clip_in(w, clip, tmp_path / "m.json")
    qtbot.waitUntil(lambda: w.frame_view.image.image is not None, timeout=10_000)
    w.magnify_panel.alpha.setValue(20)
    w.actions_by_name["magnified"].trigger()
    qtbot.waitUntil(lambda: w.magnify.shown is not None and w.magnify.task is None, timeout=30_000)
    assert w.magnify.settings().method == "linear" and w.magnify_panel.status.text().endswith(", linear")
    linear = w.magnify.shown[1]
    w.magnify_panel.method.setCurrentIndex(w.magnify_panel.method.findData("phase"))
    assert w.magnify.settings().method == "phase"
    qtbot.waitUntil(lambda: w.magnify.shown[1] is not linear and w.magnify.task is None, timeout=30_000)
    assert w.magnify_panel.status.text().endswith(", phase")
    phase = w.magnify.shown[1]
    assert phase.shape == linear.shape and not np.array_equal(phase, linear)
    assert set(w.magnify.timings) == {"read_s", "magnify_s", "worker_s"}


def test_read_window_takes_cached_frames_in_order_and_raises_the_readers_error():
    from app.workspace.magnify_view import make_job, read_window
    from cmnet_core.magnify import MagnifySettings

    clip = make_synthetic_clip(5, "surprise", image_size=32, n_frames=40)
    job = make_job(clip, clip.frame_numbers[0], Annotation(), MagnifySettings())
    marked = np.full((32, 32, 3), 7, np.uint8)
    got = []
    frames = read_window(job, clip, cached=lambda n: marked if n % 10 == 0 else None, sink=got.append)
    assert len(got) == len(job.numbers) == 40 and all(np.array_equal(g, f) for g, f in zip(got, frames))
    for i, n in enumerate(job.numbers):
        assert np.array_equal(frames[i], marked if n % 10 == 0 else clip.frame(n))

    class Broken:
        frame_numbers = clip.frame_numbers

        def frame(self, n):
            if n > 20:
                raise KeyError(f"no frame {n}")
            return clip.frame(n)

    try:
        read_window(job, Broken())
    except KeyError as exc:
        assert "no frame 21" in str(exc)
    else:
        raise AssertionError("the reader's error was not raised")


def test_face_only_magnifies_the_face_box_of_a_whole_frame(make_window, tmp_path, qtbot, whole_frame_clip):
    """On whole video frames (no landmarks_hint) "face only" (on by default) magnifies the face MTCNN finds in the
    window's first frame, shown beside the same crop of the original; off: the whole frame."""

    clip, (fx, fy, fw, fh), _ = whole_frame_clip()
    w = make_window()
    open_clip_in(w, clip, tmp_path / "face.json")
    assert w.magnify_panel.face_only.isChecked()
    w.actions_by_name["magnified"].trigger()                                    # M
    qtbot.waitUntil(lambda: w.magnify.shown is not None and w.magnify.task is None, timeout=60_000)
    x, y, bw, bh = w.magnify.crop
    assert x <= fx + 10 and y <= fy + 10 and x + bw >= fx + fw - 10 and y + bh >= fy + fh - 10   # holds the face
    assert bw <= 1.8 * fw and bh <= 1.8 * fh                                                    # and not much more
    frames = w.magnify.shown[1]
    assert frames.shape[1:3] == working_size(bw, bh)[::-1] and "face" in w.magnify_panel.status.text()
    qtbot.waitUntil(lambda: w.frame_view.image.image.shape[1] == 2 * frames.shape[2] + 4, timeout=10_000)
    w.magnify_panel.face_only.setChecked(False)                                 # the whole frame again
    qtbot.waitUntil(lambda: w.magnify.task is None and w.magnify.crop is None and w.magnify.shown is not None,
                    timeout=60_000)
    assert w.magnify.shown[1].shape[1:3] == working_size(320, 240)[::-1]


def test_magnified_view_follows_the_annotation_and_takes_turns_with_the_motion_map(make_window, tmp_path, qtbot):
    clip = make_synthetic_clip(5, "surprise", image_size=64, n_frames=120)
    w = make_window()
    open_clip_in(w, clip, tmp_path / "f.json")
    w.actions_by_name["motion_map"].trigger()                                   # N
    assert w.magnify_panel.motion.isChecked() and w.actions_by_name["motion_map"].isChecked()
    w.actions_by_name["magnified"].trigger()                                    # M: the map goes off (one view)
    assert not w.magnify_panel.motion.isChecked() and not w.actions_by_name["motion_map"].isChecked()
    assert w.actions_by_name["magnified"].isChecked()
    w.commands.edit_annotation("Set onset and offset", onset=60, offset=80)
    qtbot.waitUntil(lambda: w.magnify.shown is not None and w.magnify.task is None
                    and min(w.magnify.shown[0]) == 40 and max(w.magnify.shown[0]) == 100, timeout=30_000)
    w.commands.execute(GoToFrame, frame=10)                                      # outside 40-100: said so
    qtbot.waitUntil(lambda: "outside the magnified frames 40–100" in w.magnify_panel.status.text(), timeout=10_000)
    w.commands.execute(GoToFrame, frame=70)                                      # back inside: the summary again
    qtbot.waitUntil(lambda: w.magnify_panel.status.text().startswith("40–100 magnified"), timeout=10_000)
    w.commands.edit_annotation("Set onset", onset=50)                           # a new onset: a new window
    qtbot.waitUntil(lambda: w.magnify.task is None and w.magnify.shown is not None
                    and min(w.magnify.shown[0]) == 30, timeout=30_000)
    w.actions_by_name["motion_map"].trigger()                                   # N: the magnified view goes off
    assert not w.magnify_panel.enabled.isChecked() and w.magnify.shown is None


def test_export_is_refused_onto_the_open_video_and_suggests_the_range_beside_it(make_window, tmp_path, qtbot,
                                                                               messages, monkeypatch):
    """review21 #30, #18, #19: the export never replaces the open clip's file, its dialog opens beside the video
    with the frame range in the name, the status says the size and source frames, errors name the target."""
    from app import dialogs
    from cmnet_core.data.readers import open_clip
    from cmnet_core.magnify import write_video

    rng = np.random.default_rng(0)
    video = write_video(rng.integers(0, 256, (12, 32, 48, 3), dtype=np.uint8), tmp_path / "rec.mp4", 25.0)
    before = video.read_bytes()
    w = make_window()
    open_clip_in(w, open_clip(video), tmp_path / "m.json")
    qtbot.waitUntil(lambda: w.frame_view.image.image is not None, timeout=10_000)
    w.magnify_panel.face_only.setChecked(False)
    w.actions_by_name["magnified"].trigger()
    qtbot.waitUntil(lambda: w.magnify.shown is not None and w.magnify.task is None, timeout=30_000)
    asked = []
    monkeypatch.setattr(dialogs, "save_file", lambda parent, title, suggestion, flt: asked.append(suggestion)
                        or str(video))
    assert w.magnify.export() is None                                   # the dialog answered the open video
    assert asked == [str(tmp_path / "rec_magnified_0-11.mp4")]          # beside the video, the range in the name
    assert messages[-1][0] == "error" and "is the input file" in messages[-1][2]
    assert "choose another name" in messages[-1][2] and video.read_bytes() == before
    assert w.magnify.export(str(tmp_path / "nodir" / "g.mp4")) is None
    assert "nodir does not exist; create it first" in messages[-1][2] and ".g." not in messages[-1][2]
    out = w.magnify.export(str(tmp_path / "g.mp4"))
    assert out == tmp_path / "g.mp4" and oct(out.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    text = w.statusBar().currentMessage()
    assert "source frames 0–11 (12 frames), 48×32 px" in text and "cmnet magnify VIDEO --start 0 --end 11 --method linear --alpha 10" in text


def _umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask
