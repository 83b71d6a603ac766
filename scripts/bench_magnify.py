"""Speed of Eulerian motion magnification (`cmnet_core.magnify.magnify_frames`) on face-crop-sized clips.

A 200-frame synthetic clip (`make_synthetic_clip`, 200 fps as CASME II) is rendered at 224 and at 128 pixels
and magnified with the default `MagnifySettings` (alpha 10, 0.4-3 Hz, 4 levels); the frames are rendered
before timing, so only the magnification is timed. One warm-up run, then ``--runs`` timed runs per size.

Goal (issue 21): a 200-frame clip at face-crop size (224 px) within 2 s on this 2-core CPU.

    PYTHONPATH=. .venv/bin/python scripts/bench_magnify.py [--runs 3]

Prints one JSON line.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_common import emit  # noqa: E402

from cmnet_core.data.synthetic import make_synthetic_clip  # noqa: E402
from cmnet_core.magnify import MagnifySettings, magnify_frames  # noqa: E402

GOAL_S = 2.0
N_FRAMES = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per size (after one warm-up), default 3")
    args = parser.parse_args()
    settings = MagnifySettings()
    load_start = os.getloadavg()
    sizes = {}
    for size in (224, 128):
        clip = make_synthetic_clip(0, "surprise", image_size=size, n_frames=N_FRAMES)
        frames = np.stack([clip.frame(n) for n in clip.frame_numbers])
        magnify_frames(frames, clip.fps, settings)
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            magnify_frames(frames, clip.fps, settings)
            times.append(time.perf_counter() - t)
        total = statistics.median(times)
        sizes[f"{size}px"] = {"frames": N_FRAMES, "total_s": round(total, 3), "min_s": round(min(times), 3),
                              "max_s": round(max(times), 3), "ms_per_frame": round(1000 * total / N_FRAMES, 2)}
    emit({"bench": "magnify", "settings": {"alpha": settings.alpha, "low_hz": settings.low_hz,
                                             "high_hz": settings.high_hz, "levels": settings.levels},
          "sizes": sizes, "goal_s": GOAL_S, "goal_met_224px": sizes["224px"]["total_s"] <= GOAL_S,
          "loadavg": [round(x, 2) for x in os.getloadavg()], "loadavg_before": [round(x, 2) for x in load_start]})


if __name__ == "__main__":
    main()
