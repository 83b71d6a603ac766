"""One similarity transform per clip: eyes level, face centred, fixed margins; applied to every frame.

ME practice (e.g. the CASME II and SAMM cropped releases) aligns a clip once, on its onset frame:
per-frame detection adds jitter larger than the micro motion itself. The face *unit* is
``u = max(inter-ocular distance, eye-centre to mouth-centre distance)`` (robust to yaw and pitch);
the crop is a square of side ``(FACE_BOX + 2 * margin) * u`` source pixels centred at ``CENTRE_T`` of
the way from the eye centre to the mouth centre, rotated so the eye line is horizontal. With the
default margin 0.6 the crop spans about 1.4 u above the eyes (forehead) to 2.2 u below (chin + margin).
"""
from __future__ import annotations

import cv2
import numpy as np

from .errors import PreprocessError

CENTRE_T = 0.4
"""Crop centre = eye centre + CENTRE_T * (mouth centre - eye centre)."""

FACE_BOX = 2.4
"""Side of the face itself in face units (brows to chin, cheek to cheek); the margin is added around it."""

OUTSIDE_NOTE_FRACTION = 0.02
"""A crop reaching this fraction of its side beyond the frame gets a note."""

MIN_MARGIN = 0.15
"""`fit_crop` shrinks the margin (face units) at most down to this, so brows and chin stay in the crop."""

PRECROPPED_MIN_SHARE = 0.6
"""`fit_crop` crops within a frame the face fills when the frame's short side is at least this share of the face
box (`FACE_BOX` face units); a smaller frame is padded instead."""

MAX_CROP_TO_FRAME = 1.6
"""A crop square whose side exceeds this multiple of the frame's long side means the landmarks are not a face of
this frame (e.g. a detector's guess at a face larger than the image): `crop_is_sane` rejects it."""


def alignment_matrix(points: np.ndarray, size: int, margin: float) -> np.ndarray:
    """The (2, 3) affine matrix mapping frame pixels to the ``size`` x ``size`` aligned crop.

    points : (5, 2) pixels (x, y): left eye, right eye, nose, left and right mouth corner (image order).
    size : crop side S in pixels. margin : extra border on each side, in face units (see module doc).
    Raises `PreprocessError` when the landmarks are degenerate (eyes and mouth closer than 2 pixels).
    """
    p = np.asarray(points, dtype=np.float64)
    eyes, mouth = (p[0] + p[1]) / 2, (p[3] + p[4]) / 2
    eye_vec = p[1] - p[0]
    unit = max(float(np.hypot(*eye_vec)), float(np.hypot(*(mouth - eyes))))
    if not np.isfinite(unit) or unit < 2.0:
        raise PreprocessError(f"degenerate face landmarks {p.round(1).tolist()} (face unit {unit:.2f} px)")
    angle = np.arctan2(eye_vec[1], eye_vec[0])
    scale = size / ((FACE_BOX + 2.0 * margin) * unit)
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    rot = np.array([[c, s], [-s, c]])
    centre = eyes + CENTRE_T * (mouth - eyes)
    shift = np.full(2, (size - 1) / 2.0) - rot @ centre
    return np.hstack([rot, shift[:, None]])


def crop_side_px(matrix: np.ndarray, size: int) -> float:
    """Side of the crop square in source-frame pixels (``size`` over the matrix's scale)."""
    return size / float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))


def crop_is_sane(matrix: np.ndarray, frame_size: tuple[int, int], size: int) -> bool:
    """False when the crop square is larger than `MAX_CROP_TO_FRAME` times the frame's long side (pixels)."""
    return crop_side_px(matrix, size) <= MAX_CROP_TO_FRAME * max(frame_size)


def padded_fraction(matrix: np.ndarray, frame_size: tuple[int, int], size: int) -> float:
    """Share of the ``size`` x ``size`` crop's pixels that lie outside the frame (0 = none padded, 1 = all).

    frame_size : ``(width, height)`` in pixels. Computed by warping a frame-sized mask with ``matrix``.
    """
    w, h = frame_size
    mask = cv2.warpAffine(np.ones((h, w), np.float32), np.asarray(matrix, np.float64), (size, size),
                          flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT, borderValue=0.0)
    return float(1.0 - mask.mean())


