"""What a full subject-grouped k-fold evaluation costs: ``cmnet loso DB --k-folds 5 --with-baseline`` on a synthetic
database shaped like CASME II (DESIGN.md §7: 140 clips of 25 subjects, folds = subject rank mod 5).

The database (not timed): ``--clips`` clips (default 140) over ``--subjects`` subjects (default 25, ``s01``..),
with 2 + a Dirichlet-multinomial share of the rest per subject (seeded), so subjects hold different numbers of
clips as in CASME II (there 1 to 19). Clip i of the database gets class i mod 4 of the generator's 4 classes
(happiness, surprise, disgust, repression), so every fold trains on every class. Each clip is one
`make_synthetic_clip` (one face per subject) of 30..70 frames (uniform; CASME II clips cut to onset..offset at
200 fps are 30-70 frames; the generator's own default, 24..40, is shorter) at ``--source-size`` px (default 128),
written as a synthetic tree (PNG frames, clips.csv, truth.json, synthetic.json) that `cmnet loso` opens like any
database.

The run is the CLI's own code path: `cmnet_core.cli.main` with ``loso DB --k-folds K --preset P --device cpu
--cache off --with-baseline --run-dir RUN --progress jsonl`` (its JSON progress goes to ``RUN/progress.jsonl``, not
to stdout), the preset's default size and training settings unless ``--epochs`` overrides the epochs. Torch runs
with ``--threads`` intra-op threads (default 2).

Prints ONE JSON line (seconds throughout): ``generate_s`` (not counted in the total), ``preprocess_s`` (the run's
preprocessing, recorded in timing.json), ``fold_wall_s`` (fold -> seconds of CMNet training + testing),
``fold_total_s``, ``steps`` (optimiser steps, all folds), ``step_s`` (mean seconds per step), ``total_s`` (the
whole CLI call: preprocessing, CMNet folds, baseline folds, merging), ``baseline_total_s`` (the baseline's folds),
``baseline_fold_wall_s``, the pooled UF1 of both, the database shape, and ``machine`` (`bench_common.machine`:
``cpus`` = os.cpu_count(), ``torch_threads``, ``loadavg_start`` / ``loadavg_end`` = 1/5/15-minute load averages
at the start and the end, so a reader can see whether the machine was shared).

    .venv/bin/python scripts/bench_loso_cost.py [--preset cpu] [--folds 5] [--threads 2] [--subjects 25]
        [--clips 140] [--epochs E] [--source-size 128] [--out RUN_FOLDER]

Without ``--out`` everything is written to a temporary folder that is removed at the end; with it the run folder
(and the database under ``RUN_FOLDER/database``) is kept. Exits 2 with a message for bad sizes (fewer clips than
2 per subject, fewer subjects than folds) or a failed run (the CLI's exit status is then in the message).
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))          # this checkout's cmnet_core, not another installed copy

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from bench_common import emit  # noqa: E402
from cmnet_core.data.synthetic import (FRAME_PATTERN, SHEET_COLUMNS, SHEET_FILE, SPEC_FILE,  # noqa: E402
                                       SYNTHETIC_LABELS, TRUTH_FILE, FaceIdentity, make_synthetic_clip)

#: Frames per clip, uniform in this range (inclusive): CASME II clips cut to onset..offset at 200 fps.
FRAMES = (30, 70)


def clips_per_subject(subjects: int, clips: int, seed: int = 0) -> list[int]:
    """Clips of each subject: 2 each plus a Dirichlet(1)-multinomial share of the rest (sums to ``clips``).
    Raises ``ValueError`` when ``clips`` < 2 × ``subjects``."""
    if subjects < 1 or clips < 2 * subjects:
        raise ValueError(f"{clips} clips cannot give each of {subjects} subjects at least 2")
    rng = np.random.default_rng([seed, 1])
    return (2 + rng.multinomial(clips - 2 * subjects, rng.dirichlet(np.ones(subjects)))).tolist()


def write_database(root: Path, subjects: int, clips: int, size: int, seed: int = 0) -> dict:
    """Write the synthetic tree (see the module docstring) to ``root``; return its shape: clips per subject,
    per class, frames per clip (min, mean, max)."""
    counts = clips_per_subject(subjects, clips, seed)
    rng = np.random.default_rng([seed, 2])
    rows, truth, frames, index = [], {}, [], 0
    for si, n in enumerate(counts):
        subject = f"s{si + 1:02d}"
        identity = FaceIdentity.random([seed, si])
        for k in range(n):
            label = SYNTHETIC_LABELS[index % len(SYNTHETIC_LABELS)]
            length = int(rng.integers(FRAMES[0], FRAMES[1] + 1))
            clip = make_synthetic_clip([seed, si, k], label, subject, identity=identity, name=f"{label}_{k + 1:02d}",
                                       image_size=size, n_frames=length)
            folder = root / subject / clip.name
            folder.mkdir(parents=True)
            for number in clip.frame_numbers:
                cv2.imwrite(str(folder / FRAME_PATTERN.format(number)), cv2.cvtColor(clip.frame(number),
                                                                                      cv2.COLOR_RGB2BGR))
            a = clip.annotation
            rows.append([subject, clip.name, a.onset, a.apex, a.offset, a.emotion, a.aus, a.notes])
            truth[f"{subject}/{clip.name}"] = {
                "true_intensity": {str(n): round(v, 6) for n, v in clip.true_intensity.items()},
                "landmarks_hint": np.round(clip.landmarks_hint.astype(np.float64), 3).tolist(),
                "amplitude_px": clip.true_amplitude_px}
            frames.append(length)
            index += 1
    with open(root / SHEET_FILE, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(SHEET_COLUMNS)
        w.writerows(rows)
    (root / TRUTH_FILE).write_text(json.dumps(truth), encoding="utf-8")
    labels = list(SYNTHETIC_LABELS)
    (root / SPEC_FILE).write_text(json.dumps({
        "generator": "scripts/bench_loso_cost.py", "format": 1, "n_subjects": subjects, "clips": clips,
        "image_size": size, "seed": seed, "labels": labels, "fps": 200.0, "protocol": f"synthetic-{len(labels)}"}),
        encoding="utf-8")
    per_class = {lab: sum(1 for r in rows if r[5] == lab) for lab in labels}
    return {"subjects": subjects, "clips": clips, "clips_per_subject": counts, "per_class": per_class,
            "frames_per_clip": [min(frames), round(float(np.mean(frames)), 1), max(frames)], "source_px": size}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", default="cpu", help="cmnet preset (default cpu, at its default size)")
    p.add_argument("--folds", type=int, default=5, help="K of --k-folds (default 5)")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads (default 2)")
    p.add_argument("--subjects", type=int, default=25, help="subjects (default 25)")
    p.add_argument("--clips", type=int, default=140, help="clips in all (default 140)")
    p.add_argument("--epochs", type=int, help="override the preset's epochs (default: the preset's)")
    p.add_argument("--source-size", type=int, default=128, help="side of the written frames, px (default 128)")
    p.add_argument("--out", help="keep everything in this folder (default: a temporary folder, removed)")
    args = p.parse_args(argv)
    from cmnet_core.cli import main as cmnet

    torch.set_num_threads(args.threads)
    work = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="bench-loso-"))
    try:
        db, run = work / "database", work / "run"
        if db.exists() or run.exists():
            print(f"bench_loso_cost: {work} already holds database/ or run/; give a new --out", file=sys.stderr)
            return 2
        db.mkdir(parents=True)
        t = time.perf_counter()
        try:
            shape = write_database(db, args.subjects, args.clips, args.source_size)
        except ValueError as exc:
            print(f"bench_loso_cost: {exc}", file=sys.stderr)
            return 2
        generate_s = time.perf_counter() - t
        cli = ["loso", str(db), "--k-folds", str(args.folds), "--preset", args.preset, "--device", "cpu",
               "--cache", "off", "--with-baseline", "--run-dir", str(run), "--progress", "jsonl"]
        if args.epochs:
            cli += ["--epochs", str(args.epochs)]
        run.mkdir()
        t = time.perf_counter()
        with open(run / "progress.jsonl", "w", encoding="utf-8") as log, contextlib.redirect_stdout(log):
            rc = cmnet(cli)
        total_s = time.perf_counter() - t
        if rc != 0:
            print(f"bench_loso_cost: cmnet {' '.join(cli)} exited {rc}", file=sys.stderr)
            return 2
        m = json.loads((run / "metrics.json").read_text())
        b = json.loads((run / "baseline" / "metrics.json").read_text())
        tm, tb = m["timing"], b["timing"]
        emit({"bench": "loso_cost", "command": "cmnet " + " ".join(cli[:1] + ["DB"] + cli[2:]),
              "preset": m["preset"]["name"], "image_size": m["model_config"]["image_size"],
              "num_frames": m["model_config"]["num_frames"], "epochs": m["train_config"]["epochs"],
              "batch_size": m["train_config"]["batch_size"], "split": m["split"], "folds": args.folds,
              "database": shape, "generate_s": round(generate_s, 2),
              "preprocess_s": round(tm["preprocess_wall_s"], 2),
              "fold_wall_s": {k: round(v, 2) for k, v in tm["fold_wall_s"].items()},
              "fold_total_s": round(tm["total_fold_wall_s"], 2), "steps": tm["steps"],
              "step_s": round(tm["step_s"], 4), "total_s": round(total_s, 2),
              "baseline_total_s": round(tb["total_fold_wall_s"], 2),
              "baseline_fold_wall_s": {k: round(v, 2) for k, v in tb["fold_wall_s"].items()},
              "uf1": {"cmnet": round(m["pooled"]["uf1"], 4), "baseline": round(b["pooled"]["uf1"], 4)},
              "run_dir": str(run) if args.out else None, "torch_threads_set": args.threads})
        return 0
    finally:
        if not args.out:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
