"""Disk space of a LOSO run with and without fold models (``--keep-fold-models``): one JSON line.

A synthetic database (``--subjects`` subjects, 4 classes × 1 clip each, 64 px) is evaluated twice with the paper's
model (two ResNet-18 trunks, ``--preset fast``, at 32 px and N = 4 so that it runs in a minute on a CPU): once by
default and once with ``--keep-fold-models``. The script reports both run folders' sizes, the size per kept fold
model (float16), and extrapolates both to CASME II's 26 LOSO folds (the run's files other than fold models grow
with the clips, not with the model). Goal (performance issue): a LOSO run without fold models stays under 50 MB.

    .venv/bin/python scripts/bench_loso_disk.py [--subjects 3]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

GOAL_MB = 50.0
CASME2_FOLDS = 26


def folder_mb(path: Path) -> float:
    """Megabytes of the regular files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def main() -> int:
    """Run both LOSO runs and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--subjects", type=int, default=3)
    args = ap.parse_args()
    from cmnet_core.cli import main as cmnet
    from cmnet_core.data.synthetic_writer import write_synthetic_database

    with tempfile.TemporaryDirectory(prefix="cmnet-loso-disk-") as tmp:
        tmp = Path(tmp)
        write_synthetic_database(tmp / "db", n_subjects=args.subjects, clips_per_class=1, image_size=64, seed=1)
        common = ["loso", str(tmp / "db"), "--preset", "fast", "--image-size", "32", "--frames", "4", "--epochs", "1",
                  "--batch-size", "4", "--device", "cpu", "--cache", "off"]
        sizes, walls = {}, {}
        for name, extra in (("default", []), ("keep_fold_models", ["--keep-fold-models"])):
            t = time.perf_counter()
            with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
                rc = cmnet([*common, *extra, "--run-dir", str(tmp / name)])
            walls[name] = round(time.perf_counter() - t, 1)
            if rc != 0:
                print(json.dumps({"bench": "loso_disk", "error": f"cmnet loso exited {rc} ({name})"}))
                return 1
            sizes[name] = folder_mb(tmp / name)
        models = sorted((tmp / "keep_fold_models" / "folds").glob("*/checkpoints/final.pt"))
        per_model = sum(p.stat().st_size for p in models) / 1e6 / max(1, len(models))
        other_per_fold = sizes["default"] / args.subjects
    print(json.dumps({
        "bench": "loso_disk", "folds": args.subjects, "model": "paper (2 ResNet-18), 32 px, N = 4",
        "run_mb_default": round(sizes["default"], 2), "run_mb_keep_fold_models": round(sizes["keep_fold_models"], 1),
        "fold_model_mb_float16": round(per_model, 1),
        "casme2_26_folds_mb_default": round(other_per_fold * CASME2_FOLDS, 1),
        "casme2_26_folds_mb_keep_fold_models": round((other_per_fold + per_model) * CASME2_FOLDS, 1),
        "goal_mb": GOAL_MB, "goal_met": other_per_fold * CASME2_FOLDS < GOAL_MB, "wall_s": walls,
        "loadavg": os.getloadavg()}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