def _shift_inside(matrix: np.ndarray, frame_size: tuple[int, int], size: int, limit_px: float) -> np.ndarray:
    """``matrix`` with the crop moved (in source pixels, at most ``limit_px`` per axis) so that it lies inside
    the frame as far as it can."""
    inv = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0], [size - 1, 0], [0, size - 1], [size - 1, size - 1]], dtype=np.float64)
    src = corners @ inv[:, :2].T + inv[:, 2]
    w, h = frame_size
    move = np.zeros(2)
    for axis, extent in ((0, w - 1), (1, h - 1)):
        lo, hi = src[:, axis].min(), src[:, axis].max()
        if hi - lo > extent:                     # wider than the frame: centre it on the frame
            move[axis] = (extent - (hi + lo)) / 2.0
        elif lo < 0:
            move[axis] = -lo
        elif hi > extent:
            move[axis] = extent - hi
    move = np.clip(move, -limit_px, limit_px)
    out = np.array(matrix, dtype=np.float64)
    out[:, 2] -= out[:, :2] @ move               # crop centre moves by +move in the source frame
    return out


def fit_crop(points: np.ndarray, frame_size: tuple[int, int], size: int, margin: float) -> tuple[np.ndarray, dict]:
    """The alignment crop (`alignment_matrix`) kept inside the frame where the face allows.

    CASME II RAW faces sit near the bottom of 640x480 frames, so the usual crop runs tens of pixels past the
    edge. First the crop is shifted (at most ``margin`` face units per axis, so the face itself stays in it);
    if it still reaches outside, the margin is shrunk step by step down to `MIN_MARGIN` (the face gets larger
    in the crop), each time shifted again. Only what then still lies outside is padded (see `warp`).

    points : (5, 2) landmarks in pixels; frame_size : ``(width, height)`` pixels; size : crop side S pixels;
    margin : the requested margin in face units.
    When even that leaves padding and the frame is about the size of the face itself (a pre-cropped database:
    the face fills the frame), the crop becomes the largest square inside the frame around the face (margin
    negative: brows or cheeks may be cut as the database's own crop cut them).
    Returns ``(matrix (2, 3), info)`` with info ``{"margin": used margin, "shift_px": source pixels moved,
    "padded": share of crop pixels outside the frame (0..1)}`` plus ``"pre_cropped": True`` in the last case. Raises `PreprocessError` for degenerate
    landmarks (as `alignment_matrix`).
    """
    p = np.asarray(points, dtype=np.float64)
    eyes, mouth = (p[0] + p[1]) / 2, (p[3] + p[4]) / 2
    unit = max(float(np.hypot(*(p[1] - p[0]))), float(np.hypot(*(mouth - eyes))))
    candidates = [margin] + [m for m in np.arange(margin - 0.05, MIN_MARGIN - 1e-9, -0.05)] if margin > MIN_MARGIN \
        else [margin]
    best = None
    for m in candidates:
        base = alignment_matrix(p, size, float(m))
        moved = _shift_inside(base, frame_size, size, limit_px=max(0.0, float(m)) * unit)
        padded = padded_fraction(moved, frame_size, size)
        shift = float(np.hypot(*(cv2.invertAffineTransform(moved)[:, 2] - cv2.invertAffineTransform(base)[:, 2])))
        info = {"margin": round(float(m), 3), "shift_px": round(shift, 1), "padded": round(padded, 4)}
        if best is None or padded < best[1]["padded"] - 1e-4:
            best = (moved, info)
        if padded <= 0.002:
            return moved, info
    # A face that fills its frame (CASME II Cropped: the frame *is* the face) cannot get a margin: crop within
    # the frame, the largest square it holds around the face, as the database's own cropping did.
    side = float(min(frame_size))
    if side < (FACE_BOX + 2 * MIN_MARGIN) * unit and side >= PRECROPPED_MIN_SHARE * FACE_BOX * unit:
        m = (side / unit - FACE_BOX) / 2.0
        inner = _shift_inside(alignment_matrix(p, size, m), frame_size, size, limit_px=float(max(frame_size)))
        padded = padded_fraction(inner, frame_size, size)
        if padded < best[1]["padded"]:
            return inner, {"margin": round(m, 3), "shift_px": 0.0, "padded": round(padded, 4), "pre_cropped": True}
    return best


