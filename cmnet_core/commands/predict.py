"""``cmnet predict CKPT PATH...``: predict clips (video files, frame folders, folders of videos, databases)."""
from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import time
from pathlib import Path

from ..train.options import add_database_arguments, add_progress_arguments, say


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``predict`` on the ``cmnet`` subparsers."""
    p = subparsers.add_parser(
        "predict", help="predict emotion and intensity curve of clips with a checkpoint",
        description="Each PATH is a video file, a frame folder, a folder of videos, or a database root. Writes "
                    "<out>/<clip>.csv (one row per sampled frame: position, frame, time_s, intensity k_n, "
                    "prototype mean and sigma), <out>/predictions.csv (one row per clip with probabilities and "
                    "seconds taken) and <out>/predictions.json. Exit status 1 when some clip failed.")
    p.add_argument("checkpoint", help="a checkpoint written by cmnet train/loso (final.pt)")
    p.add_argument("paths", nargs="+", help="video files, frame folders, folders of videos or database roots")
    p.add_argument("--out", default="predictions", help="output folder (default ./predictions)")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda ...")
    add_database_arguments(p)
    add_progress_arguments(p)
    p.set_defaults(func=run)
    return p


def _clips(path: Path, args) -> list[tuple[str, object]]:
    """(id, Clip) pairs for one PATH argument."""
    from ..data import adapters  # noqa: F401  (importing registers the database adapters)
    from ..data.database import ADAPTERS, open_database
    from ..data.readers import VIDEO_EXTENSIONS, open_clip

    if path.is_dir():
        if args.kind or any(a.detect(path) for a in ADAPTERS.values()):
            db = open_database(path, sheet=args.sheet, kind=args.kind, protocol=args.protocol)
            return [(f"{c.subject}_{c.name}", c) for c in db.clips]
        videos = sorted(f for f in path.iterdir() if f.suffix.lower() in VIDEO_EXTENSIONS)
        if videos:
            return [(v.stem, open_clip(v)) for v in videos]
    return [(path.stem or path.name, open_clip(path))]


def _emit(args, event: str, **fields) -> None:
    if args.progress == "jsonl":
        print(json.dumps({"event": event, **fields}), flush=True)


def run(args: argparse.Namespace) -> int:
    """Predict every clip; 0 all done, 1 some clips failed, 2 unusable checkpoint or paths."""
    from ..data.clip import ClipError
    from ..data.database import DatabaseError
    from ..inference import Predictor
    from ..preprocess.errors import PreprocessError
    from ..train.checkpoint import CheckpointError

    try:
        t0 = time.perf_counter()
        predictor = Predictor.load(args.checkpoint, device=args.device)
        say(args, f"checkpoint {args.checkpoint} on {predictor.device} ({time.perf_counter() - t0:.2f} s); "
                  f"labels {predictor.labels}")
        items = []
        for p in args.paths:
            items += _clips(Path(p), args)
    except (CheckpointError, DatabaseError, ClipError, ValueError, OSError) as exc:
        print(f"cmnet predict: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, dicts, used, failed = [], [], set(), 0
    _emit(args, "run_start", clips=len(items), device=str(predictor.device), checkpoint=args.checkpoint)
    for i, (ident, clip) in enumerate(items, start=1):
        ident = re.sub(r"[^A-Za-z0-9_.-]+", "_", ident)
        base, k = ident, 1
        while ident in used:
            k += 1
            ident = f"{base}-{k}"
        used.add(ident)
        _emit(args, "clip_start", index=i, clips=len(items), clip=ident, source=str(clip.path))
        t = time.perf_counter()
        try:
            pred = predictor.predict(clip)
        except (PreprocessError, ClipError) as exc:
            failed += 1
            seconds = time.perf_counter() - t
            rows.append({"clip": ident, "source": str(clip.path), "status": "failed", "error": str(exc),
                         "seconds": round(seconds, 3)})
            _emit(args, "clip_error", index=i, clip=ident, error=str(exc), seconds=round(seconds, 3))
            say(args, f"[{i}/{len(items)}] {ident}: FAILED after {seconds:.2f} s: {exc}")
            continue
        finally:
            clip.close()
        seconds = time.perf_counter() - t
        pred.write_csv(out / f"{ident}.csv")
        d = pred.to_dict()
        d.update(id=ident, true_label=clip.label, seconds=round(seconds, 3))
        dicts.append(d)
        rows.append({"clip": ident, "source": str(clip.path), "status": "done", "error": "",
                     "seconds": round(seconds, 3), "label": pred.label, "true_label": clip.label or "",
                     "apex_position": pred.apex_position, "apex_source": pred.provenance["apex_source"],
                     "backend": pred.provenance["preprocess_backend"], "device": str(predictor.device),
                     **{f"p_{lab}": round(float(p), 6) for lab, p in zip(pred.labels, pred.probabilities)}})
        _emit(args, "clip_end", index=i, clip=ident, label=pred.label, seconds=round(seconds, 3),
              probabilities=d["probabilities"])
        say(args, f"[{i}/{len(items)}] {ident}: {pred.label} "
                  f"({max(pred.probabilities) * 100:.1f} %) in {seconds:.2f} s "
                  f"[{pred.provenance['preprocess_backend']}, apex {pred.provenance['apex_source']}]")
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with open(out / "predictions.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(rows)
    (out / "predictions.json").write_text(json.dumps({"checkpoint": args.checkpoint, "device": str(predictor.device),
                                                      "clips": dicts, "failed": [r for r in rows
                                                                                 if r["status"] == "failed"]},
                                                     indent=1), encoding="utf-8")
    _emit(args, "run_end", status="finished", done=len(dicts), failed=failed, out=str(out))
    say(args, f"{len(dicts)} clip(s) predicted, {failed} failed; results in {out}/")
    return 1 if failed else 0
