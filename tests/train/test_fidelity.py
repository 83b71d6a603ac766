"""Fidelity measures and the baselines of scripts/bench_fidelity.py, on small synthetic clips."""
import numpy as np
import pytest

from cmnet_core.data.synthetic import SYNTHETIC_LABELS, Distractors, FaceIdentity, make_synthetic_clip
from cmnet_core.preprocess.types import PreprocessSettings
from cmnet_core.train import fidelity as fid
from cmnet_core.train.dataset import preprocess_clips

SETTINGS = PreprocessSettings(image_size=32, num_frames=8, landmarks="hint")


def clips(seed, subjects, amplitude=6.0, distractors=Distractors.none()):
    return [make_synthetic_clip([seed, s, i], label, f"s{s}", identity=FaceIdentity.random([seed, s]),
                                image_size=64, amplitude_px=amplitude, distractors=distractors, n_frames=20)
            for s in range(subjects) for i, label in enumerate(SYNTHETIC_LABELS)]


def test_frame_difference_apex_and_true_intensity_on_clean_clips():
    cs = clips(1, 1)
    samples = preprocess_clips(cs, list(SYNTHETIC_LABELS), SETTINGS)
    for c, s in zip(cs, samples):
        truth = fid.true_intensity_at(c, s.clip.frame_map)
        assert truth.shape == (8,) and truth[s.clip.apex_position] == pytest.approx(1.0)
        assert truth[0] == pytest.approx(0.0)
        # without distractors the largest change from the onset is at (or next to) the true apex
        assert abs(fid.frame_difference_apex(s.clip) - s.clip.apex_position) <= 1
        assert fid.intensity_spearman(truth, truth) == pytest.approx(1.0)
        assert fid.intensity_spearman(np.ones(8), truth) == 0.0
        assert fid.apex_error_frames(s.clip.apex_position, s.clip, c.annotation.apex) == 0.0


def test_apex_change_grows_with_the_amplitude_of_the_same_face(tmp_path):
    small_clips, large_clips = clips(2, 1, amplitude=2.0), clips(2, 1, amplitude=8.0)
    small = preprocess_clips(small_clips, list(SYNTHETIC_LABELS), SETTINGS)
    large = preprocess_clips(large_clips, list(SYNTHETIC_LABELS), SETTINGS)
    for ca, a, cb, b in zip(small_clips, small, large_clips, large):
        assert a.clip.alignment.shape == (2, 3)
        big = fid.apex_change(cb, b.clip, b.clip.apex_position)
        assert big > fid.apex_change(ca, a.clip, a.clip.apex_position) > 0
        assert fid.apex_change(ca, a.clip, 0) < 0.05  # the onset against itself (flow noise only)
    # the alignment survives the preprocessing cache; a result without one gives NaN, not a made-up number
    from cmnet_core.preprocess.cache import PreprocessCache

    cache = PreprocessCache(tmp_path)
    cache.put("k", large[0].clip)
    np.testing.assert_array_equal(cache.get("k").alignment, large[0].clip.alignment)
    large[0].clip.alignment = None
    assert np.isnan(fid.apex_change(large_clips[0], large[0].clip, 3))


def test_difference_baseline_separates_clear_classes_of_unseen_faces():
    train = preprocess_clips(clips(3, 3, amplitude=12.0), list(SYNTHETIC_LABELS), SETTINGS)
    test = preprocess_clips(clips(4, 2, amplitude=12.0), list(SYNTHETIC_LABELS), SETTINGS)
    base = fid.DifferenceBaseline().fit([s.clip for s in train], [s.label for s in train])
    probs = base.predict_proba([s.clip for s in test], 5)  # a fifth class never seen gets probability 0
    assert probs.shape == (8, 5) and np.allclose(probs.sum(1), 1.0) and np.all(probs[:, 4] == 0)
    accuracy = np.mean(probs.argmax(1) == np.array([s.label for s in test]))
    assert accuracy >= 0.75
    with pytest.raises(ValueError, match="no true intensity"):
        c = clips(5, 1)[0]
        c.true_intensity = None
        fid.true_intensity_at(c, np.arange(3))
