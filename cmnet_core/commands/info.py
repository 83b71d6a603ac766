"""``cmnet info PATH``: describe a video, a frame folder, an image, a database root or the MEGC 2019 GT."""
from __future__ import annotations

import argparse
import json
import sys

from ..data.clip import ClipError
from ..data.database import DatabaseError
from ..data.info import describe, describe_text


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``info`` on the ``cmnet`` subparsers."""
    p = subparsers.add_parser("info", help="describe a video, frame folder or database root",
                              description="Describe a video (frames, fps, size, codec, duration, exact seeks), "
                                          "a frame folder (frames, range, gaps), or a database root with its "
                                          "sheet (clips, classes, subjects, skipped rows with reasons).")
    p.add_argument("path", help="video file, image, frame folder, database root or megc2019 GT csv")
    p.add_argument("--sheet", help="annotation sheet (default: the database's usual sheet in or beside the root)")
    p.add_argument("--kind", help="database kind: casme2, samm, smic, casme3, generic, synthetic, megc2019 "
                                  "(default: recognised from the layout)")
    p.add_argument("--protocol", help="label protocol, e.g. casme2-5, samm-5, smic-3, megc2019-3, casme3-7")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--verbose", action="store_true", help="list every clip and every skipped row (by default rows "
                                                          "of subjects with no folder are summarised per subject)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Print the description; returns 0, or 2 with the reason on stderr when the path cannot be read."""
    try:
        info = describe(args.path, sheet=args.sheet, kind=args.kind, protocol=args.protocol, verbose=args.verbose)
    except (ClipError, DatabaseError) as exc:
        print(f"cmnet info: {exc}", file=sys.stderr)
        return 2
    if args.json:
        info = {k: v for k, v in info.items() if k != "text"}
        print(json.dumps(info, indent=2))
    else:
        print(describe_text(info))
    return 0
