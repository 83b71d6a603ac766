"""``cmnet spot VIDEO --out candidates.csv [--eaf FILE]``: candidate micro-/macro-expression intervals in a video."""
from __future__ import annotations

import argparse
import sys

from ..data.clip import ClipError


def _box(text: str) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give the face box as X,Y,W,H in pixels, e.g. 170,90,300,300")
    return x, y, w, h


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``spot`` on the ``cmnet`` subparsers."""
    p = subparsers.add_parser("spot", help="spot candidate expression intervals in a long video",
                              description="Scan a video (or frame folder) for candidate micro- and macro-expression "
                                          "intervals (optical flow against a sliding reference, head motion and "
                                          "blinks removed, adaptive threshold; cmnet_core.spotting) and write them "
                                          "as CSV, and optionally as an ELAN tier 'candidates'.")
    p.add_argument("video", help="video file or frame folder")
    p.add_argument("--out", required=True, help="CSV to write (onset, apex, offset, times, duration, kind, ...)")
    p.add_argument("--eaf", help="also write an ELAN file with the tier 'candidates' (media linked)")
    p.add_argument("--fps", type=float, help="frame rate of a frame folder (videos carry their own)")
    p.add_argument("--face-box", type=_box, metavar="X,Y,W,H",
                   help="face box in pixels (default: detected with MTCNN on the first frame; the whole frame "
                        "when no face is found)")
    p.add_argument("--track-every", type=float, default=5.0, metavar="S",
                   help="look for the face again every S seconds (MTCNN) and move the face box with it when it "
                        "has moved; 0 keeps the first frame's box (default 5; not with --face-box)")
    p.add_argument("--threshold", type=float, default=0.3,
                   help="p of the threshold mean + p*(max - mean) over each minute, default 0.3 (higher: fewer)")
    p.set_defaults(func=run)
    return p


def _landmarks(clip):
    """5 landmarks (5, 2) pixels of the first frame from MTCNN (`cmnet_core.preprocess.face.locate_face`), or None
    (no detector, no face)."""
    return _first_face(clip)[0]


def _first_face(clip) -> tuple:
    """``(landmarks (5, 2) pixels of the first frame or None, detector_works)``: MTCNN on the first frame; a
    detector that cannot run says so on stderr (then the whole frame is used and no face is looked for)."""
    try:
        from ..preprocess.face import locate_face

        found = locate_face(clip.frame(clip.frame_numbers[0]))
    except Exception as exc:  # noqa: BLE001 - detection is a convenience: fall back to the whole frame
        print(f"cmnet spot: no face detection ({exc}); using the whole frame", file=sys.stderr)
        return None, False
    return (None if found is None else found.points), True


def run(args: argparse.Namespace) -> int:
    """Spot, write the CSV (and ELAN file), print a summary; 2 with the reason when the input cannot be read."""
    from ..data.readers import open_clip
    from ..spotting import candidates_csv, spot, write_candidates_eaf

    try:
        clip = open_clip(args.video, fps=args.fps)
        landmarks, detector = (None, False) if args.face_box else _first_face(clip)
        track = None
        if detector and args.track_every > 0:   # also when the first frame shows no face: it may come later
            from ..preprocess.face import locate_landmarks as track
        report: dict = {}
        found = spot(clip, face_box=args.face_box, landmarks=landmarks, p=args.threshold, track=track,
                     track_every_s=args.track_every, report=report)
        candidates_csv(found, args.out, clip)
        if args.eaf:
            write_candidates_eaf(args.eaf, found, clip)
    except (ClipError, ValueError, OSError) as exc:
        print(f"cmnet spot: {exc}", file=sys.stderr)
        return 2
    if report.get("no_face"):
        runs = ", ".join(f"{clip.time_of(a):.1f}–{clip.time_of(b):.1f} s" for a, b in report["no_face"][:5])
        more = f" and {len(report['no_face']) - 5} more" if len(report["no_face"]) > 5 else ""
        print(f"cmnet spot: no face in {report['no_face_s']:.1f} s of the video ({runs}{more}): no candidates there",
              file=sys.stderr)
    micro = sum(c.kind == "micro" for c in found)
    print(f"{len(found)} candidates ({micro} micro, {len(found) - micro} macro) in {len(clip)} frames "
          f"({clip.times_s[-1]:.1f} s) -> {args.out}" + (f", {args.eaf}" if args.eaf else ""))
    return 0
