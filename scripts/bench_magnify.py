"""Speed of Eulerian motion magnification (`cmnet_core.magnify.magnify_frames`) on face-crop-sized clips, for
both methods: linear (Wu et al. 2012) and phase-based (Riesz pyramid, Wadhwa et al. 2014).

A 200-frame synthetic clip (`make_synthetic_clip`, 200 fps as CASME II) is rendered at 224 and at 128 pixels
and magnified with the default `MagnifySettings` (alpha 10, 0.4-3 Hz, 4 levels) and each method; the frames are
rendered before timing, so only the magnification is timed. One warm-up run, then ``--runs`` timed runs per size
and method (median, min, max; ms per frame from the median).

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
from cmnet_core.magnify import METHODS, MagnifySettings, magnify_frames  # noqa: E402

GOAL_S = 2.0
N_FRAMES = 200


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timed runs per size (after one warm-up), default 3")
    args = parser.parse_args()
    load_start = os.getloadavg()
    results: dict = {method: {} for method in METHODS}
    for size in (224, 128):
        clip = make_synthetic_clip(0, "surprise", image_size=size, n_frames=N_FRAMES)
        frames = np.stack([clip.frame(n) for n in clip.frame_numbers])
        for method in METHODS:
            settings = MagnifySettings(method=method)
            magnify_frames(frames, clip.fps, settings)
            times = []
            for _ in range(args.runs):
                t = time.perf_counter()
                magnify_frames(frames, clip.fps, settings)
                times.append(time.perf_counter() - t)
            total = statistics.median(times)
            results[method][f"{size}px"] = {"frames": N_FRAMES, "total_s": round(total, 3),
                                            "min_s": round(min(times), 3), "max_s": round(max(times), 3),
                                            "ms_per_frame": round(1000 * total / N_FRAMES, 2)}
    d = MagnifySettings()
    emit({"bench": "magnify", "settings": {"alpha": d.alpha, "low_hz": d.low_hz, "high_hz": d.high_hz,
                                             "levels": d.levels},
          "methods": results, "goal_s": GOAL_S,
          "goal_met_224px": {m: results[m]["224px"]["total_s"] <= GOAL_S for m in METHODS},
          "loadavg": [round(x, 2) for x in os.getloadavg()], "loadavg_before": [round(x, 2) for x in load_start]})


if __name__ == "__main__":
    main()
