"""preprocess_clip / preprocess_database on synthetic clips (landmarks from the clip's hint)."""
import numpy as np
import pytest

from cmnet_core.data.synthetic import Distractors, make_synthetic_clip, synthetic_database
from cmnet_core.preprocess.align import centre_crop_matrix, fill_value, fit_crop, warp
from cmnet_core.preprocess.apex import SPOTTER
from cmnet_core.preprocess.cache import PreprocessCache
from cmnet_core.preprocess.errors import PreprocessError
from cmnet_core.preprocess.pipeline import preprocess_clip, preprocess_database
from cmnet_core.preprocess.temporal import include_index, sample_indices
from cmnet_core.preprocess.types import PreprocessSettings

HINT = PreprocessSettings(image_size=64, landmarks="hint")


@pytest.fixture(scope="module")
def clip():
    return make_synthetic_clip(3, "happiness", image_size=96, n_frames=40)


def _span(clip):
    on, off = clip.span()
    return [n for n in clip.frame_numbers if on <= n <= off]


def test_sampling_map_and_annotated_apex(clip):
    result = preprocess_clip(clip, HINT)
    span = _span(clip)
    apex_idx = span.index(clip.apex)
    expected = np.asarray(span)[include_index(sample_indices(len(span), 16), apex_idx)]
    np.testing.assert_array_equal(result.frame_map, expected)
    assert result.frame_map[0] == clip.onset and result.frame_map[-1] == clip.offset
    assert result.frame_map[result.apex_position] == clip.apex and result.apex_source == "annotated"
    assert result.frames.shape == (16, 64, 64, 3) and result.frames.dtype == np.uint8
    assert result.backend == "hint"
    m, info = fit_crop(clip.landmarks_hint, (96, 96), 64, HINT.margin)   # kept inside the frame (2 px up)
    assert info["shift_px"] > 0 and info["padded"] == 0.0
    np.testing.assert_array_equal(result.frames[5], warp(clip.frame(int(expected[5])), m, 64,
                                                         fill_value(clip.frame(span[0]))))
    assert result.to_tensor().shape == (16, 3, 64, 64)


