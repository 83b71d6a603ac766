"""Eulerian linear magnification (cmnet_core.magnify, Wu et al. 2012) and ``cmnet magnify``."""
from __future__ import annotations

import av
import numpy as np
import pytest

from cmnet_core.cli import main
from cmnet_core.data.synthetic import make_synthetic_clip
from cmnet_core.magnify import (MagnifyCache, MagnifySettings, effective_band, level_alphas, magnify_clip,
                                magnify_frames, write_video)

FPS = 30.0


def blob_frames(a_px: float, f_hz: float, n: int = 120, size: int = 64, sigma: float = 6.0):
    """Grey Gaussian blob (sigma px) on a grey background, its centre at x = size/2 + a sin(2 pi f t)."""
    t = np.arange(n) / FPS
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    cx = size / 2 + a_px * np.sin(2 * np.pi * f_hz * t)
    img = 20 + 200 * np.exp(-((xx[None] - cx[:, None, None]) ** 2 + (yy[None] - size / 2) ** 2) / (2 * sigma ** 2))
    grey = np.clip(np.round(img), 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=-1), t


def motion_amplitude(frames: np.ndarray, f_hz: float, t: np.ndarray, grey: np.ndarray | None = None) -> float:
    """Amplitude (px) of the blob centroid's x motion at f_hz, least-squares fit over the middle half (away from
    the filter's edge transients). ``grey`` (T, H, W): the blob image with background 0; default red - 20."""
    return abs(motion_phasor(frames, f_hz, t, grey))


def motion_phasor(frames: np.ndarray, f_hz: float, t: np.ndarray, grey: np.ndarray | None = None) -> complex:
    """The centroid's x motion at f_hz as a complex amplitude (sin + i cos coefficients), as `motion_amplitude`."""
    g = frames[..., 0].astype(np.float64) - 20 if grey is None else grey
    cx = (g.sum(1) * np.arange(g.shape[2])).sum(1) / g.sum((1, 2))
    mid = slice(len(t) // 4, 3 * len(t) // 4)
    basis = np.stack([np.sin(2 * np.pi * f_hz * t), np.cos(2 * np.pi * f_hz * t), np.ones_like(t)], 1)[mid]
    c, *_ = np.linalg.lstsq(basis, cx[mid], rcond=None)
    return complex(c[0], c[1])


def test_in_band_motion_is_magnified_by_one_plus_alpha():
    frames, t = blob_frames(0.1, 1.1)
    before = motion_amplitude(frames, 1.1, t)
    out = magnify_frames(frames, FPS, MagnifySettings(alpha=10))
    assert before == pytest.approx(0.1, rel=0.05)
    assert motion_amplitude(out, 1.1, t) == pytest.approx(11 * before, rel=0.08)


def test_magnified_motion_stays_in_phase():
    """Zero-phase filtering: the amplified motion peaks in the same frames as the original (within 1 degree)."""
    frames, t = blob_frames(0.1, 2.0)
    before = motion_phasor(frames, 2.0, t)
    after = motion_phasor(magnify_frames(frames, FPS, MagnifySettings(alpha=10)), 2.0, t)
    assert abs(np.degrees(np.angle(after / before))) < 1.0


def test_out_of_band_motion_is_not_amplified():
    frames, t = blob_frames(0.1, 12.0)
    out = magnify_frames(frames, FPS, MagnifySettings(alpha=10))
    assert motion_amplitude(out, 12.0, t) == pytest.approx(motion_amplitude(frames, 12.0, t), rel=0.1)


def test_static_frames_stay_unchanged():
    rng = np.random.default_rng(0)
    frames = np.repeat(rng.integers(0, 256, (1, 48, 40, 3), dtype=np.uint8), 30, axis=0)
    out = magnify_frames(frames, FPS, MagnifySettings(alpha=30))
    assert out.dtype == np.uint8 and out.shape == frames.shape
    assert np.abs(out.astype(int) - frames).max() <= 1


def test_shape_dtype_odd_sizes_and_progress():
    frames = np.random.default_rng(1).integers(0, 256, (5, 37, 23, 3), dtype=np.uint8)
    seen = []
    out = magnify_frames(frames, 200.0, MagnifySettings(), progress=lambda f, m: seen.append(f))
    assert out.shape == (5, 37, 23, 3) and out.dtype == np.uint8
    assert seen[-1] == 1.0 and seen == sorted(seen)


def test_chroma_is_attenuated():
    """A blob in the I (orange-blue) chroma channel only, on constant luminance: amplified by alpha * attenuation."""
    frames, t = blob_frames(0.2, 1.1)      # a strong chroma blob and 0.2 px: the motion is well above uint8 steps
    i_channel = (frames[..., 0].astype(np.float64) - 20) / 200 * 0.3
    yiq = np.stack([np.full_like(i_channel, 0.5), i_channel, np.zeros_like(i_channel)], -1)
    rgb = yiq @ np.linalg.inv(np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])).T
    coloured = np.clip(np.round(rgb * 255), 0, 255).astype(np.uint8)

    def chroma_motion(video):
        return motion_amplitude(video, 1.1, t, grey=video.astype(np.float64) @ np.array([0.596, -0.274, -0.322]))

    before = chroma_motion(coloured)
    assert before == pytest.approx(0.2, rel=0.1)
    none = magnify_frames(coloured, FPS, MagnifySettings(alpha=10, attenuation=0.0))
    half = magnify_frames(coloured, FPS, MagnifySettings(alpha=10, attenuation=0.5))
    assert chroma_motion(none) == pytest.approx(before, rel=0.05)     # only the (uint8-rounded) luminance moves
    assert chroma_motion(half) == pytest.approx((1 + 10 * 0.5) * before, rel=0.12)   # measured 5.5x


