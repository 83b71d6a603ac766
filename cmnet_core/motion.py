"""Dense facial motion between frames: optical flow, head-motion removal, motion maps and per-region curves.

Everything here works on small grey images (64-128 px) so that a long video can be scanned at real time on a
laptop CPU. Optical flow is OpenCV's DIS (Kroeger et al., "Fast optical flow using dense inverse search",
ECCV 2016), medium preset: on CASME II clips at 128x128 it costs about 3.5 ms per frame pair and its magnitude
peak from the onset lies a median 5-6 frames (200 fps) from the annotated apex, against 17 for plain frame
differencing (DESIGN.md, "Apex from motion"). Head motion is removed by subtracting a similarity transform
(translation, rotation, scale) fitted robustly (RANSAC, `cv2.estimateAffinePartial2D`) to the flow, as optical-flow
spotting methods do before reading local motion (He et al. 2020, "Spotting macro- and micro-expression intervals
in long video sequences", MDMD, FG 2020; Li et al. 2018, "Towards reading hidden emotions", IEEE TAC).

Regions (`REGIONS`) are boxes placed from the 5 landmarks MTCNN/FAN give (left eye, right eye, nose tip, left and
right mouth corners; `cmnet_core.preprocess.face`, ``Clip.landmarks_hint``) or from fixed fractions of an aligned
face crop. Qt-free and torch-free.
"""
from __future__ import annotations

import threading
from typing import Sequence

import cv2
import numpy as np

#: Face regions whose mean motion `region_curves` reports, in this order.
REGIONS: tuple[str, ...] = ("left_brow", "right_brow", "left_eye", "right_eye", "nose", "left_mouth",
                            "right_mouth", "chin")

#: The 5 landmarks (x, y) of an aligned face crop as fractions of its side, used when none are given
#: (left eye, right eye, nose tip, left mouth corner, right mouth corner; MTCNN order).
CROP_LANDMARKS = np.array([[0.36, 0.42], [0.64, 0.42], [0.50, 0.58], [0.39, 0.72], [0.61, 0.72]], np.float32)

_local = threading.local()


def _dis() -> "cv2.DISOpticalFlow":
    """One DIS instance per thread (the object keeps state and is not thread-safe)."""
    dis = getattr(_local, "dis", None)
    if dis is None:
        dis = _local.dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis


