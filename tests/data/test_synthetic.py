"""Synthetic micro-expression generator: determinism, intensity truth, micro and local AU motion,
separable classes, distractors, the database interface and the on-disk tree."""
import json

import cv2
import numpy as np
import pytest

from cmnet_core.cli import main as cmnet_main
from cmnet_core.data.database import open_database
from cmnet_core.data.synthetic import (SYNTHETIC_LABELS, Distractors, FaceIdentity, contact_sheet,
                                       intensity_curve, make_synthetic_clip, synthetic_database)
from cmnet_core.data.synthetic_writer import write_synthetic_database

AU_REGION = {"happiness": "mouth", "repression": "mouth", "surprise": "brows", "disgust": "brows"}


def _gray(img):
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)


def _region_mask(clip, region):
    """Boolean (S, S) box around the brows or the mouth, placed from the clip's landmarks_hint."""
    le, re, _, ml, mr = clip.landmarks_hint
    d = re[0] - le[0]  # inter-ocular distance, pixels
    if region == "brows":
        x0, x1, y0, y1 = le[0] - 0.6 * d, re[0] + 0.6 * d, le[1] - 0.75 * d, le[1] - 0.12 * d
    else:
        x0, x1, y0, y1 = ml[0] - 0.35 * d, mr[0] + 0.35 * d, ml[1] - 0.35 * d, ml[1] + 0.4 * d
    mask = np.zeros((clip.size[1], clip.size[0]), bool)
    mask[int(y0):int(np.ceil(y1)), int(x0):int(np.ceil(x1))] = True
    return mask


def _lip_thickness(clip, img):
    """Mean lip height (pixels) over the central half of the mouth: rows weighted by how lip-coloured they are."""
    ident = clip.source.identity
    skin, lips = np.array(ident.skin, float), np.array(ident.lips, float)
    axis = lips - skin
    t = np.clip(((img.astype(float) - skin) @ axis) / (axis @ axis), 0, 1)
    _, _, _, ml, mr = clip.landmarks_hint
    cx, w = (ml[0] + mr[0]) / 2, (mr[0] - ml[0]) / 2
    y = int(ml[1])
    band = t[y - int(w):y + int(w), int(cx - w / 2):int(cx + w / 2)]
    return band.sum(axis=0).mean()


def test_same_seed_same_pixels_other_seed_other_face():
    a = make_synthetic_clip(3, "surprise", image_size=64)
    b = make_synthetic_clip(3, "surprise", image_size=64)
    c = make_synthetic_clip(4, "surprise", image_size=64)
    assert a.annotation == b.annotation and a.true_intensity == b.true_intensity
    for n in (a.frame_numbers[-1], a.apex, a.frame_numbers[0]):  # any reading order gives the same pixels
        assert np.array_equal(a.frame(n), b.frame(n))
    assert FaceIdentity.random(3) != FaceIdentity.random(4)
    assert np.abs(a.frame(1).astype(float) - c.frame(1).astype(float)).mean() > 10  # another face, not just noise


def test_true_intensity_is_zero_at_onset_and_offset_one_at_apex_and_monotone():
    apex_positions = set()
    for seed in range(6):
        clip = make_synthetic_clip(seed, SYNTHETIC_LABELS[seed % 4])
        truth, nums = clip.true_intensity, list(clip.frame_numbers)
        assert sorted(truth) == nums and 24 <= len(nums) <= 40 and clip.fps == 200.0
        assert truth[clip.onset] == 0.0 and truth[clip.offset] == 0.0 and truth[clip.apex] == 1.0
        assert nums[0] < clip.onset < clip.apex < clip.offset < nums[-1]
        assert np.all(np.diff([truth[n] for n in range(clip.onset, clip.apex + 1)]) > 0)
        assert np.all(np.diff([truth[n] for n in range(clip.apex, clip.offset + 1)]) < 0)
        assert all(truth[n] == 0.0 for n in nums if n <= clip.onset or n >= clip.offset)
        apex_positions.add(round((clip.apex - clip.onset) / (clip.offset - clip.onset), 2))
    assert len(apex_positions) >= 4  # the apex is not always in the same place
    with pytest.raises(ValueError):
        intensity_curve(10, 3, 3, 8)