def test_cancel_raises():
    from cmnet_core.magnify import MagnifyCancelled

    with pytest.raises(MagnifyCancelled):
        magnify_frames(np.zeros((5, 16, 16, 3), np.uint8), FPS, MagnifySettings(), cancelled=lambda: True)


def test_level_alphas_follow_eq14():
    assert level_alphas(10, 16, 4).tolist() == [1.75, 4.5, 10.0, 10.0, 10.0]   # lambda 4, 8, 16, 32, 64 px
    assert level_alphas(10, 0, 2).tolist() == [10.0, 10.0, 10.0]


@pytest.mark.parametrize("kwargs", [dict(alpha=0.5), dict(alpha=31), dict(low_hz=0), dict(high_hz=0.2),
                                    dict(levels=0), dict(attenuation=2), dict(lambda_c=-1), dict(region="body")])
def test_bad_settings_raise(kwargs):
    with pytest.raises(ValueError, match="MagnifySettings"):
        MagnifySettings(**kwargs)


def test_bad_input_raises():
    frames = np.zeros((2, 16, 16, 3), np.uint8)
    with pytest.raises(ValueError, match="at least 3 frames"):
        magnify_frames(frames, FPS, MagnifySettings())
    with pytest.raises(ValueError, match="uint8 RGB"):
        magnify_frames(np.zeros((5, 16, 16), np.uint8), FPS, MagnifySettings())
    with pytest.raises(ValueError, match="does not fit 0.5 fps"):
        magnify_frames(np.zeros((5, 16, 16, 3), np.uint8), 0.5, MagnifySettings())


def test_too_large_a_request_is_refused(monkeypatch):
    import cmnet_core.magnify as magnify

    monkeypatch.setattr(magnify, "MAX_PYRAMID_BYTES", 10_000)
    with pytest.raises(ValueError, match="face crop or a shorter frame range"):
        magnify_frames(np.zeros((5, 32, 32, 3), np.uint8), FPS, MagnifySettings())
    clip = make_synthetic_clip(0, "surprise", image_size=64, n_frames=40)
    with pytest.raises(ValueError, match="40 frames of 64x64 px need"):
        magnify_clip(clip, MagnifySettings(), cache=None)


def test_high_edge_clamped_below_nyquist():
    assert effective_band(4.0, MagnifySettings()) == (0.4, pytest.approx(1.9))
    assert effective_band(200.0, MagnifySettings()) == (0.4, 3.0)


