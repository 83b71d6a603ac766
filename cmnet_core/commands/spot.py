"""``cmnet spot VIDEO --out candidates.csv [--eaf FILE]``: candidate micro-/macro-expression intervals in a video."""
from __future__ import annotations

import argparse
import math
import re
import sys

from ..data.clip import ClipError
from .predict import positive_fps


def _box(text: str) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give the face box as X,Y,W,H in pixels, e.g. 170,90,300,300")
    return x, y, w, h


def _seconds(text: str) -> float:
    """``--track-every``: a finite number of seconds >= 0."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"--track-every must be a number of seconds >= 0 (0: keep the first "
                                         f"frame's face box), got {text!r}")
    return value


def _fraction(text: str) -> float:
    """``--threshold``: p strictly between 0 and 1."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"--threshold must be between 0 and 1 (exclusive), e.g. 0.3 (higher: "
                                         f"fewer candidates), got {text!r}")
    return value


#: ``--face-box -10,-10,50,50``: a value argparse would take for an option because of its leading minus.
_NEGATIVE_BOX = re.compile(r"^-\d+(,-?\d+){3}$")


def glue_negative_face_box(argv: list[str]) -> list[str]:
    """``--face-box -10,...`` as ``--face-box=-10,...`` so argparse does not take the value for an option (the
    box is then refused by `cmnet_core.spotting.spot` with a message saying what fits)."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] == "--face-box" and i + 1 < len(argv) and _NEGATIVE_BOX.match(argv[i + 1]):
            out.append(f"--face-box={argv[i + 1]}")
            i += 2
        else:
            out.append(argv[i])
            i += 1
    return out


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``spot`` on the ``cmnet`` subparsers."""
    p = subparsers.add_parser("spot", help="spot candidate expression intervals in a long video",
                              description="Scan a video (or frame folder) for candidate micro- and macro-expression "
                                          "intervals (optical flow against a sliding reference, head motion and "
                                          "blinks removed, adaptive threshold; cmnet_core.spotting) and write them "
                                          "as CSV, and optionally as an ELAN tier 'candidates'.")
    p.add_argument("video", help="video file or frame folder")
    p.add_argument("--out", required=True, help="CSV to write (onset, apex, offset, times, duration, kind, ..., "
                                                "time_source); never the input, its folder must exist")
    p.add_argument("--eaf", help="also write an ELAN file with the tier 'candidates' (media linked)")
    p.add_argument("--fps", type=positive_fps,
                   help="frame rate of a frame folder (videos carry their own); without it 30 fps is assumed and "
                        "the CSV's time_source says 'assumed'")
    p.add_argument("--face-box", type=_box, metavar="X,Y,W,H",
                   help="face box in pixels (default: detected with MTCNN on the first frame; the whole frame "
                        "when no face is found)")
    p.add_argument("--track-every", type=_seconds, default=None, metavar="S",
                   help="look for the face again every S seconds (MTCNN) and move the face box with it when it "
                        "has moved; 0 keeps the first frame's box (default 5; not with --face-box, which is fixed). "
                        "Either way frames without the face in the box (a cut, a title card, the person gone) "
                        "hold no candidate and are listed")
    p.add_argument("--threshold", type=_fraction, default=0.3,
                   help="p of the threshold mean + p*(max - mean) over each minute, 0 < p < 1, default 0.3 "
                        "(higher: fewer)")
    p.set_defaults(func=run)
    return p


def _landmarks(clip):
    """5 landmarks (5, 2) pixels of the first frame from MTCNN (`cmnet_core.preprocess.face.locate_face`), or None
    (no detector, no face)."""
    return _first_face(clip)[0]


def _detector_works() -> bool:
    """True when MTCNN can be built here (it checks that the face is in a --face-box); else says so on stderr."""
    try:
        from ..preprocess.face import get_backend

        get_backend("mtcnn")
    except Exception as exc:  # noqa: BLE001 - the check is a convenience: spot without it, and say so
        print(f"cmnet spot: no face detection ({exc}); frames without a face are not recognised", file=sys.stderr)
        return False
    return True


