"""``cmnet magnify PATH``: write a motion-magnified copy of a clip, or of a frame range of it (Eulerian
magnification: linear, Wu et al. 2012, or phase-based, Wadhwa et al. 2014)."""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from .predict import positive_fps

#: ``--face`` widens the detector's face box by this fraction of its side on every side (forehead, chin).
FACE_MARGIN = 0.15


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``magnify`` on the ``cmnet`` subparsers."""
    from ..magnify import METHODS, MagnifySettings

    d = MagnifySettings()
    p = subparsers.add_parser(
        "magnify", help="write a motion-magnified copy of a video or frame folder (H.264 mp4)",
        description="Amplify subtle motion (Eulerian video magnification): linear (Wu et al. 2012: a spatial "
                    "Laplacian pyramid, a zero-phase temporal band-pass per pixel, amplified and added back) or "
                    "phase-based (--method phase, Wadhwa et al. 2014: the band-passed local phase of a Riesz "
                    "pyramid is amplified; fewer artefacts at large alpha). Writes an H.264 mp4 with the clip's "
                    "frame times, of the whole clip or of --start..--end. The input is never overwritten.")
    p.add_argument("path", help="a video file or a folder of frames")
    p.add_argument("--alpha", type=float, default=d.alpha, help=f"amplification 1-30, default {d.alpha:g}")
    p.add_argument("--method", choices=METHODS, default=d.method,
                   help="linear (Wu et al. 2012, the default) or phase (Riesz pyramid, Wadhwa et al. 2014: fewer "
                        "artefacts at large alpha, about 1.3-1.7x slower)")
    p.add_argument("--low", type=float, default=d.low_hz, help=f"low edge of the band in Hz, default {d.low_hz:g}")
    p.add_argument("--high", type=float, default=d.high_hz,
                   help=f"high edge of the band in Hz, default {d.high_hz:g} (clamped below half the frame rate)")
    p.add_argument("--levels", type=int, default=d.levels, help=f"Laplacian pyramid levels, default {d.levels}")
    p.add_argument("--attenuation", type=float, default=d.attenuation,
                   help=f"chrominance amplification as a fraction of alpha, default {d.attenuation:g}")
    p.add_argument("--lambda-c", type=float, default=d.lambda_c,
                   help=f"wavelength in pixels below which alpha is reduced, default {d.lambda_c:g}")
    p.add_argument("--face", action="store_true",
                   help="magnify only the face: crop every frame to the face box (MTCNN) of the first frame, else "
                        "of the first of the frames a quarter, half, three quarters and all the way in that shows one")
    p.add_argument("--start", type=int, metavar="N",
                   help="first source frame number to magnify (inclusive; default the first). Long recordings are "
                        "best magnified one range at a time (memory grows with the frames)")
    p.add_argument("--end", type=int, metavar="M", help="last source frame number to magnify (inclusive; default "
                                                        "the last)")
    p.add_argument("--out", metavar="FILE.mp4", help="output video, default PATH's name + _magnified.mp4 (with "
                                                     "--start and --end: _magnified_N-M.mp4) beside it (never the "
                                                     "input; its folder must exist)")
    p.add_argument("--fps", type=positive_fps, default=None,
                   help="frame rate of a frame folder (frames/s); without it 30 fps is assumed. Videos use "
                        "their own timestamps")
    p.set_defaults(func=run)
    return p


def face_crop(image) -> tuple[int, int, int, int] | None:
    """Square crop box (x0, y0, x1, y1) in pixels around the largest face in ``image`` (uint8 RGB (H, W, 3)),
    widened by `FACE_MARGIN` and clamped to the frame; None when the MTCNN detector finds no face
    (`cmnet_core.preprocess.face.locate_face`)."""
    from ..preprocess.face import locate_face

    found = locate_face(image, margin=FACE_MARGIN)
    return None if found is None else found.corners


def default_out(path: Path, start: int | None = None, end: int | None = None) -> Path:
    """``<name>_magnified.mp4`` beside ``path`` (a file's stem, or a folder's name); with both ``start`` and
    ``end`` (source frame numbers) ``<name>_magnified_<start>-<end>.mp4``, as the app's export names it."""
    path = Path(path).resolve()
    span = f"_{start}-{end}" if start is not None and end is not None else ""
    return path.parent / f"{path.stem if path.is_file() else path.name}_magnified{span}.mp4"


#: CLI option names for the `MagnifySettings` fields that messages from the core name.
_OPTION_NAMES = {"alpha": "--alpha", "low_hz": "--low", "high_hz": "--high", "levels": "--levels",
                 "attenuation": "--attenuation", "lambda_c": "--lambda-c", "method": "--method"}
#: A header promising this much more than decodes (as `cmnet_core.inference.COUNT_MISMATCH`) is worth a warning.
_TRUNCATED = 0.05


def cli_words(message: str) -> str:
    """A core message in the CLI's words: ``MagnifySettings: `` dropped, field names (``low_hz``) as options
    (``--low``)."""
    message = message.replace("MagnifySettings: ", "")
    return re.sub(r"\b(" + "|".join(_OPTION_NAMES) + r")\b", lambda m: _OPTION_NAMES[m.group(1)], message)


