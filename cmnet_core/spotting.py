"""Spotting: candidate micro- and macro-expression intervals in a long video, for a coder to accept or reject.

Method (after the MEGC spotting baselines):

* **Feature difference against a sliding reference** (Li et al. 2018, "Towards reading hidden emotions: a
  comparative study of spontaneous micro-expression spotting and recognition methods", IEEE TAC; the MEGC 2019-2022
  baseline): frame t is compared with the head frame t − k and the tail frame t + k, k = half the interval length
  L of interest. Here the comparison is dense optical flow instead of LBP histograms, as in the optical-flow
  spotters (He et al. 2020, "Spotting macro- and micro-expression intervals in long video sequences", MDMD, FG 2020):
  r(t) = residual flow from t − k to t per face region (`cmnet_core.motion`), with the head's
  motion (a RANSAC similarity fit) removed, and the per-frame signal is r(t) + r(t + k) (= the flow from the
  head frame and towards the tail frame), which peaks at the apex of an expression of length ~2k.
* Each grey face image is normalised to a fixed mean and standard deviation first (`motion.normalise_grey`), so
  lighting flicker and auto exposure do not read as motion.
* Two scales (``windows_s``, default 0.3 s for micro- and 3 s for macro-expressions); the eye regions never count;
  the signal is the mean of the two strongest remaining regions, smoothed with a Gaussian.
* **Adaptive threshold** T = mean + p·(max − mean) over windows of ``threshold_window_s`` (Li et al. 2018);
  peaks above T at least k apart (`scipy.signal.find_peaks`); each peak's interval runs to where the signal falls
  below ``baseline + bounds_fraction·(peak − baseline)`` (baseline = the window's median).
* Candidates of the larger scale are kept first; a smaller-scale candidate overlapping a kept one by more than half
  of the shorter is dropped, and the smaller scale's threshold is computed without the frames of the kept ones
  (a macro-expression would otherwise lift the threshold of its whole minute above every micro-expression).
  A larger scale proposes only intervals longer than `MICRO_MAX_S`: its short peaks are micro-expressions seen
  from k frames away (r(t + k) puts an echo k frames before each), which the smallest scale bounds better.
  Kind: ``"micro"`` when onset..offset lasts ≤ 0.5 s, else ``"macro"``.
* Blinks: where the eyes move both and alone (`cmnet_core.motion.blink_frames`), the rows r_k(t) whose frame t or
  t − k lies in a blink are interpolated from their neighbours (optical flow spreads a blink over the whole face).
* Each region's motion is the length of its *mean* flow vector (sensor noise averages out, an action unit's
  coherent motion adds up).

Cost: one DIS flow per frame and scale at ``size`` px (128 by default, ~1 ms each) plus decoding: on this
project's 2-core machine a 30-fps video is scanned about 5 times faster than real time, decoding a 640x480 MP4
included (`scripts/bench_spotting.py`). On the synthetic long videos of that benchmark the flow signal finds
expressions far better than chance but not reliably better than the same pipeline on frame differences (README,
"Spotting in long videos"). Qt-free.
"""
from __future__ import annotations

import csv
import io
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import find_peaks

from . import motion
from .data.annotation_io import atomic_write_text
from .data.clip import Annotation, Clip

FACE_LOST_SIMILARITY = 0.5
"""A frame whose face crop correlates less than this with the face of the last successful look-up (normalised
cross-correlation of the normalised grey crops) is taken as a frame without the face (a cut, a title card)."""
MICRO_MAX_S = 0.5
"""A candidate lasting at most this long (onset to offset, seconds) is ``"micro"``, else ``"macro"``."""
CSV_COLUMNS = ("onset", "apex", "offset", "onset_s", "apex_s", "offset_s", "duration_s", "kind", "peak_region",
               "score", "time_source")
"""Columns of `candidates_csv` (``time_source``: where the times come from, ``pts`` = the video's timestamps,
``nominal`` = frame number / a known rate, ``assumed`` = a frame folder at an assumed 30 fps; files written
before it was added lack it, and `read_candidates_csv` reads them too)."""
CANDIDATE_TIER = "candidates"
"""The ELAN tier `write_candidates_eaf` writes."""
ACCEPTED_NOTE = "candidate from spotting, accepted by the user"
"""The notes of an `Annotation` made from an accepted candidate."""


class SpottingInputError(ValueError):
    """`spot` was given what it cannot spot (a still image, a bad option, a face box outside the frame); the
    message says what to give instead."""


class SpottingCancelled(Exception):
    """`spot` stopped because its ``cancelled`` callback returned True."""


