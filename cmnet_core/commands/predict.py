"""``cmnet predict CKPT PATH...``: predict clips (video files, frame folders, folders of videos, databases)."""
from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
from pathlib import Path

from ..preprocess.apex import APEX_MODES, describe_apex_source
from ..preprocess.types import BACKENDS
from ..train.options import add_database_arguments, add_progress_arguments, say


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``predict`` on the ``cmnet`` subparsers."""
    p = subparsers.add_parser(
        "predict", help="predict emotion and intensity curve of clips with a checkpoint",
        description="Each PATH is a video file, a frame folder, a folder of videos, or a database root. Writes "
                    "<out>/<clip>.csv (one row per sampled frame: position, frame, time_s, time_source (pts = "
                    "measured from the video's decoded timestamps, nominal = frame / a known fps, assumed = a frame "
                    "folder at an assumed 30 fps: give --fps), intensity k_n, "
                    "prototype mean and sigma, is_apex, is_k_peak), <out>/predictions.csv (one row per clip with "
                    "probabilities, apex frame, k_peak_frame (peak of k_n: an apex estimate from the frames), "
                    "apex_change (clip-level intensity: optical-flow motion onset -> k_n peak, px at a 224-px face crop) "
                    "and seconds taken) "
                    "and <out>/predictions.json. A clip that cannot be read or has no face is "
                    "recorded there with its error and the others go on; exit status 1 when some clip failed, "
                    "2 when no PATH exists, the checkpoint is unusable or a result cannot be written (e.g. disk "
                    "full: files are written whole or not at all, previous ones are kept).")
    p.add_argument("checkpoint", help="a checkpoint written by cmnet train/loso (final.pt), or \"demo\" for the "
                                      "shipped synthetic demo model (resources/demo/cmnet-demo.pt)")
    p.add_argument("paths", nargs="+", help="video files, frame folders, folders of videos or database roots")
    p.add_argument("--out", default="predictions", help="output folder (default ./predictions)")
    p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda ...")
    p.add_argument("--fps", type=positive_fps, default=None,
                   help="frame rate of frame folders given as PATH (frames/s); without it their times assume 30 fps "
                        "and say so (time_source 'assumed'). Videos always use their own timestamps")
    p.add_argument("--landmarks", choices=BACKENDS,
                   help="landmark backend (default: the checkpoint's); 'none' = centre crop for clips where no "
                        "face is found; recorded in each prediction's provenance")
    p.add_argument("--apex-mode", choices=APEX_MODES,
                   help="apex source (default: the checkpoint's); recorded in each prediction's provenance")
    add_database_arguments(p)
    add_progress_arguments(p)
    p.set_defaults(func=run)
    return p


def positive_fps(text: str) -> float:
    """``--fps`` value: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"--fps must be a number of frames per second > 0, got {text!r}")
    return value


def _clips(path: Path, args) -> list[tuple[str, str, object, str]]:
    """(id, source, Clip or None, error) for one PATH argument: a database root's clips, a folder's videos (each
    opened on its own: one that cannot be read is a failed entry and the others go on), a clip folder of a
    database (its clip, with the database's fps and the sheet's marks; unless ``--fps`` is given), or one clip.
    Raises `ClipError`/`DatabaseError`/`OSError` when PATH as a whole cannot be opened."""
    from ..data import adapters  # noqa: F401  (importing registers the database adapters)
    from ..data.clip import ClipError
    from ..data.database import ADAPTERS, ClipFolderPlace, locate_clip_folder, open_database
    from ..data.readers import VIDEO_EXTENSIONS, open_clip

    if path.is_dir():
        if args.kind or any(a.detect(path) for a in ADAPTERS.values()):
            db = open_database(path, sheet=args.sheet, kind=args.kind, protocol=args.protocol)
            return [(f"{c.subject}_{c.name}", str(c.path), c, "") for c in db.clips]
        videos = sorted(f for f in path.iterdir() if f.suffix.lower() in VIDEO_EXTENSIONS)
        if videos:
            entries = []
            for v in videos:
                try:
                    entries.append((v.stem, str(v), open_clip(v), ""))
                except (ClipError, OSError, ValueError) as exc:
                    entries.append((v.stem, str(v), None, str(exc)))
            return entries
        place = ClipFolderPlace() if getattr(args, "fps", None) else locate_clip_folder(path, sheet=args.sheet)
        if place.enclosing is not None:  # a clip folder of a database: its fps and the sheet's onset/apex/offset
            return [(f"{c.subject}_{c.name}", str(c.path), c, "") for c in place.enclosing.clips]
        if place.left_out is not None:   # its sheet row was left out: the database's fps, and the reason
            clip = open_clip(path, fps=place.left_out.fps)
            clip.source.rate_note = place.left_out.note()
            say(args, f"note: {path}: {place.left_out.note()}")
            return [(path.stem or path.name, str(clip.path), clip, "")]
        missing = place.sheet_missing
        if missing is not None:
            say(args, f"note: {path} is a clip folder of a {missing.kind} database at {missing.root} whose annotation "
                      "sheet is neither in nor beside it: pass --sheet FILE for the database's frame rate and marks "
                      "(times below assume 30 fps)")
    clip = open_clip(path, fps=getattr(args, "fps", None))
    return [(path.stem or path.name, str(clip.path), clip, "")]


def label_coverage_warning(true_labels: list[str], checkpoint_labels) -> str:
    """A warning when clips carry true labels the checkpoint cannot predict (e.g. CASME II ``others`` clips and a
    checkpoint trained without ``others``), else ``""``. ``true_labels``: one per clip that has one."""
    from collections import Counter

    missing = Counter(lab for lab in true_labels if lab not in set(checkpoint_labels))
    if not missing:
        return ""
    parts = ", ".join(f"{n} '{lab}'" for lab, n in missing.most_common())
    return (f"{sum(missing.values())} of {len(true_labels)} clips have labels this checkpoint does not know "
            f"({parts}); it predicts only {', '.join(checkpoint_labels)}, so those clips get one of these. Use a "
            "checkpoint trained on the same label protocol (--protocol) for a meaningful comparison")


