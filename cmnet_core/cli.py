"""The ``cmnet`` command line: ``cmnet info | preprocess | train | loso | predict | evaluate | make-synthetic | magnify``.

Each subcommand lives in ``cmnet_core/commands/<name>.py`` and exposes ``add_parser(subparsers)``
(which sets ``func`` on its parser) so that modules stay small and independent.
"""
from __future__ import annotations

import argparse
import sys
from importlib import import_module

COMMANDS = ("info", "preprocess", "train", "loso", "predict", "evaluate", "make_synthetic", "magnify", "spot")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (subcommands whose module is not present are left out)."""
    parser = argparse.ArgumentParser(prog="cmnet", description="CMNet micro-expression tools (no GUI).")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        try:
            module = import_module(f"cmnet_core.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"cmnet_core.commands.{name}":
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``cmnet`` console script; returns the process exit status."""
    from .commands.spot import glue_negative_face_box

    argv = glue_negative_face_box(sys.argv[1:] if argv is None else list(argv))
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `cmnet info ROOT | head`: the reader left; say nothing more (as coreutils do)
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
