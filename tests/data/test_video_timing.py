"""Frame times from decoded timestamps (issue 13): synthetic videos with known timing written with PyAV (variable
frame rate, H.264 in AVI, MPEG-4 with B-frames in AVI), the real face videos, frame folders with and without a
known frame rate, and the times a prediction writes."""
import csv
import json

import av
import numpy as np
import pytest

from cmnet_core.data.readers import (DEFAULT_FPS, FolderSource, IndexCancelled, VideoIndex, VideoSource,
                                     frame_intervals_vary, open_clip)
from cmnet_core.data.timed_video import (KINDS, decoded_times, frame_pixels, set_mp4_rotation, write_timed_video,
                                         write_unindexed_avi)


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory):
    """name → path of every `KINDS` fixture (32x32, 30 frames), written once for this module."""
    folder = tmp_path_factory.mktemp("timed")
    return {kind: write_timed_video(folder, kind) for kind in KINDS}


def decoded_frames(path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


@pytest.mark.parametrize("kind", list(KINDS))
def test_times_are_the_decoded_pts(fixtures, kind):
    v = VideoSource(fixtures[kind])
    _, _, _, times, rate, tb = KINDS[kind]
    written = np.round(times / float(tb)) * float(tb) if times is not None else np.arange(30) / rate  # as stamped
    assert v.frame_count == 30 and v.time_source == "pts" and v.timing_note is None
    np.testing.assert_allclose(v.times_s, decoded_times(fixtures[kind]), atol=1e-9)
    # the times the fixture was written with (the AVI muxer stamps H.264's last frame 1/60 s early)
    n = 29 if kind == "h264_avi" else 30
    np.testing.assert_allclose(v.times_s[:n], written[:n] - written[0], atol=1e-6)
    assert abs(v.times_s[-1] - (written[-1] - written[0])) <= 1.0 / v.fps      # within one frame
    assert v.is_vfr == (kind in ("vfr", "mild_vfr"))


def test_avi_fixtures_have_their_real_rate_and_duration(fixtures):
    import cv2

    h264 = VideoSource(fixtures["h264_avi"])
    assert h264.fps == 60.0                                  # before the index: the header's rate
    h264.build_index()
    cap = cv2.VideoCapture(str(fixtures["h264_avi"]))
    assert cap.get(cv2.CAP_PROP_FPS) == 60.0                 # the header's rate, which OpenCV's times used
    cap.release()
    assert h264.codec == "h264" and h264.fps_nominal == 60.0 and h264.fps == pytest.approx(29 / 0.95)
    assert h264.times_s[1] == pytest.approx(1 / 30) and h264.times_s[-1] == pytest.approx(57 / 60)
    assert not h264.is_vfr                  # one interval of 1/60 s: within the 1/60 s time base's rounding
    xvid = VideoSource(fixtures["xvid_avi"])
    assert xvid.codec == "mpeg4" and xvid.fps == pytest.approx(25.0)
    assert xvid.times_s[-1] == pytest.approx(1.16) and xvid.duration_s == pytest.approx(1.2)
    vfr = VideoSource(fixtures["vfr"])
    assert vfr.times_s[-1] == pytest.approx(1.18) and vfr.times_s[1] == pytest.approx(0.06)


@pytest.mark.parametrize("kind", list(KINDS))
def test_random_and_backward_reads_equal_sequential_decoding(fixtures, kind):
    ref = decoded_frames(fixtures[kind])
    v = VideoSource(fixtures[kind])
    for i in [29, 0, 20, 19, 18, 5, 27, 3, 28, 1]:
        assert np.array_equal(v.read(i), ref[i]), f"{kind} frame {i}"
        # it is the frame written as i: red level 7 i (within the codec's loss), blue row at i
        assert abs(v.read(i)[:, :, 0].mean() - frame_pixels(i)[0, 0, 0]) < 3.5
        assert int(np.argmax(v.read(i)[:, :, 2].mean(axis=1))) == i


@pytest.mark.parametrize("kind", ["xvid_avi", "h264_avi", "vfr"])
def test_a_backward_jump_decodes_from_the_previous_keyframe_not_frame_0(fixtures, kind, monkeypatch):
    v = VideoSource(fixtures[kind])
    v.read(29)
    v._cache.clear()                                # a jump further back than the cache reaches
    decoded = []
    identify = VideoSource._identify
    monkeypatch.setattr(VideoSource, "_identify", lambda self, f, ix: decoded.append(identify(self, f, ix)) or decoded[-1])
    v.read(20)
    key = max(k for k in v.keyframes if k <= 20)
    assert key > 0 and min(decoded) >= key - 3 and decoded[-1] == 20     # (open-GOP leading frames aside)
    assert len(decoded) <= 20 - key + 4


def test_intervals_rounded_by_the_time_base_are_not_variable():
    ms = np.round(np.arange(30) / 30.0, 3)               # 33/33/34 ms in a millisecond time base
    assert not frame_intervals_vary(ms, tick_s=0.001)
    assert frame_intervals_vary(ms + np.tile([0, 0.003, -0.003], 10), tick_s=0.001)


def test_decoder_disagreeing_with_the_packets_rebuilds_the_index_by_decoding(fixtures):
    v = VideoSource(fixtures["h264_avi"])
    good = v.build_index()
    # A packet index with one frame the decoder never delivers (as when a decoder drops a frame).
    pts = np.insert(good.pts, 10, good.pts[9] + 1)
    v._index = VideoIndex(pts=pts, keyframes=good.keyframes, times_s=np.zeros(len(pts)), duration_s=1.0,
                          count_source="packets")
    ref = decoded_frames(fixtures["h264_avi"])
    assert np.array_equal(v.read(12), ref[12])
    assert v.count_source == "decoded" and v.frame_count == 30
    np.testing.assert_allclose(v.times_s, decoded_times(fixtures["h264_avi"]), atol=1e-9)


def test_missing_timestamps_fall_back_to_nominal_fps_and_say_so(fixtures, monkeypatch):
    monkeypatch.setattr(VideoSource, "_index_from_packets", lambda self, cancelled: None)
    v = VideoSource(fixtures["vfr"])
    assert v.count_source == "decoded" and v.time_source == "pts"     # decoded frames carry their pts
    np.testing.assert_allclose(v.times_s, decoded_times(fixtures["vfr"]), atol=1e-9)

    class NoPts:               # a decoded frame whose pts is missing
        def __init__(self, frame):
            self._f, self.pts, self.key_frame, self.duration = frame, None, frame.key_frame, 0
            self.rotation = frame.rotation

        def to_ndarray(self, **kw):
            return self._f.to_ndarray(**kw)

    real_decode = VideoSource._decode_packets
    monkeypatch.setattr(VideoSource, "_decode_packets",
                        staticmethod(lambda container, stream: (NoPts(f) for f in real_decode(container, stream))))
    v = VideoSource(fixtures["vfr"])
    assert v.time_source == "nominal" and not v.seeks_exact and not v.is_vfr
    assert "timestamps are missing" in v.timing_note and "vfr.mp4" in v.timing_note
    np.testing.assert_allclose(v.times_s, np.arange(30) / v.fps_nominal)
    ref = decoded_frames(fixtures["vfr"])
    assert np.array_equal(v.read(17), ref[17]) and np.array_equal(v.read(4), ref[4])


def test_building_the_index_can_be_cancelled(fixtures):
    v = VideoSource(fixtures["vfr"])
    with pytest.raises(IndexCancelled, match="vfr.mp4"):
        v.build_index(cancelled=lambda: True)
    assert not v.is_indexed
    clone = v.clone()
    assert clone.frame_count == 30 and clone is not v


@pytest.mark.parametrize("name", ["face_noface.mov", "noface_face.mov", "no_face.mp4", "single_face.mp4"])
def test_real_videos_times_match_decoded_pts(face_videos, name):
    v = VideoSource(face_videos / name)
    ref = decoded_times(face_videos / name)
    assert len(v.times_s) == len(ref)
    assert np.max(np.abs(v.times_s - ref)) < 1e-9
    assert v.is_vfr == name.endswith(".mov")


def test_face_noface_mov_last_time_is_its_pts_not_frames_over_average_fps(face_videos):
    clip = open_clip(face_videos / "face_noface.mov")
    assert clip.time_source == "pts"
    assert clip.time_of(168) == pytest.approx(6.3603515625)      # 97695 / 15360 s
    assert clip.time_of(72) == pytest.approx(2.4)                 # frame / average fps said 2.727 s
    assert clip.frame_at_time(2.4) == 72 and clip.frame_at_time(2.39) == 71


def test_bare_folder_times_are_assumed_until_an_fps_is_given(tmp_path):
    import cv2

    for n in (1, 2, 3, 5):
        cv2.imwrite(str(tmp_path / f"img{n}.png"), np.zeros((4, 4, 3), np.uint8))
    bare = FolderSource(tmp_path)
    assert bare.time_source == "assumed" and bare.fps == DEFAULT_FPS and "--fps" in bare.timing_note
    np.testing.assert_allclose(bare.times_s, [0, 1 / 30, 2 / 30, 4 / 30])
    bare.set_fps(200.0)
    assert bare.time_source == "nominal" and bare.timing_note is None
    np.testing.assert_allclose(bare.times_s, [0, 0.005, 0.010, 0.020])
    with pytest.raises(ValueError, match="> 0"):
        bare.set_fps(0.0)
    given = open_clip(tmp_path, fps=100.0)
    assert given.time_source == "nominal" and given.time_of(5) == pytest.approx(0.04)


def test_predict_cli_writes_measured_nominal_and_assumed_times(tmp_path, fixtures, monkeypatch):
    """`cmnet predict`: time_s from pts for a VFR video, assumed for a bare folder, nominal with --fps."""
    import cv2

    from cmnet_core.cli import main

    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(30):
        cv2.imwrite(str(folder / f"img{i}.png"), cv2.resize(frame_pixels(i), (64, 64)))
    out = tmp_path / "out"
    common = ["--out", str(out), "--device", "cpu", "--landmarks", "none", "--progress", "jsonl"]
    assert main(["predict", "demo", str(fixtures["vfr"]), str(folder), *common]) == 0
    rows = {r["clip"]: r for r in csv.DictReader(open(out / "predictions.csv"))}
    assert rows["vfr"]["time_source"] == "pts" and rows["frames"]["time_source"] == "assumed"
    per_clip = [r for r in open(out / "vfr.csv") if not r.startswith("#")]
    table = list(csv.DictReader(per_clip))
    times = VideoSource(fixtures["vfr"]).times_s
    for r in table:
        f = float(r["frame"])
        assert float(r["time_s"]) == pytest.approx(np.interp(f, np.arange(30), times))
        assert r["time_source"] == "pts"
    assert "# time_s: measured" in open(out / "vfr.csv").read()
    frames_csv = open(out / "frames.csv").read()
    assert "# time_s: ASSUMED" in frames_csv and "# timing note: no frame rate is known" in frames_csv
    doc = json.loads((out / "predictions.json").read_text())
    by_id = {c["id"]: c for c in doc["clips"]}
    assert by_id["frames"]["time_source"] == "assumed" and "--fps" in by_id["frames"]["timing_note"]
    assert by_id["vfr"]["frames"][-1]["time_s"] == pytest.approx(1.18)
    assert main(["predict", "demo", str(folder), *common, "--fps", "200"]) == 0
    table = list(csv.DictReader(r for r in open(out / "frames.csv") if not r.startswith("#")))
    assert table[-1]["time_source"] == "nominal" and float(table[-1]["time_s"]) == pytest.approx(29 / 200)


def test_truncated_video_is_indexed_by_decoding_with_pts_times(face_videos, tmp_path):
    data = (face_videos / "WolfgangLanger_Pexels.mp4").read_bytes()
    path = tmp_path / "trunc.mp4"
    path.write_bytes(data[: len(data) // 5])          # the header still lists 472 frames
    v = VideoSource(path)
    ref = decoded_times(path)
    assert v.reported_count == 472 and v.count_source == "decoded" and v.frame_count == len(ref) < 472
    np.testing.assert_allclose(v.times_s, ref, atol=1e-9)
    assert v.read(v.frame_count - 1).shape == (360, 640, 3)


def test_avi_without_index_is_indexed_from_packets_and_seeks(tmp_path):
    path = write_unindexed_avi(tmp_path, frames=300)
    v = VideoSource(path)
    assert v.frame_count == 300 and v.count_source == "packets" and len(v.keyframes) >= 10
    np.testing.assert_allclose(v.times_s, np.arange(300) / 30.0, atol=1e-9)
    wanted = {299: None, 150: None, 7: None, 296: None, 100: None}
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i in wanted:
                wanted[i] = f.to_ndarray(format="rgb24")
    for i, ref in wanted.items():
        assert np.array_equal(v.read(i), ref), f"frame {i}"


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_rotated_phone_video_is_shown_upright_as_opencv_did(tmp_path, degrees):
    import cv2

    path = set_mp4_rotation(write_timed_video(tmp_path, "vfr"), degrees)
    cap = cv2.VideoCapture(str(path))                 # OpenCV applies the display matrix by default
    ok, bgr = cap.read()
    cap.release()
    v = VideoSource(path)
    frame = v.read(0)
    assert ok and frame.shape == bgr.shape and v.size == (bgr.shape[1], bgr.shape[0])
    assert np.abs(frame.astype(int) - bgr[:, :, ::-1]).max() <= 2
    assert np.array_equal(v.read(17), np.rot90(decoded_frames(path)[17], {90: 3, 180: 2, 270: 1}[degrees]))
