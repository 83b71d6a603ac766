"""Batch prediction in the window: one worker task over several clips (progress, Cancel, failed rows that do not
stop the others), the results table (sort, filter, select → clip and curve shown), CSV export, and the same
labels and probabilities as ``cmnet predict`` on the same clips (tiny 32 px checkpoint of conftest)."""
import csv

import numpy as np
import pytest
from PySide6.QtCore import Qt

from app import commands as C


def load(window, qtbot, path):
    window.commands.execute(C.LoadCheckpoint, path=str(path))
    qtbot.waitUntil(lambda: not window.is_busy(), timeout=60_000)


@pytest.fixture
def small_db(tmp_path):
    """A synthetic database (1 subject, one clip per class, 48 px) whose disgust clip's frames are unreadable."""
    from cmnet_core.data.synthetic_writer import write_synthetic_database

    root = tmp_path / "db"
    db = write_synthetic_database(root, n_subjects=1, clips_per_class=1, image_size=48)
    broken = next(c for c in db.clips if c.label == "disgust")
    for frame in broken.path.glob("*.png"):
        frame.write_bytes(b"not a png")
    return root


def run_batch(w, qtbot, **params):
    assert w.commands.execute(C.RunBatch, **params)
    assert w.batch.is_running()
    qtbot.waitUntil(lambda: not w.batch.is_running(), timeout=120_000)
    return w.batch.results


