"""Apex: the annotated frame, apex spotting (peak motion relative to onset) or the span's midpoint.

`spot_apex` (method `SPOTTER`) is the spotter the pipeline uses. On the aligned crops (one transform per
clip) it measures dense optical flow from the onset frame to every frame (Farnebäck, OpenCV; the
DESIGN.md §7 comparison on CASME II found it better than DIS), in the ME-spotting tradition of
motion relative to a neutral reference (Moilanen, Zhao & Pietikäinen 2014, ICPR; Wang et al. 2017, MDMD,
Neurocomputing):

1. grey, area-downsampled to `FLOW_SIZE` px (`flow_image`), high-passed (a Gaussian of side/8 subtracted) and
   contrast-normalised, so that lighting gain and gradients cancel;
2. Farnebäck flow onset → frame; global head motion removed by a least-squares affine flow model
   fitted on the inner face (two rounds, the 20 % worst-fitting pixels dropped, so the local
   expression motion does not pull the fit);
3. per frame, the mean residual flow magnitude over the inner face without the eyes, weighted by the
   onset's gradient magnitude (flow is only measured where there is texture);
4. blinks discounted: frames where the eye-region motion is an outlier (median + 3 robust SD) are
   bridged by linear interpolation of their neighbours;
5. Gaussian temporal smoothing (σ = 4 % of the clip length, at least 0.7 frames; frames before the onset
   are smoothed apart); the apex is the largest value after the onset.

Confidence (0..1) is the two-sided prominence of the peak: (peak − the higher of the lowest values
before and after it) / peak. A clean rise and fall gives ≈ 0.6-0.9; a curve that only drifts upwards
(no return) or a flat noisy one gives ≈ 0-0.3.

The previous spotter (grey-level difference from the onset after a phase-correlation shift,
`spotting_image` + `motion_score`, method ``"difference-v0"``) is kept for comparison in
``scripts/bench_apex.py``: on synthetic clips it was no better than the midpoint (issue 13).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d

from .align import CENTRE_T, FACE_BOX
from .errors import PreprocessError

APEX_MODES = ("annotated", "spotting", "midpoint")
"""Values of ``PreprocessSettings.apex_mode``; ``"annotated"`` falls back to spotting."""

SPOT_SIZE = 112
"""Side in pixels of the grey crops compared by the previous (difference) spotter."""

SPOTTER = "flow-farneback-v1"
"""Name of the apex spotter `spot_apex` (recorded with every spotted apex and keyed in the cache)."""

FLOW_SIZE = 96
"""Side in pixels at which `spot_apex` measures optical flow."""

# Regions in face units u (align.py: the crop spans FACE_BOX + 2 * margin units, centred CENTRE_T of the way
# from the eyes to the mouth). Eyes at (±0.5 u, −0.4 u) from the crop centre when eye distance = eye-mouth.
_INNER_FACE = (1.0, 1.3, 0.07)   # half-width, half-height, centre offset downwards (u): cheeks, brows, mouth
_EYE = (0.5, 0.4, 0.22)          # eye centre |dx| (CENTRE_T above the centre); ellipse half-axes (u)
_FARNEBACK = dict(pyr_scale=0.5, levels=3, winsize=9, iterations=3, poly_n=5, poly_sigma=1.1, flags=0)

_BORDER = 4  # pixels ignored at each edge after registration (replicated border)


def spotting_image(crop: np.ndarray) -> np.ndarray:
    """The (SPOT_SIZE, SPOT_SIZE) float32 image apex spotting compares, from an RGB crop (H, W, 3):
    grey, blurred, divided by its mean (so lighting flicker cancels)."""
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (SPOT_SIZE, SPOT_SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)
    small = cv2.GaussianBlur(small, (5, 5), 1.0)
    return small / max(float(small.mean()), 1e-3)


@lru_cache(maxsize=2)
def _hann(size: int) -> np.ndarray:
    return cv2.createHanningWindow((size, size), cv2.CV_64F)


def motion_score(image: np.ndarray, onset_image: np.ndarray) -> float:
    """Mean absolute difference between two `spotting_image` results (relative grey level) after
    shifting ``image`` onto ``onset_image`` by the translation phase correlation finds."""
    (dx, dy), _ = cv2.phaseCorrelate(onset_image.astype(np.float64), image.astype(np.float64),
                                     window=_hann(image.shape[0]))
    shift = np.float32([[1, 0, -dx], [0, 1, -dy]])
    moved = cv2.warpAffine(image, shift, image.shape[::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    b = _BORDER
    return float(np.mean(np.abs(moved[b:-b, b:-b] - onset_image[b:-b, b:-b])))


@dataclass(frozen=True)
class ApexSpot:
    """What `spot_apex` found.

    index : int             0-based index of the apex among the T frames given.
    curve : np.ndarray      float64 (T,): smoothed motion from the onset, mean residual flow in pixels at
                            `FLOW_SIZE` px (0 at the onset), blinks bridged.
    confidence : float      0..1, two-sided prominence of the peak (module doc).
    method : str            the spotter's name (`SPOTTER`).
    blink_frames : tuple    indices bridged as blinks.
    """

    index: int
    curve: np.ndarray
    confidence: float
    method: str = SPOTTER
    blink_frames: tuple[int, ...] = ()


def flow_image(crop: np.ndarray, size: int = FLOW_SIZE) -> np.ndarray:
    """The uint8 (size, size) image `spot_apex` measures flow on, from a crop (H, W, 3) RGB or (H, W) grey:
    area-downsampled grey, high-passed (lighting gradients and gain cancel) and contrast-normalised."""
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
    small = cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    high = small - cv2.GaussianBlur(small, (0, 0), size / 8.0)
    high /= max(float(high.std()), 1e-3)
    return np.clip(128.0 + 32.0 * high, 0, 255).astype(np.uint8)


def spot_regions(size: int, margin: float = 0.6) -> tuple[np.ndarray, np.ndarray]:
    """Boolean (size, size) masks ``(inner face, eyes)`` of an aligned crop made with ``margin``
    (`align.alignment_matrix`); the measured region is inner face minus eyes."""
    unit = size / (FACE_BOX + 2.0 * margin)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    cx = cy = (size - 1) / 2.0
    hw, hh, dy = _INNER_FACE
    face = ((xx - cx) / (hw * unit)) ** 2 + ((yy - cy - dy * unit) / (hh * unit)) ** 2 <= 1.0
    ex, ax, ay = _EYE
    ey = CENTRE_T  # face units above the crop centre (eye-mouth distance = the face unit)
    eyes = np.zeros_like(face)
    for side in (-1, 1):
        eyes |= ((xx - cx - side * ex * unit) / (ax * unit)) ** 2 + ((yy - cy + ey * unit) / (ay * unit)) ** 2 <= 1.0
    return face, eyes & face


def _residual_flow(flow: np.ndarray, fit_mask: np.ndarray, rounds: int = 2, keep: float = 0.8) -> np.ndarray:
    """Flow minus the least-squares affine flow fitted on ``fit_mask`` (worst ``1 − keep`` refitted out)."""
    h, w = flow.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    design = np.stack([xx.ravel(), yy.ravel(), np.ones(h * w, np.float32)], axis=1)
    f = flow.reshape(-1, 2)
    sel = fit_mask.ravel().copy()
    res = f
    for _ in range(rounds):
        coef, *_ = np.linalg.lstsq(design[sel], f[sel], rcond=None)
        res = f - design @ coef
        err = np.hypot(res[:, 0], res[:, 1])
        sel &= err <= np.quantile(err[sel], keep)
    return res.reshape(h, w, 2)


def _outliers(values: np.ndarray, k: float = 3.0) -> np.ndarray:
    """Boolean mask of values above median + k robust standard deviations (1.4826 MAD)."""
    med = float(np.median(values))
    mad = 1.4826 * float(np.median(np.abs(values - med)))
    return values > med + k * mad + 1e-9


def spot_apex(crops: np.ndarray | Sequence[np.ndarray], onset_index: int = 0, *, margin: float = 0.6,
              size: int = FLOW_SIZE, prepared: bool = False) -> ApexSpot:
    """Spot the apex of an expression in aligned face crops (method `SPOTTER`; steps in the module doc).

    Parameters
    ----------
    crops : uint8 (T, H, W, 3) RGB or (T, H, W) grey aligned crops, one transform for the clip (or a list of
        such frames); T >= 2.
    onset_index : 0-based index of the onset (the neutral reference); the apex is searched after it.
    margin : the crop margin in face units (`PreprocessSettings.margin`) that places the face regions.
    size : side in pixels at which flow is measured.
    prepared : True when ``crops`` are already `flow_image` results of side ``size`` (the pipeline makes them
        while reading, so it need not keep the full crops).

    Returns
    -------
    `ApexSpot` (index, curve (T,), confidence 0..1, method, bridged blink frames).

    Raises
    ------
    PreprocessError : fewer than 2 frames or ``onset_index`` not before the last frame.
    """
    t_len = len(crops)
    if t_len < 2 or not 0 <= onset_index < t_len - 1:
        raise PreprocessError(f"apex spotting needs at least 2 frames and an onset before the last one; got "
                              f"{t_len} frames, onset index {onset_index}")
    images = list(crops) if prepared else [flow_image(c, size) for c in crops]
    if prepared and any(im.shape != (size, size) or im.dtype != np.uint8 for im in images):
        raise PreprocessError(f"prepared frames must be uint8 ({size}, {size}) flow_image results")
    face, eyes = spot_regions(size, margin)
    region = face & ~eyes
    gx = cv2.Sobel(images[onset_index].astype(np.float32), cv2.CV_32F, 1, 0)
    gy = cv2.Sobel(images[onset_index].astype(np.float32), cv2.CV_32F, 0, 1)
    weight = cv2.GaussianBlur(np.hypot(gx, gy), (0, 0), 1.5)[region]
    weight /= max(float(weight.sum()), 1e-9)
    raw, eye_raw = np.zeros(t_len), np.zeros(t_len)
    for t, image in enumerate(images):
        if t == onset_index:
            continue
        flow = cv2.calcOpticalFlowFarneback(images[onset_index], image, None, **_FARNEBACK)
        res = _residual_flow(flow, face)
        mag = np.hypot(res[..., 0], res[..., 1])
        raw[t] = float((mag[region] * weight).sum())
        eye_raw[t] = float(mag[eyes].mean())
    blinks = _outliers(eye_raw)
    curve = raw.copy()
    if blinks.any() and not blinks.all():
        idx = np.arange(t_len)
        curve[blinks] = np.interp(idx[blinks], idx[~blinks], raw[~blinks])
    sigma = max(0.7, 0.04 * t_len)  # smoothed on each side of the onset, so earlier frames do not leak into it
    curve[onset_index:] = gaussian_filter1d(curve[onset_index:], sigma, mode="nearest")
    if onset_index > 0:
        curve[:onset_index] = gaussian_filter1d(curve[:onset_index], sigma, mode="nearest")
    apex = onset_index + 1 + int(np.argmax(curve[onset_index + 1:]))
    peak = float(curve[apex])
    floor = max(float(curve[onset_index:apex + 1].min()), float(curve[apex:].min()))
    confidence = float(np.clip((peak - floor) / peak, 0.0, 1.0)) if peak > 1e-9 else 0.0
    return ApexSpot(apex, curve, confidence, SPOTTER, tuple(int(i) for i in np.flatnonzero(blinks)))


def describe_apex_source(source: str, confidence: float | None = None) -> str:
    """Short text for an apex source, with the spotter's confidence when spotted:
    ``"spotted, confidence 0.82"``, ``"annotated"``, ``"midpoint"``; "" for an empty source."""
    if source == "spotted" and confidence is not None:
        return f"spotted, confidence {float(confidence):.2f}"
    return source or ""


def apex_source_counts(results: Iterable) -> dict[str, int]:
    """How many preprocessing results (`PreprocessedClip` s) took their apex from each source, for run configs
    and checkpoints: ``{"annotated": 10, "spotted (flow-farneback-v1)": 3}`` (a spotted apex names its spotter)."""
    return dict(Counter(f"{r.apex_source} ({r.apex_spotter})" if r.apex_source == "spotted" and
                        getattr(r, "apex_spotter", "") else r.apex_source for r in results))


def midpoint(frame_numbers: Sequence[int]) -> int:
    """The frame number in the middle of the span (the earlier one of two middles)."""
    if len(frame_numbers) == 0:
        raise PreprocessError("empty span has no midpoint")
    return int(frame_numbers[(len(frame_numbers) - 1) // 2])


def apex_position(frame_map: np.ndarray, apex_frame: float) -> int:
    """0-based position among the N frames whose source frame number is nearest to ``apex_frame``
    (the first of equally near ones)."""
    return int(np.argmin(np.abs(np.asarray(frame_map, dtype=np.float64) - float(apex_frame))))
