"""Benchmark frame timing and random access of `VideoSource` (PyAV) against OpenCV's average-fps view (issue 13).

Prints one JSON line. For every video in ../shared/data/face_videos and the synthetic timed fixtures
(`cmnet_core.data.timed_video`, written to a temporary folder, plus a 10-minute 32x32 AVI without an index): frame count (ours, OpenCV's header), OpenCV's fps
and its last frame time (frame / fps, what the app showed before) against the last pts time, the largest error in
frames of OpenCV-style times and of our ``times_s`` against the pts of plain sequential decoding, our VFR flag,
the time to open and to build the index, and milliseconds per backward jump (cache cleared before each) for our
reader and for OpenCV's ``CAP_PROP_POS_FRAMES`` seek + read, with how many of OpenCV's landed on another frame
than the one asked for (ours are checked against sequential decoding in tests/data/test_video_timing.py).

    .venv/bin/python scripts/bench_video_timing.py [--videos DIR] [--jumps 8]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # this checkout's cmnet_core, not an installed one

from bench_common import emit, summary  # noqa: E402
from cmnet_core.data.readers import VIDEO_EXTENSIONS, VideoSource  # noqa: E402
from cmnet_core.data.timed_video import KINDS, decoded_times, write_timed_video, write_unindexed_avi  # noqa: E402

VIDEOS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "face_videos"


def backward_targets(n: int, jumps: int) -> list[int]:
    """``jumps`` frame indices from late to early, each a jump backwards from the one before."""
    return [int(x) for x in np.linspace(n - 1, 0, jumps + 1)[1:]]


def measure(path: Path, jumps: int) -> dict:
    """Timing facts of one video (see the module docstring)."""
    ref = decoded_times(path)
    step = float(np.median(np.diff(ref))) if len(ref) > 1 else 1.0
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    cv_fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
    cv_count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    cv_times = np.arange(len(ref)) / cv_fps if cv_fps > 0 else np.full(len(ref), np.nan)
    t = time.perf_counter()
    v = VideoSource(path)
    open_s = time.perf_counter() - t
    t = time.perf_counter()
    v.build_index()
    index_s = time.perf_counter() - t
    ours, cv_ms, cv_wrong = [], [], 0
    v.read(v.frame_count - 1)
    cap.set(cv2.CAP_PROP_POS_FRAMES, v.frame_count - 1)
    cap.read()
    for i in backward_targets(v.frame_count, jumps):
        v._cache.clear()                         # measure the seek, not the cache
        t = time.perf_counter()
        frame = v.read(i)
        ours.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        cap.set(cv2.CAP_PROP_POS_FRAMES, i)
        ok, bgr = cap.read()
        cv_ms.append((time.perf_counter() - t) * 1000)
        cv_wrong += not (ok and np.array_equal(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), frame))
    cap.release()
    out = {"video": path.name, "codec": v.codec, "frames": v.frame_count, "opencv_frames": cv_count,
           "opencv_fps": round(cv_fps, 4), "opencv_last_time_s": round(float(cv_times[-1]), 4),
           "pts_last_time_s": round(float(ref[-1]), 4), "duration_s": round(v.duration_s, 4),
           "opencv_max_error_frames": round(float(np.nanmax(np.abs(cv_times - ref)) / step), 2),
           "ours_max_error_frames": round(float(np.max(np.abs(v.times_s - ref)) / step), 6)
           if len(v.times_s) == len(ref) else f"count differs: {len(v.times_s)} vs {len(ref)}",
           "is_vfr": v.is_vfr, "time_source": v.time_source, "keyframes": len(v.keyframes),
           "open_s": round(open_s, 4), "index_s": round(index_s, 4),
           "backward_jump_ms": summary(ours, 2), "opencv_backward_jump_ms": summary(cv_ms, 2),
           "opencv_jumps_landing_on_another_frame": cv_wrong}
    v.close()
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--videos", type=Path, default=VIDEOS, help="folder of real videos (default: %(default)s)")
    p.add_argument("--jumps", type=int, default=8, help="backward jumps per video (default 8)")
    p.add_argument("--noindex-frames", type=int, default=18_000,
                   help="frames of the AVI without an index (default 18000: 10 minutes at 30 fps)")
    args = p.parse_args()
    real = sorted(f for f in args.videos.iterdir() if f.suffix.lower() in VIDEO_EXTENSIONS) if args.videos.is_dir() else []
    with tempfile.TemporaryDirectory() as tmp:
        synthetic = [write_timed_video(tmp, kind) for kind in KINDS]
        synthetic.append(write_unindexed_avi(tmp, frames=args.noindex_frames))
        results = [measure(f, args.jumps) for f in [*real, *synthetic]]
    emit({"bench": "video_timing", "videos": results})


if __name__ == "__main__":
    main()
