"""The shipped demo model (resources/demo/cmnet-demo.pt): it has learnt, the name "demo" finds it, and the
intensity plot marks the peak of k_n."""
from __future__ import annotations

import csv
import json
import statistics
from types import SimpleNamespace

import numpy as np
import pytest

from cmnet_core.demo import DEMO_SEED, HELD_OUT_SEED, DEMO_RECIPE, demo_checkpoint_path, held_out_clips
from cmnet_core.demo import DEMO_CHECKPOINT, resolve_checkpoint

#: Neither the training seed nor the held-out seed the build scored itself on.
FRESH_SEED = DEMO_SEED + 7


@pytest.fixture(scope="module")
def predictor():
    from cmnet_core.inference import Predictor

    return Predictor.load(DEMO_CHECKPOINT, device="cpu")


def test_shipped_checkpoint_is_small_synthetic_and_scored():
    assert demo_checkpoint_path() == DEMO_CHECKPOINT and DEMO_CHECKPOINT.is_file()
    assert DEMO_CHECKPOINT.stat().st_size < 10_000_000
    from cmnet_core.train.checkpoint import load_checkpoint

    meta = load_checkpoint(DEMO_CHECKPOINT).metadata
    assert meta["synthetic"] is True and meta["demo_seed"] == DEMO_SEED
    assert meta["model_config"]["backbone"] == "small" and meta["image_size"] == 32
    m = meta["metrics"]
    assert m["held-out clips"] >= 16 and m["held-out accuracy"] >= 0.8
    assert m["ρ(k_n, truth) median"] >= 0.8 and meta["build_seconds"] > 0


def test_demo_model_has_learnt_on_unseen_identities(predictor):
    """At least 7 of 8 fresh clips (2 unseen subjects × 4 classes, demo condition) right; median per-clip
    Spearman ρ(k_n, true intensity) ≥ 0.8."""
    from cmnet_core.train.fidelity import intensity_spearman, true_intensity_at

    clips = held_out_clips(DEMO_RECIPE, seed=FRESH_SEED, subjects=2, clips_per_class=1)
    assert len(clips) == 8 and FRESH_SEED not in (DEMO_SEED, HELD_OUT_SEED)
    hits, rhos = 0, []
    for clip in clips:
        pred = predictor.predict(clip)
        hits += pred.label == clip.label
        rhos.append(intensity_spearman(pred.intensity, true_intensity_at(clip, pred.frame_map)))
    assert hits >= 7, (hits, rhos)
    assert statistics.median(rhos) >= 0.8, rhos


def test_demo_clip_is_predicted_right(predictor):
    from cmnet_core.demo import DEMO_AMPLITUDE_PX, demo_clip
    from cmnet_core.data.synthetic import SYNTHETIC_RECIPES

    clip = demo_clip()
    low, high = SYNTHETIC_RECIPES["demo"].amplitude_range
    assert low <= DEMO_AMPLITUDE_PX <= high and clip.true_amplitude_px == pytest.approx(DEMO_AMPLITUDE_PX)
    pred = predictor.predict(clip)
    assert pred.label == clip.label
    a = clip.annotation  # k_n plateaus near the apex: its peak within a quarter of onset..offset of the apex
    assert abs(pred.k_peak_frame - a.apex) <= 0.25 * (a.offset - a.onset)


def test_cmnet_predict_demo_name(tmp_path, monkeypatch):
    from cmnet_core.cli import main
    from cmnet_core.data.synthetic import SYNTHETIC_RECIPES
    from cmnet_core.data.synthetic_writer import write_synthetic_database

    monkeypatch.chdir(tmp_path)  # no file called "demo" here
    assert resolve_checkpoint("demo") == DEMO_CHECKPOINT and str(resolve_checkpoint("x.pt")) == "x.pt"
    syn = SYNTHETIC_RECIPES["demo"]
    write_synthetic_database(tmp_path / "db", n_subjects=1, clips_per_class=1, image_size=96, seed=FRESH_SEED,
                             labels=["surprise"], distractors=syn.distractors, amplitude_range=syn.amplitude_range)
    assert main(["predict", "demo", str(tmp_path / "db"), "--out", str(tmp_path / "out")]) == 0
    rows = list(csv.DictReader(open(tmp_path / "out" / "predictions.csv", encoding="utf-8")))
    assert len(rows) == 1 and rows[0]["status"] == "done"
    assert float(rows[0]["k_peak_frame"]) > 0 and float(rows[0]["apex_change"]) > 0
    clip = json.loads((tmp_path / "out" / "predictions.json").read_text())["clips"][0]
    assert clip["k_peak_frame"] == pytest.approx(float(rows[0]["k_peak_frame"]))
    assert clip["apex_change"] > 0


def fake_prediction(k):
    n = len(k)
    return SimpleNamespace(labels=["a", "b"], probabilities=np.array([0.7, 0.3]), intensity=np.asarray(k, float),
                           proto_mean=np.linspace(0.2, 1, n), proto_sigma=np.full(n, 0.05),
                           frame_map=np.linspace(10, 40, n), apex_position=n - 1, k_peak_frame=None,
                           apex_change=4.3, provenance={"apex_source": "annotated"})


