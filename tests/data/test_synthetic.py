"""Synthetic micro-expression generator: determinism, intensity truth, micro motion, database round trip."""
import numpy as np
import pytest

from cmnet_core.data.database import open_database
from cmnet_core.data.synthetic import (SYNTHETIC_LABELS, Distractors, FaceIdentity, intensity_curve,
                                       make_synthetic_clip, synthetic_database, write_synthetic_database)


def test_same_seed_same_pixels_other_seed_other_face():
    a = make_synthetic_clip(3, "surprise", image_size=64)
    b = make_synthetic_clip(3, "surprise", image_size=64)
    c = make_synthetic_clip(4, "surprise", image_size=64)
    assert a.annotation == b.annotation and a.true_intensity == b.true_intensity
    for n in (a.frame_numbers[0], a.apex, a.frame_numbers[-1]):
        assert np.array_equal(a.frame(n), b.frame(n))
    assert FaceIdentity.random(3) != FaceIdentity.random(4)
    first_a, first_c = a.frame(1).astype(float), c.frame(1).astype(float)
    assert np.abs(first_a - first_c).mean() > 10  # a different face, not just noise


def test_true_intensity_rises_to_apex_and_falls():
    clip = make_synthetic_clip(0, "happiness")
    truth = clip.true_intensity
    nums = list(clip.frame_numbers)
    assert sorted(truth) == nums
    assert truth[clip.onset] == 0.0 and truth[clip.offset] == 0.0 and truth[clip.apex] == 1.0
    rise = [truth[n] for n in range(clip.onset, clip.apex + 1)]
    fall = [truth[n] for n in range(clip.apex, clip.offset + 1)]
    assert np.all(np.diff(rise) > 0) and np.all(np.diff(fall) < 0)
    assert 1 <= clip.onset - nums[0] and clip.onset < clip.apex < clip.offset < nums[-1]
    with pytest.raises(ValueError):
        intensity_curve(10, 3, 3, 8)


def test_written_tree_reopens_with_same_clips(tmp_path):
    root = tmp_path / "syn"
    written = write_synthetic_database(root, n_subjects=2, clips_per_class=1, image_size=48, seed=5)
    memory = synthetic_database(n_subjects=2, clips_per_class=1, image_size=48, seed=5)
    db = open_database(root)
    assert db.name == "synthetic" and db.protocol == f"synthetic-{len(SYNTHETIC_LABELS)}"
    assert [(c.subject, c.name, c.annotation) for c in db.clips] == [(c.subject, c.name, c.annotation) for c in memory.clips]
    assert len(written.clips) == len(db.clips) == 2 * len(SYNTHETIC_LABELS)
    for got, want in zip(db.clips, memory.clips):
        assert got.true_intensity == pytest.approx(want.true_intensity, abs=1e-6)
        np.testing.assert_allclose(got.landmarks_hint, want.landmarks_hint, atol=1e-3)
        assert np.array_equal(got.frame(got.apex), want.frame(want.apex))
    with pytest.raises(FileExistsError):
        write_synthetic_database(root, n_subjects=1, clips_per_class=1)