def test_midpoint_apex(clip):
    result = preprocess_clip(clip, PreprocessSettings(image_size=64, landmarks="hint", apex_mode="midpoint"))
    span = _span(clip)
    assert result.apex_source == "midpoint"
    assert result.frame_map[result.apex_position] == span[(len(span) - 1) // 2]


def test_spotting_finds_the_true_apex():
    clean = make_synthetic_clip(5, "surprise", image_size=96, n_frames=40, amplitude_px=4.0,
                                distractors=Distractors.none())
    result = preprocess_clip(clean.with_annotation(apex=None), PreprocessSettings(image_size=112, landmarks="hint"))
    assert result.apex_source == "spotted" and any("spotted" in n for n in result.notes)
    spotted = result.frame_map[result.apex_position]
    assert spotted in _span(clean)                                   # the spotted frame itself is sampled
    assert clean.true_intensity[int(spotted)] >= 0.9                 # at the peak of the true intensity curve
    assert result.apex_spotter == SPOTTER and result.apex_confidence > 0.5   # recorded with the result
    annotated = preprocess_clip(clean, PreprocessSettings(image_size=112, landmarks="hint"))
    assert annotated.apex_spotter == "" and annotated.apex_confidence is None


def test_spotting_does_not_depend_on_the_models_input_size():
    """The `cpu` preset feeds CMNet 32-px crops; the spotter still works on a 112-px crop of the same framing (on
    the 32-px crops themselves its error was 2-3x the midpoint's, see bench_apex)."""
    from cmnet_core.data.synthetic import SYNTHETIC_RECIPES
    recipe = SYNTHETIC_RECIPES["realistic"]
    errors = {32: [], 112: []}
    for seed in range(6):
        clip = make_synthetic_clip(seed, "happiness", image_size=128, n_frames=40, distractors=recipe.distractors,
                                   amplitude_range=recipe.amplitude_range)
        truth = clip.apex
        for size in errors:
            r = preprocess_clip(clip.with_annotation(apex=None),
                                PreprocessSettings(image_size=size, landmarks="hint", apex_mode="spotting"))
            errors[size].append(abs(r.frame_map[r.apex_position] - truth))
    assert np.mean(errors[32]) <= np.mean(errors[112]) + 1.0, errors
    assert np.mean(errors[32]) < 3.0, errors   # the midpoint's mean error on this recipe is ~2.5 frames


@pytest.mark.parametrize("length", [1, 2, 3])
def test_short_spans_are_interpolated(clip, length):
    on = clip.onset
    short = clip.with_annotation(onset=on, apex=on + length // 2, offset=on + length - 1)
    result = preprocess_clip(short, HINT)
    fmap = result.frame_map
    assert result.frames.shape == (16, 64, 64, 3)
    assert fmap[0] == on and fmap[-1] == on + length - 1 and np.all(np.diff(fmap) >= 0)
    m, _ = fit_crop(clip.landmarks_hint, (96, 96), 64, HINT.margin)
    fill = fill_value(clip.frame(on))
    np.testing.assert_array_equal(result.frames[0], warp(clip.frame(on), m, 64, fill))
    np.testing.assert_array_equal(result.frames[-1], warp(clip.frame(on + length - 1), m, 64, fill))
    assert abs(fmap[result.apex_position] - (on + length // 2)) <= 0.5 / 15 * max(length - 1, 1) + 1e-9


def test_linear_interpolation_setting(clip):
    on = clip.onset
    short = clip.with_annotation(onset=on, apex=on + 1, offset=on + 2)
    tim = preprocess_clip(short, HINT)
    lin = preprocess_clip(short, PreprocessSettings(image_size=64, landmarks="hint", interpolation="linear"))
    np.testing.assert_array_equal(tim.frame_map, lin.frame_map)
    np.testing.assert_array_equal(tim.frames[0], lin.frames[0])
    assert not np.array_equal(tim.frames[3], lin.frames[3])


def test_centre_crop_backend(clip):
    result = preprocess_clip(clip, PreprocessSettings(image_size=48, landmarks="none"))
    assert result.backend == "none"
    frame = clip.frame(clip.onset)
    m = centre_crop_matrix(frame.shape[1], frame.shape[0], 48)
    np.testing.assert_array_equal(result.frames[0], warp(frame, m, 48))


def test_bad_settings_and_annotation_raise(clip):
    with pytest.raises(PreprocessError, match="landmarks 'dlib'"):
        preprocess_clip(clip, PreprocessSettings(landmarks="dlib"))
    with pytest.raises(PreprocessError, match="image_size 8"):
        preprocess_clip(clip, PreprocessSettings(image_size=8))
    with pytest.raises(PreprocessError, match=r"apex .* is outside onset\.\.offset"):
        preprocess_clip(clip.with_annotation(apex=clip.offset + 1), HINT)
    no_hint = clip.with_annotation()
    no_hint.landmarks_hint = None
    with pytest.raises(PreprocessError, match="landmarks_hint"):
        preprocess_clip(no_hint, HINT)


def test_database_run_resumes_after_interruption(tmp_path):
    db = synthetic_database(n_subjects=2, clips_per_class=1, image_size=48, seed=1)
    bad = db.clips[5].with_annotation(apex=db.clips[5].offset + 50)
    clips = db.clips[:5] + [bad] + db.clips[6:]
    cache = PreprocessCache(tmp_path / "cache")
    settings = PreprocessSettings(image_size=32, landmarks="hint")

    def stop_after_three(done, total, outcome):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        preprocess_database(clips, settings, cache, progress=stop_after_three)
    seen = []
    outcomes = preprocess_database(clips, settings, cache, progress=lambda d, t, o: seen.append((d, t)),
                                   on_result=lambda c, r: seen.append(r.frames.shape))
    assert [o.status for o in outcomes] == ["cached"] * 3 + ["done"] * 2 + ["failed"] + ["done"] * 2
    assert "outside" in outcomes[5].error and seen[-1] == (8, 8)
    assert seen.count((16, 32, 32, 3)) == 7
    again = preprocess_database(clips, settings, cache)
    assert [o.status for o in again].count("cached") == 7
