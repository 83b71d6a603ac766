"""Opening real videos through the command, and prediction with a tiny 32 px checkpoint (conftest)."""
import shutil

import numpy as np

from app import commands as C
from app.workspace.annotations import AnnotationStore, default_store_path


def load(window, qtbot, path):
    window.commands.execute(C.LoadCheckpoint, path=str(path))
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=60_000)


def test_open_real_video_step_annotate_save_reopen(make_window, face_videos, tmp_path, qtbot, messages):
    video = tmp_path / "single_face.mp4"
    shutil.copy(face_videos / "single_face.mp4", video)
    w = make_window()
    assert w.commands.execute(C.OpenPath, path=str(video))
    assert w.state.clip is not None and len(w.state.clip) == 72 and w.state.clip.size == (640, 360)
    w.commands.execute(C.GoToFrame, frame=20)
    qtbot.waitUntil(lambda: w.frame_view.image.image is not None and w.frame_view.image.image.shape == (360, 640, 3),
                    timeout=10_000)
    w.overlay_action.trigger()  # face box + 5 landmarks detected on the current frame, off the GUI thread
    qtbot.waitUntil(lambda: w.frame_view.box.isVisible(), timeout=30_000)
    r = w.frame_view.box.rect()
    assert 100 < r.center().x() < 540 and 40 < r.center().y() < 320 and r.width() > 60
    assert len(w.frame_view.points.data) == 5
    w.commands.execute(C.SetMark, kind="apex")
    w.commands.execute(C.SetField, name="notes", value="smile builds up")
    w.commands.execute(C.SaveAnnotations)
    assert (tmp_path / "single_face.mp4.annotations.json").exists()
    assert "single_face.mp4" in w.settings.recent_files()[0]
    w.close()
    w2 = make_window()
    w2.commands.execute(C.OpenPath, path=str(video))
    assert w2.state.annotation().apex == 20 and w2.state.annotation().notes == "smile builds up"
    assert [m for m in messages if m[0] == "error"] == []


def test_read_only_source_keeps_annotations_in_data_dir(tmp_path, face_videos):
    path = default_store_path(face_videos / "single_face.mp4", tmp_path / "data")
    assert path.parent == tmp_path / "data" / "annotations" and path.name.startswith("single_face-")


def test_predict_updates_probabilities_and_plot(make_window, tiny_checkpoint, tmp_path, qtbot, messages):
    from cmnet_core.data.synthetic import make_synthetic_clip

    clip = make_synthetic_clip(5, "happiness", "s09", image_size=64, n_frames=24)
    w = make_window()
    w.show()
    w.files.show_document(tmp_path, [clip], None, AnnotationStore(tmp_path / "p.json"))
    load(w, qtbot, tiny_checkpoint)
    assert messages == []
    panel = w.prediction_panel
    assert "happiness, surprise, disgust, repression" in panel.meta.text() and "32 px" in panel.meta.text()
    assert "CPU" in panel.device_note.text()  # no CUDA here: the fallback is visible
    assert w.commands.execute(C.RunPrediction)
    qtbot.waitUntil(lambda: w.state.prediction is not None, timeout=60_000)
    pred = w.state.prediction
    assert pred.probabilities.shape == (4,) and abs(pred.probabilities.sum() - 1) < 1e-6
    for lab, p in zip(pred.labels, pred.probabilities):
        assert abs(panel.bars.value(lab) - p) < 1e-3
    assert pred.label in panel.result.text()
    x, y = w.intensity_plot.k_curve.getData()
    np.testing.assert_allclose(x, pred.frame_map)
    np.testing.assert_allclose(y, pred.intensity)
    _, mean = w.intensity_plot.proto.getData()
    np.testing.assert_allclose(mean, pred.proto_mean)
    _, upper = w.intensity_plot.upper.getData()
    np.testing.assert_allclose(upper, np.clip(pred.proto_mean + 3 * pred.proto_sigma, pred.proto_mean.min(), 1.0))
    assert x.min() >= clip.frame_numbers[0] and x.max() <= clip.frame_numbers[-1]
    # exports: PNG, SVG and the per-frame table
    for suffix in (".png", ".svg", ".csv"):
        w.commands.execute(C.ExportPlot, path=str(tmp_path / f"plot{suffix}"))
        assert (tmp_path / f"plot{suffix}").stat().st_size > 100
    rows = [r for r in (tmp_path / "plot.csv").read_text().splitlines() if not r.startswith("#")]
    assert len(rows) == 1 + len(pred.frame_map)
    assert messages == []