def _emit(args, event: str, **fields) -> None:
    if args.progress == "jsonl":
        print(json.dumps({"event": event, **fields}), flush=True)


def _open_all(paths: list[Path], args) -> list:
    """A `BatchItem` (id, source, Clip or None, error) for every clip the paths stand for; a path that cannot be opened
    becomes one failed entry (its error message), so that the other paths still run."""
    from ..batch import BatchItem
    from ..data.clip import ClipError
    from ..data.database import DatabaseError

    items = []
    for path in paths:
        try:
            items += _clips(path, args)
        except (ClipError, DatabaseError, OSError) as exc:
            items.append((path.stem or path.name, str(path), None, str(exc)))
    return [BatchItem(*item) for item in items]


def run(args: argparse.Namespace) -> int:
    """Predict every clip; 0 all done, 1 some clips failed, 2 unusable checkpoint, no existing path or a result
    that cannot be written (disk full: "disk full at PATH (N MB free)")."""
    from ..batch import predict_many, row_columns
    from ..demo import resolve_checkpoint
    from ..inference import Predictor
    from ..safe_write import write_text_atomically
    from ..train.checkpoint import CheckpointError

    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.exists()]
    if len(missing) == len(paths):
        print(f"cmnet predict: no input exists: {', '.join(missing)}", file=sys.stderr)
        return 2
    if Path(args.out).exists() and not Path(args.out).is_dir():
        print(f"cmnet predict: --out {args.out} is an existing file, not a folder: give a folder for the "
              "per-clip CSVs, predictions.csv and predictions.json (nothing was written)", file=sys.stderr)
        return 2
    try:
        t0 = time.perf_counter()
        predictor = Predictor.load(resolve_checkpoint(args.checkpoint), device=args.device)
        predictor.override(landmarks=args.landmarks, apex_mode=args.apex_mode)
    except (CheckpointError, ValueError, OSError) as exc:
        print(f"cmnet predict: {exc}", file=sys.stderr)
        return 2
    changed = "".join(f"; {k} {v['used']} (checkpoint: {v['checkpoint']})" for k, v in predictor.overrides.items())
    say(args, f"checkpoint {args.checkpoint} on {predictor.device} ({time.perf_counter() - t0:.2f} s); "
              f"labels {predictor.labels}{changed}")
    if missing:
        say(args, f"not found (recorded as failed, the others go on): {', '.join(missing)}")
    items = _open_all(paths, args)
    uncovered = label_coverage_warning([clip.label for _, _, clip, _ in items if clip is not None and clip.label],
                                       predictor.labels)
    if uncovered:
        say(args, f"warning: {uncovered}")
        _emit(args, "warning", message=uncovered)
    notes_said: set[str] = set()   # a note shared by every clip (e.g. the landmark fallback) is printed once
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows, dicts = [], []
    _emit(args, "run_start", clips=len(items), device=str(predictor.device), checkpoint=args.checkpoint)

    def started(i: int, count: int, ident: str, source: str) -> None:
        _emit(args, "clip_start", index=i, clips=count, clip=ident, source=source)

    try:
        for res in predict_many(predictor, items, started=started):
            i, ident, pred, row = res.index, res.ident, res.prediction, res.row
            rows.append(row)
            if pred is None:
                _emit(args, "clip_error", index=i, clip=ident, error=row["error"], seconds=row["seconds"])
                say(args, f"[{i}/{len(items)}] {ident}: FAILED after {res.seconds:.2f} s: {row['error']}")
                continue
            pred.write_csv(out / f"{ident}.csv")
            d = pred.to_dict()
            d.update(id=ident, true_label=res.clip.label, seconds=round(res.seconds, 3))
            dicts.append(d)
            _emit(args, "clip_end", index=i, clip=ident, label=pred.label, seconds=round(res.seconds, 3),
                  probabilities=d["probabilities"])
            apex_text = describe_apex_source(pred.provenance["apex_source"], pred.provenance.get("apex_confidence"))
            say(args, f"[{i}/{len(items)}] {ident}: {pred.label} "
                      f"({max(pred.probabilities) * 100:.1f} %) in {res.seconds:.2f} s "
                      f"[{pred.provenance['preprocess_backend']}, apex {apex_text}]")
            for note in pred.provenance["notes"]:
                if note not in notes_said:
                    notes_said.add(note)
                    say(args, f"    note: {note}")
        failed = sum(r["status"] == "failed" for r in rows)
        table = io.StringIO()
        w = csv.DictWriter(table, fieldnames=row_columns(rows))
        w.writeheader()
        w.writerows(rows)
        write_text_atomically(out / "predictions.csv", table.getvalue())
        write_text_atomically(out / "predictions.json", json.dumps(
            {"checkpoint": args.checkpoint, "device": str(predictor.device), "clips": dicts,
             "failed": [r for r in rows if r["status"] == "failed"],
             "warnings": [uncovered] if uncovered else []}, indent=1))
    except OSError as exc:  # a full disk (DiskFullError: "disk full at PATH (N MB free)") or an unwritable file
        _emit(args, "run_end", status="failed", error=str(exc), out=str(out))
        print(f"cmnet predict: {exc}", file=sys.stderr)
        return 2
    _emit(args, "run_end", status="finished", done=len(dicts), failed=failed, out=str(out))
    say(args, f"{len(dicts)} clip(s) predicted, {failed} failed; results in {out}/")
    return 1 if failed else 0
