"""Motion maps (cmnet_core.motion) and spotting in long videos (cmnet_core.spotting): tiny inputs, a few seconds."""
from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from cmnet_core import motion
from cmnet_core.data.clip import Annotation
from cmnet_core.data.synthetic_long import synthetic_long_video
from cmnet_core.spotting import (ACCEPTED_NOTE, CANDIDATE_TIER, Candidate, SpottingCancelled, candidates_csv,
                                 candidates_to_annotations, interval_iou, read_candidates_csv, spot, spot_signals,
                                 spotting_f1, write_candidates_eaf)


def _texture(size=128, seed=0):
    r = np.random.default_rng(seed)
    img = cv2.GaussianBlur((r.random((size, size)) * 255).astype(np.uint8), (0, 0), 2)
    return cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX)


def _inner_mean(flow, margin=16):
    return float(motion.motion_map(flow)[0][margin:-margin, margin:-margin].mean())


@pytest.mark.parametrize("matrix", [np.float32([[1, 0, 1.5], [0, 1, -0.8]]),
                                    cv2.getRotationMatrix2D((64, 64), 2.0, 1.0).astype(np.float32),
                                    cv2.getRotationMatrix2D((60, 70), -1.0, 1.02).astype(np.float32)],
                         ids=["translation", "rotation", "rotation+scale"])
def test_head_motion_leaves_no_residual(matrix):
    a = _texture()
    b = cv2.warpAffine(a, matrix, (128, 128), borderMode=cv2.BORDER_REFLECT)
    flow = motion.flow_between(a, b, 128)
    assert flow.shape == (128, 128, 2) and flow.dtype == np.float32
    assert _inner_mean(flow) > 0.9  # the whole face moved about a pixel or more
    assert _inner_mean(motion.remove_head_motion(flow)) < 0.1


def test_median_removal_handles_translation_only():
    a = _texture()
    rot = cv2.warpAffine(a, cv2.getRotationMatrix2D((64, 64), 2.0, 1.0), (128, 128), borderMode=cv2.BORDER_REFLECT)
    flow = motion.flow_between(a, rot, 128)
    assert _inner_mean(motion.remove_head_motion(flow, how="median")) > 0.8  # a rotation is no translation
    with pytest.raises(ValueError, match="how="):
        motion.remove_head_motion(flow, how="affine")


def test_local_motion_survives_and_shows_in_its_region():
    a = _texture(seed=1)
    boxes = motion.region_boxes(None, 128)
    x0, y0, x1, y1 = boxes["left_mouth"]
    b = a.copy()
    patch = cv2.warpAffine(a, np.float32([[1, 0, 0], [0, 1, -1.5]]), (128, 128), borderMode=cv2.BORDER_REFLECT)
    b[y0:y1, x0:x1] = patch[y0:y1, x0:x1]  # only the left mouth corner moves up 1.5 px
    curves = motion.region_curves(np.stack([np.dstack([a] * 3), np.dstack([b] * 3)]), 0, None, "onset", size=128)
    assert set(curves) == set(motion.REGIONS) and all(v.shape == (2,) for v in curves.values())
    assert curves["left_mouth"][0] == pytest.approx(0.0, abs=1e-6)
    assert curves["left_mouth"][1] > 0.5
    others = [curves[k][1] for k in motion.REGIONS if k not in ("left_mouth", "chin", "nose")]
    assert curves["left_mouth"][1] > 5 * max(others)


def test_blinks_are_symmetric_short_eye_motion():
    t = 60
    quiet = {k: np.full(t, 0.02) for k in motion.REGIONS}
    both = dict(quiet, left_eye=quiet["left_eye"].copy(), right_eye=quiet["right_eye"].copy())
    both["left_eye"][10:13] = 0.8
    both["right_eye"][10:14] = 0.7
    assert motion.blink_frames(both, fps=30) == [(10, 12)]
    one = dict(quiet, left_eye=both["left_eye"])  # one eye only: a wink or a brow, not a blink
    assert motion.blink_frames(one, fps=30) == []
    long = dict(quiet, left_eye=np.full(t, 0.02), right_eye=np.full(t, 0.02))
    long["left_eye"][5:40] = long["right_eye"][5:40] = 0.8  # 35 frames = 1.2 s: longer than a blink
    assert motion.blink_frames(long, fps=30) == []
    mouth_too = dict(both, left_mouth=np.full(t, 0.9))  # the whole face moves: not a blink
    assert motion.blink_frames(mouth_too, fps=30) == []


