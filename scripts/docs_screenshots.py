#!/usr/bin/env python
"""Retake the README's pictures of the spotting views from the real window, and print what they show (one JSON
line: the true intervals of the synthetic video, the candidates, which of them are hits).

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/docs_screenshots.py [--out docs]

Needs a display (Xvfb: ``apt-get install xvfb`` and the Qt xcb libraries ``./run.sh`` names); the settings go
to a temporary folder. Pictures:

* ``screenshot_candidates.png``: a synthetic one-minute video (`synthetic_long_video`, seed 3, 192 px) spotted
  from the Candidates panel, the best-scoring candidate selected and shown at its apex, the candidates shaded on
  the plot under the video.
* ``screenshot_candidates_real.png``: the real ``single_face.mp4`` (../shared/data/face_videos) spotted on the face
  MTCNN finds, with the region motion curves.
* ``screenshot_magnified.png``: the same video magnified (phase, α 10, face only, beside the original) at frame 45.
* ``screenshot_motion_real.png``: the same video, onset 15, the motion map from the onset at frame 30 (the smile).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import numpy as np  # noqa: E402

from bench_common import emit  # noqa: E402

REAL_VIDEO = ROOT.parent / "shared" / "data" / "face_videos" / "single_face.mp4"


def _wait(app, condition, timeout_s: float) -> bool:
    from PySide6.QtCore import QEventLoop, QTimer

    end = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > end:
            return False
        loop = QEventLoop()
        QTimer.singleShot(20, loop.quit)
        loop.exec()
    return True


def _spot_and_grab(app, window, path: Path) -> list:
    from app.commands import GoToFrame

    window.candidates_dock.show()
    window.candidates_dock.raise_()
    window.candidates_panel.spot_button.click()
    if not _wait(app, lambda: window.spotting.task is None and window.spotting.clip is not None, 900):
        raise RuntimeError("spotting did not finish within 15 minutes")
    cands = window.spotting.candidates
    if cands:
        best = max(range(len(cands)), key=lambda i: cands[i].score)
        window.candidates_panel.table.selectRow(best)
        window.candidates_panel.jumpRequested.emit(best)
        window.commands.execute(GoToFrame, frame=cands[best].apex)
    _wait(app, lambda: not window.is_busy() and window.loader.cached(window.state.frame), 60)
    _wait(app, lambda: False, 0.5)
    window.grab().save(str(path))
    return cands


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for the PNG files (default docs/)")
    args = ap.parse_args(argv)
    os.environ.setdefault("CMNET_STUDIO_CONFIG_DIR", tempfile.mkdtemp(prefix="cmnet-shots-"))
    from PySide6.QtWidgets import QApplication

    from app import dialogs
    from app.commands import OpenPath
    from app.main_window import MainWindow
    from app.workspace.annotations import AnnotationStore
    from cmnet_core.data.synthetic_long import synthetic_long_video
    from cmnet_core.spotting import interval_iou

    dialogs.set_non_interactive(True)
    app = QApplication.instance() or QApplication(["docs_screenshots"])
    app.setOrganizationName("CMNetStudioScreenshots")
    window = MainWindow()
    window.resize(1600, 1000)
    window.show()
    out: dict = {"script": "docs_screenshots"}
    with tempfile.TemporaryDirectory() as tmp:
        clip, truth = synthetic_long_video(3, 1.0, image_size=192)
        window.files.show_document(Path(tmp), [clip], None, AnnotationStore(Path(tmp) / "long.json", "shots"))
        _wait(app, lambda: window.loader.cached(window.state.frame), 60)
        cands = _spot_and_grab(app, window, args.out / "screenshot_candidates.png")
        spans = [(t.onset, t.offset) for t in truth]
        out["synthetic"] = {
            "truth": [[t.onset, t.apex, t.offset, t.kind, t.label] for t in truth],
            "candidates": [[c.onset, c.apex, c.offset, c.kind, c.peak_region, c.score,
                            round(max(interval_iou((c.onset, c.offset), s) for s in spans), 2)] for c in cands],
            "hits_iou_0.5": sum(max(interval_iou((c.onset, c.offset), s) for s in spans) >= 0.5 for c in cands)}
    if REAL_VIDEO.is_file():
        window.commands.execute(OpenPath, path=str(REAL_VIDEO))
        _wait(app, lambda: window.state.clip is not None and window.loader.cached(window.state.frame), 60)
        window.motion.compute_regions()
        _wait(app, lambda: window.motion.region_result is not None, 300)
        cands = _spot_and_grab(app, window, args.out / "screenshot_candidates_real.png")
        out["real"] = {"video": REAL_VIDEO.name, "summary": window.candidates_panel.summary.text(),
                       "candidates": [[c.onset, c.apex, c.offset, c.kind, c.peak_region, c.score] for c in cands]}
    if REAL_VIDEO.is_file():
        from app.commands import GoToFrame

        panel = window.magnify_panel
        panel.method.setCurrentIndex(panel.method.findData("phase"))
        panel.alpha.setValue(10)
        window.candidates_dock.hide()
        window.magnify_dock.show()
        window.toggle_magnified()
        _wait(app, lambda: window.magnify.shown is not None and window.magnify.task is None, 300)
        window.commands.execute(GoToFrame, frame=45)
        _wait(app, lambda: window.state.shown_frame == 45 and not window.is_busy(), 60)
        _wait(app, lambda: False, 0.5)
        window.grab().save(str(args.out / "screenshot_magnified.png"))
        out["magnified"] = {"status": panel.status.text(), "crop": window.magnify.crop,
                            "timings_s": window.magnify.timings}
    if REAL_VIDEO.is_file():
        window.commands.edit_annotation("Set onset", onset=15)
        window.toggle_motion_map()          # one view at a time: the magnified view goes off
        window.commands.execute(GoToFrame, frame=30)
        _wait(app, lambda: window.motion.last is not None and not window.is_busy(), 120)
        _wait(app, lambda: False, 0.5)
        window.grab().save(str(args.out / "screenshot_motion_real.png"))
        out["motion_map"] = {"status": window.magnify_panel.status.text(), "face_box": window.motion.rect,
                             "moving_px_max": round(float(np.hypot(*window.motion.last.transpose(2, 0, 1)).max()), 2)}
    window.shutdown()
    emit(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
