"""Benchmark peak memory when opening a long 1080p video against a short one (the reader must never hold
the whole video).

Two 1920x1080 mp4v videos are written to a temporary folder: 10 minutes and 1 minute long. Each is opened in
a fresh child process (peak RSS is per process) twice:
* ``open_clip``: open, frame count, read the first frame, the middle one, the last one, then 50 frames in a row
  from the middle;
* the GUI (offscreen `MainWindow`, File ▸ Open's command): first frame shown, Go to the middle, then End, each
  waited for until displayed (the frame loader prefetches and caches frames as it does for a user).
Reported: peak RSS (VmHWM) of each child, its RSS after imports, and the difference 10 min − 1 min.
Goal: the same peak for both lengths (we call it the same within 5 % of the 1-minute peak).

Writing 10 minutes of 1080p at 30 fps (18,000 frames) takes several minutes with OpenCV's mp4v encoder here
(~65 frames/s), so the default frame rate is 10 fps (6,000 and 600 frames); ``--fps 30`` gives the full count.
The duration, not the frame rate, is what a reader that held every frame would scale with, and the frame
count (10x) is what it would scale with in practice.

    .venv/bin/python scripts/bench_memory.py [--fps 10] [--minutes 10]

Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_common import emit, peak_rss_mb, rss_mb, write_video

HERE = Path(__file__).resolve().parent


def child_reader(path: str) -> dict:
    from cmnet_core.data.readers import open_clip

    base = rss_mb()
    clip = open_clip(path)
    numbers = clip.frame_numbers
    n = len(numbers)
    for i in (0, n // 2, n - 1):
        clip.frame(numbers[i])
    for i in range(n // 2, min(n, n // 2 + 50)):
        clip.frame(numbers[i])
    return {"frames": n, "rss_after_imports_mb": round(base, 1), "peak_rss_mb": round(peak_rss_mb(), 1)}


def child_gui(path: str) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication(["cmnet-bench-memory"])
    app.setOrganizationName("CMNet Studio Bench")
    tmp = tempfile.mkdtemp()
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)
    from app.commands import GoToFrame, OpenPath
    from app.main_window import MainWindow

    window = MainWindow(data_dir=Path(tmp) / "data")
    window.show()
    base = rss_mb()

    def shown(timeout_s: float = 120.0) -> None:
        end = time.perf_counter() + timeout_s
        while not window.loader.cached(window.state.frame):
            if time.perf_counter() > end:
                raise SystemExit(f"frame {window.state.frame} not shown within {timeout_s} s")
            loop = QEventLoop()
            QTimer.singleShot(10, loop.quit)
            loop.exec()
        loop = QEventLoop()
        QTimer.singleShot(1500, loop.quit)  # let prefetch fill its window
        loop.exec()

    window.commands.execute(OpenPath, path=path)
    shown()
    nums = window.state.frame_numbers()
    window.commands.execute(GoToFrame, frame=nums[len(nums) // 2])
    shown()
    window.commands.execute(GoToFrame, end="last")
    shown()
    result = {"frames": len(nums), "rss_after_imports_mb": round(base, 1), "peak_rss_mb": round(peak_rss_mb(), 1)}
    window.shutdown()
    return result


def run_child(mode: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", mode, str(path)],
                         capture_output=True, text=True, cwd=HERE.parent, timeout=900)
    if out.returncode != 0:
        raise SystemExit(f"child {mode} {path.name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fps", type=float, default=10.0, help="frame rate of the test videos (default 10)")
    ap.add_argument("--minutes", type=float, default=10.0, help="length of the long video (default 10)")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        mode, path = args.child
        print(json.dumps(child_reader(path) if mode == "reader" else child_gui(path)), flush=True)
        return
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        videos = {}
        t = time.perf_counter()
        for name, minutes in (("long", args.minutes), ("short", 1.0)):
            videos[name] = write_video(Path(tmp) / f"{name}.mp4", int(round(minutes * 60 * args.fps)), 1920, 1080,
                                       args.fps, face=False)
        write_s = time.perf_counter() - t
        for mode in ("reader", "gui"):
            runs = {name: run_child(mode, path) for name, path in videos.items()}
            diff = runs["long"]["peak_rss_mb"] - runs["short"]["peak_rss_mb"]
            results[mode] = {**runs, "peak_diff_mb": round(diff, 1),
                             "same": abs(diff) <= 0.05 * runs["short"]["peak_rss_mb"]}
    emit({"bench": "memory", "videos": f"1920x1080 mp4v at {args.fps:g} fps: {args.minutes:g} min "
                                       f"({int(round(args.minutes * 60 * args.fps))} frames) vs 1 min",
          "write_videos_s": round(write_s, 1), "open_clip": results["reader"], "gui": results["gui"],
          "goal": "same peak RSS (within 5 %)"})


if __name__ == "__main__":
    main()