def centre_crop_matrix(width: int, height: int, size: int) -> np.ndarray:
    """(2, 3) matrix for the largest centred square of a ``width`` x ``height`` frame resized to ``size``."""
    scale = size / min(width, height)
    half = (size - 1) / 2.0
    return np.array([[scale, 0.0, half - scale * (width - 1) / 2.0],
                     [0.0, scale, half - scale * (height - 1) / 2.0]])


def fill_value(image: np.ndarray) -> tuple[float, ...]:
    """The padding colour for crops of ``image``'s clip: its mean colour (one value per channel), flat grey-ish
    and without structure (repeated edge pixels make stripes of neck and shirt that look like texture)."""
    img = np.asarray(image)
    return tuple(float(v) for v in img.reshape(-1, img.shape[2] if img.ndim == 3 else 1).mean(0))


def warp(image: np.ndarray, matrix: np.ndarray, size: int, fill: tuple[float, ...] | None = None) -> np.ndarray:
    """Apply ``matrix`` to ``image`` (uint8 (H, W, C)) giving a (size, size, C) crop.

    Pixels outside the frame get the constant ``fill`` colour (default `fill_value` of ``image``; pass one
    value per clip so that the padding does not flicker between frames). When the crop shrinks the frame
    by more than 1.5x the frame is first reduced with area averaging, so textures do not alias.
    """
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if scale < 1 / 1.5:
        pre = min(1.0, 1.5 * scale)
        h, w = image.shape[:2]
        image = cv2.resize(image, (max(1, round(w * pre)), max(1, round(h * pre))), interpolation=cv2.INTER_AREA)
        fx, fy = image.shape[1] / w, image.shape[0] / h
        matrix = matrix @ np.array([[1 / fx, 0, 0], [0, 1 / fy, 0], [0, 0, 1]])
    value = fill_value(image) if fill is None else fill
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=tuple(value) + (0.0,) * (4 - len(value)))


def outside_extent(matrix: np.ndarray, frame_size: tuple[int, int], size: int) -> dict[str, int]:
    """How far the crop reaches beyond each frame edge, in crop pixels: ``{"left": .., "top": .., ...}``.

    frame_size : ``(width, height)`` of the source frame in pixels.
    """
    inv = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0], [size - 1, 0], [0, size - 1], [size - 1, size - 1]], dtype=np.float64)
    src = corners @ inv[:, :2].T + inv[:, 2]
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    w, h = frame_size
    beyond = {"left": -src[:, 0].min(), "top": -src[:, 1].min(),
              "right": src[:, 0].max() - (w - 1), "bottom": src[:, 1].max() - (h - 1)}
    return {k: int(round(max(0.0, v) * scale)) for k, v in beyond.items()}


def outside_note(matrix: np.ndarray, frame_size: tuple[int, int], size: int) -> str | None:
    """A note when the crop extends beyond the frame by more than `OUTSIDE_NOTE_FRACTION` of its side."""
    ext = {k: v for k, v in outside_extent(matrix, frame_size, size).items() if v > OUTSIDE_NOTE_FRACTION * size}
    if not ext:
        return None
    parts = ", ".join(f"{k} {v} px" for k, v in ext.items())
    share = padded_fraction(matrix, frame_size, size)
    return (f"face crop extends beyond the frame ({parts} of {size}; {share:.1%} of the crop padded with the "
            "frame's mean colour)")