def test_checkpoint_for_other_labels_and_broken_file(make_window, tiny_checkpoint, tmp_path, qtbot, messages):
    from cmnet_core.data.synthetic import synthetic_database

    db = synthetic_database(n_subjects=1, clips_per_class=1, image_size=32, labels=("happiness", "surprise"))
    w = make_window()
    w.files.show_document(tmp_path, db.clips, db, AnnotationStore(tmp_path / "db.json"))
    load(w, qtbot, tiny_checkpoint)
    kind, title, text = messages[-1]
    assert kind == "error" and "other labels" in title and "synthetic-2" in text
    broken = tmp_path / "broken.pt"
    broken.write_bytes(b"\x00not a checkpoint")
    load(w, qtbot, broken)
    kind, title, text = messages[-1]
    assert kind == "error" and "Cannot load checkpoint" in title and "broken.pt" in text


def test_prediction_cancel_leaves_no_result(make_window, tiny_checkpoint, tmp_path, qtbot, messages):
    from cmnet_core.data.synthetic import make_synthetic_clip

    w = make_window()
    w.files.show_document(tmp_path, [make_synthetic_clip(6, "surprise", image_size=64, n_frames=20)], None,
                    AnnotationStore(tmp_path / "c.json"))
    load(w, qtbot, tiny_checkpoint)
    w.commands.execute(C.RunPrediction)
    w.prediction.cancel()
    qtbot.waitUntil(lambda: w.prediction.task is None, timeout=60_000)
    assert w.state.prediction is None and w.prediction_panel.progress.format() == "cancelled"
    assert messages == [] and w.prediction_panel.run.isEnabled()


def test_demo_opens_labelled_synthetic(make_window, tmp_path, monkeypatch):
    monkeypatch.setenv("CMNET_STUDIO_DEMO_DIR", str(tmp_path / "demo"))
    w = make_window()
    w.files.open_demo(with_model=False)
    assert w.banner.isVisibleTo(w) and "SYNTHETIC DEMO" in w.banner.text()
    assert "synthetic demo" in w.windowTitle()
    clip = w.state.clip
    assert clip.database == "synthetic" and len(clip) == 48 and clip.size == (256, 256)
    assert w.timeline.marks["apex"] == clip.annotation.apex
    xs, ys = w.intensity_plot.true_curve.getData()
    assert len(xs) == 48 and max(ys) == 1.0


def test_command_line_screenshot_with_checkpoint(tiny_checkpoint, tmp_path):
    """``cmnet-studio --demo --checkpoint CKPT --screenshot PNG`` predicts, saves the window and exits 0
    (a subprocess: settings and data go to a temporary home)."""
    import os
    import subprocess
    import sys

    from PySide6.QtGui import QImage

    png = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "CMNET_STUDIO_DEMO_DIR": str(tmp_path / "demo"),
           "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "XDG_DATA_HOME": str(tmp_path / "data"), "CMNET_STUDIO_CONFIG_DIR": str(tmp_path / "settings")}
    out = subprocess.run([sys.executable, "-m", "app.main", "--demo", "--checkpoint", str(tiny_checkpoint),
                          "--screenshot", str(png)], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "screenshot saved" in out.stderr
    img = QImage(str(png))
    # the window fits the (offscreen, 800×600) screen, or its minimum size when that is larger
    assert img.width() >= 760 and img.height() >= 560
