"""Benchmark the whole preprocessing of a 640x480 clip (CASME II RAW-like JPEG frame folder) on the CPU.

Prints one JSON line: frames/s (clip frames / wall seconds) with an empty cache ("cold": decode, one
landmark pass on the onset frame, one face check on the last frame, warp, temporal normalisation, cache
write) and with the entry cached, for the annotated apex (16 frames decoded) and for apex spotting (every
frame decoded). The landmark model is loaded before timing; its load time is reported separately.

    .venv/bin/python scripts/bench_preprocess.py [--frames 72] [--repeats 3] [--landmarks mtcnn]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from bench_common import emit
from cmnet_core.data.readers import open_clip
from cmnet_core.preprocess.cache import PreprocessCache
from cmnet_core.preprocess.face import get_backend, resolve_backend
from cmnet_core.preprocess.pipeline import preprocess_clip
from cmnet_core.preprocess.types import PreprocessSettings

VIDEO = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "face_videos" / "single_face.mp4"


def make_clip_folder(folder: Path, n_frames: int) -> None:
    """Write ``n_frames`` 640x480 JPEGs (the 640x360 real face video, padded top and bottom; without the shared
    data folder, e.g. in a clean clone, a real face photograph moving a little: `bench_common.write_video`)."""
    source = VIDEO
    if not VIDEO.is_file():
        from bench_common import write_video

        source = write_video(folder.parent / "face.mp4", n_frames, 640, 360)
    cap = cv2.VideoCapture(str(source))
    frames = []
    while len(frames) < n_frames:
        ok, frame = cap.read()
        if not ok:
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            continue
        frames.append(cv2.copyMakeBorder(frame, 60, 60, 0, 0, cv2.BORDER_REPLICATE))
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"img{i + 1}.jpg"), frame, [cv2.IMWRITE_JPEG_QUALITY, 90])


def timed(clip_path: Path, settings: PreprocessSettings, cache: PreprocessCache, apex: int | None,
          repeats: int) -> tuple[float, float]:
    """Best-of-``repeats`` seconds with an empty cache and with a cached entry."""
    cold, warm = [], []
    for r in range(repeats):
        clip = open_clip(clip_path).with_annotation(apex=apex)
        sub = PreprocessCache(cache.folder / f"{apex}-{r}")
        t = time.perf_counter()
        preprocess_clip(clip, settings, sub)
        cold.append(time.perf_counter() - t)
        clip = open_clip(clip_path).with_annotation(apex=apex)
        t = time.perf_counter()
        preprocess_clip(clip, settings, sub)
        warm.append(time.perf_counter() - t)
        assert sub.hits == 1
    return min(cold), min(warm)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=72, help="clip length in frames (default 72)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--landmarks", default="mtcnn", help="landmark backend (default mtcnn)")
    args = ap.parse_args()
    settings = PreprocessSettings(landmarks=args.landmarks)
    backend, _ = resolve_backend(args.landmarks)
    t = time.perf_counter()
    if backend in ("fan", "mtcnn"):
        get_backend(backend).detect(np.zeros((480, 640, 3), np.uint8))
    load_s = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "EP_bench"
        folder.mkdir()
        make_clip_folder(folder, args.frames)
        cache = PreprocessCache(Path(tmp) / "cache")
        n = args.frames
        cold_a, warm_a = timed(folder, settings, cache, apex=n // 2, repeats=args.repeats)
        cold_s, warm_s = timed(folder, settings, cache, apex=None, repeats=args.repeats)
    emit({
        "bench": "preprocess_clip", "clip": f"{n} frames 640x480 JPEG folder", "backend": backend,
        "size": settings.image_size,
        "num_frames": settings.num_frames, "torch_threads": torch.get_num_threads(),
        "model_load_s": round(load_s, 3),
        "annotated_apex": {"cold_fps": round(n / cold_a, 1), "cached_fps": round(n / warm_a, 1),
                           "cold_s": round(cold_a, 3), "cached_s": round(warm_a, 4)},
        "apex_spotting": {"cold_fps": round(n / cold_s, 1), "cached_fps": round(n / warm_s, 1),
                          "cold_s": round(cold_s, 3), "cached_s": round(warm_s, 4)},
    })


if __name__ == "__main__":
    main()