@dataclass(frozen=True)
class Candidate:
    """One spotted interval. ``onset``, ``apex``, ``offset``: frame numbers of the source (inclusive);
    ``duration_s``: seconds from the onset's start to the offset's end; ``kind``: ``"micro"`` (≤ 0.5 s) or
    ``"macro"``; ``peak_region``: the `cmnet_core.motion.REGIONS` name that moved most at the apex; ``score``:
    0..1, how far the peak rose above the window's mean relative to its maximum ((peak − mean)/(max − mean))."""

    onset: int
    apex: int
    offset: int
    duration_s: float
    kind: str
    peak_region: str
    score: float

    def to_annotation(self, emotion: str | None = None) -> Annotation:
        """The `Annotation` a coder gets by accepting this candidate: onset/apex/offset, ``apex_source="spotted"``
        and the note `ACCEPTED_NOTE`."""
        return Annotation(onset=int(self.onset), apex=int(self.apex), offset=int(self.offset), emotion=emotion,
                          notes=ACCEPTED_NOTE, apex_source="spotted")


@dataclass
class _Frames:
    """Frame numbers, times and a reader over a Clip or an in-memory array."""

    numbers: list[int]
    times_s: np.ndarray
    read: Callable[[int], np.ndarray]  # by index
    fps: float
    landmarks: np.ndarray | None


def _frames_of(source, fps: float | None) -> _Frames:
    if isinstance(source, Clip):
        nums = [int(n) for n in source.frame_numbers]
        return _Frames(nums, source.times_s, lambda i: source.frame(nums[i]), float(fps or source.fps),
                       source.landmarks_hint)
    if fps is None or fps <= 0:
        raise SpottingInputError("spot on an array of frames needs its frame rate: pass fps=")
    if len(source) == 0:
        raise SpottingInputError("spot needs at least one frame")
    n = len(source)
    return _Frames(list(range(n)), np.arange(n) / float(fps), lambda i: np.asarray(source[i]), float(fps), None)


def face_box_from_landmarks(landmarks: np.ndarray, width: int, height: int, scale: float = 3.2
                            ) -> tuple[int, int, int, int]:
    """A square face box ``(x, y, w, h)`` in pixels around 5 landmarks (5, 2) (MTCNN order): centred on their
    mean, side ``scale`` x the larger of the eye distance and the eye-to-mouth distance, clipped to the frame."""
    lm = np.asarray(landmarks, dtype=np.float64)
    eye_d = float(np.hypot(*(lm[1] - lm[0])))
    vert = float(abs((lm[3, 1] + lm[4, 1]) / 2 - (lm[0, 1] + lm[1, 1]) / 2))
    side = min(max(scale * max(eye_d, vert), 8.0), float(min(width, height)))
    cx, cy = lm.mean(axis=0)
    x = int(round(min(max(cx - side / 2, 0), width - side)))
    y = int(round(min(max(cy - side / 2, 0), height - side)))
    return x, y, int(round(side)), int(round(side))