def _first_face(clip) -> tuple:
    """``(landmarks (5, 2) pixels of the first frame or None, detector_works)``: MTCNN on the first frame; a
    detector that cannot run says so on stderr (then the whole frame is used and no face is looked for)."""
    try:
        from ..preprocess.face import locate_face

        found = locate_face(clip.frame(clip.frame_numbers[0]))
    except Exception as exc:  # noqa: BLE001 - detection is a convenience: fall back to the whole frame
        print(f"cmnet spot: no face detection ({exc}); using the whole frame", file=sys.stderr)
        return None, False
    if found is None:
        print(f"cmnet spot: no face found in frame {clip.frame_numbers[0]} (MTCNN); looking for one every second "
              "(give the face with --face-box X,Y,W,H if MTCNN misses it)", file=sys.stderr)
        return None, True
    if found.n_faces > 1:
        x, y, w, h = found.box
        print(f"cmnet spot: note: {found.n_faces} faces in frame {clip.frame_numbers[0]}; spotting the largest, at "
              f"{x},{y} ({w}x{h} px); give another with --face-box X,Y,W,H", file=sys.stderr)
    return found.points, True


def run(args: argparse.Namespace) -> int:
    """Spot, write the CSV (and ELAN file), print a summary; 2 with the reason when the input cannot be read,
    an option is out of range or an output cannot (or must not) be written."""
    from ..data.readers import open_clip
    from ..safe_write import OutputPathError, check_output
    from ..spotting import candidates_csv, spot, write_candidates_eaf

    def fail(message: str) -> int:
        print(f"cmnet spot: {message}", file=sys.stderr)
        return 2

    if args.face_box is not None and args.track_every is not None:
        return fail("--face-box fixes the face box for the whole video, so --track-every does not apply; leave "
                    "out one of them")
    track_every = 5.0 if args.track_every is None else args.track_every
    try:   # before any work: never overwrite the input or the other output; fail now, not after the scan
        check_output(args.out, inputs=[args.video], others={"--eaf": args.eaf}, option="--out",
                     example="candidates.csv")
        if args.eaf:
            check_output(args.eaf, inputs=[args.video], others={"--out": args.out}, option="--eaf",
                         example="candidates.eaf")
    except OutputPathError as exc:
        return fail(str(exc))
    try:
        clip = open_clip(args.video, fps=args.fps)
    except (ClipError, ValueError, OSError) as exc:
        return fail(str(exc))
    try:
        if clip.time_source == "assumed":
            print(f"cmnet spot: note: no frame rate is known for {args.video}: times assume {clip.fps:g} fps (the "
                  "CSV's time_source says 'assumed'; micro vs macro depends on it); give the real rate with --fps",
                  file=sys.stderr)
        landmarks, detector = (None, _detector_works()) if args.face_box else _first_face(clip)
        if args.face_box:
            track_every = 0.0   # the given box stays where it is; the face is still checked to be in it
        track = None
        if detector:   # also when the first frame shows no face (it may come later), and with a fixed box (0 or
            # --face-box): the face is still checked to be in view
            from ..preprocess.face import locate_landmarks as track
            if 0 < track_every < 1.0 / clip.fps:
                print(f"cmnet spot: note: --track-every {track_every:g} s is shorter than a frame: the face is "
                      "looked for on every frame (slow; 5 s is usually enough)", file=sys.stderr)
        report: dict = {}
        found = spot(clip, face_box=args.face_box, landmarks=landmarks, p=args.threshold, track=track,
                     track_every_s=track_every, report=report)
        candidates_csv(found, args.out, clip)
        if args.eaf:
            write_candidates_eaf(args.eaf, found, clip)
    except (ClipError, ValueError, OSError) as exc:
        return fail(str(exc))
    finally:
        clip.close()
    if report.get("no_face"):
        runs = ", ".join(f"{clip.time_of(a):.2f} s (frame {a})" if a == b else
                         f"{clip.time_of(a):.2f}–{clip.time_of(b) + 1 / clip.fps:.2f} s (frames {a}–{b})"
                         for a, b in report["no_face"][:5])
        more = f" and {len(report['no_face']) - 5} more" if len(report["no_face"]) > 5 else ""
        print(f"cmnet spot: no face in {report['no_face_s']:.2f} s of the video: {runs}{more}; no candidates there",
              file=sys.stderr)
    micro = sum(c.kind == "micro" for c in found)
    print(f"{len(found)} candidate{'' if len(found) == 1 else 's'} ({micro} micro, {len(found) - micro} macro) in "
          f"{len(clip)} frames ({clip.times_s[-1]:.1f} s) -> {args.out}" + (f", {args.eaf}" if args.eaf else ""))
    return 0
