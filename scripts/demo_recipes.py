#!/usr/bin/env python
"""Try demo-model recipes: build each (timed) and score it on held-out synthetic subjects.

    .venv/bin/python scripts/demo_recipes.py '{}' '{"image_size": 48, "epochs": 6}' ...

Each argument is a JSON object of `app.demo.DemoRecipe` overrides (``{}`` = the shipped recipe). For each one
prints a JSON line: the recipe, build seconds, and on the held-out clips (`app.demo.demo_clips(held_out=True)`:
2 subjects never trained on) the accuracy (chance 0.25), the mean per-clip Spearman correlation between the
predicted k_n and the generator's true intensity at the frame map, and the mean k_n at onset/apex/offset
positions. Uses the app's own `Predictor`, so the numbers are what the window shows.
"""
from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.stats as st
import torch

from app.demo import DEMO_RECIPE, build_demo_model, demo_clips
from cmnet_core.inference import Predictor
from cmnet_core.train.checkpoint import load_checkpoint


def score(checkpoint: Path, recipe) -> dict:
    """Held-out accuracy, mean per-clip Spearman(k_n, true intensity), mean k at first/apex/last position."""
    predictor = Predictor.load(checkpoint, device="cpu")
    hits, rhos, ends, apexes = [], [], [], []
    for clip in demo_clips(recipe, held_out=True):
        p = predictor.predict(clip)
        hits.append(p.labels[int(np.argmax(p.probabilities))] == clip.label)
        numbers = np.asarray(clip.frame_numbers, dtype=np.float64)
        truth = np.interp(p.frame_map, numbers, [clip.true_intensity[int(n)] for n in numbers])
        rhos.append(st.spearmanr(p.intensity, truth).statistic)
        ends.append((p.intensity[0] + p.intensity[-1]) / 2)
        apexes.append(p.intensity[p.apex_position])
    return {"heldout_clips": len(hits), "heldout_acc": round(float(np.mean(hits)), 3),
            "spearman_mean": round(float(np.nanmean(rhos)), 3),
            "spearman_positive_frac": round(float(np.mean(np.asarray(rhos) > 0)), 3),
            "k_ends": round(float(np.mean(ends)), 3), "k_apex": round(float(np.mean(apexes)), 3)}


def main(argv: list[str]) -> int:
    torch.set_flush_denormal(True)
    for arg in argv or ["{}"]:
        recipe = dataclasses.replace(DEMO_RECIPE, **json.loads(arg))
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.monotonic()
            marks: dict[str, float] = {}

            def progress(fraction: float, message: str) -> None:
                marks.setdefault(message.split(" ")[0], time.monotonic() - t0)  # first "preparing"/"training"
                print(f"{time.monotonic() - t0:6.0f} s  {fraction:4.0%}  {message}", file=sys.stderr, flush=True)

            path = build_demo_model(Path(tmp) / "demo.pt", progress=progress, recipe=recipe)
            seconds = time.monotonic() - t0
            history = load_checkpoint(path).metadata.get("history", [])
            result = score(path, recipe)
        print(json.dumps({"recipe": dataclasses.asdict(recipe), "build_s": round(seconds, 1),
                          "preprocess_s": round(marks.get("training", 0.0), 1), **result,
                          "train_losses": [{k: round(v, 4) for k, v in h.items() if k.startswith(("l_", "total"))}
                                           for h in history[::max(1, len(history) // 3)]]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
