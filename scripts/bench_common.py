"""Shared pieces of the benchmark scripts (scripts/bench_*.py): machine facts, timing, test videos, output.

Every benchmark prints ONE JSON line. It carries `machine()` (CPU count, torch version and threads, the load
average at the start and at the end of the run) because this machine may be shared: compare numbers as
ratios measured in the same run, never across runs.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

_LOAD_AT_START = os.getloadavg()


def machine() -> dict:
    """CPU count, Python/torch versions, torch threads, load average (1, 5, 15 min) at start and now."""
    import torch

    return {"cpus": os.cpu_count(), "platform": platform.platform(terse=True), "python": sys.version.split()[0],
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
            "loadavg_start": [round(x, 2) for x in _LOAD_AT_START],
            "loadavg_end": [round(x, 2) for x in os.getloadavg()]}


def emit(result: dict) -> None:
    """Print ``result`` plus `machine()` as one JSON line on stdout."""
    print(json.dumps({**result, "machine": machine()}), flush=True)


def seconds(fn: Callable[[], object]) -> float:
    """Wall seconds of one call of ``fn``."""
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def summary(samples: list[float], digits: int = 4) -> dict:
    """min / median / max of a list of seconds (or milliseconds), rounded."""
    return {"min": round(min(samples), digits), "median": round(statistics.median(samples), digits),
            "max": round(max(samples), digits), "n": len(samples)}


def percentile(samples: list[float], q: float) -> float:
    """The ``q``-th percentile (0..100) of ``samples`` (linear interpolation, numpy's default)."""
    return float(np.percentile(np.asarray(samples, dtype=float), q))


def face_image(width: int = 640, height: int = 480, face_px: int = 300) -> np.ndarray:
    """A uint8 RGB (height, width, 3) frame with one real face (scikit-image's bundled ``astronaut``
    photograph, NASA, public domain) of about ``face_px`` pixels, centred on a grey background."""
    from skimage.data import astronaut

    face = cv2.resize(np.ascontiguousarray(astronaut()[0:280, 90:370]), (face_px, face_px),
                      interpolation=cv2.INTER_AREA)
    img = np.full((height, width, 3), 96, np.uint8)
    y, x = (height - face_px) // 2, (width - face_px) // 2
    img[y:y + face_px, x:x + face_px] = face
    return img


def write_video(path: Path, n_frames: int, width: int = 640, height: int = 480, fps: float = 30.0,
                face: bool = True) -> Path:
    """Write an mp4v video of ``n_frames`` (width x height pixels): the `face_image` moving by a pixel or
    two per frame (``face=True``) or a flat frame with a moving bar (``face=False``, cheap to encode);
    every frame carries its number as text. Raises ``RuntimeError`` when OpenCV cannot write it."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {path} with the mp4v codec")
    base = cv2.cvtColor(face_image(width, height, min(300, height * 5 // 8)), cv2.COLOR_RGB2BGR) if face \
        else np.full((height, width, 3), 64, np.uint8)
    try:
        for i in range(n_frames):
            if face:
                frame = np.roll(base, (int(2 * np.sin(i / 5)), i % 3), axis=(0, 1))
            else:
                frame = base.copy()
                x = (i * 7) % width
                frame[:, x:x + 16] = 200
            cv2.putText(frame, str(i), (10, height - 20), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2)
            writer.write(frame)
    finally:
        writer.release()
    return path


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (VmHWM), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rss_mb() -> float:
    """Current resident set size of this process (VmRSS), MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    return float("nan")