def test_magnify_clip_crop_range_and_cache():
    clip = make_synthetic_clip(0, "surprise", image_size=64, n_frames=40)
    cache = MagnifyCache()
    a = magnify_clip(clip, MagnifySettings(), crop=(8, 4, 40, 36), frame_range=(5, 30), cache=cache)
    assert a.shape == (26, 32, 32, 3) and a.dtype == np.uint8
    direct = np.stack([clip.frame(n)[4:36, 8:40] for n in range(5, 31)])
    assert np.array_equal(a, magnify_frames(direct, clip.fps, MagnifySettings()))
    assert magnify_clip(clip, MagnifySettings(), crop=(8, 4, 40, 36), frame_range=(5, 30), cache=cache) is a
    assert len(cache) == 1
    b = magnify_clip(clip, MagnifySettings(alpha=20), crop=(8, 4, 40, 36), frame_range=(5, 30), cache=cache)
    assert b is not a and len(cache) == 2
    small = MagnifyCache(max_bytes=a.nbytes + 10)
    small.put(("a",), a.copy())
    small.put(("b",), b.copy())
    assert small.get(("a",)) is None and small.get(("b",)) is not None
    with pytest.raises(ValueError, match="crop"):
        magnify_clip(clip, MagnifySettings(), crop=(100, 100, 120, 120), cache=None)


def read_back(path):
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        frames = [(f.pts * float(st.time_base), f.to_ndarray(format="rgb24")) for f in c.decode(st)]
    return np.array([t for t, _ in frames]), np.stack([f for _, f in frames])


def test_write_video_keeps_times_and_frames(tmp_path):
    frames = np.random.default_rng(2).integers(0, 256, (6, 15, 17, 3), dtype=np.uint8)
    frames[:] = frames[:1]                       # smooth enough to compress well: one picture repeated
    times = np.array([0.0, 0.04, 0.06, 0.1, 0.14, 0.16])
    out = write_video(frames, tmp_path / "v.mp4", 25.0, times_s=times)
    t, back = read_back(out)
    assert back.shape == (6, 16, 18, 3)          # odd sides padded to even
    assert np.allclose(t - t[0], times, atol=1e-3)
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]     # no temporary file left


def test_cli_writes_a_video_with_the_same_frame_count(tmp_path, capsys):
    clip = make_synthetic_clip(0, "surprise", image_size=64, n_frames=40)
    folder = tmp_path / "clip"
    folder.mkdir()
    import cv2
    for n in clip.frame_numbers:
        cv2.imwrite(str(folder / f"img{n:04d}.png"), cv2.cvtColor(clip.frame(n), cv2.COLOR_RGB2BGR))
    out = tmp_path / "m.mp4"
    assert main(["magnify", str(folder), "--alpha", "10", "--low", "0.4", "--high", "3", "--fps", "200",
                 "--out", str(out)]) == 0
    assert "40 frames 64x64 px" in capsys.readouterr().out
    t, back = read_back(out)
    assert len(back) == 40 and back.shape[1:] == (64, 64, 3)
    assert np.allclose(np.diff(t), 1 / 200, atol=1e-4)


