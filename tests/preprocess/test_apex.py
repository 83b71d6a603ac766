"""Apex helpers: position mapping, midpoint, the previous spotting score, and `spot_apex` on synthetic clips with
known apex (head motion, blinks, flicker) against the midpoint."""
import cv2
import numpy as np
import pytest

from cmnet_core.data.synthetic import SYNTHETIC_RECIPES, Distractors, make_synthetic_clip
from cmnet_core.preprocess.align import alignment_matrix, warp
from cmnet_core.preprocess.apex import (SPOTTER, apex_position, apex_source_counts, describe_apex_source, flow_image,
                                        midpoint, motion_score, spot_apex, spotting_image)
from cmnet_core.preprocess.errors import PreprocessError
from cmnet_core.preprocess.pipeline import span_frames


def test_apex_position_maps_to_nearest_of_the_n():
    fmap = np.array([46, 50, 54, 58, 62.0])
    assert apex_position(fmap, 46) == 0
    assert apex_position(fmap, 55) == 2
    assert apex_position(fmap, 56) == 2                  # tie 54/58: the earlier position
    assert apex_position(fmap, 99) == 4
    assert apex_position(np.array([10, 10.4, 10.8, 11.2]), 11) == 2


def test_midpoint():
    assert midpoint([5, 6, 7, 8, 9]) == 7
    assert midpoint([5, 6, 7, 8]) == 6
    with pytest.raises(PreprocessError):
        midpoint([])


@pytest.fixture(scope="module")
def face_crop(face_videos):
    img = cv2.cvtColor(cv2.imread(str(face_videos / "single_face.jpg")), cv2.COLOR_BGR2RGB)
    return cv2.resize(img[60:480, 80:500], (224, 224), interpolation=cv2.INTER_AREA)


def test_spotting_ignores_flicker_and_small_head_drift(face_crop):
    onset = spotting_image(face_crop)
    brighter = spotting_image(np.clip(face_crop.astype(float) * 1.05, 0, 255).astype(np.uint8))
    drifted = spotting_image(cv2.warpAffine(face_crop, np.float32([[1, 0, 1.5], [0, 1, -1.0]]), (224, 224),
                                            borderMode=cv2.BORDER_REPLICATE))
    moved = face_crop.copy()
    moved[150:190, 60:160] = face_crop[146:186, 60:160]                # mouth region raised by 4 px
    local = spotting_image(moved)
    assert motion_score(onset, onset) == pytest.approx(0.0, abs=1e-6)
    assert motion_score(drifted, onset) < 0.4 * float(np.mean(np.abs(drifted - onset)))  # drift registered
    assert motion_score(brighter, onset) < 0.2 * 0.05                   # 5 % flicker cancels (<1 % left)
    assert motion_score(local, onset) > 1.5 * motion_score(drifted, onset)
    assert motion_score(local, onset) > 2 * motion_score(brighter, onset)


# ---- spot_apex: optical flow from the onset, head motion removed, blinks bridged ----------------------------
HARD = Distractors(head_motion_px=3.0, blink_probability=1.0, flicker=0.04, noise_sigma=2.5)


def _aligned(clip, size=96):
    """Aligned crops of onset..offset from the clip's landmark hint (as the pipeline with landmarks 'hint')."""
    span = span_frames(clip)
    m = alignment_matrix(np.asarray(clip.landmarks_hint)[:5], size, 0.6)
    return np.stack([warp(clip.frame(n), m, size) for n in span]), span


@pytest.mark.parametrize("seed", [3, 8, 10])
def test_spot_apex_finds_the_apex_despite_a_blink_and_head_motion(seed):
    clip = make_synthetic_clip(seed, "disgust", image_size=96, distractors=HARD, amplitude_px=3.0)
    crops, span = _aligned(clip)
    blink = clip.source.motion.blink[[n - 1 for n in span]]
    blink_peak = span[int(np.argmax(blink))]
    assert blink.max() == pytest.approx(1.0, abs=0.05) and abs(blink_peak - clip.apex) >= 6   # a full blink, apart
    images = [spotting_image(c) for c in crops]
    previous = span[int(np.argmax([motion_score(im, images[0]) for im in images]))]
    assert abs(previous - blink_peak) <= 1                      # the grey-difference spotter takes the blink
    spot = spot_apex(crops, 0)
    assert spot.method == SPOTTER and spot.curve.shape == (len(span),)
    assert abs(span[spot.index] - clip.apex) <= 1
    assert any(abs(span[i] - blink_peak) <= 2 for i in spot.blink_frames)   # the blink was bridged
    assert spot.confidence > 0.5


def _batch(amplitude=None, n=8):
    r = SYNTHETIC_RECIPES["realistic"]
    amp = r.amplitude_range if amplitude is None else (amplitude, amplitude)
    labels = ("happiness", "surprise", "disgust", "repression")
    return [make_synthetic_clip(s, labels[s % 4], image_size=96, distractors=r.distractors, amplitude_range=amp)
            for s in range(n)]


def test_spot_apex_beats_the_midpoint_on_realistic_clips():
    new, mid = [], []
    for clip in _batch():
        crops, span = _aligned(clip)
        new.append(abs(span[spot_apex(crops).index] - clip.apex))
        mid.append(abs(midpoint(span) - clip.apex))
    assert np.mean(new) < 0.75 * np.mean(mid) and np.median(new) <= 1


def test_confidence_is_low_without_an_expression():
    flat = [spot_apex(_aligned(c)[0]).confidence for c in _batch(amplitude=0.0)]
    moving = [spot_apex(_aligned(c)[0]).confidence for c in _batch(amplitude=4.0)]
    assert all(0.0 <= c <= 1.0 for c in flat + moving)
    assert np.median(flat) < 0.15 and np.median(moving) > 0.5


def test_spot_apex_searches_after_the_onset_and_rejects_too_few_frames():
    clip = make_synthetic_clip(8, "surprise", image_size=96, distractors=Distractors.none(), amplitude_px=4.0)
    crops, span = _aligned(clip)
    at = span.index(clip.apex)
    given = np.concatenate([crops[[at, at]], crops])      # two expressive frames before the onset
    spot = spot_apex(given, onset_index=2)
    assert spot.curve[2] == pytest.approx(0.0, abs=0.05 * spot.curve.max())   # no motion at the onset itself
    assert abs(spot.index - (at + 2)) <= 1                # the frames before the onset are not candidates
    prepared = spot_apex([flow_image(c) for c in given], onset_index=2, prepared=True)   # as the pipeline calls it
    assert prepared.index == spot.index and np.allclose(prepared.curve, spot.curve)
    with pytest.raises(PreprocessError, match="prepared frames must be uint8"):
        spot_apex(crops, prepared=True)
    with pytest.raises(PreprocessError, match="at least 2 frames"):
        spot_apex(crops[:1])
    with pytest.raises(PreprocessError, match="onset index 5"):
        spot_apex(crops[:6], onset_index=5)


def test_describe_apex_source():
    assert describe_apex_source("spotted", 0.8234) == "spotted, confidence 0.82"
    assert describe_apex_source("annotated") == "annotated" and describe_apex_source("") == ""


def test_apex_source_counts_name_the_spotter():
    from types import SimpleNamespace as R

    results = [R(apex_source="annotated", apex_spotter=""), R(apex_source="spotted", apex_spotter=SPOTTER),
               R(apex_source="spotted", apex_spotter=SPOTTER), R(apex_source="midpoint", apex_spotter="")]
    assert apex_source_counts(results) == {"annotated": 1, f"spotted ({SPOTTER})": 2, "midpoint": 1}
