"""Temporal normalisation: regular sampling, TIM (Zhou et al. 2011) and linear interpolation."""
import numpy as np
import pytest

from cmnet_core.preprocess import temporal
from cmnet_core.preprocess.temporal import (frame_map, include_index, interpolate, linear_interpolate,
                                            sample_indices, tim_interpolate)


@pytest.mark.parametrize("length", [16, 17, 23, 31, 60, 100, 471])
def test_sample_indices_regular_with_exact_endpoints(length):
    idx = sample_indices(length, 16)
    assert idx.shape == (16,) and idx[0] == 0 and idx[-1] == length - 1
    assert np.all(np.diff(idx) >= 1)                          # strictly increasing: no frame twice
    ideal = np.arange(16) * (length - 1) / 15
    assert np.max(np.abs(idx - ideal)) <= 0.5                  # the nearest frame to each regular point


def test_sampling_frame_map_uses_source_numbers():
    numbers = list(range(46, 106))                             # CASME II style: frames img46..img105
    idx = sample_indices(len(numbers), 16)
    fmap = frame_map(idx, numbers)
    assert fmap[0] == 46 and fmap[-1] == 105
    np.testing.assert_array_equal(fmap, 46 + idx)
    gappy = [10, 11, 13, 20]                                   # a folder with missing frames
    np.testing.assert_allclose(frame_map(np.array([0, 1.5, 2.5, 3]), gappy), [10, 12, 16.5, 20])


def test_include_index_moves_nearest_sample_onto_apex():
    idx = sample_indices(60, 16)                               # [0, 4, 8, 12, 16, 20, 24, 28, 31, ...]
    out = include_index(idx, 30)
    assert 30 in out and np.all(np.diff(out) > 0) and len(out) == 16
    assert np.count_nonzero(out != idx) == 1
    np.testing.assert_array_equal(include_index(idx, 28), idx)  # already there: unchanged


def test_include_index_keeps_the_onset_and_offset():
    idx = sample_indices(60, 16)                               # [0, 4, 8, ..., 55, 59]
    np.testing.assert_array_equal(include_index(idx, 1)[:3], [0, 1, 8])    # apex next to the onset: onset kept
    np.testing.assert_array_equal(include_index(idx, 58)[-3:], [51, 58, 59])
    np.testing.assert_array_equal(include_index(idx, 0), idx)


def _frames(length, seed=0, size=6):
    return np.random.default_rng(seed).integers(0, 256, (length, size, size, 3)).astype(np.uint8)


@pytest.mark.parametrize("length", [1, 2, 3, 5, 15])
def test_tim_shapes_endpoints_and_monotone_map(length):
    frames = _frames(length)
    out, pos = tim_interpolate(frames, 16)
    assert out.shape == (16, 6, 6, 3) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[0], frames[0])
    np.testing.assert_array_equal(out[-1], frames[-1])
    fmap = frame_map(pos, list(range(100, 100 + length)))
    assert fmap[0] == 100 and fmap[-1] == 100 + length - 1
    assert np.all(np.diff(fmap) >= 0)
    if length > 1:
        assert np.all(np.diff(fmap) > 0) and not np.all(fmap == np.round(fmap))  # fractional in between


def test_tim_passes_through_every_original_frame():
    frames = _frames(6, seed=1)
    out, pos = tim_interpolate(frames, 16)                     # positions k * 5/15 hit 0, 1, .., 5
    for k in range(6):
        j = int(np.argmin(np.abs(pos - k)))
        assert abs(pos[j] - k) < 1e-9
        np.testing.assert_array_equal(out[j], frames[k])


def test_tim_two_frames_midpoint_is_the_mean():
    # L = 2: the curve is cos(pi (t - 1/2) / 2); at t = 1.5 it is 0, i.e. the PCA mean of the two frames.
    frames = np.stack([np.full((4, 4, 3), 40, np.uint8), np.full((4, 4, 3), 200, np.uint8)])
    out, pos = tim_interpolate(frames, 3)
    np.testing.assert_allclose(pos, [0, 0.5, 1])
    assert np.all(out[1] == 120)


def test_tim_survives_duplicates_and_constant_clips():
    base = _frames(1, seed=2)[0]
    dup = np.stack([base, base, base // 2, base // 2, base])   # rank 1 after centring
    out, pos = tim_interpolate(dup, 16)
    assert np.isfinite(out.astype(float)).all()
    np.testing.assert_array_equal(out[0], base)
    np.testing.assert_array_equal(out[-1], base)
    const = np.repeat(base[None], 3, axis=0)                   # rank 0: every output equals the frame
    out, _ = tim_interpolate(const, 16)
    assert np.all(out == base[None])


def test_linear_interpolation_values():
    frames = np.stack([np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 150, np.uint8)])
    out, pos = linear_interpolate(frames, 4)
    np.testing.assert_allclose(pos, [0, 1 / 3, 2 / 3, 1])
    np.testing.assert_array_equal(out[:, 0, 0, 0], [0, 50, 100, 150])


def test_tim_numerical_failure_falls_back_to_linear(monkeypatch):
    def broken_svd(*args, **kwargs):
        raise np.linalg.LinAlgError("SVD did not converge")

    monkeypatch.setattr(temporal.np.linalg, "svd", broken_svd)
    frames = _frames(3)
    out, pos, notes = interpolate(frames, 16, "tim")
    ref, _ = linear_interpolate(frames, 16)
    np.testing.assert_array_equal(out, ref)
    assert notes and "linear" in notes[0]