def test_a_brow_raise_spilling_into_the_eyes_is_not_a_blink():
    """Measured on the synthetic long videos: a 1-2 px brow raise moved the eye boxes 0.2 px (mouth 0.05) and was
    taken for a blink, so the micro-expression was interpolated away."""
    t = 60
    quiet = {k: np.full(t, 0.02) for k in motion.REGIONS}
    raise_ = {k: v.copy() for k, v in quiet.items()}
    for k in ("left_brow", "right_brow"):
        raise_[k][10:14] = 1.5
    for k in ("left_eye", "right_eye"):
        raise_[k][10:14] = 0.2
    assert motion.blink_frames(raise_, fps=30) == []
    blink = {k: v.copy() for k, v in quiet.items()}
    for k in ("left_brow", "right_brow"):
        blink[k][10:14] = 0.5   # the flow spreads a blink to the brows, less than the lids move
    for k in ("left_eye", "right_eye"):
        blink[k][10:14] = 3.0
    assert motion.blink_frames(blink, fps=30) == [(10, 13)]


def test_normalised_grey_ignores_a_lighting_change_but_keeps_motion():
    face = _texture(96, seed=3)
    darker = np.clip(face.astype(np.float32) * 0.9 + 4, 0, 255).astype(np.uint8)
    a, b = motion.normalise_grey(face), motion.normalise_grey(darker)
    assert float(np.abs(face.astype(int) - darker.astype(int)).mean()) > 7
    assert float(np.abs(a.astype(int) - b.astype(int)).mean()) < 1.0
    assert abs(float(a.mean()) - 128) < 1 and abs(float(a.std()) - 40) < 1
    flat = np.full((8, 8), 7, np.uint8)
    assert motion.normalise_grey(flat) is flat
    shifted = motion.normalise_grey(np.roll(darker, 2, axis=1))
    flow = motion.flow_between(a, shifted, 96)
    assert float(np.median(flow[16:-16, 16:-16, 0])) == pytest.approx(2.0, abs=0.3)


def test_a_weak_expression_beside_a_strong_one_keeps_its_own_threshold():
    """The small scale's threshold leaves out the intervals the large scale found: with a macro peak 40x as high in
    the same minute, a micro peak 20x the noise is still found; with the macro frames counted it would not be."""
    from cmnet_core.spotting import _peaks_to_intervals

    r = np.random.default_rng(0)
    s = np.abs(r.normal(0, 0.01, 1800)) + 0.05
    s[300:360] += 4.0 * np.hanning(60)     # a macro-expression
    s[1200:1210] += 0.2 * np.hanning(10)   # a micro-expression
    excluded = np.zeros(1800, bool)
    excluded[290:370] = True
    with_mask = _peaks_to_intervals(s, 4, 30.0, 0.3, 1800, 0.35, excluded)
    without = _peaks_to_intervals(s, 4, 30.0, 0.3, 1800, 0.35)
    assert any(lo <= 1205 <= hi for lo, _pk, hi, _sc in with_mask)
    assert not any(lo <= 1205 <= hi for lo, _pk, hi, _sc in without)


def test_flow_to_rgba_is_transparent_where_nothing_moves():
    flow = np.zeros((32, 32, 2), np.float32)
    flow[8:16, 8:16, 0] = 2.0
    rgba = motion.flow_to_rgba(flow, opacity=0.6, min_px=0.2)
    assert rgba.shape == (32, 32, 4) and rgba.dtype == np.uint8
    assert rgba[0, 0, 3] == 0 and rgba[12, 12, 3] == round(0.6 * 255)
    mag, ang = motion.motion_map(flow)
    assert mag[12, 12] == pytest.approx(2.0) and ang[12, 12] == pytest.approx(0.0, abs=1e-3)