@pytest.mark.parametrize("label", SYNTHETIC_LABELS)
def test_au_motion_is_micro_local_and_in_the_right_direction(label):
    """At 224 px without distractors: all change between onset and apex lies in the AU region, and the
    measured displacement is a few pixels (1..6) in the AU's direction."""
    for seed in range(3):
        clip = make_synthetic_clip(seed, label, image_size=224, distractors=Distractors.none())
        onset, apex = _gray(clip.frame(clip.onset)), _gray(clip.frame(clip.apex))
        diff = np.abs(apex - onset)
        region = _region_mask(clip, AU_REGION[label])
        assert diff.sum() > 500  # something moved
        assert diff[region].sum() / diff.sum() > 0.99, "the change leaks out of the AU region"
        if label == "repression":  # AU24: lips pressed thinner
            thinner = _lip_thickness(clip, clip.frame(clip.onset)) - _lip_thickness(clip, clip.frame(clip.apex))
            assert 1.0 <= thinner <= 6.0
            continue
        flow = cv2.calcOpticalFlowFarneback(onset, apex, None, 0.5, 3, 15, 5, 5, 1.1, 0)
        moving = region & (diff > 4)
        dy = np.average(flow[..., 1][moving], weights=diff[moving])  # + = down
        up = label in ("happiness", "surprise")  # AU12 corners up, AU1+2 brows up; AU4 brows down
        assert 1.0 <= (-dy if up else dy) <= 6.0, f"seed {seed}: vertical motion {dy:.2f} px"


def test_pixel_change_follows_the_true_intensity():
    clip = make_synthetic_clip(1, "surprise", image_size=64, distractors=Distractors.none())
    region = _region_mask(clip, "brows")
    base = _gray(clip.frame(clip.onset))
    change = [np.abs(_gray(clip.frame(n)) - base)[region].sum() for n in clip.frame_numbers]
    truth = [clip.true_intensity[n] for n in clip.frame_numbers]
    assert np.corrcoef(change, truth)[0, 1] > 0.97


def test_classes_are_told_apart_by_their_apex_minus_onset_difference():
    """Leave-one-subject-out nearest class mean on blurred signed apex-onset differences."""
    db = synthetic_database(n_subjects=4, clips_per_class=2, image_size=64, seed=1, distractors=Distractors.none())
    feats, labels, subjects = [], [], []
    for clip in db.clips:
        d = cv2.GaussianBlur(_gray(clip.frame(clip.apex)) - _gray(clip.frame(clip.onset)), (0, 0), 2.0).ravel()
        feats.append(d / np.linalg.norm(d))
        labels.append(db.label_index(clip.label))
        subjects.append(clip.subject)
    feats, labels, subjects = np.array(feats), np.array(labels), np.array(subjects)
    means = np.stack([feats[labels == k].mean(0) for k in range(len(db.labels))])
    similarity = means @ means.T / np.outer(np.linalg.norm(means, axis=1), np.linalg.norm(means, axis=1))
    assert similarity[~np.eye(len(means), dtype=bool)].max() < 0.5  # the class mean differences are unlike
    correct = 0
    for s in db.subjects():
        train = subjects != s
        m = np.stack([feats[train & (labels == k)].mean(0) for k in range(len(db.labels))])
        correct += int((np.argmax(feats[~train] @ m.T, axis=1) == labels[~train]).sum())
    assert correct / len(labels) >= 0.85


