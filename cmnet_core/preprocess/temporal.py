"""Temporal normalisation of onset..offset to N frames: regular sampling, TIM, linear interpolation.

Positions are 0-based indices into the span's frames (``0 .. L-1``); `frame_map` turns them into the
source's own frame numbers (fractional for interpolated frames).

TIM, the temporal interpolation model (Zhou, Zhao & Pietikäinen 2011, "Towards a practical lipreading
system", CVPR; used for micro-expressions by Pfister et al. 2011, ICCV), embeds the L frames as the
vertices of a path graph: the graph Laplacian's non-trivial eigenvectors are
``y_k(t) = sin(pi*k*t/L + pi*(L-k)/(2L)) = cos(pi*k*(t - 1/2)/L)``, ``k = 1..L-1, t = 1..L``. A linear map
from that curve to the frames' PCA coordinates is fitted, and the continuous curve is resampled at N
points, giving N frames that pass exactly through the originals at their own time points.
Duplicate frames only lower the PCA rank: we keep the components with non-negligible variance and
fit the map by least squares on the (always full-rank, orthogonal) curve basis, so no matrix of the
frames is ever inverted.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .errors import PreprocessError

INTERPOLATIONS = ("tim", "linear")


def sample_indices(length: int, n: int) -> np.ndarray:
    """``n`` indices at regular intervals over ``0 .. length-1`` (int64, strictly increasing when
    ``length >= n``), first and last included: ``floor(i * (length-1)/(n-1) + 0.5)``."""
    if length < 1 or n < 1:
        raise PreprocessError(f"cannot sample {n} frames from {length}")
    if n == 1:
        return np.array([(length - 1) // 2], dtype=np.int64)
    return np.floor(np.linspace(0.0, length - 1, n) + 0.5).astype(np.int64)


def include_index(indices: np.ndarray, k: int) -> np.ndarray:
    """``indices`` with its element nearest to ``k`` replaced by ``k`` (e.g. to keep the apex frame),
    unless that would break strict increase; the input is not modified. The first and last elements (the
    onset and offset) stay unless ``k`` is one of them: a ``k`` nearest to an end replaces its neighbour."""
    out = np.array(indices, dtype=np.int64)
    j = int(np.argmin(np.abs(out - k)))
    if len(out) > 2 and out[j] != k and j in (0, len(out) - 1):
        j = 1 if j == 0 else len(out) - 2
    lo = out[j - 1] if j > 0 else -1
    hi = out[j + 1] if j + 1 < len(out) else np.iinfo(np.int64).max
    if lo < k < hi:
        out[j] = k
    return out


def interpolation_positions(length: int, n: int) -> np.ndarray:
    """``n`` evenly spaced fractional positions over ``0 .. length-1`` (float64, shape (n,))."""
    return np.linspace(0.0, max(length - 1, 0), n)


def frame_map(positions: np.ndarray, frame_numbers: Sequence[int]) -> np.ndarray:
    """Source frame numbers at fractional ``positions`` (float64, (n,)), linear between neighbours."""
    nums = np.asarray(frame_numbers, dtype=np.float64)
    return np.interp(np.asarray(positions, dtype=np.float64), np.arange(len(nums)), nums)


def _as_uint8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def linear_interpolate(frames: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Blend neighbouring frames linearly to ``n`` frames.

    frames : uint8 (L, H, W, C). Returns ``(frames (n, H, W, C) uint8, positions (n,) float64)``.
    """
    length = len(frames)
    pos = interpolation_positions(length, n)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, length - 1)
    w = (pos - lo).reshape(-1, *([1] * (frames.ndim - 1)))
    out = frames[lo].astype(np.float64) * (1 - w) + frames[hi].astype(np.float64) * w
    return _as_uint8(out), pos


def tim_basis(t: np.ndarray, length: int) -> np.ndarray:
    """Path-graph Laplacian eigenvectors at (fractional, 1-based) times ``t``: (len(t), length-1)."""
    k = np.arange(1, length)
    return np.cos(np.pi * np.outer(np.asarray(t, dtype=np.float64) - 0.5, k) / length)


def tim_interpolate(frames: np.ndarray, n: int, rel_tol: float = 1e-9) -> tuple[np.ndarray, np.ndarray]:
    """TIM (Zhou et al. 2011) from L frames to ``n`` frames.

    frames : uint8 (L, H, W, C), L >= 1. Returns ``(frames (n, H, W, C) uint8, positions (n,) float64)``
    with positions in ``0 .. L-1``; output frames at integral positions equal the input frames (after
    rounding to uint8). One frame is repeated ``n`` times. Components whose singular value is below
    ``rel_tol`` times the largest are dropped (duplicates, constant clips).
    """
    length = len(frames)
    pos = interpolation_positions(length, n)
    if length == 1:
        return np.repeat(frames, n, axis=0), pos
    x = frames.reshape(length, -1).astype(np.float64)
    mean = x.mean(axis=0)
    u, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    keep = s > rel_tol * max(float(s[0]), 1e-12)
    coords = u[:, keep] * s[keep]                                  # (L, r) PCA coordinates
    basis = tim_basis(np.arange(1, length + 1), length)            # (L, L-1)
    mapping, *_ = np.linalg.lstsq(basis, coords, rcond=None)       # (L-1, r)
    new = tim_basis(pos + 1.0, length) @ mapping @ vt[keep] + mean
    if not np.all(np.isfinite(new)):
        raise PreprocessError("TIM produced non-finite values")
    return _as_uint8(new).reshape(n, *frames.shape[1:]), pos


def interpolate(frames: np.ndarray, n: int, method: str = "tim") -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Interpolate L < n frames to ``n`` with ``method`` (``"tim"`` or ``"linear"``).

    Returns ``(frames (n, H, W, C) uint8, positions (n,), notes)``; TIM failing numerically falls back
    to linear interpolation with a note. Raises `PreprocessError` for an unknown method.
    """
    if method not in INTERPOLATIONS:
        raise PreprocessError(f"unknown interpolation {method!r}; choose one of {', '.join(INTERPOLATIONS)}")
    if method == "tim":
        try:
            out, pos = tim_interpolate(frames, n)
            return out, pos, []
        except (np.linalg.LinAlgError, PreprocessError) as exc:
            out, pos = linear_interpolate(frames, n)
            return out, pos, [f"TIM failed ({exc}); used linear interpolation"]
    out, pos = linear_interpolate(frames, n)
    return out, pos, []
