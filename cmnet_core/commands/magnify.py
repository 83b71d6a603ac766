"""``cmnet magnify PATH``: write a motion-magnified copy of a clip (Eulerian linear magnification, Wu et al. 2012)."""
from __future__ import annotations

import argparse
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
        description="Amplify subtle motion (Eulerian linear video magnification, Wu et al. 2012): a spatial "
                    "Laplacian pyramid, a zero-phase temporal band-pass per pixel, amplified and added back. "
                    "Writes an H.264 mp4 with the clip's frame times.")
    p.add_argument("path", help="a video file or a folder of frames")
    p.add_argument("--alpha", type=float, default=d.alpha, help=f"amplification 1-30, default {d.alpha:g}")
    p.add_argument("--method", choices=METHODS, default=d.method,
                   help="linear (Wu et al. 2012, the default) or phase (Riesz pyramid, Wadhwa et al. 2014: fewer "
                        "artefacts at large alpha, about 1.3x slower)")
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
    p.add_argument("--out", metavar="FILE.mp4", help="output video, default PATH's name + _magnified.mp4 beside it")
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


def default_out(path: Path) -> Path:
    """``<name>_magnified.mp4`` beside ``path`` (a file's stem, or a folder's name)."""
    path = Path(path).resolve()
    return path.parent / f"{path.stem if path.is_file() else path.name}_magnified.mp4"


def run(args: argparse.Namespace) -> int:
    """Magnify and write the video; exit status 2 for unusable input or settings, 1 when writing fails."""
    from ..data.clip import ClipError
    from ..data.readers import open_clip
    from ..magnify import MagnifySettings, clip_rate, effective_band, magnify_clip, write_video

    try:
        settings = MagnifySettings(alpha=args.alpha, low_hz=args.low, high_hz=args.high, levels=args.levels,
                                   attenuation=args.attenuation, lambda_c=args.lambda_c,
                                   region="face" if args.face else "frame", method=args.method)
    except ValueError as exc:
        print(f"cmnet magnify: {exc}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        clip = open_clip(args.path, fps=args.fps)
        crop = None
        if args.face:
            numbers = list(clip.frame_numbers)
            tried = list(dict.fromkeys(numbers[(len(numbers) - 1) * k // 4] for k in range(5)))
            for number in tried:   # the first frame, else a quarter, half, ... of the way in
                crop = face_crop(clip.frame(number))
                if crop is not None:
                    break
            else:
                print(f"cmnet magnify: {args.path}: no face found in frames {', '.join(map(str, tried))} (MTCNN); "
                      "leave out --face to magnify the whole frame, or crop the video to the face first",
                      file=sys.stderr)
                return 2
            if number != numbers[0]:
                print(f"cmnet magnify: no face in the first frame {numbers[0]}; the face box of frame {number} "
                      "is used for every frame", file=sys.stderr)
        times = clip.times_s
        low, high = effective_band(clip_rate(times, clip.fps), settings)
        frames = magnify_clip(clip, settings, crop=crop, cache=None)
        magnified_s = time.perf_counter() - start
    except (ClipError, KeyError, ValueError) as exc:
        print(f"cmnet magnify: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else default_out(Path(args.path))
    try:
        write_video(frames, out, clip.fps, times_s=times)
    except OSError as exc:
        print(f"cmnet magnify: could not write {out}: {exc}", file=sys.stderr)
        return 1
    finally:
        clip.close()
    t, h, w = frames.shape[:3]
    where = f", face box {crop}" if crop else ""
    print(f"{out}: {t} frames {w}x{h} px, alpha {settings.alpha:g}, band {low:g}-{high:.3g} Hz{where}; "
          f"read and magnified in {magnified_s:.1f} s, total {time.perf_counter() - start:.1f} s")
    return 0
