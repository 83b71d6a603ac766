"""Tiny videos with known frame times, written with PyAV: fixtures for the tests and
``scripts/bench_video_timing.py`` (variable frame rate, H.264 in AVI, MPEG-4 part 2 with B-frames in AVI).

Each frame's pixels encode its index (a red/green level and a blue row), so a reader's frame ``i`` can be checked.
"""
from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

#: name → (file name, codec, codec options, frame times in seconds or None for constant rate, rate in frames/s,
#: time base in seconds per tick for the given times).
#: ``vfr``: 30 frames alternating 60 ms / 20 ms intervals (mean 25 fps); ``mild_vfr``: 30 frames at 30 fps with
#: ±2 ms jitter; ``h264_avi``: H.264 with B-frames in AVI, 30 fps stamped in a 1/60 s time base (so the AVI header
#: says 60 fps and every other index entry is empty: OpenCV reports 60 fps and 59 frames; the muxer stamps the
#: last frame 1/60 s early); ``xvid_avi``: MPEG-4 part 2 (XVID tag) with B-frames in AVI at 25 fps (OpenCV's
#: position of its last frames reads 0 ms).
KINDS = {
    "vfr": ("vfr.mp4", "libx264", {"g": "8", "bf": "2", "crf": "10"},
            np.cumsum([0.0] + [0.06 if i % 2 == 0 else 0.02 for i in range(29)]), None, Fraction(1, 1000)),
    "mild_vfr": ("mild_vfr.mp4", "libx264", {"g": "8", "bf": "2", "crf": "10"},
                 np.arange(30) / 30.0 + np.tile([0.0, 0.002, -0.002], 10), None, Fraction(1, 1000)),
    "h264_avi": ("h264.avi", "libx264", {"g": "8", "bf": "2", "crf": "10"}, np.arange(30) / 30.0, 60,
                 Fraction(1, 60)),
    "xvid_avi": ("xvid.avi", "mpeg4", {}, None, 25, None),
}


def frame_pixels(i: int, size: int = 32) -> np.ndarray:
    """Frame ``i`` of a fixture: uint8 RGB (size, size, 3), red = 7 i mod 256, green = 255 - red, a blue row at
    ``i mod size``."""
    img = np.zeros((size, size, 3), np.uint8)
    img[:, :, 0] = (i * 7) % 256
    img[:, :, 1] = 255 - (i * 7) % 256
    img[i % size, :, 2] = 255
    return img


def write_timed_video(folder: Path | str, kind: str, size: int = 32) -> Path:
    """Write the fixture ``kind`` (a key of `KINDS`) into ``folder``; returns its path.

    Frames with given times are stamped in the kind's time base; constant-rate ones at the codec's rate.
    Raises ``KeyError`` for an unknown kind.
    """
    name, codec, options, times, rate, tb = KINDS[kind]
    path = Path(folder) / name
    n = len(times) if times is not None else 30
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.options = dict(options)
        if codec == "mpeg4":
            stream.codec_tag = "XVID"
            stream.codec_context.max_b_frames = 2
            stream.codec_context.gop_size = 8
            stream.codec_context.bit_rate = 4_000_000      # near-lossless at 32x32: frames stay recognisable
        if times is not None:
            stream.time_base = tb
            stream.codec_context.time_base = tb
        for i in range(n):
            frame = av.VideoFrame.from_ndarray(frame_pixels(i, size), format="rgb24")
            if times is not None:
                frame.pts, frame.time_base = int(round(times[i] / tb)), tb
            out.mux(stream.encode(frame))
        out.mux(stream.encode())
    return path


def decoded_times(path: Path | str) -> np.ndarray:
    """Reference: the pts of every frame by plain sequential decoding with PyAV, seconds since the first frame, (T,).

    A packet that fails to decode (a truncated file's last one) is skipped, as `VideoSource` does."""
    pts = []
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        for packet in c.demux(st):
            try:
                pts += [f.pts for f in packet.decode()]
            except av.FFmpegError:
                continue
        tb = float(st.time_base)
    return (np.asarray(pts, dtype=np.float64) - pts[0]) * tb


def write_unindexed_avi(folder: Path | str, frames: int = 18_000, rate: int = 30, size: int = 32) -> Path:
    """An MPEG-4 AVI of ``frames`` frames at ``rate`` frames/s (default: 10 minutes) whose index chunk is renamed
    ``JUNK``, as in AVIs from recorders that stopped before writing it; returns its path (``noindex.avi``)."""
    path = Path(folder) / "noindex.avi"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=rate)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = rate
        for i in range(frames):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame_pixels(i, size), format="rgb24")))
        out.mux(stream.encode())
    data = bytearray(path.read_bytes())
    at = data.rfind(b"idx1")
    if at < 0:
        raise ValueError(f"{path}: the AVI muxer wrote no idx1 chunk")
    data[at:at + 4] = b"JUNK"
    path.write_bytes(bytes(data))
    return path


def set_mp4_rotation(path: Path | str, degrees: int) -> Path:
    """Write a display rotation of ``degrees`` (90, 180, 270; clockwise, as a phone held upright records) into
    the track header matrix of the mp4 at ``path`` (in place), as phones do for portrait videos; returns the path.

    Raises ``ValueError`` when the file has no identity track matrix to replace or for another angle."""
    one, w = 0x10000, 0x40000000
    matrices = {90: (0, one, 0, -one, 0, 0, 0, 0, w), 180: (-one, 0, 0, 0, -one, 0, 0, 0, w),
                270: (0, -one, 0, one, 0, 0, 0, 0, w)}
    if degrees not in matrices:
        raise ValueError(f"rotation must be 90, 180 or 270 degrees, got {degrees}")
    path = Path(path)
    data = bytearray(path.read_bytes())
    identity = struct.pack(">9i", one, 0, 0, 0, one, 0, 0, 0, w)
    at = data.find(identity, data.find(b"tkhd"))
    if data.find(b"tkhd") < 0 or at < 0:
        raise ValueError(f"{path}: no identity track matrix found")
    data[at:at + 36] = struct.pack(">9i", *matrices[degrees])
    path.write_bytes(bytes(data))
    return path
