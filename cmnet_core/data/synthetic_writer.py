"""Writing a synthetic micro-expression database to disk (`write_synthetic_database`): the cartoon generator of
`cmnet_core.data.synthetic` or the warped photographs of `cmnet_core.data.real_texture`, as a database tree that
`open_database` reads back (``cmnet make-synthetic``, the tests, the benchmarks). It sits above both generators and
the database reader, so none of them imports another back.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np

from .database import Database, open_database
from .real_texture import real_texture_clip_specs, texture_clips
from .synthetic import (FRAME_PATTERN, SHEET_COLUMNS, SHEET_FILE, SPEC_FILE, SYNTHETIC_LABELS, TRUTH_FILE, Distractors,
                        synthetic_clip_specs, synthetic_database)


def write_synthetic_database(root: str | Path, n_subjects: int = 6, clips_per_class: int = 3, image_size: int = 128,
                             seed: int = 0, labels: Sequence[str] = SYNTHETIC_LABELS, fps: float = 200.0,
                             distractors: Distractors = Distractors(),
                             progress: Callable[[int, int], None] | None = None,
                             amplitude_range: tuple[float, float] = (2.5, 4.0), generator: str = "cartoon") -> Database:
    """Write a synthetic database as an ordinary tree that anyone can browse, and open it.

    Layout under ``root``: ``<subject>/<clip>/img0001.png ...`` (RGB PNG frames, S x S pixels),
    ``clips.csv`` (subject, clip, onset, apex, offset, emotion, aus, notes; frame numbers),
    ``truth.json`` (per ``"<subject>/<clip>"``: true intensity {frame: value}, landmarks_hint
    (5, 2) pixels, apex amplitude ``amplitude_px`` at 224 px, clip and identity seeds) and ``synthetic.json`` (the generator parameters).
    The tree is written into a hidden sibling folder and moved to ``root`` only when complete.

    ``generator`` ``"real_texture"`` writes warped face photographs (`cmnet_core.data.real_texture`) instead of
    cartoons: ``n_subjects`` appearance variants spread over the face bank's people, subject folders named by
    person (so LOSO folds never share a person), truth.json records each variant's ``identity``.

    ``progress(done, total)`` is called after each clip. Returns ``open_database(root)`` of the
    result. Raises ``FileExistsError`` when ``root`` exists and is not empty (nothing is
    overwritten), ``ValueError`` for bad parameters, ``OSError`` when a file cannot be written.
    """
    root = Path(root)
    if root.exists() and (not root.is_dir() or any(root.iterdir())):
        raise FileExistsError(f"{root} exists and is not empty; choose a new folder (nothing was written)")
    if generator == "real_texture":
        specs = real_texture_clip_specs(n_subjects, clips_per_class, seed, labels=labels)
        db = Database(name="synthetic", root=Path(f"synthetic://seed{seed}"), protocol=f"synthetic-{len(labels)}",
                      labels=list(labels), clips=texture_clips(specs, image_size, fps, distractors, amplitude_range))
    elif generator == "cartoon":
        db = synthetic_database(n_subjects, clips_per_class, image_size, seed, labels, fps, distractors,
                                amplitude_range)
        specs = synthetic_clip_specs(n_subjects, clips_per_class, seed, labels)
    else:
        raise ValueError(f"unknown generator {generator!r}; use 'cartoon' or 'real_texture'")
    root.parent.mkdir(parents=True, exist_ok=True)
    partial = root.parent / f".{root.name}.partial-{os.getpid()}"
    try:
        partial.mkdir()
        rows, truth = [], {}
        for done, (clip, spec) in enumerate(zip(db.clips, specs), start=1):
            folder = partial / clip.subject / clip.name
            folder.mkdir(parents=True)
            for n in clip.frame_numbers:
                target = folder / FRAME_PATTERN.format(n)
                if not cv2.imwrite(str(target), cv2.cvtColor(clip.frame(n), cv2.COLOR_RGB2BGR)):
                    raise OSError(f"could not write {target}")
            a = clip.annotation
            rows.append([clip.subject, clip.name, a.onset, a.apex, a.offset, a.emotion, a.aus, a.notes])
            truth[f"{clip.subject}/{clip.name}"] = {
                "true_intensity": {str(n): round(v, 6) for n, v in clip.true_intensity.items()},
                "landmarks_hint": np.round(clip.landmarks_hint.astype(np.float64), 3).tolist(),
                "amplitude_px": clip.true_amplitude_px,
                "seed": spec["seed"], **({"identity_seed": spec["identity_seed"]} if "identity_seed" in spec
                                         else {"identity": asdict(spec["identity"])})}
            if progress is not None:
                progress(done, len(db.clips))
        with open(partial / SHEET_FILE, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(SHEET_COLUMNS)
            writer.writerows(rows)
        (partial / TRUTH_FILE).write_text(json.dumps(truth, indent=1), encoding="utf-8")
        parameters = {"generator": "cmnet_core.data.synthetic", "format": 1, "n_subjects": n_subjects,
                      "clips_per_class": clips_per_class, "image_size": image_size, "seed": seed,
                      "labels": list(labels), "fps": fps, "protocol": db.protocol,
                      "distractors": asdict(distractors), "amplitude_range": list(amplitude_range),
                      "generator": generator}
        (partial / SPEC_FILE).write_text(json.dumps(parameters, indent=1), encoding="utf-8")
        os.replace(partial, root)  # replaces an empty folder; never a non-empty one
    finally:
        if partial.exists():
            shutil.rmtree(partial)
    return open_database(root, kind="synthetic")


__all__ = ["write_synthetic_database"]
