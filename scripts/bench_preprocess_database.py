"""Benchmark preprocessing a whole database, cold (empty cache) and cached, with `preprocess_database`.

A synthetic database (PNG frame folders + clips.csv, `write_synthetic_database`) is written to a temporary
folder and opened with `open_database`; every clip is preprocessed with an empty `PreprocessCache` ("cold":
read frames, align on the landmark hint, warp, sample to N, write the cache) and then again ("cached": one
cache file read per clip). Frames/s counts the source frames of every clip's onset..offset span (the frames a
user's database holds) per wall second; clips/s is given too. "Cold" means an empty preprocessing cache, not
an empty OS file cache: the PNGs were just written.

    .venv/bin/python scripts/bench_preprocess_database.py [--subjects 4] [--clips-per-class 2]
        [--frame-size 128] [--size 224] [--landmarks hint]

Prints one JSON line.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench_common import emit
from cmnet_core.data.synthetic_writer import write_synthetic_database
from cmnet_core.preprocess.cache import PreprocessCache
from cmnet_core.preprocess.pipeline import preprocess_database, span_frames
from cmnet_core.preprocess.types import PreprocessSettings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subjects", type=int, default=4)
    ap.add_argument("--clips-per-class", type=int, default=2)
    ap.add_argument("--frame-size", type=int, default=128, help="synthetic frame side in pixels (default 128)")
    ap.add_argument("--size", type=int, default=224, help="crop side in pixels (default 224)")
    ap.add_argument("--landmarks", default="hint", help="landmark backend (default hint: the synthetic landmarks)")
    args = ap.parse_args()
    settings = PreprocessSettings(image_size=args.size, landmarks=args.landmarks)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        db = write_synthetic_database(Path(tmp) / "synth", n_subjects=args.subjects,
                                      clips_per_class=args.clips_per_class, image_size=args.frame_size)
        write_s = time.perf_counter() - t
        span = sum(len(span_frames(c)) for c in db.clips)
        total = sum(len(c.frame_numbers) for c in db.clips)
        cache = PreprocessCache(Path(tmp) / "cache")
        runs = {}
        for name in ("cold", "cached"):
            t = time.perf_counter()
            outcomes = preprocess_database(db, settings, cache)
            s = time.perf_counter() - t
            failed = [o.error for o in outcomes if o.status == "failed"]
            if failed:
                raise SystemExit(f"{len(failed)} clips failed, e.g. {failed[0]}")
            runs[name] = {"seconds": round(s, 3), "clips_per_s": round(len(db.clips) / s, 2),
                          "span_frames_per_s": round(span / s, 1),
                          "statuses": sorted({o.status for o in outcomes})}
    emit({"bench": "preprocess_database", "database": f"synthetic, {len(db.clips)} clips of {args.frame_size} px "
                                                      "PNG frames", "clips": len(db.clips),
          "span_frames": span, "total_frames": total, "write_database_s": round(write_s, 2),
          "size": args.size, "num_frames": settings.num_frames, "landmarks": args.landmarks,
          "cold": runs["cold"], "cached": runs["cached"],
          "cached_speedup": round(runs["cold"]["seconds"] / runs["cached"]["seconds"], 1)})


if __name__ == "__main__":
    main()
