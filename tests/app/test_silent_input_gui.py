"""Issue 14: the prediction panel shows the prediction's notes (very short clip, mixed sizes, gaps)."""
from types import SimpleNamespace

import numpy as np

from app.widgets.prediction_panel import PredictionPanel


def test_prediction_panel_shows_the_notes(qtbot):
    panel = PredictionPanel()
    qtbot.addWidget(panel)
    note = "only 2 source frames in clip: interpolated to 16 (TIM); the intensity curve cannot show a course"
    pred = SimpleNamespace(labels=["a", "b"], probabilities=np.array([0.3, 0.7]),
                           provenance={"notes": [note, "frame numbers jump from 5 to 9 in x"]})
    panel.show_prediction(pred)
    assert "only 2 source frames" in panel.notes.text() and "jump from 5 to 9" in panel.notes.text()
    assert not panel.notes.isHidden()
    panel.show_prediction(None)
    assert panel.notes.isHidden()
