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


def centre_crop_matrix(width: int, height: int, size: int) -> np.ndarray:
    """(2, 3) matrix for the largest centred square of a ``width`` x ``height`` frame resized to ``size``."""
    scale = size / min(width, height)
    half = (size - 1) / 2.0
    return np.array([[scale, 0.0, half - scale * (width - 1) / 2.0],
                     [0.0, scale, half - scale * (height - 1) / 2.0]])


def warp(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """Apply ``matrix`` to ``image`` (uint8 (H, W, C)) giving a (size, size, C) crop.

    Pixels outside the frame repeat its border (``BORDER_REPLICATE``). When the crop shrinks the frame
    by more than 1.5x the frame is first reduced with area averaging, so textures do not alias.
    """
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if scale < 1 / 1.5:
        pre = min(1.0, 1.5 * scale)
        h, w = image.shape[:2]
        image = cv2.resize(image, (max(1, round(w * pre)), max(1, round(h * pre))), interpolation=cv2.INTER_AREA)
        fx, fy = image.shape[1] / w, image.shape[0] / h
        matrix = matrix @ np.array([[1 / fx, 0, 0], [0, 1 / fy, 0], [0, 0, 1]])
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


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
    return f"face crop extends beyond the frame ({parts} of {size}); padded by repeating the frame's edge pixels"