def test_batch_matches_cmnet_predict_and_exports_csv(make_window, tiny_checkpoint, small_db, tmp_path, qtbot,
                                                     messages):
    from cmnet_core.cli import main

    w = make_window()
    w.commands.execute(C.OpenPath, path=str(small_db))
    load(w, qtbot, tiny_checkpoint)
    assert messages == []
    results = run_batch(w, qtbot, all=True)
    assert w.batch_dock.isVisibleTo(w)
    rows = {r["clip"]: r for r in results.rows}
    assert list(rows) == ["s01_happiness_01", "s01_surprise_01", "s01_disgust_01", "s01_repression_01"]
    assert [r["status"] for r in results.rows] == ["done", "done", "failed", "done"]
    assert "not a readable image" in rows["s01_disgust_01"]["error"]          # the failed clip says why …
    assert results.predictions[2] is None and results.predictions[3] is not None  # … and the next still ran
    assert "3 done, 1 failed of 4" in w.batch_panel.summary.text()

    out = tmp_path / "cli"
    assert main(["predict", str(tiny_checkpoint), str(small_db), "--out", str(out), "--device", "cpu",
                 "--progress", "jsonl"]) == 1  # 1: some clip failed
    with open(out / "predictions.csv", encoding="utf-8", newline="") as f:
        cli = {r["clip"]: r for r in csv.DictReader(f)}
    assert list(cli) == list(rows)
    labels = ["happiness", "surprise", "disgust", "repression"]
    for ident, row in rows.items():
        assert row["status"] == cli[ident]["status"]
        if row["status"] == "done":
            assert row["label"] == cli[ident]["label"] and row["true_label"] == cli[ident]["true_label"]
            for lab in labels:
                assert row[f"p_{lab}"] == pytest.approx(float(cli[ident][f"p_{lab}"]), abs=1e-6)
            assert row["apex_frame"] == float(cli[ident]["apex_frame"])
            assert row["k_peak_frame"] == float(cli[ident]["k_peak_frame"])

    # export: UTF-8 with BOM, one header row (the CLI's columns), read back by csv.DictReader
    target = tmp_path / "export" / "batch.csv"
    target.parent.mkdir()
    assert w.commands.execute(C.ExportBatchCSV, path=str(target))
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\xef\xbb\xbf") == 1
    with open(target, encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        exported = list(reader)
        assert reader.fieldnames[:4] == ["clip", "subject", "source", "status"]
        assert set(reader.fieldnames) == set(next(iter(cli.values())).keys())
    assert [r["clip"] for r in exported] == list(rows)
    for r in exported:
        assert r["subject"] == "s01" and r["status"] == cli[r["clip"]]["status"]
        if r["status"] == "done":
            for lab in labels:
                assert float(r[f"p_{lab}"]) == pytest.approx(float(cli[r["clip"]][f"p_{lab}"]), abs=1e-6)
    assert messages == []


def test_table_sorts_filters_and_selecting_a_row_shows_its_clip(make_window, tiny_checkpoint, small_db, qtbot,
                                                                 messages):
    w = make_window()
    w.show()
    w.commands.execute(C.OpenPath, path=str(small_db))
    load(w, qtbot, tiny_checkpoint)
    results = run_batch(w, qtbot, all=True)
    panel = w.batch_panel
    headers = [panel.model.headerData(c, Qt.Orientation.Horizontal) for c in range(panel.model.columnCount())]
    assert headers == ["Clip", "Subject", "True label", "Predicted", "p(happiness)", "p(surprise)", "p(disgust)",
                       "p(repression)", "Annotated apex", "Spotted apex", "Confidence", "k_n peak", "Status", "Notes"]
    # a row shows the clip's values; probabilities with 3 decimals; the failed row's notes give the error
    done = results.rows[0]
    assert panel.model.index(0, 3).data() == done["label"]
    assert panel.model.index(0, 4).data() == f"{done['p_happiness']:.3f}"
    assert panel.model.index(0, 8).data() == str(done["annotated_apex"]) != ""
    assert panel.model.index(0, 11).data() == f"{done['k_peak_frame']:g}"
    assert "not a readable image" in panel.model.index(2, 13).data()
    assert panel.model.index(2, 12).data() == "failed"
    # sort by p(surprise), descending: numbers, not text; the failed row (no value) last
    panel.table.sortByColumn(5, Qt.SortOrder.DescendingOrder)
    from app.widgets.batch_table import ROW_ROLE

    shown = [panel.proxy.index(r, 5).data(ROW_ROLE) for r in range(4)]
    assert shown[3] == 2 and [results.rows[r]["p_surprise"] for r in shown[:3]] == sorted(
        (r["p_surprise"] for r in results.rows if r["status"] == "done"), reverse=True)
    panel.table.sortByColumn(5, Qt.SortOrder.AscendingOrder)
    assert panel.proxy.index(3, 5).data(ROW_ROLE) == 2
    # filter
    panel.filter.setText("FAILED")
    assert panel.proxy.rowCount() == 1 and panel.proxy.index(0, 0).data() == "s01_disgust_01"
    panel.filter.setText("")
    # selecting a row shows that clip with the batch's prediction: probabilities and intensity curve
    panel.select_row(3)
    clip = w.state.clips[3]
    assert w.state.clip is clip and w.state.prediction is results.predictions[3]
    x, y = w.intensity_plot.k_curve.getData()
    np.testing.assert_allclose(x, results.predictions[3].frame_map)
    np.testing.assert_allclose(y, results.predictions[3].intensity)
    assert results.predictions[3].label in w.prediction_panel.result.text()
    panel.select_row(2)  # the failed clip: shown, no prediction, its error in the status bar
    assert w.state.clip is w.state.clips[2] and w.state.prediction is None
    assert "not a readable image" in w.statusBar().currentMessage()
    assert messages == []


def test_selected_clips_cancel_and_no_checkpoint(make_window, tiny_checkpoint, small_db, qtbot, messages):
    w = make_window()
    w.commands.execute(C.OpenPath, path=str(small_db))
    assert not w.commands.execute(C.RunBatch, all=True)
    assert messages[-1][:2] == ("error", "No checkpoint")
    w.commands.execute(C.ExportBatchCSV, path=str(small_db.parent / "none.csv"))
    assert messages[-1][:2] == ("error", "Export failed") and "no batch results yet" in messages[-1][2]
    assert not (small_db.parent / "none.csv").exists()
    load(w, qtbot, tiny_checkpoint)
    # nothing selected in the list but the current clip: asked to select
    w.clip_list.table.clearSelection()
    assert not w.commands.execute(C.RunBatch)
    assert messages[-1][:2] == ("error", "No clips selected")
    # two clips selected in the clip list (as Ctrl+click does): only they run, in the document's order
    sm, proxy = w.clip_list.table.selectionModel(), w.clip_list.proxy
    for i in (3, 1):
        row = proxy.mapFromSource(w.clip_list.model.index(i, 0)).row()
        sm.select(proxy.index(row, 0), sm.SelectionFlag.Select | sm.SelectionFlag.Rows)
    assert sorted(w.clip_list.selected_indices()) == [1, 3]
    results = run_batch(w, qtbot)
    assert [r["clip"] for r in results.rows] == ["s01_surprise_01", "s01_repression_01"]
    assert [r["status"] for r in results.rows] == ["done", "done"]
    # Cancel at once: the clips not reached are marked cancelled, no thread is left running (fixture)
    count = len(messages)
    w.commands.execute(C.RunBatch, all=True)
    w.batch.cancel()
    qtbot.waitUntil(lambda: not w.batch.is_running(), timeout=60_000)
    statuses = [r["status"] for r in w.batch.results.rows]
    assert "cancelled" in statuses and "queued" not in statuses
    assert w.batch_panel.summary.text().startswith("cancelled:") and len(messages) == count
    assert not w.batch_panel.cancel.isEnabled()


def test_ctrl_and_shift_click_select_clips_without_opening_them(make_window, small_db, qtbot):
    w = make_window()
    w.show()
    w.commands.execute(C.OpenPath, path=str(small_db))
    table = w.clip_list.table

    def click(view_row, modifier=Qt.KeyboardModifier.NoModifier):
        rect = table.visualRect(w.clip_list.proxy.index(view_row, 1))
        qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())

    click(0)
    opened = w.state.clip
    click(2, Qt.KeyboardModifier.ControlModifier)
    click(3, Qt.KeyboardModifier.ControlModifier)
    assert w.state.clip is opened and len(w.clip_list.selected_indices()) == 3
    click(1, Qt.KeyboardModifier.ShiftModifier)
    assert w.state.clip is opened
    click(3)  # a plain click opens the clip and selects only it
    assert w.state.clip is not opened and w.clip_list.selected_indices() == [w.state.clips.index(w.state.clip)]