def test_cli_bad_input_exit_2(tmp_path, capsys):
    assert main(["magnify", str(tmp_path / "missing.mp4")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["magnify", str(tmp_path), "--alpha", "50"]) == 2
    assert "alpha" in capsys.readouterr().err


def test_cli_face_without_a_face_exit_2(tmp_path, capsys):
    import cv2

    folder = tmp_path / "grey"
    folder.mkdir()
    for n in range(1, 6):
        cv2.imwrite(str(folder / f"img{n:04d}.png"), np.full((64, 64, 3), 128, np.uint8))
    assert main(["magnify", str(folder), "--face", "--out", str(tmp_path / "o.mp4")]) == 2
    assert "no face found in frames 1, 2, 3, 4, 5" in capsys.readouterr().err
    assert not (tmp_path / "o.mp4").exists()


# ---- review21: the CLI never overwrites its input, checks the output first, speaks its own option names -------
def _frame_folder(tmp_path, n=6, size=32, odd=None):
    """A folder of n grey-noise png frames (size x size px); frame ``odd`` (number) half the size."""
    import cv2

    folder = tmp_path / "frames"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(1, n + 1):
        side = size // 2 if i == odd else size
        cv2.imwrite(str(folder / f"img{i:03d}.png"), rng.integers(0, 256, (side, side, 3), dtype=np.uint8))
    return folder


def _video(tmp_path, n=8):
    frames = np.random.default_rng(1).integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    return write_video(frames, tmp_path / "v.mp4", 25.0)


def test_cli_refuses_to_overwrite_the_input(tmp_path, capsys):
    video = _video(tmp_path)
    before = video.read_bytes()
    assert main(["magnify", str(video), "--out", str(video)]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "is the input file" in err and "choose another name" in err
    assert video.read_bytes() == before
    other = tmp_path / "sub" / ".." / "v.mp4"          # another spelling of the same file
    (tmp_path / "sub").mkdir()
    assert main(["magnify", str(video), "--out", str(other)]) == 2 and video.read_bytes() == before
    link = tmp_path / "link.mp4"
    link.hardlink_to(video)                             # a hard link: same file, other name (os.path.samefile)
    assert main(["magnify", str(video), "--out", str(link)]) == 2 and video.read_bytes() == before


def test_cli_checks_the_output_before_magnifying(tmp_path, capsys, monkeypatch):
    from cmnet_core import magnify

    video = _video(tmp_path)
    monkeypatch.setattr(magnify, "magnify_clip", lambda *a, **k: pytest.fail("computed before checking --out"))
    assert main(["magnify", str(video), "--out", str(tmp_path / "nodir" / "x.mp4")]) == 2
    err = capsys.readouterr().err
    assert f"the folder {tmp_path / 'nodir'} does not exist" in err and "mkdir -p" in err and ".x." not in err
    assert main(["magnify", str(video), "--out", str(tmp_path)]) == 2
    assert "is a folder; give a file name, e.g." in capsys.readouterr().err
    from cmnet_core import safe_write

    def read_only(*a, **k):
        raise OSError(30, "Read-only file system")
    monkeypatch.setattr(safe_write.tempfile, "mkstemp", read_only)
    assert main(["magnify", str(video), "--out", str(tmp_path / "y.mp4")]) == 2
    err = capsys.readouterr().err
    assert f"cannot write into the folder {tmp_path} (Read-only file system)" in err and "choose a folder" in err


def test_cli_write_error_names_the_target_not_the_temporary_file(tmp_path, capsys, monkeypatch):
    from cmnet_core.commands import magnify as command

    video = _video(tmp_path)
    monkeypatch.setattr(command, "default_out", lambda path, start, end: tmp_path / "out.mp4")
    real_open = av.open

    def failing_open(name, mode="r", **kw):
        if mode == "w":
            raise PermissionError(13, "Permission denied", name)
        return real_open(name, mode, **kw)
    monkeypatch.setattr(av, "open", failing_open)
    assert main(["magnify", str(video)]) == 2
    err = capsys.readouterr().err
    assert f"could not write {tmp_path / 'out.mp4'}: Permission denied" in err and ".out." not in err
    assert [p.name for p in tmp_path.iterdir()] == ["v.mp4"]


def test_written_video_has_a_plain_files_mode(tmp_path):
    import os

    mask = os.umask(0o022)
    try:
        out = _video(tmp_path)
    finally:
        os.umask(mask)
    assert oct(out.stat().st_mode & 0o777) == oct(0o644)


def test_cli_start_end_magnify_a_range(tmp_path, capsys):
    clip = make_synthetic_clip(0, "surprise", image_size=32, n_frames=20)
    folder = tmp_path / "clip"
    folder.mkdir()
    import cv2
    for n in clip.frame_numbers:
        cv2.imwrite(str(folder / f"img{n + 100:04d}.png"), cv2.cvtColor(clip.frame(n), cv2.COLOR_RGB2BGR))
    out = tmp_path / "m.mp4"
    assert main(["magnify", str(folder), "--start", "104", "--end", "113", "--fps", "50", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "10 frames 32x32 px (source frames 104-113), linear method" in printed and "assume" not in printed
    t, back = read_back(out)
    assert len(back) == 10 and np.allclose(np.diff(t), 1 / 50, atol=1e-4)
    assert main(["magnify", str(folder), "--start", "130", "--out", str(out)]) == 2
    assert "--start 130 is outside the clip" in capsys.readouterr().err
    assert main(["magnify", str(folder), "--start", "110", "--end", "105", "--out", str(out)]) == 2
    assert "--start 110 is after --end 105" in capsys.readouterr().err
    assert main(["magnify", str(folder), "--start", "110", "--end", "111", "--out", str(out)]) == 2
    assert "hold 2 frames; magnification needs at least 3" in capsys.readouterr().err
    assert main(["magnify", str(folder), "--start", "105", "--end", "107", "--fps", "50"]) == 0
    assert (tmp_path / "clip_magnified_105-107.mp4").is_file()          # the default name carries the range
    capsys.readouterr()
    assert main(["magnify", str(folder), "--end", "104", "--out", str(out)]) == 0   # 101-104, fps assumed
    assert "source frames 101-104" in (printed := capsys.readouterr().out) and "times assume 30 fps" in printed


def test_cli_too_large_points_to_start_end(tmp_path, capsys, monkeypatch):
    from cmnet_core import magnify

    monkeypatch.setattr(magnify, "MAX_PYRAMID_BYTES", 1000)
    assert main(["magnify", str(_video(tmp_path)), "--out", str(tmp_path / "o.mp4")]) == 2
    assert "--start N --end M" in capsys.readouterr().err


def test_cli_messages_use_option_names(tmp_path, capsys):
    video = _video(tmp_path)
    assert main(["magnify", str(video), "--alpha", "-3", "--out", str(tmp_path / "o.mp4")]) == 2
    err = capsys.readouterr().err
    assert "--alpha -3.0 is outside 1-30" in err and "MagnifySettings" not in err
    assert main(["magnify", str(video), "--low", "20", "--high", "40", "--out", str(tmp_path / "o.mp4")]) == 2
    err = capsys.readouterr().err
    assert "lower --low below that" in err and "low_hz" not in err
    import cv2
    cv2.imwrite(str(tmp_path / "still.png"), np.zeros((16, 16, 3), np.uint8))
    assert main(["magnify", str(tmp_path / "still.png"), "--out", str(tmp_path / "o.mp4")]) == 2
    assert ("a still image cannot be magnified; give a video or a folder of at least 3 frames"
            in capsys.readouterr().err)


def test_help_names_the_phase_method(capsys):
    with pytest.raises(SystemExit):
        main(["magnify", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "phase-based" in out and "Wadhwa" in out and "--start" in out


def test_cli_summary_prints_the_face_box_as_x_y_w_h(tmp_path, capsys, monkeypatch):
    from cmnet_core.commands import magnify as command

    video = _video(tmp_path)
    monkeypatch.setattr(command, "face_crop", lambda image: (4, 6, 24, 30))   # x0, y0, x1, y1
    assert main(["magnify", str(video), "--face", "--out", str(tmp_path / "o.mp4")]) == 0
    assert "face box 4,6,20,24 (X,Y,W,H" in capsys.readouterr().out


def test_cli_warns_about_a_truncated_video(tmp_path, capsys, monkeypatch):
    from cmnet_core.data import readers

    video = _video(tmp_path, n=8)
    real = readers.VideoSource.__init__

    def claims_more(self, *a, **k):
        real(self, *a, **k)
        self.reported_count = 20          # the header of a file cut short promises more
    monkeypatch.setattr(readers.VideoSource, "__init__", claims_more)
    assert main(["magnify", str(video), "--out", str(tmp_path / "o.mp4")]) == 0
    assert "ends after 8 of the 20 frames its header promises (truncated" in capsys.readouterr().err


def test_cli_frame_folder_of_mixed_sizes_names_the_odd_frame(tmp_path, capsys):
    folder = _frame_folder(tmp_path, odd=4)
    assert main(["magnify", str(folder), "--out", str(tmp_path / "o.mp4")]) == 2
    err = capsys.readouterr().err
    assert f"{folder / 'img004.png'} is 16x16 px, the others 32x32 px" in err and "re-export the folder" in err
