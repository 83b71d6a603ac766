"""Apex: the annotated frame, apex spotting (peak motion relative to onset) or the span's midpoint.

Spotting follows the feature-difference idea of ME spotting (Moilanen, Zhao & Pietikäinen 2014,
"Spotting rapid facial movements from videos using appearance-based feature difference analysis",
ICPR): on the *aligned* crops (one transform per clip, so head position is already fixed) each frame's
score is its mean absolute grey-level difference from the onset frame, after a small Gaussian blur that
suppresses sensor noise; the apex is the frame of the highest score.
"""
from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from .errors import PreprocessError

APEX_MODES = ("annotated", "spotting", "midpoint")
"""Values of ``PreprocessSettings.apex_mode``; ``"annotated"`` falls back to spotting."""

SPOT_SIZE = 64
"""Side in pixels of the grey crops compared by apex spotting."""


def spotting_image(crop: np.ndarray) -> np.ndarray:
    """The blurred grey (SPOT_SIZE, SPOT_SIZE) float32 image apex spotting compares, from an RGB crop."""
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)
    small = cv2.resize(grey, (SPOT_SIZE, SPOT_SIZE), interpolation=cv2.INTER_AREA).astype(np.float32)
    return cv2.GaussianBlur(small, (5, 5), 1.0)


def motion_score(image: np.ndarray, onset_image: np.ndarray) -> float:
    """Mean absolute difference (grey levels, 0..255) between two `spotting_image` results."""
    return float(np.mean(np.abs(image - onset_image)))


def midpoint(frame_numbers: Sequence[int]) -> int:
    """The frame number in the middle of the span (the earlier one of two middles)."""
    if len(frame_numbers) == 0:
        raise PreprocessError("empty span has no midpoint")
    return int(frame_numbers[(len(frame_numbers) - 1) // 2])


def apex_position(frame_map: np.ndarray, apex_frame: float) -> int:
    """0-based position among the N frames whose source frame number is nearest to ``apex_frame``
    (the first of equally near ones)."""
    return int(np.argmin(np.abs(np.asarray(frame_map, dtype=np.float64) - float(apex_frame))))