def _signal_from_regions(r: np.ndarray, k: int, blink_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-region r(t) + r(t + k), then the mean of the two strongest usable regions (eyes never, brows not
    during blinks). Returns (signal (T,), combined per region (T, R))."""
    tail = np.concatenate([r[k:], np.repeat(r[-1:], k, axis=0)]) if k < len(r) else np.repeat(r[-1:], len(r), 0)
    c = r + tail
    names = list(motion.REGIONS)
    use = np.ones((len(r), len(names)), bool)
    for nm in ("left_eye", "right_eye"):
        use[:, names.index(nm)] = False
    for nm in ("left_brow", "right_brow", "nose"):  # optical flow spreads a blink to the brows and the nose
        use[blink_mask, names.index(nm)] = False
    masked = np.where(use, c, -np.inf)
    top2 = -np.sort(-masked, axis=1)[:, :2]
    return top2.mean(axis=1), c


def _signals(r: dict, ks: list[int], boxes: dict, fps: float, smooth_s: float) -> dict:
    """{k: (smoothed signal (T,), combined per region (T, R))}; blinks found on the smallest scale."""
    n = len(next(iter(r.values())))
    kmin = ks[-1]
    curves = {name: r[kmin][:, j] for j, name in enumerate(boxes)}
    blink = np.zeros(n, bool)
    for a, b in motion.blink_frames(curves, fps):
        blink[max(0, a - kmin - 1):b + 2] = True  # the frames whose eyelids differ from k frames before
    sigma = max(smooth_s * fps, 0.5)
    out = {}
    idx = np.arange(n)
    for k in ks:
        # r_k(t) compares frames t - k and t: useless when either is inside a blink (optical flow spreads a
        # blink over the whole face at these sizes); such rows are interpolated from their neighbours
        bad = blink.copy()
        bad[k:] |= blink[:-k] if k < n else False
        rk = r[k].copy()
        if bad.any() and not bad.all():
            for j in range(rk.shape[1]):
                rk[bad, j] = np.interp(idx[bad], idx[~bad], rk[~bad, j])
        s, comb = _signal_from_regions(rk, k, np.zeros(n, bool))
        out[k] = (gaussian_filter1d(s, sigma), comb)
    return out


def _peaks_to_intervals(s: np.ndarray, k: int, fps: float, p: float, threshold_window: int,
                        bounds_fraction: float, excluded: np.ndarray | None = None
                        ) -> list[tuple[int, int, int, float]]:
    """(onset_i, apex_i, offset_i, score) per peak of ``s`` above the adaptive threshold. The threshold's
    statistics (mean, max, median) leave out the frames where ``excluded`` (bool (T,)) is True: the intervals a
    larger scale already found, whose strong motion would otherwise raise the threshold over every weaker one."""
    n = len(s)
    thr = np.empty(n)
    mean_w = np.empty(n)
    max_w = np.empty(n)
    base = np.empty(n)
    for a in range(0, n, threshold_window):
        b = min(n, a + threshold_window)
        if b - a < threshold_window // 2 and a > 0:  # a short tail joins the previous window
            a = max(0, b - threshold_window)
        seg = s[a:b]
        if excluded is not None and (~excluded[a:b]).sum() >= max(8, (b - a) // 4):
            seg = seg[~excluded[a:b]]
        m, mx = float(seg.mean()), float(seg.max())
        thr[a:b], mean_w[a:b], max_w[a:b], base[a:b] = m + p * (mx - m), m, mx, float(np.median(seg))
    peaks, _ = find_peaks(s, height=thr, distance=max(1, k))
    out = []
    for pk in peaks:
        level = base[pk] + bounds_fraction * (s[pk] - base[pk])
        lo = pk
        while lo > 0 and s[lo - 1] >= level:
            lo -= 1
        hi = pk
        while hi < n - 1 and s[hi + 1] >= level:
            hi += 1
        score = float(np.clip((s[pk] - mean_w[pk]) / max(max_w[pk] - mean_w[pk], 1e-9), 0, 1))
        out.append((lo, int(pk), hi, score))
    return out


class _FacePlace:
    """Where the face is cropped from (in the frames shrunk by ``scale``) and its regions (pixels of the ``size``
    crop)."""

    def __init__(self, box, landmarks, scale, size, width, height):
        bx, by, bw, bh = (float(v) for v in box)
        if bw < 8 or bh < 8 or bx < 0 or by < 0 or bx + bw > width or by + bh > height:
            raise ValueError(f"face box {tuple(int(v) for v in box)} does not fit the {width}x{height} frames")
        self.box = (bx, by, bw, bh)
        sx, sy = scale
        self.crop = (int(round(bx * sx)), int(round(by * sy)), max(1, int(round(bw * sx))), max(1, int(round(bh * sy))))
        lm = None if landmarks is None else motion.box_landmarks(landmarks, self.box, size)
        self.boxes = motion.region_boxes(lm, size)
        self.mask = motion.face_mask(self.boxes, size)

    def moved(self, other: "_FacePlace", tolerance: float = 0.08, zoom: float = 0.25) -> bool:
        """True when ``other``'s centre lies more than ``tolerance`` of the box side away, or its side differs by
        more than ``zoom`` (the box's size follows the landmarks, which an expression moves: a smile changed it by
        14 %; only a real change of distance to the camera should count)."""
        (x, y, w, h), (x2, y2, w2, h2) = self.box, other.box
        side = max(w, h)
        return (abs((x + w / 2) - (x2 + w2 / 2)) > tolerance * side or abs((y + h / 2) - (y2 + h2 / 2)) >
                tolerance * side or abs(max(w2, h2) - side) > zoom * side)

    def contains(self, x: float, y: float) -> bool:
        """True when the point (x, y) (frame pixels) lies inside the box."""
        bx, by, bw, bh = self.box
        return bx <= x <= bx + bw and by <= y <= by + bh

    def grey(self, small: np.ndarray, size: int) -> np.ndarray:
        """The face of one shrunk grey frame as (size, size) uint8, normalised (`motion.normalise_grey`)."""
        x, y, w, h = self.crop
        face = small[y:y + h, x:x + w]
        if face.shape != (size, size):
            face = cv2.resize(face, (size, size), interpolation=cv2.INTER_LINEAR)
        return motion.normalise_grey(np.ascontiguousarray(face))   # lighting flicker / auto exposure is not motion


def _face_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Normalised cross-correlation (-1..1) of two equal-size grey face crops."""
    return float(cv2.matchTemplate(a, b, cv2.TM_CCOEFF_NORMED)[0, 0])


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Index runs ``(first, last)`` (inclusive) where ``mask`` (bool (T,)) is True."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2])]


def _scan(source, fps, progress, cancelled, windows_s, size, landmarks, face_box, method, track=None,
          track_every_s=5.0):
    """Read every frame once; per scale k the per-region motion from frame t − k to t: {k: float64 (T, R)}.
    Frames are shrunk once so that the face box is ``size`` px and kept (grey) for k frames; both frames of a pair
    are cropped with the current face box, so a box that follows the face (``track``) adds no motion of its own.

    With ``track``, frames without a face (with a fixed box: without the face in the box) are marked (``lost``,
    bool (T,)): from a look-up that found none until one that finds it. Besides the regular look-ups
    (``track_every_s``), a frame whose face crop no longer resembles the face of the last look-up (normalised
    cross-correlation below `FACE_LOST_SIMILARITY`: a cut, a title card, a large turn) is looked at at once; while
    the face is out of view, every second and at once (at most every 0.1 s) when the box shows it again. The rows
    of r whose pair touches a lost frame are bridged from their neighbours (`_candidates` then proposes nothing
    there and leaves them out of the threshold). Without ``track`` nothing is marked. Returns (frames, r, ks
    (descending), region boxes of the first place, face boxes used [(frame, box)], lost)."""
    fr = _frames_of(source, fps)
    n = len(fr.numbers)
    first = fr.read(0)
    h, w = first.shape[:2]
    lm = fr.landmarks if landmarks is None else np.asarray(landmarks, dtype=np.float64)
    known = True   # the face is in view (given, or found by `track`); False: no face found (yet / any more)
    if lm is None and face_box is None and track is not None:
        lm = track(first)
        known = lm is not None
    on_face = face_box is not None or lm is not None   # the box was placed on a face (not the whole frame)
    if face_box is None:
        face_box = face_box_from_landmarks(lm, w, h) if lm is not None else (0, 0, w, h)
    scale = (size / max(float(face_box[2]), 1.0), size / max(float(face_box[3]), 1.0))
    place = _FacePlace(face_box, lm, scale, size, w, h)
    places = [(fr.numbers[0], tuple(int(round(v)) for v in place.box))]
    first_boxes = place.boxes
    follow = track is not None and track_every_s > 0   # the box follows the face (else it stays where it is)
    every = max(1, int(round(track_every_s * fr.fps))) if follow else 0
    every_lost = max(1, int(round(fr.fps)))        # while no face is in view: look every second ...
    retry = max(1, int(round(fr.fps / 10)))        # ... and at once (at most every 0.1 s) when the box shows it again
    ks = sorted({max(1, int(round(ws * fr.fps / 2))) for ws in windows_s}, reverse=True)
    kmax = ks[0]
    r = {k: np.zeros((n, len(place.boxes))) for k in ks}
    lost = np.zeros(n, bool)
    history: deque = deque(maxlen=kmax + 1)   # (index, shrunk grey frame)
    faces: dict[int, np.ndarray] = {}           # frame index -> its face crop with the current place
    template = None                             # the face crop at the last successful look-up (kept while lost)
    last_lookup = reset_at = 0
    dis = motion._dis()

    def look(i: int, frame: np.ndarray) -> None:
        """MTCNN (``track``) on frame i: is the face in view, and (``follow``) where is it now."""
        nonlocal known, template, place, faces, scale, reset_at, last_lookup, on_face
        last_lookup = i
        found = track(frame)
        if found is None:
            known = False
            return
        new_box = face_box_from_landmarks(found, w, h)
        if on_face and abs(new_box[2] - place.box[2]) <= 0.25 * place.box[2]:   # the same size, moved at most
            bw, bh = int(round(place.box[2])), int(round(place.box[3]))
            cx, cy = new_box[0] + new_box[2] / 2, new_box[1] + new_box[3] / 2
            new_box = (int(round(min(max(cx - bw / 2, 0), w - bw))), int(round(min(max(cy - bh / 2, 0), h - bh))),
                       bw, bh)
        if not on_face:   # the first face after frames without one: its own scale, a fresh history
            scale = (size / max(float(new_box[2]), 1.0), size / max(float(new_box[3]), 1.0))
            history.clear()
            reset_at = i
        new = _FacePlace(new_box, found, scale, size, w, h)
        if on_face and not follow and not place.contains(*np.asarray(found, dtype=np.float64).mean(axis=0)):
            known = False   # a fixed box: the face is elsewhere, not in it
            return
        if not on_face or (follow and place.moved(new)):
            place, faces, on_face = new, {}, True
            places.append((fr.numbers[i], tuple(int(round(v)) for v in place.box)))
        known, template = True, None

    def grey_of(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        small = cv2.resize(motion.to_grey(frame), None, fx=scale[0], fy=scale[1], interpolation=cv2.INTER_AREA)
        return small, place.grey(small, size)

    for i in range(n):
        frame = first if i == 0 else fr.read(i)
        if track is not None and i > 0 and i - last_lookup >= (every if known else every_lost) and (every or
                                                                                                      not known):
            look(i, frame)
        small, g = grey_of(frame)
        if track is not None and i > 0 and template is not None:
            similar = _face_similarity(g, template) >= FACE_LOST_SIMILARITY
            # in view but the box no longer shows the face it showed (a cut, a turn, the person gone), or out of
            # view and the box shows it again (a short dropout): ask MTCNN now
            if (known and not similar) or (not known and similar and i - last_lookup >= retry):
                look(i, frame)
                small, g = grey_of(frame)
        history.append((i, small))
        faces = {j: c for j, c in faces.items() if j >= i - kmax}
        faces[i] = g
        if template is None and known:
            template = g
        lost[i] = not known
        for k in ks:
            if i == 0 or lost[i]:
                continue
            j, ref_small = history[max(0, len(history) - 1 - k)]
            if j > i - k and reset_at > 0:   # the frame k before is from before the face came back: none
                continue
            ref = faces.get(j)
            if ref is None:
                ref = faces[j] = place.grey(ref_small, size)
            if method == "flow":
                f = motion.remove_head_motion(dis.calc(ref, g, None), place.mask, "similarity")
                # the length of each region's mean flow vector: noise (random directions) averages out, an
                # action unit (a coherent motion within the box) adds up
                r[k][i] = np.hypot(motion.region_means(f[..., 0], place.boxes),
                                   motion.region_means(f[..., 1], place.boxes))
            else:
                r[k][i] = motion.region_means(np.abs(g.astype(np.float32) - ref.astype(np.float32)), place.boxes)
        if (i + 1) % 64 == 0 or i == n - 1:
            if cancelled is not None and cancelled():
                raise SpottingCancelled(f"spotting cancelled at frame {fr.numbers[i]} of {n}")
            if progress is not None:
                progress(i + 1, n)
    idx = np.arange(n)
    for k in ks:   # a pair with a frame without the face reads no motion: bridged from its neighbours (zeros
        bad = lost.copy()   # would cut dips into the signal, and the peaks around a dip look like expressions)
        bad[k:] |= lost[:-k] if k < n else False
        if bad.all():
            r[k][:] = 0.0
        elif bad.any():
            for j in range(r[k].shape[1]):
                r[k][bad, j] = np.interp(idx[bad], idx[~bad], r[k][~bad, j])
    return fr, r, ks, first_boxes, places, lost


def spot(source: Clip | np.ndarray | Sequence[np.ndarray], fps: float | None = None,
         progress: Callable[[int, int], None] | None = None, cancelled: Callable[[], bool] | None = None, *,
         windows_s: Sequence[float] = (0.3, 3.0), size: int = 128, p: float = 0.3, threshold_window_s: float = 60.0,
         smooth_s: float = 0.05, bounds_fraction: float = 0.35, landmarks: np.ndarray | None = None,
         face_box: tuple[int, int, int, int] | None = None, method: str = "flow", min_duration_s: float = 0.1,
         track: Callable[[np.ndarray], np.ndarray | None] | None = None, track_every_s: float = 5.0,
         report: dict | None = None) -> list[Candidate]:
    """Candidate expression intervals in ``source`` (method in the module docstring).

    Parameters
    ----------
    source : a `Clip` (frames read in order with ``clip.frame``; e.g. `cmnet_core.data.readers.open_clip`) or
        frames (T, H, W, 3) uint8 RGB with ``fps`` (frame numbers are then the indices 0..T-1).
    fps : frames per second (default: the clip's).
    progress : called as ``progress(frames_done, frames_total)`` every 64 frames and at the end.
    cancelled : polled every 64 frames; when it returns True `SpottingCancelled` is raised.
    windows_s : interval lengths L (seconds) looked for; k = round(L·fps/2) frames per scale.
    size : side of the face image the flow is computed on (pixels).
    p : threshold T = mean + p·(max − mean) per ``threshold_window_s`` seconds of signal (Li et al. 2018).
    smooth_s : Gaussian smoothing of the signal, sigma in seconds.
    bounds_fraction : an interval spans the frames whose signal is above baseline + this x (peak − baseline).
    landmarks : (5, 2) pixels of the first frame (MTCNN order; default ``clip.landmarks_hint``): place the face box
        and the regions. face_box : ``(x, y, w, h)`` pixels of the face in every frame (default: from the
        landmarks, else the whole frame, taken as an aligned face crop).
    method : ``"flow"`` (residual optical flow) or ``"framediff"`` (mean absolute grey difference between the same
        frames, no head-motion removal: the baseline `scripts/bench_spotting.py` compares with).
    min_duration_s : shorter candidates are dropped.
    track : a face locator ``track(frame (H, W, 3) uint8 RGB) -> (5, 2) landmarks in pixels or None`` (e.g. MTCNN
        through `cmnet_core.preprocess.face.locate_landmarks`). It places the face on the first frame when neither
        ``landmarks`` nor ``face_box`` is given. With ``track_every_s`` > 0 it looks every ``track_every_s``
        seconds, and when the face has moved by more than 8 % of its box the box and the regions follow it (both
        frames of every pair are cropped with the same box, so following the face adds no motion); with 0 the box
        stays put. Either way it checks that the face is in view: at once when the box's crop stops resembling
        the face it found last (normalised correlation below `FACE_LOST_SIMILARITY`: a cut, a title card, a
        turn), every second while there is none, and at once when the box shows it again (a short dropout costs
        its own frames). Frames without the face (or, with a fixed box, with the face outside it) read no motion
        and hold no candidate. None: no checks, the first frame's box for the whole video.
    report : when a dict is given, it receives ``"no_face"`` [(first, last)] frame-number runs without the face,
        ``"no_face_s"`` (seconds) and ``"face_boxes"`` [(frame number, (x, y, w, h))] where the box was placed.

    Returns the candidates in time order. Raises `SpottingInputError` (a ``ValueError``) for an array without
    ``fps``, fewer than
    `MIN_SPOT_FRAMES` frames (a still image has no motion), ``p`` outside (0, 1), a negative ``track_every_s``, a
    face box outside the frame or another bad option, `ClipError` for a frame folder whose frames are not one
    size (naming the odd file), `SpottingCancelled` when cancelled, and what the clip's reader raises
    (`ClipError`) for an unreadable frame.
    """
    if method not in ("flow", "framediff"):
        raise ValueError(f"method={method!r}: choose 'flow' or 'framediff'")
    if not windows_s or min(windows_s) <= 0:
        raise ValueError(f"windows_s {windows_s!r} must be positive lengths in seconds")
    _check_spot_input(source, p, track_every_s, face_box)
    fr, r, ks, boxes, places, lost = _scan(source, fps, progress, cancelled, windows_s, size, landmarks, face_box,
                                           method, track, track_every_s)
    if report is not None:
        report["face_boxes"] = places
        report["no_face"] = [(fr.numbers[a], fr.numbers[b]) for a, b in _runs(lost)]
        report["no_face_s"] = round(sum(float(fr.times_s[b] - fr.times_s[a]) + 1.0 / fr.fps for a, b in _runs(lost)), 3)
    return _candidates(fr, r, ks, boxes, p, threshold_window_s, smooth_s, bounds_fraction, min_duration_s, lost)


#: Fewer frames than this have no motion to spot (`spot` refuses them).
MIN_SPOT_FRAMES = 3


def _check_spot_input(source, p: float, track_every_s: float, face_box) -> None:
    """`spot`'s checks before reading any frame: at least `MIN_SPOT_FRAMES` frames, a frame folder's frames of
    one size (`cmnet_core.data.readers.check_one_size`), 0 < p < 1, track_every_s >= 0, and a face box inside
    the frame. Raises `SpottingInputError` (a ``ValueError``; `ClipError` for the folder) saying what to give
    instead."""
    name = f"{source.path}: " if isinstance(source, Clip) else ""
    n = len(source.frame_numbers) if isinstance(source, Clip) else len(source)
    if n < MIN_SPOT_FRAMES:
        raise SpottingInputError(f"{name}{n} frame{'s' if n != 1 else ''}: a still image has no motion to spot; "
                                 f"give a video or a folder of at least {MIN_SPOT_FRAMES} frames")
    if not (isinstance(p, (int, float)) and 0.0 < p < 1.0):
        raise SpottingInputError(f"threshold p {p!r} must be between 0 and 1 (exclusive), e.g. 0.3 (higher: "
                                 "fewer candidates)")
    if not (isinstance(track_every_s, (int, float)) and track_every_s >= 0 and np.isfinite(track_every_s)):
        raise SpottingInputError(f"track_every_s {track_every_s!r} must be a number of seconds >= 0 (0: keep the "
                                 "first frame's face box), e.g. 5")
    if isinstance(source, Clip):
        from .data.readers import check_one_size

        check_one_size(source)
    if face_box is not None:
        width, height = source.size if isinstance(source, Clip) else np.asarray(source[0]).shape[1::-1]
        x, y, w, h = (int(v) for v in face_box)
        if w < 8 or h < 8 or x < 0 or y < 0 or x + w > width or y + h > height:
            raise SpottingInputError(f"face box {x},{y},{w},{h} (X,Y,W,H) does not fit the {width}x{height} frames: "
                                     f"it needs X >= 0, Y >= 0, X + W <= {width}, Y + H <= {height} and W, H >= 8 "
                                     f"px (the whole frame is 0,0,{width},{height})")


def _candidates(fr: "_Frames", r: dict, ks: list[int], boxes: dict, p: float, threshold_window_s: float,
                smooth_s: float, bounds_fraction: float, min_duration_s: float,
                lost: np.ndarray | None = None) -> list[Candidate]:
    """Candidates from the per-region motion ``r`` {k: (T, R)} of `_scan` (see `spot`); none that touches a frame
    of ``lost`` (bool (T,): no face)."""
    n = len(fr.numbers)
    signals = _signals(r, ks, boxes, fr.fps, smooth_s)
    window = max(int(round(threshold_window_s * fr.fps)), 8)
    kept: list[Candidate] = []
    spans: list[tuple[int, int]] = []
    for k in ks:
        s, comb = signals[k]
        excluded = np.zeros(n, bool) if lost is None else lost.copy()   # frames without a face: not in the statistics
        for a, b in spans:
            excluded[a:b + 1] = True
        for lo, pk, hi, score in _peaks_to_intervals(s, k, fr.fps, p, window, bounds_fraction,
                                                     excluded):
            if any(min(hi, b) - max(lo, a) + 1 > 0.5 * min(hi - lo + 1, b - a + 1) for a, b in spans):
                continue
            if lost is not None and lost[lo:hi + 1].any():
                continue
            t_on = float(fr.times_s[lo])
            t_end = float(fr.times_s[hi + 1]) if hi + 1 < n else float(fr.times_s[hi]) + 1.0 / fr.fps
            dur = t_end - t_on
            if dur < min_duration_s or (k != ks[-1] and dur <= MICRO_MAX_S + 1e-9):   # a larger scale's
                continue                                                                  # are long
            region = list(boxes)[int(np.argmax(np.where(np.isin(np.arange(len(boxes)), [2, 3]), -1, comb[pk])))]
            spans.append((lo, hi))
            kept.append(Candidate(fr.numbers[lo], fr.numbers[pk], fr.numbers[hi], round(dur, 4),
                                  "micro" if dur <= MICRO_MAX_S + 1e-9 else "macro", region, round(score, 4)))
    return sorted(kept, key=lambda c: c.onset)


def spot_signals(source: Clip | np.ndarray | Sequence[np.ndarray], fps: float | None = None,
                 progress: Callable[[int, int], None] | None = None, cancelled: Callable[[], bool] | None = None, *,
                 windows_s: Sequence[float] = (0.3, 3.0), size: int = 128, smooth_s: float = 0.05,
                 landmarks: np.ndarray | None = None, face_box: tuple[int, int, int, int] | None = None,
                 method: str = "flow", track: Callable[[np.ndarray], np.ndarray | None] | None = None,
                 track_every_s: float = 5.0) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """The motion signals `spot` thresholds, for a plot under the video: ``(frame_numbers int64 (T,),
    {k: float64 (T,)})`` with k the reference distance in frames of each scale (``round(L·fps/2)`` for each
    ``windows_s`` L), values in pixels of the ``size`` face image (the mean of the two most moving regions, head
    motion and blinks removed, smoothed). Arguments and errors as `spot`."""
    fr, r, ks, boxes, _places, _lost = _scan(source, fps, progress, cancelled, windows_s, size, landmarks, face_box,
                                             method, track, track_every_s)
    signals = _signals(r, ks, boxes, fr.fps, smooth_s)
    return np.asarray(fr.numbers, dtype=np.int64), {k: v[0] for k, v in signals.items()}


def candidates_to_annotations(candidates: Sequence[Candidate]) -> list[Annotation]:
    """The `Annotation` of each candidate (`Candidate.to_annotation`: what accepting them all gives)."""
    return [c.to_annotation() for c in candidates]


def _time(clip: Clip | None, number: int, fps: float | None) -> float:
    if clip is not None:
        return clip.time_of(number)
    return number / float(fps) if fps else float("nan")


def candidates_csv(candidates: Sequence[Candidate], path: str | Path, clip: Clip | None = None,
                   fps: float | None = None) -> Path:
    """Write ``candidates`` as CSV (`CSV_COLUMNS`) to ``path`` atomically; times in seconds from ``clip.time_of``
    (the video's timestamps), else frame / ``fps``, else empty; the ``time_source`` column says which
    (``clip.time_source``: ``pts``, ``nominal`` or ``assumed``; ``nominal`` with ``fps``; empty without times).
    Returns the path. Raises `OSError` when it cannot be written (an existing file is left as it was)."""
    buf = io.StringIO(newline="")
    wr = csv.writer(buf, lineterminator="\n")
    wr.writerow(CSV_COLUMNS)
    source = clip.time_source if clip is not None else ("nominal" if fps else "")
    for c in candidates:
        times = [_time(clip, n, fps) for n in (c.onset, c.apex, c.offset)]
        cells = ["" if np.isnan(t) else f"{t:.4f}" for t in times]
        wr.writerow([c.onset, c.apex, c.offset, *cells, f"{c.duration_s:.4f}", c.kind, c.peak_region,
                     f"{c.score:.4f}", source])
    atomic_write_text(path, buf.getvalue())
    return Path(path)


def read_candidates_csv(path: str | Path) -> list[Candidate]:
    """Read a `candidates_csv` file back. Raises ``ValueError`` naming the file and row for a missing column or a
    cell that is not a number, `OSError` when it cannot be read."""
    out = []
    with open(path, newline="", encoding="utf-8") as fh:
        rows = csv.DictReader(fh)
        missing = [c for c in ("onset", "apex", "offset", "duration_s", "kind") if c not in (rows.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; write it with candidates_csv")
        for i, row in enumerate(rows, start=2):
            try:
                out.append(Candidate(int(row["onset"]), int(row["apex"]), int(row["offset"]),
                                     float(row["duration_s"]), row["kind"], row.get("peak_region", ""),
                                     float(row.get("score") or 0.0)))
            except ValueError as exc:
                raise ValueError(f"{path} row {i}: {exc}; frame numbers must be integers") from None
    return out


def write_candidates_eaf(path: str | Path, candidates: Sequence[Candidate], clip: Clip,
                         media: str | Path | None = None) -> Path:
    """Write ``candidates`` as an ELAN file: one tier `CANDIDATE_TIER` with an annotation per candidate from its
    onset's start to its offset's end (ms, `Clip.time_of`), value ``"<kind> <score>"`` (e.g. ``"micro 0.83"``),
    plus the apex points on the ``apex`` tier (value ``"spotted"``); the media is linked as
    `cmnet_core.data.elan.write_eaf` does. Atomic; returns the path; raises `OSError` when it cannot be written."""
    import pympi
    from xml.etree import ElementTree

    from .data import elan

    eaf = pympi.Elan.Eaf(author="CMNet Studio")
    eaf.add_linguistic_type(elan.LINGUISTIC_TYPE)
    for tier in (CANDIDATE_TIER, elan.TIERS["apex"]):
        eaf.add_tier(tier, ling=elan.LINGUISTIC_TYPE)
    if "default" in eaf.get_tier_names():
        eaf.remove_tier("default")
    media_path = Path(media) if media is not None else (clip.path if clip.path.is_file() else None)
    if media_path is not None:
        eaf.add_linked_file(media_path.absolute().as_uri(), relpath=media_path.name,
                            mimetype=elan._media_mimetype(media_path))
    for c in candidates:
        begin, end = int(round(clip.time_of(c.onset) * 1000)), elan.frame_end_ms(clip, c.offset)
        eaf.add_annotation(CANDIDATE_TIER, begin, end, f"{c.kind} {c.score:.2f}")
        eaf.add_annotation(elan.TIERS["apex"], int(round(clip.time_of(c.apex) * 1000)), elan.frame_end_ms(clip, c.apex),
                           "spotted")
    text = ElementTree.tostring(pympi.Elan.to_adocument(eaf, True), encoding="unicode")
    atomic_write_text(path, '<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n")
    return Path(path)


def interval_iou(a: tuple[int, int], b: tuple[int, int]) -> float:
    """Intersection over union of two inclusive frame intervals ``(onset, offset)`` (MEGC: a hit is IoU ≥ 0.5)."""
    inter = min(a[1], b[1]) - max(a[0], b[0]) + 1
    if inter <= 0:
        return 0.0
    return inter / float((a[1] - a[0] + 1) + (b[1] - b[0] + 1) - inter)


def spotting_f1(found: Sequence[tuple[int, int]], truth: Sequence[tuple[int, int]], iou: float = 0.5
                ) -> dict[str, float]:
    """MEGC spotting metric: a found interval is a true positive when its IoU with a not yet matched true interval
    is ≥ ``iou`` (greedy, best IoU first). Returns {"tp", "n_found", "n_truth", "precision", "recall", "f1"}."""
    pairs = sorted(((interval_iou(f, t), i, j) for i, f in enumerate(found) for j, t in enumerate(truth)),
                   reverse=True)
    used_f, used_t, tp = set(), set(), 0
    for v, i, j in pairs:
        if v < iou:
            break
        if i in used_f or j in used_t:
            continue
        used_f.add(i)
        used_t.add(j)
        tp += 1
    prec = tp / len(found) if found else 0.0
    rec = tp / len(truth) if truth else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"tp": tp, "n_found": len(found), "n_truth": len(truth), "precision": round(prec, 4),
            "recall": round(rec, 4), "f1": round(f1, 4)}


__all__ = ["ACCEPTED_NOTE", "CANDIDATE_TIER", "CSV_COLUMNS", "Candidate", "MICRO_MAX_S", "SpottingCancelled",
           "SpottingInputError", "candidates_csv", "candidates_to_annotations", "face_box_from_landmarks",
           "interval_iou",
           "read_candidates_csv", "spot", "spot_signals", "spotting_f1", "write_candidates_eaf"]
