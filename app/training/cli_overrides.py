"""``python -m app.training.cli_overrides --model JSON <cmnet arguments>``: the ``cmnet`` CLI with CMNetConfig
fields (λ1–λ3, ε, ξ, τ, negative sampling …) replaced.

Stop-gap until ``cmnet loso`` / ``cmnet train`` take these settings as flags: wraps
`cmnet_core.train.options.configs` so that the model config it returns carries the overrides (validated by
`CMNetConfig`; recorded in the run's config.json and checkpoints like any other setting). No Qt.
"""
from __future__ import annotations

import argparse
import json
import sys


def apply_overrides(overrides: dict) -> None:
    """Make `cmnet_core.train.options.configs` return model configs with ``overrides`` applied
    (lists become tuples). Raises ``ValueError`` for an unknown field or a bad value."""
    from cmnet_core.model.config import CMNetConfig
    from cmnet_core.train import options

    values = {k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()}
    CMNetConfig().replace(**values)  # validate now, before the run starts
    original = options.configs

    def configs(args, db_name):
        mc, tc, settings = original(args, db_name)
        return mc.replace(**values), tc, settings

    options.configs = configs


def main(argv: list[str] | None = None) -> int:
    """Parse ``--model JSON``, apply it, and run the ``cmnet`` CLI on the remaining arguments."""
    from cmnet_core import cli

    p = argparse.ArgumentParser(prog="python -m app.training.cli_overrides")
    p.add_argument("--model", required=True, help='CMNetConfig overrides as JSON, e.g. {"tau": 0.1}')
    args, rest = p.parse_known_args(argv)
    try:
        apply_overrides(json.loads(args.model))
    except (ValueError, TypeError) as exc:
        print(f"cmnet: bad model settings {args.model}: {exc}", file=sys.stderr)
        return 2
    return cli.main(rest)


if __name__ == "__main__":
    sys.exit(main())
