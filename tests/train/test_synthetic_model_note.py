"""A model trained on synthetic faces says so whenever it predicts a clip without synthetic ground truth."""
from cmnet_core.data.synthetic import make_synthetic_clip
from cmnet_core.demo import DEMO_CHECKPOINT
from cmnet_core.inference import Predictor

NOTE = "trained on synthetic faces only"


def test_demo_model_warns_on_clips_without_synthetic_truth():
    predictor = Predictor.load(DEMO_CHECKPOINT, device="cpu")
    clip = make_synthetic_clip(7, "happiness", image_size=64, amplitude_px=12.0)
    assert not any(NOTE in n for n in predictor.predict(clip).provenance["notes"])
    clip.true_intensity = None  # what a real video looks like to the Predictor
    pred = predictor.predict(clip)
    assert any(NOTE in n for n in pred.provenance["notes"])
    assert 0 <= pred.k_peak_position < 16 and pred.k_peak_frame == pred.frame_map[pred.k_peak_position]
    assert pred.apex_change > 0