def test_distractors_are_small_and_switch_off_independently():
    seed, size = 2, 112
    clean = make_synthetic_clip(seed, "happiness", image_size=size, distractors=Distractors.none())
    noisy = make_synthetic_clip(seed, "happiness", image_size=size, distractors=Distractors(0, 0, 0, 2.0))
    residual = noisy.frame(5).astype(float) - clean.frame(5).astype(float)
    assert 1.7 < residual.std() < 2.3 and abs(residual.mean()) < 0.1
    moving = make_synthetic_clip(seed, "happiness", image_size=size, distractors=Distractors(1.2, 0, 0, 0))
    first = _gray(moving.frame(1))
    shifts = [np.hypot(*cv2.phaseCorrelate(first, _gray(moving.frame(n)))[0]) for n in moving.frame_numbers]
    limit = 2 * 1.2 * size / 224  # two extreme offsets apart
    assert 0.05 < max(shifts) <= limit + 0.2
    assert np.allclose(moving.landmarks_hint, clean.landmarks_hint + moving.source.motion.head[0], atol=1e-4)
    blinking = make_synthetic_clip(seed, "happiness", image_size=size, distractors=Distractors(0, 1.0, 0, 0))
    closure = blinking.source.motion.blink
    assert closure.max() > 0.9
    shut, open_ = int(np.argmax(closure)) + 1, int(np.argmin(closure)) + 1
    eyes = _region_mask(blinking, "brows")  # eyes sit just under the brow box: look at the eye rows
    le, re = blinking.landmarks_hint[:2]
    eyes[:] = False
    eyes[int(le[1]) - 4:int(le[1]) + 5, int(le[0]) - 6:int(re[0]) + 7] = True
    assert np.abs(_gray(blinking.frame(shut)) - _gray(clean.frame(shut)))[eyes].mean() > 10
    assert closure[open_ - 1] == 0 and np.array_equal(blinking.frame(open_), clean.frame(open_))


def test_landmarks_hint_points_at_the_features():
    clip = make_synthetic_clip(7, "disgust", image_size=128, distractors=Distractors.none())
    img = _gray(clip.frame(1))
    le, re, nose, ml, mr = clip.landmarks_hint
    assert clip.landmarks_hint.shape == (5, 2) and le[0] < re[0] and ml[0] < mr[0]
    assert le[1] < nose[1] < ml[1] and abs(le[1] - re[1]) < 1e-3
    for eye in (le, re):  # the pupil is dark
        assert img[int(round(eye[1])), int(round(eye[0]))] < 60


def test_database_interface():
    db = synthetic_database(n_subjects=3, clips_per_class=2, image_size=48, seed=4)
    assert db.name == "synthetic" and db.protocol == "synthetic-4" and db.labels == list(SYNTHETIC_LABELS)
    assert db.subjects() == ["s01", "s02", "s03"]
    summary = db.summary()
    assert summary["per_class"] == {lab: 6 for lab in SYNTHETIC_LABELS} and summary["clips"] == 24
    assert summary["per_subject"] == {"s01": 8, "s02": 8, "s03": 8} and summary["skipped"] == []
    assert "happiness 6" in db.summary_text()
    identities = {}
    for clip in db.clips:
        identities.setdefault(clip.subject, set()).add(clip.source.identity)
        assert clip.database == "synthetic" and clip.size == (48, 48) and clip.frame(clip.apex).shape == (48, 48, 3)
        assert clip.annotation.aus and not clip.annotation.validate(clip.frame_numbers)
    assert all(len(ids) == 1 for ids in identities.values())  # a subject keeps one face
    assert len(set.union(*identities.values())) == 3  # subjects differ
    assert len({(c.subject, c.name) for c in db.clips}) == len(db.clips)
    small = synthetic_database(n_subjects=1, clips_per_class=1, labels=("surprise", "happiness"))
    assert small.protocol == "synthetic-2" and [c.label for c in small.clips] == ["surprise", "happiness"]
    with pytest.raises(ValueError):
        synthetic_database(labels=("fear",))
    with pytest.raises(ValueError):
        make_synthetic_clip(0, "sadness")