def test_spot_finds_an_inserted_expression():
    clip, truth = synthetic_long_video(0, 10 / 60, n_expressions=1, micro_fraction=1.0, blinks_per_minute=12)
    (true,) = truth
    assert true.kind == "micro" and true.offset - true.onset + 1 <= 15
    calls = []
    cands = spot(clip, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (300, 300)
    best = max(cands, key=lambda c: c.score)
    assert interval_iou((best.onset, best.offset), (true.onset, true.offset)) >= 0.5
    assert best.onset <= true.apex <= best.offset and best.kind == "micro" and best.score == 1.0
    assert best.peak_region in motion.REGIONS and "eye" not in best.peak_region
    assert spotting_f1([(best.onset, best.offset)], [(true.onset, true.offset)])["f1"] == 1.0
    numbers, signals = spot_signals(clip)
    assert list(numbers) == list(range(300)) and sorted(signals) == [4, 45]
    micro = signals[4]
    assert micro.shape == (300,) and true.onset <= int(np.argmax(micro)) <= true.offset


def test_spot_errors_and_cancel():
    frames = np.zeros((20, 32, 32, 3), np.uint8)
    with pytest.raises(ValueError, match="fps"):
        spot(frames)
    with pytest.raises(ValueError, match="method"):
        spot(frames, fps=30, method="lbp")
    assert spot(frames, fps=30) == []  # nothing moves: no candidate (and no crash on a clip shorter than k)
    with pytest.raises(ValueError, match="1 frame: a still image has no motion to spot"):
        spot(frames[:1], fps=30)
    clip, _ = synthetic_long_video(1, 10 / 60, n_expressions=1)
    with pytest.raises(SpottingCancelled, match="cancelled at frame 63"):
        spot(clip, cancelled=lambda: True)


def test_candidates_export_and_accept(tmp_path):
    pympi = pytest.importorskip("pympi")
    clip, _ = synthetic_long_video(2, 10 / 60, n_expressions=1)
    cands = [Candidate(30, 33, 38, 0.3, "micro", "left_brow", 0.83), Candidate(100, 120, 160, 2.0333, "macro",
                                                                                 "right_mouth", 0.5)]
    path = candidates_csv(cands, tmp_path / "c.csv", clip)
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["onset_s"] == "1.0000" and rows[0]["offset_s"] == f"{38 / 30:.4f}" and rows[1]["kind"] == "macro"
    assert read_candidates_csv(path) == cands
    eaf_path = write_candidates_eaf(tmp_path / "c.eaf", cands, clip)
    eaf = pympi.Elan.Eaf(str(eaf_path))
    got = sorted(eaf.get_annotation_data_for_tier(CANDIDATE_TIER))
    assert [(b, e, v) for b, e, v, *_ in got] == [(1000, 1300, "micro 0.83"), (3333, 5367, "macro 0.50")]
    assert [a[2] for a in eaf.get_annotation_data_for_tier("apex")] == ["spotted", "spotted"]
    anns = candidates_to_annotations(cands)
    assert anns[0] == Annotation(onset=30, apex=33, offset=38, notes=ACCEPTED_NOTE, apex_source="spotted")
    assert ACCEPTED_NOTE == "candidate from spotting, accepted by the user"
    assert cands[1].to_annotation("happiness").emotion == "happiness"
    bad = tmp_path / "bad.csv"
    bad.write_text("onset,apex\n1,2\n")
    with pytest.raises(ValueError, match="missing column"):
        read_candidates_csv(bad)


def test_cli_spot_writes_csv_and_eaf(tmp_path, capsys):
    pympi = pytest.importorskip("pympi")
    from cmnet_core.cli import main

    clip, truth = synthetic_long_video(0, 10 / 60, n_expressions=1, micro_fraction=1.0, blinks_per_minute=12)
    video = tmp_path / "long.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (96, 96))
    for n in clip.frame_numbers:
        writer.write(cv2.cvtColor(clip.frame(n), cv2.COLOR_RGB2BGR))
    writer.release()
    out, eaf = tmp_path / "c.csv", tmp_path / "c.eaf"
    assert main(["spot", str(video), "--out", str(out), "--eaf", str(eaf), "--face-box", "9,14,82,82"]) == 0
    assert "candidates" in capsys.readouterr().out
    found = read_candidates_csv(out)
    (true,) = truth
    assert max(interval_iou((c.onset, c.offset), (true.onset, true.offset)) for c in found) >= 0.5
    assert len(pympi.Elan.Eaf(str(eaf)).get_annotation_data_for_tier(CANDIDATE_TIER)) == len(found)
    assert main(["spot", str(video), "--out", str(out), "--face-box", "0,0,200,200"]) == 2
    assert "does not fit" in capsys.readouterr().err


def _moving_face_video():
    """The 10-s synthetic video (one micro-expression, frames 116-123) pasted into a wider frame; the face jumps
    140 px to the right over frames 60-65 (a person shifting in the chair) and stays there."""
    clip, truth = synthetic_long_video(0, 10 / 60, n_expressions=1, micro_fraction=1.0, blinks_per_minute=12)
    r = np.random.default_rng(1)
    background = cv2.GaussianBlur((r.random((120, 260, 3)) * 255).astype(np.uint8), (0, 0), 3)
    frames, offsets = [], []
    for i in clip.frame_numbers:
        x = 10 + int(round(140 * min(max((i - 60) / 5, 0), 1)))
        canvas = background.copy()
        canvas[12:108, x:x + 96] = clip.frame(i)
        frames.append(canvas)
        offsets.append(x)
    return np.stack(frames), clip.landmarks_hint + [10, 12], truth[0], offsets


def test_spot_follows_a_face_that_moves_with_track():
    frames, landmarks, true, offsets = _moving_face_video()
    template = frames[0][12:108, 10:106]
    calls = []

    def track(frame):   # a stand-in for MTCNN: where the first frame's face is now (template matching)
        _, _, _, (x, y) = cv2.minMaxLoc(cv2.matchTemplate(frame, template, cv2.TM_CCOEFF_NORMED))
        calls.append((x, y))
        return landmarks + [x - 10, y - 12]

    still = spot(frames, fps=30, landmarks=landmarks)
    assert not any(interval_iou((c.onset, c.offset), (true.onset, true.offset)) >= 0.5 for c in still)
    followed = spot(frames, fps=30, track=track, track_every_s=0.5)
    assert calls[0][0] == 10 and abs(calls[-1][0] - 150) <= 2 and len(calls) >= 1 + (len(frames) - 1) // 15
    best = [c for c in followed if interval_iou((c.onset, c.offset), (true.onset, true.offset)) >= 0.5]
    assert len(best) == 1 and best[0].kind == "micro" and "brow" in best[0].peak_region


def test_cli_spot_follows_the_face_every_few_seconds(tmp_path, monkeypatch, capsys):
    from cmnet_core.cli import main
    from cmnet_core.commands import spot as spot_command
    from cmnet_core.preprocess import face

    frames, landmarks, true, _ = _moving_face_video()
    video = tmp_path / "moving.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (260, 120))
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()
    template = frames[0][12:108, 10:106]
    seen = []

    def locate(frame):   # MTCNN's stand-in (drawn faces are not what MTCNN was trained on)
        _, _, _, (x, y) = cv2.minMaxLoc(cv2.matchTemplate(frame, template, cv2.TM_CCOEFF_NORMED))
        seen.append(x)
        return landmarks + [x - 10, y - 12]

    monkeypatch.setattr(spot_command, "_first_face", lambda clip: (locate(clip.frame(0)), True))
    monkeypatch.setattr(face, "locate_landmarks", locate)
    out = tmp_path / "c.csv"
    hits = {}
    for every in ("0.5", "0"):
        seen.clear()
        assert main(["spot", str(video), "--out", str(out), "--track-every", every]) == 0
        hits[every] = [c for c in read_candidates_csv(out)   # the surprise raises the brows
                       if interval_iou((c.onset, c.offset), (true.onset, true.offset)) >= 0.5
                       and "brow" in c.peak_region]
        assert len(seen) >= ((len(frames) - 1) // 15 if every == "0.5" else 1)   # 0: when the face leaves the box
    assert len(hits["0.5"]) == 1 and hits["0"] == []
    capsys.readouterr()


def test_the_macro_scale_leaves_short_intervals_to_the_micro_scale():
    """A micro-expression (frames 600-607) raises the 3-s scale's signal too, there and as an echo k = 45 frames
    before it (r(t + k)); only the 0.3-s scale's interval is kept (measured on the synthetic long videos: the
    echoes were a third of the false candidates)."""
    from cmnet_core.spotting import _candidates, _Frames

    n, fps = 1800, 30.0
    r = {k: np.full((n, len(motion.REGIONS)), 0.02) for k in (45, 4)}
    brow = motion.REGIONS.index("left_brow")
    r[45][600:608, brow] = np.hanning(10)[1:9]    # r_45(t): the brow's displacement since t - 45
    r[4][600:612, brow] = np.hanning(14)[1:13]    # r_4(t): its motion over the last 4 frames
    frames = _Frames(list(range(n)), np.arange(n) / fps, None, fps, None)
    found = _candidates(frames, r, [45, 4], {name: None for name in motion.REGIONS}, 0.3, 60.0, 0.05, 0.35, 0.1)
    assert len(found) == 1 and found[0].kind == "micro" and found[0].peak_region == "left_brow"
    assert 598 <= found[0].onset <= 603 and 605 <= found[0].offset <= 615


def test_spot_reads_no_motion_where_the_face_is_gone():
    """A cut to a moving title card at frame 180 (the face-noface case of ../shared): the frames without a face hold
    no candidate and the report names them; a card before the face (noface-face) likewise, the face found later."""
    clip, (true,) = synthetic_long_video(0, 10 / 60, n_expressions=1, micro_fraction=1.0, blinks_per_minute=12)
    faces = np.stack([clip.frame(n) for n in clip.frame_numbers])
    r = np.random.default_rng(2)
    card = cv2.GaussianBlur((r.random((96, 400, 3)) * 255).astype(np.uint8), (0, 0), 2)
    cards = np.stack([card[:, 3 * i % 300:3 * i % 300 + 96] for i in range(len(faces))])   # scrolling: motion
    template = faces[0][20:76, 20:76]

    def track(frame):   # MTCNN's stand-in: a face where the first frame's face is, else none
        score = cv2.matchTemplate(frame, template, cv2.TM_CCOEFF_NORMED).max()
        return clip.landmarks_hint if score > 0.6 else None

    gone = np.concatenate([faces[:180], cards[180:]])
    report: dict = {}
    found = spot(gone, fps=30, track=track, track_every_s=5.0, report=report)
    assert all(c.offset < 180 for c in found)
    assert any(interval_iou((c.onset, c.offset), (true.onset, true.offset)) >= 0.5 for c in found)
    (first, last), = report["no_face"]
    assert 180 <= first <= 196 and last == 299 and report["no_face_s"] == pytest.approx((300 - first) / 30, abs=0.01)
    without = spot(gone, fps=30)   # no face finder: the card's motion is read as an expression
    assert any(c.onset >= 180 for c in without)
    late = np.concatenate([cards[:60], faces[60:]])
    report = {}
    found = spot(late, fps=30, track=track, report=report)
    assert report["no_face"] == [(0, 59)] and all(c.onset >= 60 for c in found)
    assert any(interval_iou((c.onset, c.offset), (true.onset, true.offset)) >= 0.5 for c in found)


# ---- review21: spot's input and option checks, time_source, the CLI's outputs -------------------------------
def _tiny_video(tmp_path, n=12, size=48):
    from cmnet_core.magnify import write_video

    frames = np.random.default_rng(3).integers(0, 256, (n, size, size, 3), dtype=np.uint8)
    return write_video(frames, tmp_path / "v.mp4", 30.0)


def test_spot_refuses_a_still_image_and_bad_options(tmp_path):
    from cmnet_core.data.readers import open_clip

    cv2.imwrite(str(tmp_path / "still.png"), np.zeros((32, 32, 3), np.uint8))
    with pytest.raises(ValueError, match=r"still\.png: 1 frame: a still image has no motion to spot; give a video"):
        spot(open_clip(tmp_path / "still.png"))
    frames = np.zeros((10, 32, 32, 3), np.uint8)
    for p in (0.0, 1.0, -1.0, 5.0, float("nan")):
        with pytest.raises(ValueError, match="between 0 and 1"):
            spot(frames, fps=30, p=p)
    for every in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="seconds >= 0"):
            spot(frames, fps=30, track_every_s=every)
    with pytest.raises(ValueError, match=r"does not fit the 32x32 frames: it needs X >= 0, Y >= 0, X \+ W <= 32"):
        spot(frames, fps=30, face_box=(20, 0, 20, 20))


def test_spot_refuses_a_frame_folder_of_mixed_sizes(tmp_path):
    from cmnet_core.data.clip import ClipError
    from cmnet_core.data.readers import open_clip

    folder = tmp_path / "frames_mixed"
    folder.mkdir()
    for i in range(1, 11):
        side = 16 if i == 10 else 32
        cv2.imwrite(str(folder / f"img{i:03d}.jpg"), np.full((side, side, 3), 100, np.uint8))
    with pytest.raises(ClipError, match=r"img010\.jpg is 16x16 px, the others 32x32 px; .*re-export the folder"):
        spot(open_clip(folder))


def test_candidates_csv_says_where_times_come_from(tmp_path):
    from cmnet_core.data.readers import open_clip

    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(5):
        cv2.imwrite(str(folder / f"img{i:03d}.png"), np.zeros((8, 8, 3), np.uint8))
    cands = [Candidate(1, 2, 3, 0.1, "micro", "nose", 0.5)]
    rows = {}
    for name, clip in (("assumed", open_clip(folder)), ("nominal", open_clip(folder, fps=10)),
                       ("pts", open_clip(_tiny_video(tmp_path)))):
        path = candidates_csv(cands, tmp_path / f"{name}.csv", clip)
        with open(path, newline="") as fh:
            rows[name] = list(csv.DictReader(fh))[0]
        assert read_candidates_csv(path) == cands
    assert {k: r["time_source"] for k, r in rows.items()} == {"assumed": "assumed", "nominal": "nominal",
                                                               "pts": "pts"}
    assert rows["nominal"]["onset_s"] == "0.1000" and rows["assumed"]["onset_s"] == f"{1 / 30:.4f}"
    old = tmp_path / "old.csv"   # written before the column existed
    old.write_text("onset,apex,offset,onset_s,apex_s,offset_s,duration_s,kind,peak_region,score\n"
                   "1,2,3,0.0333,0.0667,0.1000,0.1000,micro,nose,0.5000\n")
    assert read_candidates_csv(old) == cands


def test_cli_spot_never_overwrites_an_input_or_the_other_output(tmp_path, capsys, monkeypatch):
    from cmnet_core import spotting
    from cmnet_core.cli import main

    video = _tiny_video(tmp_path)
    before = video.read_bytes()
    monkeypatch.setattr(spotting, "_scan", lambda *a, **k: pytest.fail("scanned before checking the outputs"))
    assert main(["spot", str(video), "--out", str(video), "--face-box", "0,0,48,48"]) == 2
    assert "--out" in (err := capsys.readouterr().err) and "is the input file" in err and "choose another" in err
    assert main(["spot", str(video), "--out", str(tmp_path / "c.csv"), "--eaf", str(video),
                 "--face-box", "0,0,48,48"]) == 2
    assert "--eaf" in capsys.readouterr().err and video.read_bytes() == before
    same = tmp_path / "same.x"
    assert main(["spot", str(video), "--out", str(same), "--eaf", str(same), "--face-box", "0,0,48,48"]) == 2
    assert "--out" in (err := capsys.readouterr().err) and "also given as --eaf" in err
    assert main(["spot", str(video), "--out", str(tmp_path / "sp" / "wl.csv"), "--face-box", "0,0,48,48"]) == 2
    err = capsys.readouterr().err
    assert f"the folder {tmp_path / 'sp'} does not exist; create it first" in err and ".tmp" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.mp4"]


@pytest.mark.parametrize("extra, message", [
    (["--track-every", "-1"], "--track-every must be a number of seconds >= 0"),
    (["--track-every", "nan"], "--track-every must be a number of seconds >= 0"),
    (["--threshold", "-1"], "--threshold must be between 0 and 1"),
    (["--threshold", "5"], "--threshold must be between 0 and 1"),
    (["--threshold", "nan"], "--threshold must be between 0 and 1"),
    (["--fps", "0"], "--fps must be a number of frames per second > 0"),
])
def test_cli_spot_refuses_option_values_out_of_range(tmp_path, capsys, extra, message):
    from cmnet_core.cli import main

    with pytest.raises(SystemExit) as stop:
        main(["spot", str(tmp_path / "v.mp4"), "--out", str(tmp_path / "c.csv"), *extra])
    assert stop.value.code == 2 and message in capsys.readouterr().err


def test_cli_spot_face_box_checks(tmp_path, capsys):
    from cmnet_core.cli import main

    video = _tiny_video(tmp_path)
    out = str(tmp_path / "c.csv")
    assert main(["spot", str(video), "--out", out, "--face-box", "0,0,40,40", "--track-every", "3"]) == 2
    assert "--face-box fixes the face box" in capsys.readouterr().err
    assert main(["spot", str(video), "--out", out, "--face-box", "-10,-10,50,50"]) == 2   # no argparse error
    err = capsys.readouterr().err
    assert "face box -10,-10,50,50 (X,Y,W,H) does not fit the 48x48 frames" in err and "X + W <= 48" in err
    assert main(["spot", str(video), "--out", out, "--face-box", "30,30,40,40"]) == 2
    assert "the whole frame is 0,0,48,48" in capsys.readouterr().err


def test_cli_spot_notes_assumed_fps_and_no_face(tmp_path, capsys, monkeypatch):
    from cmnet_core.cli import main
    from cmnet_core.preprocess import face

    folder = tmp_path / "frames"
    folder.mkdir()
    rng = np.random.default_rng(4)
    for i in range(12):
        cv2.imwrite(str(folder / f"img{i:03d}.png"), rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    monkeypatch.setattr(face, "locate_face", lambda image, **kw: None)   # MTCNN finds no face
    out = tmp_path / "c.csv"
    assert main(["spot", str(folder), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "times assume 30 fps" in err and "time_source says 'assumed'" in err and "--fps" in err
    assert "no face found in frame 0 (MTCNN); looking for one every second" in err
    assert "no face in 0.40 s of the video: 0.00–0.40 s (frames 0–11); no candidates there" in err
    assert out.read_text().splitlines()[0].endswith(",score,time_source")
    assert main(["spot", str(folder), "--out", str(out), "--fps", "60"]) == 0
    assert "assume" not in capsys.readouterr().err


def test_a_short_dropout_costs_its_own_frames_also_with_a_fixed_box():
    """Five black frames (a glitch) after the expression: only they are without a face, the expression before stays
    a candidate, and nothing is proposed on the cut back; the same with the box kept fixed (track_every_s=0,
    `cmnet spot --track-every 0`), which still checks that the face is in view."""
    clip, (true,) = synthetic_long_video(0, 10 / 60, n_expressions=1, micro_fraction=1.0, blinks_per_minute=12)
    frames = np.stack([clip.frame(n) for n in clip.frame_numbers])
    frames[200:205] = 0
    template = frames[0][20:76, 20:76]

    def track(frame):
        score = cv2.matchTemplate(frame, template, cv2.TM_CCOEFF_NORMED).max()
        return clip.landmarks_hint if score > 0.6 else None

    for every, box in ((5.0, None), (0.0, None), (0.0, (9, 14, 82, 82))):   # followed, fixed, given (--face-box)
        report: dict = {}
        found = spot(frames, fps=30, track=track, track_every_s=every, report=report, face_box=box)
        assert report["no_face"] == [(200, 204)], (every, box)
        assert any(interval_iou((c.onset, c.offset), (true.onset, true.offset)) >= 0.5 for c in found)
        assert not any(c.onset <= 206 and c.offset >= 198 for c in found)
