"""``cmnet preprocess PATH``: face crops, temporal normalisation, frame map and apex for clips or a database.

PATH is a video or image file, a frame folder, a folder of video files, or a database root (recognised,
or named with ``--kind`` / ``--sheet``). For each clip, ``OUT/<clip>/`` gets ``frame_00.png`` ..
``frame_15.png`` (the aligned crops), ``frame_map.csv`` and ``preprocess.json`` (frame map, apex
position and source, landmark backend, settings, notes). Results are cached, so re-running is near free
and an interrupted database run resumes where it stopped.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from tqdm import tqdm

from ..data.clip import Clip, ClipError
from ..data.database import DatabaseError, open_database
from ..data.readers import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, open_clip
from ..preprocess.apex import APEX_MODES, describe_apex_source
from ..preprocess.cache import PreprocessCache, default_cache_dir
from ..preprocess.errors import PreprocessError
from ..preprocess.temporal import INTERPOLATIONS
from ..preprocess.types import BACKENDS, PreprocessSettings

VIDEO_SUFFIXES, IMAGE_SUFFIXES = set(VIDEO_EXTENSIONS), set(IMAGE_EXTENSIONS)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``preprocess`` on the ``cmnet`` subcommand parser."""
    d = PreprocessSettings()
    p = subparsers.add_parser("preprocess", help="face crops + 16-frame normalisation + apex, cached",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("path", type=Path, help="video/image file, frame folder, folder of videos, or database root")
    p.add_argument("--sheet", type=Path, help="annotation sheet of a database (default: found in the root)")
    p.add_argument("--kind", help="database kind (casme2, samm, smic, casme3, generic, synthetic)")
    p.add_argument("--protocol", help="label protocol of the database (default: the adapter's)")
    p.add_argument("--out", type=Path, default=Path("preprocessed"), help="output folder (default: ./preprocessed)")
    p.add_argument("--size", type=int, default=d.image_size, help=f"crop side in pixels (default {d.image_size})")
    p.add_argument("--frames", type=int, default=d.num_frames, help=f"frames per clip, N (default {d.num_frames})")
    p.add_argument("--margin", type=float, default=d.margin, help=f"crop margin in face units (default {d.margin})")
    p.add_argument("--landmarks", choices=BACKENDS, default=d.landmarks, help="landmark backend (default auto)")
    p.add_argument("--apex", choices=APEX_MODES, default=d.apex_mode, help="apex source (default annotated)")
    p.add_argument("--interpolation", choices=INTERPOLATIONS, default=d.interpolation,
                   help="for clips shorter than N (default tim)")
    p.add_argument("--fan-dir", type=Path, help="folder with the FAN model files (default $CMNET_FAN_DIR or "
                   "the torch hub checkpoints folder)")
    p.add_argument("--cache", type=Path, default=None, help=f"cache folder (default {default_cache_dir()})")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the cache")
    p.add_argument("--contact-sheet", nargs="?", const="", default=None, metavar="PNG",
                   help="also write a contact sheet of the crops: to PNG (one clip; several clips get "
                        "PNG_<clip>.png), or OUT/<clip>/contact_sheet.png when no PNG is given")
    p.set_defaults(func=run)
    return p


def _is_media(path: Path, suffixes: set[str]) -> bool:
    return path.is_file() and path.suffix.lower() in suffixes


def _open_inputs(args) -> tuple[list[Clip], list[str], list[str]]:
    """The clips PATH stands for, lines describing what was opened (database summary, skips), and one
    "FILE: reason" per media file of a folder that cannot be opened (the others go on)."""
    path: Path = args.path
    if not path.exists():
        raise ClipError(f"{path} does not exist")
    if path.is_file():
        return [open_clip(path)], [], []
    if args.sheet is None and args.kind is None:
        entries = sorted(path.iterdir())
        media = [e for e in entries if _is_media(e, VIDEO_SUFFIXES)]
        if media:  # a folder of loose recordings: each video (and photo) is its own clip
            media = [e for e in entries if _is_media(e, VIDEO_SUFFIXES | IMAGE_SUFFIXES)]
            clips, failed = [], []
            for e in media:
                try:
                    clips.append(open_clip(e))
                except (ClipError, OSError, ValueError) as exc:
                    failed.append(f"{e.name}: {exc}")
            return clips, [f"{len(media)} media files in {path}"], failed
        if any(_is_media(e, IMAGE_SUFFIXES) for e in entries):
            return [open_clip(path)], [], []
    db = open_database(path, sheet=args.sheet, kind=args.kind, protocol=args.protocol)
    return list(db.clips), [db.summary_text()], []


def _clip_id(clip: Clip) -> str:
    """Output folder name: ``subject/clip`` for database clips, the file or folder name otherwise (letters of any
    script kept; characters that are unsafe in file names become ``_``)."""
    ident = f"{clip.subject}/{clip.name}" if clip.database and clip.subject else clip.path.name
    return re.sub(r"[^\w./-]+", "_", ident).strip("/") or "clip"


def _clip_ids(clips: list[Clip]) -> dict[int, str]:
    """`_clip_id` of every clip, made unique (``name``, ``name-2`` …) so that no clip's outputs overwrite another's
    (``a b.mp4`` and ``a_b.mp4``); keyed by ``id(clip)``."""
    ids: dict[int, str] = {}
    used: set[str] = set()
    for clip in clips:
        base = ident = _clip_id(clip)
        k = 1
        while ident in used:
            k += 1
            ident = f"{base}-{k}"
        used.add(ident)
        ids[id(clip)] = ident
    return ids


def _sheet_path(args, ident: str, n_clips: int) -> Path:
    """Where the contact sheet of the clip with output id ``ident`` goes."""
    if not args.contact_sheet:
        return args.out / ident / "contact_sheet.png"
    png = Path(args.contact_sheet)
    if n_clips == 1:
        return png
    return png.with_name(f"{png.stem}_{ident.replace('/', '_')}{png.suffix or '.png'}")


def run(args) -> int:
    """Preprocess every clip PATH stands for; exit status 0 = all done, 1 = some clips failed, 2 = bad input."""
    # the detectors and torch load here, not at import, so that `cmnet --help` stays fast
    from ..preprocess.export import write_contact_sheet, write_outputs
    from ..preprocess.face import resolve_backend
    from ..preprocess.pipeline import preprocess_database, validate_settings

    settings = PreprocessSettings(image_size=args.size, num_frames=args.frames, margin=args.margin,
                                  landmarks=args.landmarks, interpolation=args.interpolation, apex_mode=args.apex)
    try:
        validate_settings(settings)
        resolve_backend(settings.landmarks, args.fan_dir)
        clips, lines, unopened = _open_inputs(args)
    except (PreprocessError, ClipError, DatabaseError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    ids = _clip_ids(clips)
    cache = None if args.no_cache else PreprocessCache(args.cache or default_cache_dir())

    def on_result(clip, result):
        write_outputs(result, args.out / ids[id(clip)], source=str(clip.path))
        if args.contact_sheet is not None:
            apex = describe_apex_source(result.apex_source, result.apex_confidence)
            title = f"{ids[id(clip)]}  {result.backend}  apex {apex}"
            write_contact_sheet(result, _sheet_path(args, ids[id(clip)], len(clips)), title=title)

    with tqdm(total=len(clips), desc="preprocess", unit="clip", file=sys.stderr) as bar:
        def progress(done, total, outcome):
            bar.set_postfix_str(f"{ids[id(outcome.clip)]}: {outcome.status}")
            bar.update(1)

        try:
            outcomes = preprocess_database(clips, settings, cache, progress=progress, on_result=on_result,
                                           fan_dir=args.fan_dir)
        except OSError as exc:   # a full disk (DiskFullError: "disk full at PATH (N MB free)") or unwritable output
            bar.close()
            print(f"cmnet preprocess: {exc}", file=sys.stderr)
            return 2
    counts = {s: sum(o.status == s for o in outcomes) for s in ("done", "cached", "failed")}
    print(f"{len(outcomes)} clips: {counts['done']} done, {counts['cached']} from cache, {counts['failed']} failed; "
          f"output in {args.out}")
    by_note: dict[str, list[str]] = {}
    for o in outcomes:
        for note in o.notes:
            by_note.setdefault(note, []).append(ids[id(o.clip)])
    for note, who in by_note.items():
        print(f"  note ({who[0] if len(who) == 1 else f'{len(who)} clips'}): {note}")
    for o in outcomes:
        if o.status == "failed":
            print(f"  FAILED {ids[id(o.clip)]}: {o.error}", file=sys.stderr)
    for line in unopened:
        print(f"  FAILED (cannot be opened) {line}", file=sys.stderr)
    return 1 if counts["failed"] or unopened else 0