def to_grey(image: np.ndarray, size: int | None = None) -> np.ndarray:
    """``image`` (H, W) or (H, W, 3) uint8 RGB as uint8 grey, resized to ``size`` x ``size`` (area averaging)
    when ``size`` is given. Raises ``ValueError`` for another shape or dtype."""
    a = np.asarray(image)
    if a.dtype != np.uint8 or a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (1, 3)):
        raise ValueError(f"expected a uint8 image (H, W) or (H, W, 3), got {a.dtype} {a.shape}")
    if a.ndim == 3:
        a = a[..., 0] if a.shape[2] == 1 else cv2.cvtColor(np.ascontiguousarray(a), cv2.COLOR_RGB2GRAY)
    if size is not None and a.shape != (size, size):
        a = cv2.resize(a, (int(size), int(size)), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(a)


def normalise_grey(grey: np.ndarray, mean: float = 128.0, std: float = 40.0) -> np.ndarray:
    """``grey`` uint8 (H, W) with its mean and standard deviation set to ``mean`` and ``std`` grey levels (uint8,
    clipped): a global lighting change (gain and offset: flicker, auto exposure) then leaves the image as it was,
    so optical flow does not read it as motion. A flat image (std < 1) is returned unchanged."""
    g = grey.astype(np.float32)
    m, s = float(g.mean()), float(g.std())
    if s < 1.0:
        return grey
    return np.clip((g - m) * (std / s) + mean, 0, 255).astype(np.uint8)


def flow_between(a: np.ndarray, b: np.ndarray, size: int = 128) -> np.ndarray:
    """Dense optical flow from image ``a`` to image ``b``.

    ``a``, ``b``: uint8 (H, W) grey or (H, W, 3) RGB, the same scene (any size: both are resized to
    ``size`` x ``size``). Returns float32 (size, size, 2): per pixel of ``a`` the displacement (dx, dy) to ``b``,
    in pixels of the ``size`` image. Method: DIS optical flow, medium preset (Kroeger et al. 2016; OpenCV).
    Raises ``ValueError`` for a bad image or ``size`` < 8.
    """
    if int(size) < 8:
        raise ValueError(f"flow size {size} px is too small; use 8 or more")
    ga, gb = to_grey(a, size), to_grey(b, size)
    return _dis().calc(ga, gb, None)


def _grid(size_h: int, size_w: int, step: int) -> np.ndarray:
    ys, xs = np.mgrid[step // 2:size_h:step, step // 2:size_w:step]
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


def remove_head_motion(flow: np.ndarray, mask: np.ndarray | None = None, how: str = "similarity") -> np.ndarray:
    """``flow`` (H, W, 2) pixels minus the motion of the head as a whole.

    ``how="similarity"``: a similarity transform (translation, rotation, uniform scale) is fitted with RANSAC
    (`cv2.estimateAffinePartial2D`, 0.3 px reprojection threshold) to the flow at a grid of points (about 24 x 24),
    restricted to ``mask`` (bool (H, W), e.g. the face) when given, and its displacement field is subtracted: a
    pure translation, rotation or scale of the face leaves ~0, while local motion (an eyebrow, a lip corner) that
    only a minority of the points share survives. Falls back to the median when the fit fails (too few points).
    ``how="median"``: the median flow (over ``mask``) is subtracted (translation only).
    Returns float32 (H, W, 2). Raises ``ValueError`` for a bad shape, mask or method.
    """
    f = np.asarray(flow, dtype=np.float32)
    if f.ndim != 3 or f.shape[2] != 2:
        raise ValueError(f"flow must be (H, W, 2), got {f.shape}")
    h, w = f.shape[:2]
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != (h, w):
            raise ValueError(f"mask must be {(h, w)}, got {mask.shape}")
    if how not in ("similarity", "median"):
        raise ValueError(f"how={how!r}: choose 'similarity' or 'median'")
    if how == "similarity":
        step = max(1, min(h, w) // 24)
        pts = _grid(h, w, step)
        if mask is not None:
            pts = pts[mask[pts[:, 1], pts[:, 0]]]
        if len(pts) >= 6:
            src = pts.astype(np.float32)
            dst = src + f[pts[:, 1], pts[:, 0]]
            m, _ = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=0.3,
                                               maxIters=500, confidence=0.99, refineIters=10)
            if m is not None:
                ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
                fx = m[0, 0] * xs + m[0, 1] * ys + m[0, 2] - xs
                fy = m[1, 0] * xs + m[1, 1] * ys + m[1, 2] - ys
                return f - np.stack([fx, fy], axis=2).astype(np.float32)
    sel = f[mask] if mask is not None and mask.any() else f.reshape(-1, 2)
    return f - np.median(sel, axis=0).astype(np.float32)


def _crop(image: np.ndarray, box: tuple[int, int, int, int] | None) -> np.ndarray:
    """``image`` cut to ``box`` ``(x, y, w, h)`` pixels (None: the whole image); ``ValueError`` when the box does
    not lie inside the image or is smaller than 2 x 2."""
    a = np.asarray(image)
    if box is None:
        return a
    x, y, w, h = (int(v) for v in box)
    if w < 2 or h < 2 or x < 0 or y < 0 or x + w > a.shape[1] or y + h > a.shape[0]:
        raise ValueError(f"face box {tuple(box)} (x, y, w, h) does not fit the {a.shape[1]}x{a.shape[0]} frame")
    return np.ascontiguousarray(a[y:y + h, x:x + w])


def box_landmarks(landmarks: np.ndarray, box: tuple[int, int, int, int], size: int) -> np.ndarray:
    """``landmarks`` (5, 2) pixels of the whole frame mapped into the ``size`` x ``size`` image of ``box``
    ``(x, y, w, h)`` pixels: float64 (5, 2). Raises ``ValueError`` for another shape."""
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (5, 2):
        raise ValueError(f"landmarks must be (5, 2) pixels (MTCNN order), got {lm.shape}")
    x, y, w, h = (float(v) for v in box)
    return (lm - [x, y]) * [size / w, size / h]


def residual_flow(a: np.ndarray, b: np.ndarray, size: int = 128, box: tuple[int, int, int, int] | None = None,
                  landmarks: np.ndarray | None = None, how: str = "similarity") -> np.ndarray:
    """Facial motion from frame ``a`` to frame ``b`` with the head's own motion removed.

    a, b : uint8 RGB (H, W, 3) or grey (H, W), the same size: whole frames, or aligned face crops.
    box : ``(x, y, w, h)`` pixels of the face in both frames (e.g. `cmnet_core.preprocess.face.locate_face` on
        ``a``): the flow is computed on that part only, resized to ``size`` x ``size``. None: the whole frame.
    landmarks : (5, 2) pixels of ``a`` (whole-frame coordinates, MTCNN order): head motion is fitted over the face
        (`face_mask` of `region_boxes`) only. None: over the whole (cropped) image.
    Returns float32 (size, size, 2): residual displacement per pixel, in pixels of the ``size`` image (multiply by
    ``w / size`` for frame pixels). Raises ``ValueError`` for a box outside the frame, frames of different sizes,
    bad landmarks or a bad ``size`` / ``how``.
    """
    if np.asarray(a).shape[:2] != np.asarray(b).shape[:2]:
        raise ValueError(f"frames differ in size: {np.asarray(a).shape} and {np.asarray(b).shape}")
    full = np.asarray(a).shape[:2]
    flow = flow_between(_crop(a, box), _crop(b, box), size)
    mask = None
    if landmarks is not None:
        frame_box = box if box is not None else (0, 0, full[1], full[0])
        mask = face_mask(region_boxes(box_landmarks(landmarks, frame_box, size), size), size)
    return remove_head_motion(flow, mask, how)


def motion_map(flow: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Magnitude and direction of ``flow`` (H, W, 2): ``(magnitude (H, W) float32 pixels, angle (H, W) float32
    radians in [0, 2π), 0 = towards +x, π/2 = towards +y i.e. down)``. Raises ``ValueError`` for a bad shape."""
    f = np.asarray(flow, dtype=np.float32)
    if f.ndim != 3 or f.shape[2] != 2:
        raise ValueError(f"flow must be (H, W, 2), got {f.shape}")
    mag, ang = cv2.cartToPolar(np.ascontiguousarray(f[..., 0]), np.ascontiguousarray(f[..., 1]))
    return mag, ang


def face_ellipse(height: int, width: int, rx: float = 0.42, ry: float = 0.5, edge: float = 0.08) -> np.ndarray:
    """float32 (height, width) weights in [0, 1]: 1 inside the ellipse centred in the image with semi-axes ``rx`` x
    width and ``ry`` x height, falling to 0 over ``edge`` (a fraction of the semi-axes) outside it. Used to draw
    the motion map on the face of a square face box (`cmnet_core.preprocess.face.locate_face`, margin 0.15: the
    face is about 0.8 of the box wide), not on the background in its corners."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    r = np.hypot((xs + 0.5 - width / 2) / (rx * width), (ys + 0.5 - height / 2) / (ry * height))
    return np.clip((1.0 + edge - r) / edge, 0.0, 1.0).astype(np.float32)


def flow_to_rgba(flow: np.ndarray, opacity: float = 0.6, min_px: float = 0.2, max_px: float | None = None,
                 weight: np.ndarray | None = None) -> np.ndarray:
    """A picture of ``flow`` (H, W, 2) to lay over the frame: uint8 RGBA (H, W, 4).

    Colour: the magnitude through the perceptual VIRIDIS colormap (`cv2.applyColorMap`, scaled to ``max_px``,
    default the 99th percentile or 4·``min_px`` whichever is larger), blended towards a hue that shows the
    direction (HSV hue = angle) as the magnitude grows past 2·``min_px``. Alpha: 0 below ``min_px`` pixels
    (transparent where nothing moves), rising to ``opacity`` at 2·``min_px``, times ``weight`` (H, W) in [0, 1]
    when given (e.g. `face_ellipse`). Raises ``ValueError`` for a bad shape or an opacity outside [0, 1].
    """
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity {opacity} must lie in [0, 1]")
    mag, ang = motion_map(flow)
    top = float(max_px) if max_px else max(float(np.percentile(mag, 99)), 4.0 * min_px, 1e-6)
    level = np.clip(mag / top * 255.0, 0, 255).astype(np.uint8)
    base = cv2.cvtColor(cv2.applyColorMap(level, cv2.COLORMAP_VIRIDIS), cv2.COLOR_BGR2RGB).astype(np.float32)
    hsv = np.stack([(ang * (90.0 / np.pi)).astype(np.uint8) % 180, np.full_like(level, 255),
                    np.full_like(level, 255)], axis=2)
    hue = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB).astype(np.float32)
    strong = np.clip((mag - 2 * min_px) / max(top - 2 * min_px, 1e-6), 0, 1)[..., None] * 0.7
    rgb = base * (1 - strong) + hue * strong
    alpha = np.clip((mag - min_px) / max(min_px, 1e-6), 0, 1) * opacity * 255.0
    if weight is not None:
        if np.shape(weight) != mag.shape:
            raise ValueError(f"weight must be {mag.shape} like the flow, got {np.shape(weight)}")
        alpha = alpha * np.asarray(weight, dtype=np.float32)
    return np.dstack([rgb, alpha]).round().clip(0, 255).astype(np.uint8)


def region_boxes(landmarks: np.ndarray | None, size: int) -> dict[str, tuple[int, int, int, int]]:
    """Boxes ``(x0, y0, x1, y1)`` (pixels of a ``size`` x ``size`` image, end exclusive) of `REGIONS`.

    ``landmarks``: (5, 2) pixels of that image (left eye, right eye, nose tip, left / right mouth corner), or
    None for an aligned face crop (`CROP_LANDMARKS`). Sizes scale with the eye distance d: brows 0.7d x 0.3d
    centred 0.35d above each eye, eyes 0.7d x 0.3d, nose 0.5d x 0.4d, mouth corners 0.45d x 0.45d, chin
    0.8d x 0.35d centred 0.5d below the mouth. Raises ``ValueError`` for landmarks of another shape.
    """
    lm = CROP_LANDMARKS * size if landmarks is None else np.asarray(landmarks, dtype=np.float64)
    if lm.shape != (5, 2):
        raise ValueError(f"landmarks must be (5, 2) pixels (MTCNN order), got {lm.shape}")
    le, re, nose, lm_, rm = lm
    d = max(float(np.hypot(*(re - le))), 4.0)

    def box(c, w, h):
        x0, y0 = int(round(c[0] - w * d / 2)), int(round(c[1] - h * d / 2))
        x1, y1 = int(round(c[0] + w * d / 2)), int(round(c[1] + h * d / 2))
        x0, y0 = min(max(x0, 0), size - 1), min(max(y0, 0), size - 1)
        return x0, y0, max(x0 + 1, min(x1, size)), max(y0 + 1, min(y1, size))

    up = np.array([0.0, -0.35 * d])
    mouth_mid = (lm_ + rm) / 2
    return {"left_brow": box(le + up, 0.7, 0.3), "right_brow": box(re + up, 0.7, 0.3),
            "left_eye": box(le, 0.7, 0.3), "right_eye": box(re, 0.7, 0.3),
            "nose": box(nose, 0.5, 0.4), "left_mouth": box(lm_, 0.45, 0.45), "right_mouth": box(rm, 0.45, 0.45),
            "chin": box(mouth_mid + np.array([0.0, 0.5 * d]), 0.8, 0.35)}


def face_mask(boxes: dict[str, tuple[int, int, int, int]], size: int, margin: float = 0.25) -> np.ndarray:
    """bool (size, size): the bounding box of all ``boxes`` grown by ``margin`` of its size on each side (the
    points `remove_head_motion` fits the head's motion to)."""
    arr = np.array(list(boxes.values()))
    x0, y0, x1, y1 = arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max()
    mx, my = margin * (x1 - x0), margin * (y1 - y0)
    m = np.zeros((size, size), bool)
    m[max(0, int(y0 - my)):int(y1 + my), max(0, int(x0 - mx)):int(x1 + mx)] = True
    return m


def region_means(magnitude: np.ndarray, boxes: dict[str, tuple[int, int, int, int]]) -> np.ndarray:
    """Mean of ``magnitude`` (H, W) inside each box of ``boxes``, float64 (len(boxes),) in box order."""
    return np.array([float(magnitude[y0:y1, x0:x1].mean()) for x0, y0, x1, y1 in boxes.values()])


def region_curves(frames: np.ndarray | Sequence[np.ndarray], reference: int = 0,
                  landmarks: np.ndarray | None = None, mode: str = "onset", size: int = 96,
                  how: str = "similarity", face_box: tuple[int, int, int, int] | None = None
                  ) -> dict[str, np.ndarray]:
    """Mean residual motion per face region per frame.

    frames : (T, H, W, 3) uint8 RGB (aligned face crops or whole frames), or a sequence of such frames.
    reference : index (0-based) of the reference frame for ``mode="onset"`` (usually the onset).
    landmarks : (5, 2) pixels (x, y) of the reference frame (whole-frame coordinates), MTCNN order, or None to use
        `CROP_LANDMARKS` (of the box, else of the frame).
    face_box : ``(x, y, w, h)`` pixels of the face in the frames (whole frames of a video, e.g. from
        `cmnet_core.preprocess.face.locate_face` on the reference frame): the flow is computed on that part only.
        None: the whole frame (an aligned face crop).
    mode : ``"onset"``: flow from the reference frame to each frame (displacement accumulated since the onset);
        ``"previous"``: flow from the previous frame (speed; frame 0 gets 0).
    size : flow computed at size x size pixels.  how : head-motion removal (`remove_head_motion`).

    Returns {region: float64 (T,)} for every name in `REGIONS`: mean residual flow magnitude in pixels of the
    ``size`` image. Raises ``ValueError`` for an empty input, a reference outside 0..T-1, an unknown mode or a
    face box outside the frames.
    """
    if mode not in ("onset", "previous"):
        raise ValueError(f"mode={mode!r}: choose 'onset' or 'previous'")
    n = len(frames)
    if n == 0:
        raise ValueError("region_curves needs at least one frame")
    if not 0 <= reference < n:
        raise ValueError(f"reference {reference} is outside the frames 0..{n - 1}")
    h, w = np.asarray(frames[0]).shape[:2]
    frame_box = tuple(face_box) if face_box is not None else (0, 0, w, h)
    lm = None if landmarks is None else box_landmarks(landmarks, frame_box, size)
    boxes = region_boxes(lm, size)
    mask = face_mask(boxes, size)
    greys = [to_grey(_crop(f, face_box), size) for f in frames]
    out = np.zeros((n, len(boxes)))
    for t in range(n):
        src = greys[reference] if mode == "onset" else greys[max(t - 1, 0)]
        if mode == "previous" and t == 0:
            continue
        flow = remove_head_motion(_dis().calc(src, greys[t], None), mask, how)
        out[t] = region_means(motion_map(flow)[0], boxes)
    return {name: out[:, i] for i, name in enumerate(boxes)}


def blink_frames(curves: dict[str, np.ndarray], fps: float = 30.0, max_s: float = 0.5, ratio: float = 1.5,
                 floor: float | None = None) -> list[tuple[int, int]]:
    """Frame-index intervals ``(start, end)`` (0-based, inclusive) of ``curves`` (`region_curves`) that look like
    blinks: both eyes move (the smaller of the two eye curves is used, so a one-sided eye or brow movement is not
    a blink), more than the brows (a brow raise or lowering spills into the eye boxes but moves the brows more: it is
    an expression, not a blink), more than ``ratio`` times the mouth/nose/chin motion of the same frame and above
    ``floor`` (default:
    3 x the median of the eye signal, at least 0.05 px), for at most ``max_s`` seconds at ``fps``.
    Longer runs are kept as motion, not blinks. Raises ``KeyError`` when an eye or lower-face curve is missing.
    """
    eyes = np.minimum(curves["left_eye"], curves["right_eye"])
    lower = np.max([curves[k] for k in ("left_mouth", "right_mouth", "chin")], axis=0)
    brows = np.maximum(curves["left_brow"], curves["right_brow"])
    thr = floor if floor is not None else max(3.0 * float(np.median(eyes)), 0.05)
    on = (eyes > thr) & (eyes > ratio * lower) & (eyes > brows)
    out, t, n = [], 0, len(on)
    longest = max(1, int(round(max_s * fps)))
    while t < n:
        if on[t]:
            s = t
            while t + 1 < n and on[t + 1]:
                t += 1
            if t - s + 1 <= longest:
                out.append((s, t))
        t += 1
    return out


__all__ = ["CROP_LANDMARKS", "REGIONS", "blink_frames", "box_landmarks", "face_ellipse", "face_mask", "flow_between",
           "flow_to_rgba", "motion_map", "region_boxes", "region_curves", "region_means", "remove_head_motion",
           "residual_flow", "to_grey"]
