#!/usr/bin/env python
"""Apex-spotting benchmark: absolute apex error in source frames against the synthetic clips' true apex, for the
pipeline's spotter (`cmnet_core.preprocess.apex.spot_apex`), the previous one (grey difference from the onset
after a phase-correlation shift, ``difference-v0``) and the onset..offset midpoint. Prints ONE JSON line.

    .venv/bin/python scripts/bench_apex.py                      # 4 recipes x 48 clips (~1-2 min on 2 cores)
    .venv/bin/python scripts/bench_apex.py --recipes hard --clips-per-class 6

Per recipe (`SYNTHETIC_RECIPES`: ``demo``, ``realistic``, ``hard``, ``real_texture``): mean and median error,
the share of clips within 2 frames, the spotter's median confidence, the new spotter's mean error on the clips
it is confident about (confidence >= 0.3) and on the others, what the midpoint in place of its unsure answers
would give (a fallback the pipeline does not take: it notes the low confidence), and its median confidence on
clips with no expression (the same clips at amplitude 0: the confidence should be low there). Clips are
rendered at 128 px and aligned from their landmark hint as the pipeline does (``landmarks="hint"``, 112-px
crops, margin 0.6); the span is onset..offset, so the midpoint is a fair prior (the generator puts the apex at
30-70 % of it). Seeds are fixed.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_common import emit  # noqa: E402

from cmnet_core.data.real_texture import real_texture_clip_specs, texture_clips  # noqa: E402
from cmnet_core.data.synthetic import (SYNTHETIC_RECIPES, FaceIdentity, make_synthetic_clip,  # noqa: E402
                                       synthetic_clip_specs)
from cmnet_core.preprocess.align import alignment_matrix, warp  # noqa: E402
from cmnet_core.preprocess.apex import (SPOTTER, midpoint, motion_score, spot_apex,  # noqa: E402
                                        spotting_image)
from cmnet_core.preprocess.pipeline import LOW_CONFIDENCE, span_frames  # noqa: E402

RENDER_SIZE, CROP_SIZE, MARGIN = 128, 112, 0.6


def recipe_clips(recipe: str, n_subjects: int, clips_per_class: int, seed: int, amplitude: float | None = None):
    """The clips of one recipe: ``n_subjects`` identities x 4 classes x ``clips_per_class`` (``amplitude`` in px
    at 224 px overrides the recipe's range, 0 = no expression)."""
    r = SYNTHETIC_RECIPES[recipe]
    amp_range = r.amplitude_range if amplitude is None else (amplitude, amplitude)
    if r.generator == "real_texture":
        return texture_clips(real_texture_clip_specs(n_subjects, clips_per_class, seed), RENDER_SIZE,
                             distractors=r.distractors, amplitude_range=amp_range)
    return [make_synthetic_clip(sp["seed"], sp["label"], sp["subject"], name=sp["name"],
                                identity=FaceIdentity.random(sp["identity_seed"]), image_size=RENDER_SIZE,
                                distractors=r.distractors, amplitude_range=amp_range)
            for sp in synthetic_clip_specs(n_subjects=n_subjects, clips_per_class=clips_per_class, seed=seed)]


def aligned_span(clip) -> tuple[np.ndarray, list[int]]:
    """Aligned crops (T, 112, 112, 3) of onset..offset (one transform, from the landmark hint) and their frame
    numbers: what the pipeline spots on with ``landmarks="hint"``."""
    span = span_frames(clip)
    matrix = alignment_matrix(np.asarray(clip.landmarks_hint)[:5], CROP_SIZE, MARGIN)
    return np.stack([warp(clip.frame(n), matrix, CROP_SIZE) for n in span]), span


def difference_apex(crops: np.ndarray) -> int:
    """The previous spotter (``difference-v0``): argmax of `motion_score` from the onset."""
    images = [spotting_image(c) for c in crops]
    return int(np.argmax([motion_score(im, images[0]) for im in images]))


def errors_summary(errors: list[float]) -> dict:
    e = np.asarray(errors, dtype=np.float64)
    return {"mean": round(float(e.mean()), 3), "median": round(float(np.median(e)), 2),
            "within_2": round(float(np.mean(e <= 2)), 3)}


def bench_recipe(recipe: str, n_subjects: int, clips_per_class: int, seed: int, n_flat: int) -> dict:
    new, old, mid, conf = [], [], [], []
    for clip in recipe_clips(recipe, n_subjects, clips_per_class, seed):
        crops, span = aligned_span(clip)
        spot = spot_apex(crops, 0, margin=MARGIN)
        apex = float(clip.annotation.apex)
        new.append(abs(span[spot.index] - apex))
        old.append(abs(span[difference_apex(crops)] - apex))
        mid.append(abs(midpoint(span) - apex))
        conf.append(spot.confidence)
    flat = [spot_apex(aligned_span(c)[0], 0, margin=MARGIN).confidence
            for c in recipe_clips(recipe, n_subjects, clips_per_class, seed + 1, amplitude=0.0)[:n_flat]]
    sure = np.asarray(conf) >= LOW_CONFIDENCE
    new_arr = np.asarray(new)
    fallback = np.where(sure, new_arr, np.asarray(mid))
    return {"clips": len(new), SPOTTER: errors_summary(new), "difference-v0": errors_summary(old),
            "midpoint": errors_summary(mid), f"{SPOTTER}, midpoint below confidence {LOW_CONFIDENCE}":
            errors_summary(list(fallback)), "confidence_median": round(float(np.median(conf)), 3),
            "mean_error_confident": round(float(new_arr[sure].mean()), 3) if sure.any() else None,
            "mean_error_unsure": round(float(new_arr[~sure].mean()), 3) if (~sure).any() else None,
            "share_confident": round(float(sure.mean()), 3),
            "no_expression_confidence_median": round(float(np.median(flat)), 3), "no_expression_clips": len(flat)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--recipes", nargs="+", default=list(SYNTHETIC_RECIPES), choices=list(SYNTHETIC_RECIPES))
    p.add_argument("--subjects", type=int, default=4, help="identities per recipe (x 4 classes x clips per class)")
    p.add_argument("--clips-per-class", type=int, default=3)
    p.add_argument("--no-expression-clips", type=int, default=16, help="amplitude-0 clips for the confidence check")
    p.add_argument("--seed", type=int, default=11)
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    results = {r: bench_recipe(r, args.subjects, args.clips_per_class, args.seed, args.no_expression_clips)
               for r in args.recipes}
    emit({"bench": "apex", "spotter": SPOTTER, "error": "|spotted frame - true apex|, source frames",
          "render_px": RENDER_SIZE, "crop_px": CROP_SIZE, "seed": args.seed, "recipes": results,
          "seconds": round(time.perf_counter() - t0, 1)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