def frame_range(clip, start: int | None, end: int | None) -> list[int]:
    """The source frame numbers of ``clip`` from ``start`` to ``end`` (inclusive; None: the first / last).

    Raises ``ValueError`` naming the option, the clip's frames and what to do when a bound lies outside the
    clip, ``start`` is after ``end``, or fewer than 3 frames (the temporal filter's minimum) are left."""
    numbers = [int(n) for n in clip.frame_numbers]
    first, last = numbers[0], numbers[-1]
    span = f"{clip.path} has frames {first}-{last}"
    for name, value in (("--start", start), ("--end", end)):
        if value is not None and not first <= value <= last:
            raise ValueError(f"{name} {value} is outside the clip: {span}; give source frame numbers in that range")
    lo = first if start is None else start
    hi = last if end is None else end
    if lo > hi:
        raise ValueError(f"--start {lo} is after --end {hi}; the range is inclusive, e.g. --start {hi} --end {lo}")
    chosen = [n for n in numbers if lo <= n <= hi]
    if len(chosen) < 3:
        raise ValueError(f"frames {lo}-{hi} hold {len(chosen)} frame{'s' if len(chosen) != 1 else ''}; "
                         f"magnification needs at least 3 (a temporal filter): widen --start/--end ({span})")
    return chosen


def _truncation_warning(clip) -> str | None:
    """A one-line warning when the video's header promises clearly more frames than decode (a truncated file)."""
    reported = int(getattr(clip.source, "reported_count", 0) or 0)
    decoded = len(clip.frame_numbers)
    if reported and reported - decoded > _TRUNCATED * reported:
        numbers = clip.frame_numbers
        return (f"{clip.path} ends after {decoded} of the {reported} frames its header promises (truncated or "
                f"damaged?); only frames {numbers[0]}-{numbers[-1]} decode and can be magnified")
    return None


def run(args: argparse.Namespace) -> int:
    """Magnify and write the video; exit status 2 (with the reason on stderr) for unusable input, settings or
    output path and when writing fails."""
    from ..data.clip import ClipError
    from ..data.readers import StillImageSource, open_clip
    from ..magnify import MagnifySettings, TooLargeError, clip_rate, effective_band, magnify_clip, write_video
    from ..safe_write import OutputPathError, check_output

    def fail(message: str) -> int:
        print(f"cmnet magnify: {cli_words(message)}", file=sys.stderr)
        return 2

    try:
        settings = MagnifySettings(alpha=args.alpha, low_hz=args.low, high_hz=args.high, levels=args.levels,
                                   attenuation=args.attenuation, lambda_c=args.lambda_c,
                                   region="face" if args.face else "frame", method=args.method)
    except ValueError as exc:
        return fail(str(exc))
    out = Path(args.out) if args.out else default_out(Path(args.path), args.start, args.end)
    try:   # before any work: never overwrite the input, and fail now rather than after minutes of computing
        check_output(out, inputs=[args.path], option="--out",
                     example=default_out(Path(args.path), args.start, args.end).name)
    except OutputPathError as exc:
        return fail(str(exc))
    start = time.perf_counter()
    try:
        clip = open_clip(args.path, fps=args.fps)
    except (ClipError, ValueError) as exc:
        return fail(str(exc))
    try:
        if isinstance(clip.source, StillImageSource) or len(clip.frame_numbers) == 1:
            return fail(f"{args.path}: a still image cannot be magnified; give a video or a folder of at least 3 "
                        "frames")
        numbers = frame_range(clip, args.start, args.end)
        warning = _truncation_warning(clip)
        if warning:
            print(f"cmnet magnify: warning: {warning}", file=sys.stderr)
        crop = None
        if args.face:
            tried = list(dict.fromkeys(numbers[(len(numbers) - 1) * k // 4] for k in range(5)))
            for number in tried:   # the range's first frame, else a quarter, half, ... of the way in
                crop = face_crop(clip.frame(number))
                if crop is not None:
                    break
            else:
                return fail(f"{args.path}: no face found in frames {', '.join(map(str, tried))} (MTCNN); leave out "
                            "--face to magnify the whole frame, or crop the video to the face first")
            if number != numbers[0]:
                print(f"cmnet magnify: no face in the first frame {numbers[0]}; the face box of frame {number} "
                      "is used for every frame", file=sys.stderr)
        index = {n: i for i, n in enumerate(clip.frame_numbers)}
        times = clip.times_s[[index[n] for n in numbers]]
        low, high = effective_band(clip_rate(times, clip.fps), settings)
        frames = magnify_clip(clip, settings, crop=crop, frame_range=(numbers[0], numbers[-1]), cache=None)
        magnified_s = time.perf_counter() - start
        write_video(frames, out, clip.fps, times_s=times)
    except TooLargeError as exc:
        return fail(f"{exc} (--face, or --start N --end M: source frame numbers)")
    except KeyError as exc:   # str() of a KeyError quotes its message
        return fail(str(exc.args[0]) if exc.args else str(exc))
    except (ClipError, ValueError) as exc:
        return fail(str(exc))
    except OSError as exc:   # named after the target (cmnet_core.safe_write.target_error), never the temporary file
        return fail(str(exc))
    finally:
        clip.close()
    t, h, w = frames.shape[:3]
    where = ""
    if crop:
        x0, y0, x1, y1 = crop
        where = f", face box {x0},{y0},{x1 - x0},{y1 - y0} (X,Y,W,H as --face-box of cmnet spot)"
    assumed = (f"; times assume {clip.fps:g} fps (give the real rate with --fps)"
               if clip.time_source == "assumed" else "")
    print(f"{out}: {t} frames {w}x{h} px (source frames {numbers[0]}-{numbers[-1]}), {settings.method} method, "
          f"alpha {settings.alpha:g}, band {low:g}-{high:.3g} Hz{where}{assumed}; read and magnified in "
          f"{magnified_s:.1f} s, total {time.perf_counter() - start:.1f} s")
    return 0
