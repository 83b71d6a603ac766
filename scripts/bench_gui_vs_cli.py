"""Prediction of one clip from the GUI against `cmnet predict` on the same clip: wall time and peak memory.

Each side runs in its own fresh Python process, timed from the process start (imports included) to the
prediction's end, and reports its own peak resident memory (``ru_maxrss``):

* CLI: ``cmnet predict CKPT VIDEO --out TMP --device cpu`` (`cmnet_core.cli.main`);
* GUI: the real `MainWindow` offscreen, the video opened with File ▸ Open's command and the checkpoint loaded with
  ``predict_after`` (Prediction ▸ Choose checkpoint), waiting until the prediction panel has its result.

Goal (performance issue): GUI ≤ 1.1 × the CLI's time and memory. Default clip: the 4K real video
``WolfgangLanger_Pexels.mp4`` (131 frames, 2880×2160) of ../shared/data/face_videos.

    .venv/bin/python scripts/bench_gui_vs_cli.py [--video PATH] [--checkpoint demo] [--repeats 1]

Prints one JSON line.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_RATIO = 1.1
DEFAULT_VIDEO = next((p for p in (ROOT.parent / "shared" / "data" / "face_videos" / "WolfgangLanger_Pexels.mp4",
                                  Path("/work/shared/data/face_videos/WolfgangLanger_Pexels.mp4")) if p.is_file()),
                     None)

_PRELUDE = """
import json, resource, sys, time
T0 = time.perf_counter()
def report(**extra):
    print("RESULT " + json.dumps({"wall_s": time.perf_counter() - T0,
                                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                                  **extra}), flush=True)
"""

CLI = _PRELUDE + """
from cmnet_core.cli import main
rc = main(["predict", sys.argv[1], sys.argv[2], "--out", sys.argv[3], "--device", "cpu"])
report(rc=rc)
"""

GUI = _PRELUDE + """
import os
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication
app = QApplication([sys.argv[0]])
app.setOrganizationName("CMNet Studio bench"); app.setApplicationName("gui-vs-cli")
from app import dialogs
from app.commands import OpenPath
from app.main_window import MainWindow
dialogs.set_non_interactive(True)
window = MainWindow(data_dir=sys.argv[3])
window.show()
window.commands.execute(OpenPath, path=sys.argv[2])
window.prediction.load_checkpoint(sys.argv[1], device="cpu", predict_after=True)
deadline = time.perf_counter() + 1800
while window.state.prediction is None and time.perf_counter() < deadline:
    loop = QEventLoop(); QTimer.singleShot(20, loop.quit); loop.exec()
ok = window.state.prediction is not None
label = window.state.prediction.label if ok else None
report(rc=0 if ok else 1, label=label)
window.shutdown()
"""


def run(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh interpreter (settings and data in a temporary folder) and return its RESULT."""
    with tempfile.TemporaryDirectory(prefix="cmnet-bench-") as tmp:
        env = {**os.environ, "CMNET_STUDIO_CONFIG_DIR": str(Path(tmp) / "settings"),
               "CMNET_STUDIO_DATA_DIR": str(Path(tmp) / "data")}
        done = subprocess.run([sys.executable, "-c", code, *args[:2], tmp], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=3600)
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
    if not lines:
        raise RuntimeError(f"no result (exit {done.returncode}): {done.stderr[-1500:]}")
    return json.loads(lines[-1][7:])


def main() -> int:
    """Run both sides ``--repeats`` times, alternating, and print the medians and ratios."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--video", default=str(DEFAULT_VIDEO) if DEFAULT_VIDEO else None)
    ap.add_argument("--checkpoint", default="demo")
    ap.add_argument("--repeats", type=int, default=1)
    args = ap.parse_args()
    if not args.video:
        ap.error("give --video (the default 4K clip of ../shared/data/face_videos is not here)")
    cli, gui = [], []
    for _ in range(args.repeats):
        cli.append(run(CLI, args.checkpoint, args.video))
        gui.append(run(GUI, args.checkpoint, args.video))

    def med(rows, key):
        return round(statistics.median(r[key] for r in rows), 2)

    result = {"bench": "gui_vs_cli", "video": Path(args.video).name, "checkpoint": args.checkpoint,
              "cli_wall_s": med(cli, "wall_s"), "gui_wall_s": med(gui, "wall_s"),
              "cli_peak_rss_mb": med(cli, "peak_rss_mb"), "gui_peak_rss_mb": med(gui, "peak_rss_mb"),
              "gui_label": gui[-1].get("label"), "repeats": args.repeats, "loadavg": os.getloadavg()}
    result["time_ratio"] = round(result["gui_wall_s"] / result["cli_wall_s"], 3)
    result["memory_ratio"] = round(result["gui_peak_rss_mb"] / result["cli_peak_rss_mb"], 3)
    result["goal"] = GOAL_RATIO
    result["goal_met"] = result["time_ratio"] <= GOAL_RATIO and result["memory_ratio"] <= GOAL_RATIO
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