def test_plot_marks_the_k_peak(qtbot):
    import pyqtgraph as pg

    from app.widgets.intensity_plot import IntensityPlot
    from app.widgets.prediction_panel import PredictionPanel

    plot = IntensityPlot()
    qtbot.addWidget(plot)
    k = [0.1, 0.3, 0.6, 0.9, 0.7, 0.4, 0.2, 0.1]
    pred = fake_prediction(k)
    pred.k_peak_frame = float(pred.frame_map[3])
    plot.set_prediction(pred)
    assert plot.k_peak_frame() == pytest.approx(pred.frame_map[3])
    assert plot.k_peak.yData[0] == pytest.approx(0.9)
    assert plot.k_peak_line.value() == pytest.approx(pred.frame_map[3]) and plot.k_peak_line.isVisible()
    labels = [label.text for _sample, label in plot.legend.items]
    assert "k_n peak (apex estimate)" in labels
    # the apex the model used: drawn (with its source) while no annotated apex mark stands there
    assert plot.model_apex.isVisible() and plot.model_apex.value() == pytest.approx(40.0)
    assert plot.model_apex.label.toPlainText() == "apex (annotated)"
    plot.set_marks({"onset": 10, "apex": 40, "offset": None})
    assert not plot.model_apex.isVisible()
    plot.set_marks({"onset": 10, "apex": 30, "offset": None})
    assert plot.model_apex.isVisible()
    # a spotted apex says so, with the spotter's confidence
    pred.provenance = {"apex_source": "spotted", "apex_spotter": "flow-farneback-v1", "apex_confidence": 0.8234}
    plot.set_prediction(pred)
    assert plot.model_apex.isVisible() and plot.model_apex.label.toPlainText() == "apex (spotted, confidence 0.82)"
    assert plot.model_apex.pen.style() != pg.QtCore.Qt.PenStyle.SolidLine          # dashed, unlike the marks
    plot.set_prediction(None)
    assert not plot.model_apex.isVisible()
    assert plot.k_peak_frame() is None and not plot.k_peak_line.isVisible()
    assert "k_n peak (apex estimate)" not in [label.text for _s, label in plot.legend.items]

    panel = PredictionPanel()
    qtbot.addWidget(panel)
    panel.show_prediction(pred)
    text = panel.intensity_info.text()
    assert "frame <b>27.1</b>" in text or f"{round(pred.k_peak_frame, 1):g}" in text
    assert "4.3 px" in text and "Apex change" in panel.intensity_info.toolTip()
    assert "apex (spotted, confidence 0.82): frame 40" in text


def test_timeline_marks_a_spotted_apex_as_spotted(qtbot):
    from app.widgets.timeline import Timeline

    bar = Timeline()
    qtbot.addWidget(bar)
    bar.resize(400, 44)
    bar.set_range(10, 40)
    bar.set_predicted_apex(33.0, "spotted, confidence 0.82")
    assert bar.predicted_apex_shown() and "frame 33 (spotted, confidence 0.82)" in bar.toolTip()
    bar.grab()                                                    # paints the hollow mark without error
    bar.set_marks({"onset": 10, "apex": 33, "offset": 40})        # the annotated apex stands there: no second mark
    assert not bar.predicted_apex_shown() and "spotted" not in bar.toolTip()
    bar.set_marks({"onset": 10, "apex": None, "offset": 40})
    bar.set_predicted_apex(None)
    assert not bar.predicted_apex_shown()


def test_window_opens_demo_with_the_shipped_model(make_window, tmp_path, monkeypatch, qtbot, messages):
    """No build: the demo clip is predicted by the shipped file; the plot's k_n peak marker stands at the
    prediction's k_n peak; the panel shows the held-out metrics and the synthetic note."""
    monkeypatch.setenv("CMNET_STUDIO_DEMO_DIR", str(tmp_path / "demo"))
    w = make_window()
    w.files.open_demo()
    qtbot.waitUntil(lambda: w.state.prediction is not None and not w.is_busy(), timeout=60_000)
    pred = w.state.prediction
    assert w.prediction.checkpoint_path == str(DEMO_CHECKPOINT) and pred.label == w.state.clip.label
    assert w.intensity_plot.k_peak_frame() == pytest.approx(pred.k_peak_frame)
    assert "held-out accuracy" in w.prediction_panel.meta.text()
    assert "synthetic demo model" in w.prediction_panel.meta.text()
    assert "Apex change" in w.prediction_panel.intensity_info.text()
    assert messages == []


def test_prototype_band_stays_within_the_intensity_domain(qtbot):
    """Issue 13 item 8: mean ± 3σ is drawn within [ε, 1], not down to −0.2, and the legend says so."""
    from app.widgets.intensity_plot import IntensityPlot

    plot = IntensityPlot()
    qtbot.addWidget(plot)
    pred = fake_prediction([0.1, 0.3, 0.6, 0.9, 0.7, 0.4, 0.2, 0.1])
    eps = 0.05
    pred.proto_mean = eps + (1 - eps) * np.exp(-0.5 * ((np.arange(8) - 3.5) / 1.5) ** 2)
    pred.proto_mean[[0, -1]] = eps
    pred.proto_sigma = np.full(8, 0.1)
    plot.set_prediction(pred)
    assert (pred.proto_mean - 3 * pred.proto_sigma).min() < -0.2                 # unclipped it would reach −0.25
    assert plot.lower.yData.min() == pytest.approx(eps) and plot.upper.yData.max() == pytest.approx(1.0)
    assert np.all(plot.lower.yData <= pred.proto_mean + 1e-12) and np.all(plot.upper.yData >= pred.proto_mean - 1e-12)
    labels = [label.text for _sample, label in plot.legend.items]
    assert "prototype ± 3σ (within [ε, 1])" in labels
