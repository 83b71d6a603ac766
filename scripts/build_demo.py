#!/usr/bin/env python
"""Build the embedded demo's model reproducibly (what CMNet Studio does on its first start).

    .venv/bin/python scripts/build_demo.py [--out PATH] [--epochs N]

Trains a small CMNet (`app.demo.DEMO_RECIPE`: size, synthetic clips with exaggerated motion, epochs; seeded by
app.demo.DEMO_SEED) on the CPU
and writes the checkpoint to the demo cache (``$CMNET_STUDIO_DEMO_DIR`` or ``~/.cache/cmnet-studio/demo``).
"""
from __future__ import annotations

import argparse
import sys
import time

from tqdm import tqdm

from app.demo import MODEL_EPOCHS, build_demo_model, demo_checkpoint_path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(demo_checkpoint_path()), help="checkpoint path (default: the demo cache)")
    p.add_argument("--epochs", type=int, default=MODEL_EPOCHS, help="training epochs (default: %(default)s)")
    args = p.parse_args(argv)
    t0 = time.monotonic()
    with tqdm(total=100, unit="%", desc="demo model") as bar:
        def progress(fraction: float, message: str) -> None:
            bar.set_postfix_str(message)
            bar.update(int(100 * fraction) - bar.n)

        path = build_demo_model(args.out, progress, epochs=args.epochs)
    print(f"demo checkpoint written to {path} in {time.monotonic() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
