"""How much the test suite writes to disk: one JSON line (goal: under 200 MB for the whole suite).

Runs pytest (offscreen, the README's test settings) with a fresh ``--basetemp`` folder, so every test's
``tmp_path`` / ``tmp_path_factory`` folder is kept until the end, then sums the sizes of the files left there and
lists the largest test folders. Tests write their checkpoints, run folders and fixtures into those folders (the
suite's rule: tests clean up what they write, through tmp_path), so the sum is what one run of the suite writes,
less anything a test deleted itself (a LOSO fold's last.pt, for instance) — a lower bound.

    .venv/bin/python scripts/bench_test_disk.py                 # the whole suite (~6 min on 2 cores)
    .venv/bin/python scripts/bench_test_disk.py tests/train     # a part of it

Exit status: pytest's.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_MB = 200.0


def folder_bytes(path: Path) -> int:
    """Bytes of the regular files under ``path`` (links not followed)."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main(argv: list[str] | None = None) -> int:
    """Run the suite (or the given pytest arguments) and print the JSON line."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("pytest_args", nargs="*", help="passed to pytest (default: the whole suite)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cmnet-test-disk-") as tmp:
        base = Path(tmp) / "basetemp"
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--basetemp={base}",
                               *args.pytest_args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        wall = time.perf_counter() - started
        # pytest adds a "<name>current" link to each test's latest folder: count the folders, not the links
        per_test = ({p.name: folder_bytes(p) for p in base.iterdir() if p.is_dir() and not p.is_symlink()}
                    if base.exists() else {})
    total_mb = sum(per_test.values()) / 1e6
    largest = sorted(per_test.items(), key=lambda kv: -kv[1])[:15]
    lines = done.stdout.strip().splitlines()
    tail = lines[-1] if lines else ""
    failed = [ln.split(" ", 1)[1].split(" - ")[0] for ln in lines if ln.startswith(("FAILED ", "ERROR "))]
    print(json.dumps({"bench": "test_disk", "written_mb": round(total_mb, 1), "goal_mb": GOAL_MB,
                      "goal_met": total_mb < GOAL_MB, "test_folders": len(per_test),
                      "largest_mb": {k: round(v / 1e6, 1) for k, v in largest},
                      "pytest": tail, "failed": failed, "pytest_rc": done.returncode, "wall_s": round(wall, 1)}), flush=True)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