def test_batch_and_single_clip_prediction_do_not_run_together(make_window, tiny_checkpoint, small_db, qtbot,
                                                              messages):
    w = make_window()
    w.commands.execute(C.OpenPath, path=str(small_db))
    load(w, qtbot, tiny_checkpoint)
    assert w.commands.execute(C.RunBatch, all=True)
    assert not w.commands.execute(C.RunPrediction)
    assert messages[-1][:2] == ("error", "Prediction running") and "batch" in messages[-1][2]
    qtbot.waitUntil(lambda: not w.batch.is_running(), timeout=120_000)
    assert w.commands.execute(C.RunPrediction)
    assert not w.commands.execute(C.RunBatch, all=True)
    assert messages[-1][:2] == ("error", "Prediction running") and "current clip" in messages[-1][2]
    qtbot.waitUntil(lambda: not w.is_busy(), timeout=120_000)
    assert w.state.prediction is not None


def test_folder_of_videos_spotted_apex_and_non_ascii_names(make_window, tiny_checkpoint, face_videos, tmp_path,
                                                           qtbot, messages):
    """Real videos (no annotation: the apex is spotted), one without a face, one that is not a video, one with a
    non-ASCII name: the same statuses, labels, probabilities and spotted apexes as cmnet predict."""
    import shutil

    from cmnet_core.cli import main

    folder = tmp_path / "videos"
    folder.mkdir()
    shutil.copyfile(face_videos / "single_face.mp4", folder / "a_face.mp4")
    shutil.copyfile(face_videos / "single_face.mp4", folder / "张三.mp4")
    shutil.copyfile(face_videos / "no_face.mp4", folder / "no_face.mp4")
    (folder / "fake.mp4").write_bytes(b"not a video")
    w = make_window()
    w.commands.execute(C.OpenPath, path=str(folder))
    load(w, qtbot, tiny_checkpoint)
    results = run_batch(w, qtbot, all=True)
    rows = {r["clip"]: r for r in results.rows}
    # the file that is no video is not in the clip list (the window said so when opening); the others are
    assert [m[1] for m in messages] == ["Some files not opened"] and list(rows) == ["a_face", "no_face", "张三"]
    out = tmp_path / "cli"
    assert main(["predict", str(tiny_checkpoint), str(folder), "--out", str(out), "--device", "cpu",
                 "--progress", "jsonl"]) == 1
    with open(out / "predictions.csv", encoding="utf-8", newline="") as f:
        cli = {r["clip"]: r for r in csv.DictReader(f)}
    done = [k for k, r in cli.items() if r["status"] == "done"]
    assert sorted(done) == ["a_face", "张三"] and cli["no_face"]["status"] == "failed"
    for ident in done:
        row = rows[ident]
        assert row["status"] == "done" and row["label"] == cli[ident]["label"]
        assert row["p_happiness"] == pytest.approx(float(cli[ident]["p_happiness"]), abs=1e-6)
        assert row["apex_source"] == "spotted" and row["apex_frame"] == float(cli[ident]["apex_frame"])
        assert row["apex_confidence"] == pytest.approx(float(cli[ident]["apex_confidence"]), abs=1e-6)
    assert rows["no_face"]["status"] == "failed" and "no face" in rows["no_face"]["error"]
    # the table shows the spotted apex and its confidence
    panel = w.batch_panel
    r = results.rows.index(rows["张三"])
    assert panel.model.index(r, 0).data() == "张三"
    assert panel.model.index(r, 9).data() == f"{rows['张三']['apex_frame']:g}"
    assert panel.model.index(r, 10).data() == f"{rows['张三']['apex_confidence']:.3f}"
    assert panel.model.index(r, 8).data() == ""  # nothing annotated
    target = tmp_path / "batch.csv"
    assert w.commands.execute(C.ExportBatchCSV, path=str(target))
    with open(target, encoding="utf-8-sig", newline="") as f:
        assert "张三" in [row["clip"] for row in csv.DictReader(f)]