def test_contact_sheet_shows_onset_apex_and_the_amplified_difference():
    clip = make_synthetic_clip(0, "surprise", image_size=48, distractors=Distractors.none())
    sheet = contact_sheet([clip, clip, clip], amplify=8.0, columns=2)
    assert sheet.shape == (2 * 48, 2 * 3 * 48, 3)
    diff = sheet[:30, 96:144].astype(float)  # above the caption
    want = np.clip(128 + 8 * (clip.frame(clip.apex).astype(float) - clip.frame(clip.onset).astype(float)), 0, 255)
    assert np.abs(diff - np.floor(want[:30])).max() <= 1 and np.abs(diff - 128).max() > 50
    assert not sheet[48:, 144:].any()  # the empty slot stays black
    with pytest.raises(ValueError):
        contact_sheet([])


def test_written_tree_reopens_with_same_clips_and_lists_bad_rows(tmp_path):
    root = tmp_path / "syn"
    written = write_synthetic_database(root, n_subjects=2, clips_per_class=1, image_size=48, seed=5)
    memory = synthetic_database(n_subjects=2, clips_per_class=1, image_size=48, seed=5)
    db = open_database(root)
    assert db.name == "synthetic" and db.protocol == "synthetic-4" and db.skips == []
    assert [(c.subject, c.name, c.annotation) for c in db.clips] == [(c.subject, c.name, c.annotation)
                                                                      for c in memory.clips]
    assert len(written.clips) == len(db.clips) == 8
    for got, want in zip(db.clips, memory.clips):
        assert got.true_intensity == pytest.approx(want.true_intensity, abs=1e-6)
        np.testing.assert_allclose(got.landmarks_hint, want.landmarks_hint, atol=1e-3)
        assert got.frame_numbers == want.frame_numbers
        assert np.array_equal(got.frame(got.apex), want.frame(want.apex))
    png = cv2.cvtColor(cv2.imread(str(root / "s01" / "happiness_01" / "img0001.png")), cv2.COLOR_BGR2RGB)
    assert np.array_equal(png, memory.clips[0].frame(1))
    assert json.loads((root / "synthetic.json").read_text())["seed"] == 5
    with pytest.raises(FileExistsError):
        write_synthetic_database(root, n_subjects=1, clips_per_class=1)

    # damage the tree: a missing frame, a missing folder, an unknown emotion, an apex outside onset..offset
    (root / "s01" / "surprise_01" / "img0003.png").unlink()
    for p in (root / "s02" / "disgust_01").iterdir():
        p.unlink()
    (root / "s02" / "disgust_01").rmdir()
    lines = (root / "clips.csv").read_text().splitlines()
    lines[3] = lines[3].replace(",disgust,", ",fear,")
    fields = lines[4].split(",")
    fields[3] = str(int(fields[4]) + 1)
    lines[4] = ",".join(fields)
    (root / "clips.csv").write_text("\n".join(lines) + "\n")
    damaged = open_database(root)
    reasons = {s.item: s.reason for s in damaged.skips}
    assert len(damaged.clips) == 4 and len(reasons) == 4
    assert "img0003.png" in reasons["row 3 (s01/surprise_01)"]
    assert "fear" in reasons["row 4 (s01/disgust_01)"]
    assert "outside onset..offset" in reasons["row 5 (s01/repression_01)"]
    assert "missing clip folder" in reasons["row 8 (s02/disgust_01)"]


def test_make_synthetic_command(tmp_path, capsys):
    out = tmp_path / "demo"
    sheet = tmp_path / "sheet.png"
    assert cmnet_main(["make-synthetic", str(out), "--subjects", "1", "--clips-per-class", "1", "--size", "40",
                       "--seed", "3", "--sheet", str(sheet)]) == 0
    assert "4 clips, 1 subjects" in capsys.readouterr().out
    assert cv2.imread(str(sheet)).shape == (4 * 40, 3 * 40, 3)  # one row per clip: onset, apex, difference
    assert sorted(p.name for p in (out / "s01").iterdir()) == sorted(f"{lab}_01" for lab in SYNTHETIC_LABELS)
    assert cmnet_main(["make-synthetic", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
