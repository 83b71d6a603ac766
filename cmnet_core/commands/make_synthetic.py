"""``cmnet make-synthetic OUT_DIR``: write a synthetic micro-expression database to disk."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
from tqdm import tqdm

from ..data.synthetic import SYNTHETIC_LABELS, SYNTHETIC_RECIPES, Distractors, contact_sheet
from ..data.synthetic_writer import write_synthetic_database


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``make-synthetic`` on the ``cmnet`` subparsers."""
    p = subparsers.add_parser(
        "make-synthetic", help="write a synthetic micro-expression database (frames + clips.csv + truth)",
        description="Write procedural face clips with known onset/apex/offset and true intensity as a "
                    "database tree (<subject>/<clip>/img0001.png, clips.csv, truth.json, synthetic.json).")
    p.add_argument("out_dir", help="new or empty folder to write into")
    p.add_argument("--subjects", type=int, default=6,
                   help="number of subjects (identities), default 6; with --recipe real_texture: face variants, "
                        "spread over the face bank's 7 people (subject folders are the people)")
    p.add_argument("--clips-per-class", type=int, default=3, help="clips per class and subject, default 3")
    p.add_argument("--size", type=int, default=128, help="frame side in pixels, default 128")
    p.add_argument("--seed", type=int, default=0, help="random seed, default 0")
    p.add_argument("--recipe", choices=tuple(SYNTHETIC_RECIPES),
                   help="generator condition (apex amplitude range and distractors): "
                        + "; ".join(f"{r.name}: {r.description}" for r in SYNTHETIC_RECIPES.values()).replace("%", "%%")
                        + ". Default: none, the generator's own defaults (2.5-4 px at 224 px, default distractors; "
                          "the trees written before recipes existed)")
    p.add_argument("--labels", nargs="+", default=list(SYNTHETIC_LABELS), choices=SYNTHETIC_LABELS,
                   help="classes to draw (default all)")
    p.add_argument("--sheet", metavar="PNG",
                   help="also save a contact sheet: onset, apex and amplified apex-onset difference of the "
                        "first subject's clips")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Write the tree and print its summary; exit status 2 when the folder or parameters are unusable."""
    total = args.subjects * args.clips_per_class * len(args.labels)
    with tqdm(total=total, unit="clip", file=sys.stderr, disable=None) as bar:
        recipe = {}
        if args.recipe:
            r = SYNTHETIC_RECIPES[args.recipe]
            recipe = {"amplitude_range": r.amplitude_range, "distractors": r.distractors, "generator": r.generator}
        try:
            db = write_synthetic_database(args.out_dir, n_subjects=args.subjects,
                                          clips_per_class=args.clips_per_class, image_size=args.size,
                                          seed=args.seed, labels=args.labels,
                                          progress=lambda done, _total: bar.update(done - bar.n), **recipe)
        except (FileExistsError, ValueError) as exc:
            print(f"cmnet make-synthetic: {exc}", file=sys.stderr)
            return 2
        except OSError as exc:   # e.g. a full disk; the partial tree was removed by write_synthetic_database
            from ..safe_write import free_mb
            left = free_mb(Path(args.out_dir).parent)
            space = f" ({left:.0f} MB free there)" if left is not None else ""
            print(f"cmnet make-synthetic: could not write {args.out_dir}{space}: {exc}. Nothing was left behind; "
                  "free some space or choose another folder", file=sys.stderr)
            return 2
    print(db.summary_text())
    low, high = recipe.get("amplitude_range", (2.5, 4.0))
    d = recipe.get("distractors", Distractors())
    print(f"recipe: {args.recipe or 'none (generator defaults)'}: apex amplitude {low:g}-{high:g} px at 224 px, head "
          f"motion {d.head_motion_px:g} px, blink probability {d.blink_probability:g}, flicker {d.flicker:g}, "
          f"noise σ {d.noise_sigma:g} (recorded in synthetic.json; per-clip amplitude_px in truth.json)")
    if args.sheet:
        first = [c for c in db.clips if c.subject == db.subjects()[0]]
        if not cv2.imwrite(args.sheet, cv2.cvtColor(contact_sheet(first, columns=1), cv2.COLOR_RGB2BGR)):
            print(f"cmnet make-synthetic: could not write the contact sheet {args.sheet}", file=sys.stderr)
            return 1
        print(f"contact sheet: {args.sheet}")
    return 0
