"""Eulerian video magnification, to make micro-expressions visible to an annotator: linear (Wu et al., "Eulerian
Video Magnification for Revealing Subtle Changes in the World", SIGGRAPH 2012; the default) and phase-based with
a Riesz pyramid (Wadhwa et al., "Riesz Pyramids for Fast Phase-Based Video Magnification", ICCP 2014; the fast
approximation of the complex steerable pyramid of Wadhwa et al., SIGGRAPH 2013), ``MagnifySettings.method``.

Each frame is split into a spatial Laplacian pyramid (cv2.pyrDown / pyrUp, float32); every pyramid pixel is
band-passed along time (Butterworth, zero-phase, so the output stays frame-exact in sync with the input);
the band-passed signal B (Eq. 3) is amplified by alpha (reduced on the fine levels, Eq. 14) and added back
(Eq. 4-6: I(x, t) + alpha B(x, t) ~ f(x + (1 + alpha) delta(t))); the pyramid is collapsed and clipped to uint8.
Luminance is amplified fully and chrominance by alpha * attenuation (Sec. 4 of the paper), in YIQ.

Phase-based (`_PhaseMagnifier`): the luminance's Laplacian levels get a Riesz transform (computed by FFT), the
local quaternion phase (phase x cos / sin of the orientation) is accumulated from frame-to-frame phase differences,
band-passed along time with the same zero-phase filter, smoothed spatially weighted by the local amplitude,
multiplied by alpha and put back as a phase shift of each level; chrominance and the low-pass residual are kept.
Motion is shifted rather than added as intensity, so large alpha overshoots and clips much less.

No Qt here: the GUI and ``cmnet magnify`` call `magnify_clip` / `magnify_frames` and `write_video`.
"""
from __future__ import annotations

import math
import os
import threading
from collections import OrderedDict
from dataclasses import astuple, dataclass
from functools import lru_cache
from fractions import Fraction
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

from .safe_write import replacing

REGIONS = ("frame", "face")
#: ``MagnifySettings.method``: linear (Wu et al. 2012) or phase-based with a Riesz pyramid (Wadhwa et al. 2014).
METHODS = ("linear", "phase")

#: Gaussian sigma (pixels of each pyramid level) of the amplitude-weighted smoothing of the band-passed phase
#: (Wadhwa et al. 2014 use 2).
PHASE_SIGMA = 2.0


#: Order of the Butterworth band-pass prototype (the band-pass has twice this order; run forwards and backwards,
#: four times). Wu et al.'s reference code uses 1; a first-order band-pass still passes ~7 % of the power of a
#: 10 Hz flicker or blink at 30 fps (x1.7 at alpha 10), order 2 about 0.5 %.
BUTTER_ORDER = 2

#: Highest band edge used, as a fraction of the Nyquist frequency (fps / 2): `effective_band` clamps to it.
NYQUIST_FRACTION = 0.95

#: Largest float32 working memory `magnify_frames` takes, in bytes (`working_bytes`; linear about
#: 4/3 x T x H x W x 3 x 4): 3 GiB, e.g. 200 frames of 1280x720 px with linear, ~170 with phase. Larger requests
#: raise ValueError asking for a crop or a shorter range.
MAX_PYRAMID_BYTES = 3 * 1024 ** 3

#: Columns (pixels x 3 channels) band-passed per matrix product in `magnify_frames`: a multiple of 3.
_CHUNK = 3 * 2 ** 14

_RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114],
                        [0.596, -0.274, -0.322],
                        [0.211, -0.523, 0.312]], dtype=np.float32)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ.astype(np.float64)).astype(np.float32)


class TooLargeError(ValueError):
    """The frames asked for need more memory than `MAX_PYRAMID_BYTES` (raised by `magnify_clip` and
    `magnify_frames` before any work); the message gives the size and the limit."""


class MagnifyCancelled(Exception):
    """Raised by `magnify_frames` / `magnify_clip` when their ``cancelled()`` callback returned True."""


@dataclass(frozen=True)
class MagnifySettings:
    """Parameters of Eulerian magnification, linear (Wu et al. 2012) or phase-based (Wadhwa et al. 2014).

    alpha : amplification factor alpha of Eq. 4-6 (1-30); a motion delta(t) inside the band appears as
        (1 + alpha) * delta(t). Linear magnification holds while (1 + alpha) * delta stays below ~1/8 of the
        structure's wavelength (Eq. 14): micro-expressions (a few pixels) take alpha ~5-20.
    low_hz, high_hz : temporal pass band in Hz. Defaults 0.4-3 Hz: a micro-expression lasts 0.2-0.5 s from
        onset to offset (Yan et al. 2013); a movement of duration D shaped like a raised-cosine bump keeps
        half its power below ~0.72 / D Hz, so 3 Hz passes most of movements of 0.25 s and longer, while
        0.4 Hz removes head drift slower than 2.5 s. 3 Hz is below the Nyquist frequency of every usual
        rate (15 Hz at 30 fps, 100 Hz at CASME II's 200 fps); `effective_band` clamps ``high_hz`` to
        0.95 x Nyquist for slower sources.
    levels : number of Laplacian band levels (>= 1) above the low-pass residual; the pyramid stops earlier
        when the image side would fall below 8 pixels.
    attenuation : chrominance factor (0-1): I and Q (YIQ) are amplified by alpha * attenuation,
        luminance Y by alpha (Wu et al. Sec. 4, "chrominance attenuation"), so colour noise is not blown up.
    lambda_c : spatial cut-off wavelength in pixels (Eq. 14 and Fig. 6): a level whose representative
        wavelength lambda is below lambda_c gets alpha reduced linearly, to (1 + alpha) * lambda / lambda_c - 1
        (0 at lambda_c / (1 + alpha)), which keeps fine texture and noise from being amplified into artefacts.
    region : ``"frame"`` or ``"face"``, metadata only: the caller passes the face crop to `magnify_clip`.
    method : ``"linear"`` (default; Wu et al. 2012) or ``"phase"`` (Riesz pyramid, Wadhwa et al. 2014): alpha
        multiplies the band-passed local phase of the luminance instead of its intensity; chrominance is kept
        (``attenuation`` unused) and ``lambda_c`` is applied with the phase method's looser bound alpha delta <
        lambda / 4 (twice linear's lambda / 8; Wadhwa et al. 2013 Sec. 4), i.e. as `level_alphas` with
        lambda_c / 2. About 1.3x slower than linear (``scripts/bench_magnify.py``: 1.43 vs 1.10 s for 200 frames
        at 224 px on a busy 2-core CPU).

    Raises ``ValueError`` (from ``__post_init__``) for a value outside these ranges, saying what to use.
    """

    alpha: float = 10.0
    low_hz: float = 0.4
    high_hz: float = 3.0
    levels: int = 4
    attenuation: float = 0.1
    lambda_c: float = 16.0
    region: str = "frame"
    method: str = "linear"

    def __post_init__(self):
        problems = []
        if not (isinstance(self.alpha, (int, float)) and 1.0 <= self.alpha <= 30.0):
            problems.append(f"alpha {self.alpha!r} is outside 1-30; use e.g. 10")
        if not (isinstance(self.low_hz, (int, float)) and self.low_hz > 0 and math.isfinite(self.low_hz)):
            problems.append(f"low_hz {self.low_hz!r} must be a positive frequency in Hz, e.g. 0.4")
        if not (isinstance(self.high_hz, (int, float)) and math.isfinite(self.high_hz)):
            problems.append(f"high_hz {self.high_hz!r} must be a frequency in Hz, e.g. 3")
        elif isinstance(self.low_hz, (int, float)) and self.high_hz <= self.low_hz:
            problems.append(f"high_hz {self.high_hz!r} must be above low_hz {self.low_hz!r} (e.g. 0.4-3 Hz)")
        if not (isinstance(self.levels, int) and not isinstance(self.levels, bool) and 1 <= self.levels <= 8):
            problems.append(f"levels {self.levels!r} must be an integer 1-8, e.g. 4")
        if not (isinstance(self.attenuation, (int, float)) and 0.0 <= self.attenuation <= 1.0):
            problems.append(f"attenuation {self.attenuation!r} must be in 0-1, e.g. 0.1")
        if not (isinstance(self.lambda_c, (int, float)) and 0.0 <= self.lambda_c <= 1024):
            problems.append(f"lambda_c {self.lambda_c!r} must be a wavelength of 0-1024 pixels, e.g. 16")
        if self.region not in REGIONS:
            problems.append(f"region {self.region!r} must be one of {', '.join(REGIONS)}")
        if self.method not in METHODS:
            problems.append(f"method {self.method!r} must be one of {', '.join(METHODS)}")
        if problems:
            raise ValueError("MagnifySettings: " + "; ".join(problems))


def effective_band(fps: float, settings: MagnifySettings) -> tuple[float, float]:
    """The pass band ``(low, high)`` in Hz actually used at ``fps`` frames per second.

    ``high_hz`` is clamped to `NYQUIST_FRACTION` x fps / 2. Raises ``ValueError`` when fps is not positive or
    the band no longer fits (``low_hz`` at or above the clamped high edge), naming the rate and what to do.
    """
    if not (fps > 0 and math.isfinite(fps)):
        raise ValueError(f"frame rate {fps!r} fps must be positive; give the clip's rate (e.g. --fps 30)")
    high = min(float(settings.high_hz), NYQUIST_FRACTION * fps / 2.0)
    low = float(settings.low_hz)
    if low >= high:
        raise ValueError(f"the band {low:g}-{settings.high_hz:g} Hz does not fit {fps:g} fps (the highest usable "
                         f"frequency is {NYQUIST_FRACTION * fps / 2:.3g} Hz); lower low_hz below that")
    return low, high


def level_alphas(alpha: float, lambda_c: float, n_bands: int) -> np.ndarray:
    """Amplification per pyramid level, finest first: shape (n_bands + 1,), the last is the low-pass residual.

    Band level ``l`` (0 = finest) holds wavelengths of about 2^(l+1) to 2^(l+2) pixels; its representative
    wavelength is taken as lambda_l = 2^(l+2) px (the residual: twice that of the coarsest band). Following
    Wu et al. Eq. 14, (1 + alpha) delta < lambda / 8, with delta = lambda_c / (8 (1 + alpha)):
    alpha_l = min(alpha, (1 + alpha) * lambda_l / lambda_c - 1), floored at 0 (linear in lambda_l, Fig. 6).
    """
    lambdas = 2.0 ** (np.arange(n_bands + 1) + 2)
    if lambda_c <= 0:
        return np.full(n_bands + 1, float(alpha))
    return np.clip((1.0 + alpha) * lambdas / lambda_c - 1.0, 0.0, float(alpha))


def _band_matrix(n_frames: int, fps: float, band: tuple[float, float]) -> np.ndarray:
    """The (T, T) float32 matrix M with ``M @ x == sosfiltfilt(butter band-pass, x, axis=0)`` for x (T, N).

    A Butterworth band-pass of prototype order `BUTTER_ORDER`, run forwards and backwards (zero phase, and the
    magnitude response squared). sosfiltfilt is linear in x (odd padding included), so its response to the identity
    is that matrix; one BLAS product then filters every pyramid pixel (~17x faster than sosfiltfilt on
    200 x 150k float32 samples).
    """
    from scipy.signal import butter, sosfiltfilt  # ~0.4 s to import: not at `cmnet --help`

    sos = butter(BUTTER_ORDER, band, btype="bandpass", fs=fps, output="sos")
    padlen = min(3 * (2 * len(sos) + 1), n_frames - 1)
    return sosfiltfilt(sos, np.eye(n_frames), axis=0, padlen=padlen).astype(np.float32)


def _n_levels(height: int, width: int, levels: int) -> int:
    """Band levels that fit: stop before the residual side drops below 8 px (at least 1 band for >= 16 px)."""
    n = 0
    side = min(height, width)
    while n < levels and side // 2 >= 8:
        side //= 2
        n += 1
    return max(n, 1) if min(height, width) >= 2 else 0


def _level_shape(height: int, width: int, level: int) -> tuple[int, int]:
    """(rows, columns) of pyramid level ``level`` (0 = full size), as cv2.pyrDown rounds: ceil(side / 2)."""
    for _ in range(level):
        height, width = (height + 1) // 2, (width + 1) // 2
    return height, width


def working_bytes(t: int, h: int, w: int, settings: MagnifySettings) -> int:
    """Bytes of the buffers magnifying T frames of H x W px takes with ``settings``: linear, the float32 YIQ
    pyramid (3 channels per level and the residual, ~4/3 x the frames); phase, per luminance band level the band
    and its phase pair (3 float32 channels), the luminance residual, and the uint8 frames (for their chrominance):
    about 1.2x linear's. (The Riesz pair is computed again when reconstructing instead of being kept: as fast,
    and 40 % less memory.)"""
    n_bands = _n_levels(h, w, settings.levels)
    sizes = [t * math.prod(_level_shape(h, w, l)) for l in range(n_bands + 1)]
    if settings.method == "phase":
        return 4 * (3 * sum(sizes[:-1]) + sizes[-1]) + 3 * t * h * w
    return 4 * 3 * sum(sizes)


def _check_size(t: int, h: int, w: int, settings: MagnifySettings) -> None:
    """`TooLargeError` (a ValueError) when `working_bytes` of T frames of H x W px would exceed `MAX_PYRAMID_BYTES`."""
    need = working_bytes(t, h, w, settings)
    if need > MAX_PYRAMID_BYTES:
        raise TooLargeError(f"{t} frames of {w}x{h} px need {need / 1e9:.1f} GB for the {settings.method} "
                         f"magnification (limit {MAX_PYRAMID_BYTES / 1e9:.1f} GB); magnify the face crop or a "
                         "shorter frame range")


class _Stages:
    """Reports progress and checks cancellation between the stages of `magnify_frames`."""

    def __init__(self, progress, cancelled):
        self.progress, self.cancelled = progress, cancelled

    def __call__(self, fraction: float, message: str) -> None:
        if self.cancelled is not None and self.cancelled():
            raise MagnifyCancelled("magnification cancelled")
        if self.progress is not None:
            self.progress(fraction, message)


def _check_frames(frames: np.ndarray) -> None:
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be uint8 RGB of shape (T, H, W, 3), got {frames.dtype} {frames.shape}")
    if frames.shape[0] < 3:
        raise ValueError(f"magnification needs at least 3 frames (a temporal filter), got {frames.shape[0]}; "
                         "choose a longer frame range")


def magnify_frames(frames: np.ndarray, fps: float, settings: MagnifySettings,
                   progress: Callable[[float, str], None] | None = None,
                   cancelled: Callable[[], bool] | None = None) -> np.ndarray:
    """Eulerian magnification of a frame sequence: linear (Wu et al. 2012, Eq. 4-6 and 14, Sec. 4) or phase-based
    (Riesz pyramid, Wadhwa et al. 2014), as ``settings.method`` says.

    Parameters
    ----------
    frames : uint8 RGB, shape (T, H, W, 3), T >= 3 frames, in time order.
    fps : frame rate in frames per second (the band edges are in Hz).
    settings : `MagnifySettings`.
    progress : optional ``progress(fraction in [0, 1], message)``, called per stage.
    cancelled : optional ``cancelled() -> bool``, checked between stages; True raises `MagnifyCancelled`.

    Returns
    -------
    uint8 RGB, shape (T, H, W, 3), rounded and clipped to 0-255. Linear: the input plus the amplified band-passed
    pyramid levels; phase: each luminance level phase-shifted by alpha x its band-passed local phase. Static frames
    come back unchanged (within rounding); zero-phase filtering keeps frame t at t.

    Raises
    ------
    ValueError : wrong shape/dtype, fewer than 3 frames, a band that does not fit ``fps`` (see
        `effective_band`), or working memory (`working_bytes`) above `MAX_PYRAMID_BYTES`.

    Memory: linear ~4/3 x the frames as float32 (a 200-frame 256x256 clip: ~0.28 GB); phase ~1.2x that
    (`working_bytes`). Time grows with T^2 (one (T, T) matrix product per block of
    pixels): magnify long recordings one range at a time. `Magnifier` takes the frames one at a time instead.
    """
    frames = np.asarray(frames)
    _check_frames(frames)
    t, h, w, _ = frames.shape
    magnifier = Magnifier(t, h, w, fps, settings)
    for frame in frames:
        magnifier.add(frame)
    return magnifier.finish(progress, cancelled)


class Magnifier:
    """`magnify_frames` fed one frame at a time: ``add`` builds each frame's pyramid as it arrives (while the
    caller reads the next one), ``finish`` filters along time and reconstructs.

    Parameters: ``n_frames`` T >= 3, ``height`` x ``width`` pixels, ``fps`` (frames/s), `MagnifySettings`.
    Raises ``ValueError`` as `magnify_frames` (band vs fps and the size limit are checked here, before any frame).
    """

    def __init__(self, n_frames: int, height: int, width: int, fps: float, settings: MagnifySettings):
        if n_frames < 3:
            raise ValueError(f"magnification needs at least 3 frames (a temporal filter), got {n_frames}; "
                             "choose a longer frame range")
        self.t, self.h, self.w, self.fps, self.settings = int(n_frames), int(height), int(width), float(fps), settings
        self.band = effective_band(fps, settings)
        self.n_bands = _n_levels(height, width, settings.levels)
        _check_size(self.t, height, width, settings)
        self.count = 0
        impl = _PhaseMagnifier if settings.method == "phase" else _LinearMagnifier
        self._impl = impl(self)

    def add(self, frame: np.ndarray) -> None:
        """Add the next frame (uint8 RGB (height, width, 3)); ValueError for another shape or one too many."""
        if frame.shape != (self.h, self.w, 3) or frame.dtype != np.uint8:
            raise ValueError(f"frame {self.count} is {frame.dtype} {frame.shape}, expected uint8 "
                             f"({self.h}, {self.w}, 3)")
        if self.count >= self.t:
            raise ValueError(f"all {self.t} frames were added already")
        self._impl.add(self.count, frame)
        self.count += 1

    def finish(self, progress: Callable[[float, str], None] | None = None,
               cancelled: Callable[[], bool] | None = None) -> np.ndarray:
        """The magnified frames, uint8 RGB (T, height, width, 3); ValueError when fewer than T were added."""
        if self.count != self.t:
            raise ValueError(f"{self.count} of {self.t} frames were added")
        done = _Stages(progress, cancelled)
        done(0.4, "pyramid built")
        return self._impl.finish(done)


class _LinearMagnifier:
    """Wu et al. 2012: Laplacian pyramid in YIQ, band-passed and amplified per level, added back."""

    def __init__(self, m: Magnifier):
        self.m = m
        t, h, w, n = m.t, m.h, m.w, m.n_bands
        # pyr[l] has shape (T, h_l, w_l, 3), YIQ float32. Colour is converted per frame with cv2.transform
        # (numpy's (N, 3) @ (3, 3) is ~4x slower on long clips).
        self.pyr = [np.empty((t, *_level_shape(h, w, l), 3), np.float32) for l in range(n + 1)]
        self.to_yiq = _RGB_TO_YIQ / np.float32(255.0)

    def add(self, i: int, frame: np.ndarray) -> None:
        g = cv2.transform(frame.astype(np.float32), self.to_yiq)
        for l in range(self.m.n_bands):
            down = cv2.pyrDown(g)
            self.pyr[l][i] = g - cv2.pyrUp(down, dstsize=(g.shape[1], g.shape[0]))
            g = down
        self.pyr[self.m.n_bands][i] = g

    def finish(self, done: "_Stages") -> np.ndarray:
        m, pyr, t = self.m, self.pyr, self.m.t
        # Temporal band-pass + amplification per level (Eq. 4-6, alpha per level by Eq. 14), chroma attenuated.
        band = _band_matrix(t, m.fps, m.band)
        gains = level_alphas(m.settings.alpha, m.settings.lambda_c, m.n_bands)
        channel = np.array([1.0, m.settings.attenuation, m.settings.attenuation], np.float32)
        for l, level in enumerate(pyr):
            if gains[l] > 0:  # a level with gain 0 (finest texture, Eq. 14) is kept as it is
                flat = level.reshape(t, -1)  # columns: pixel-major, Y I Q
                gain = np.tile(gains[l] * channel, _CHUNK // 3)
                for j in range(0, flat.shape[1], _CHUNK):  # column blocks keep the extra memory to T x _CHUNK
                    block = flat[:, j:j + _CHUNK]
                    block += (band @ block) * gain[:block.shape[1]]
            done(0.4 + 0.4 * (l + 1) / len(pyr), f"level {l + 1}/{len(pyr)} filtered")
        # Collapse each frame's pyramid and go back to RGB, rounded and clipped to uint8.
        to_rgb = _YIQ_TO_RGB * np.float32(255.0)
        result = np.empty((t, m.h, m.w, 3), np.uint8)
        n = m.n_bands
        for i in range(t):
            g = pyr[n][i]
            for l in range(n - 1, -1, -1):
                g = cv2.pyrUp(g, dstsize=(pyr[l].shape[2], pyr[l].shape[1])) + pyr[l][i]
            result[i] = np.clip(np.rint(cv2.transform(g, to_rgb)), 0, 255)
        done(1.0, "magnified")
        return result


@lru_cache(maxsize=16)
def _riesz_masks(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The Riesz transform's frequency responses -i w_x / |w| and -i w_y / |w| on numpy's rfft2 grid of a
    ``height`` x ``width`` image (0 at DC and at the Nyquist rows/columns, which must stay real)."""
    wy = np.fft.fftfreq(height)[:, None]
    wx = np.fft.rfftfreq(width)[None, :]
    norm = np.hypot(wx, wy)
    norm[0, 0] = 1.0
    hx, hy = -1j * wx / norm, -1j * wy / norm
    for h in (hx, hy):
        h[0, 0] = 0
        if width % 2 == 0:
            h[:, -1] = 0
        if height % 2 == 0:
            h[height // 2, :] = 0
    return hx.astype(np.complex64), hy.astype(np.complex64)


def _riesz(band: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two Riesz components (x, y) of a float32 band image, float32, computed exactly in the frequency domain
    (the image treated as periodic). Wadhwa et al. 2014 approximate it by the 3-tap filter [0.5, 0, -0.5], which is
    right only near the centre frequency of their purpose-built pyramid's bands; a Laplacian level holds far lower
    frequencies too, where that filter's gain sin(w) drops (at w = 0.39 rad the phase came out 3x too small), so
    the exact transform is used (scipy.fft, in float32: ~0.4 ms for both components at 224x224 px, numpy's 0.6)."""
    import scipy.fft

    hx, hy = _riesz_masks(*band.shape)
    spectrum = scipy.fft.rfft2(band)
    return (scipy.fft.irfft2(spectrum * hx, s=band.shape).astype(np.float32, copy=False),
            scipy.fft.irfft2(spectrum * hy, s=band.shape).astype(np.float32, copy=False))


class _PhaseMagnifier:
    """Wadhwa et al. 2014 (Riesz pyramid), offline: the per-pixel quaternion phase of each luminance level,
    accumulated from frame-to-frame differences (so it is unwrapped along time), zero-phase band-passed over the
    whole range, amplitude-weighted smoothed (`PHASE_SIGMA`), times alpha, and applied as a phase shift."""

    def __init__(self, m: Magnifier):
        self.m = m
        t, h, w, n = m.t, m.h, m.w, m.n_bands
        self.bands = [np.empty((t, *_level_shape(h, w, l)), np.float32) for l in range(n)]   # luminance levels
        self.phase = [np.empty((t, 2, *_level_shape(h, w, l)), np.float32) for l in range(n)]  # (phi cos, phi sin)
        self.residual = np.empty((t, *_level_shape(h, w, n)), np.float32)
        self.frames = np.empty((t, h, w, 3), np.uint8)         # for I, Q, kept as they are
        self.previous: list | None = None
        self.to_yiq = _RGB_TO_YIQ / np.float32(255.0)

    def add(self, i: int, frame: np.ndarray) -> None:
        self.frames[i] = frame
        g = cv2.transform(frame.astype(np.float32), self.to_yiq[:1])
        current = []
        for l in range(self.m.n_bands):
            down = cv2.pyrDown(g)
            band = g - cv2.pyrUp(down, dstsize=(g.shape[1], g.shape[0]))
            self.bands[l][i] = band
            r1, r2 = _riesz(band)
            current.append((band, r1, r2))
            if self.previous is None:
                self.phase[l][i] = 0.0
            else:   # q_current * conj(q_previous): the phase difference along the local orientation
                b0, x0, y0 = self.previous[l]
                real = band * b0 + r1 * x0 + r2 * y0
                x = b0 * r1 - band * x0
                y = b0 * r2 - band * y0
                norm = np.sqrt(x * x + y * y)
                dphi = np.arctan2(norm, real)
                scale = np.divide(dphi, norm, out=np.zeros_like(norm), where=norm > 1e-12)
                self.phase[l][i, 0] = self.phase[l][i - 1, 0] + x * scale
                self.phase[l][i, 1] = self.phase[l][i - 1, 1] + y * scale
            g = down
        self.residual[i] = g
        self.previous = current

    def finish(self, done: "_Stages") -> np.ndarray:
        m, t, n = self.m, self.m.t, self.m.n_bands
        band_matrix = _band_matrix(t, m.fps, m.band)
        gains = level_alphas(m.settings.alpha, m.settings.lambda_c / 2.0, n)
        for l in range(n):
            if gains[l] > 0:
                flat = self.phase[l].reshape(t, -1)
                for j in range(0, flat.shape[1], _CHUNK):
                    block = flat[:, j:j + _CHUNK]
                    block[...] = band_matrix @ block
            done(0.4 + 0.3 * (l + 1) / n, f"level {l + 1}/{n} filtered")
        to_rgb = _YIQ_TO_RGB * np.float32(255.0)
        result = np.empty((t, m.h, m.w, 3), np.uint8)
        for i in range(t):
            if i % 32 == 0:
                done(0.7 + 0.3 * i / t, f"reconstructing frame {i + 1}/{t}")
            g = self.residual[i]
            for l in range(n - 1, -1, -1):
                band = self.bands[l][i]
                if gains[l] > 0:
                    r1, r2 = _riesz(band)
                    amplitude = np.sqrt(band * band + r1 * r1 + r2 * r2)
                    weight = cv2.GaussianBlur(amplitude, (0, 0), PHASE_SIGMA) + np.float32(1e-9)
                    pc = cv2.GaussianBlur(self.phase[l][i, 0] * amplitude, (0, 0), PHASE_SIGMA) / weight
                    ps = cv2.GaussianBlur(self.phase[l][i, 1] * amplitude, (0, 0), PHASE_SIGMA) / weight
                    pc *= gains[l]
                    ps *= gains[l]
                    shift = np.sqrt(pc * pc + ps * ps)
                    sinc = np.divide(np.sin(shift), shift, out=np.ones_like(shift), where=shift > 1e-12)
                    band = np.cos(shift) * band - sinc * (pc * r1 + ps * r2)   # real part of exp(phase) * q
                g = cv2.pyrUp(g, dstsize=(band.shape[1], band.shape[0])) + band
            yiq = cv2.transform(self.frames[i].astype(np.float32), self.to_yiq)
            yiq[..., 0] = g
            result[i] = np.clip(np.rint(cv2.transform(yiq, to_rgb)), 0, 255)
        done(1.0, "magnified")
        return result


class MagnifyCache:
    """A small in-memory LRU of magnified frame stacks, bounded by bytes, safe to share between threads.

    Keys are what `magnify_clip` builds: (clip path, clip name, file size and mtime, first and last frame
    number, settings, crop), so asking again for the same range, settings and crop returns the same array
    without work; a changed file on disk gets a new key. The least recently used entries are dropped once the
    total exceeds ``max_bytes`` (default 512 MB; an array larger than that is never stored). The arrays
    handed out are read-only views: copy before editing.
    """

    def __init__(self, max_bytes: int = 512 * 1024 ** 2):
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        """Bytes held now."""
        with self._lock:
            return sum(a.nbytes for a in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: tuple) -> np.ndarray | None:
        """The stored array for ``key`` (now the most recently used), or None."""
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: tuple, value: np.ndarray) -> np.ndarray:
        """Store ``value`` (made read-only) under ``key``, dropping least recently used entries; returns it."""
        value.flags.writeable = False
        if value.nbytes > self.max_bytes:
            return value
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            total = sum(a.nbytes for a in self._items.values())
            while total > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                total -= dropped.nbytes
        return value

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()


#: The cache `magnify_clip` uses unless given another (or None).
DEFAULT_CACHE = MagnifyCache()


def _file_stamp(path: Path) -> tuple:
    try:
        st = os.stat(path)
    except OSError:
        return ()
    return (st.st_size, st.st_mtime_ns)


def _checked_crop(crop, width: int, height: int) -> tuple[int, int, int, int] | None:
    """``crop`` (x0, y0, x1, y1) pixels rounded and clamped to the frame; ValueError when nothing is left."""
    if crop is None:
        return None
    x0, y0, x1, y1 = (int(round(float(v))) for v in crop)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        raise ValueError(f"crop {tuple(crop)} leaves no image inside the {width}x{height} frame; give "
                         "(x0, y0, x1, y1) in pixels with x0 < x1 <= width and y0 < y1 <= height")
    return x0, y0, x1, y1


def clip_rate(times_s: np.ndarray, fps: float) -> float:
    """Frame rate (frames/s) to filter with: the mean rate of ``times_s`` (seconds, (T,)) when they span time,
    else the nominal ``fps`` (the Butterworth filter assumes even sampling; a variable-rate video is treated
    at its mean rate)."""
    times = np.asarray(times_s, dtype=np.float64)
    if len(times) >= 2 and times[-1] > times[0]:
        return float((len(times) - 1) / (times[-1] - times[0]))
    return float(fps)


def magnify_clip(clip, settings: MagnifySettings, crop: tuple[float, float, float, float] | None = None,
                 progress: Callable[[float, str], None] | None = None,
                 cancelled: Callable[[], bool] | None = None, *,
                 frame_range: tuple[int, int] | None = None,
                 cache: MagnifyCache | None = DEFAULT_CACHE) -> np.ndarray:
    """Magnify the frames of a `cmnet_core.data.clip.Clip` (Wu et al. 2012; see `magnify_frames`).

    Parameters
    ----------
    clip : the clip; its frames are read with ``clip.frame(n)`` and filtered at the mean rate of
        ``clip.times_s`` over the range (else ``clip.fps``), see `clip_rate`.
    settings : `MagnifySettings` (``region`` is only recorded; pass the face box as ``crop``).
    crop : optional box ``(x0, y0, x1, y1)`` in pixels of the full frame (x1, y1 exclusive), clamped to it.
    progress, cancelled : as in `magnify_frames` (reading the frames counts as the first 30 %).
    frame_range : ``(first, last)`` source frame numbers, inclusive; default the whole clip.
    cache : a `MagnifyCache` (default `DEFAULT_CACHE`), or None to always compute.

    Returns
    -------
    uint8 RGB (T, h, w, 3) for the T frames of the range, cropped (read-only when it came from the cache).

    Raises
    ------
    ValueError : fewer than 3 frames in the range, an empty crop, a band that does not fit the rate, or
        too many pixels (`TooLargeError`, `MAX_PYRAMID_BYTES`; checked before any frame is read).
    ClipError : a frame folder whose frames in the range are not all one size (names the odd file; checked
        from the image headers before any frame is read), or a frame that cannot be read.
    MagnifyCancelled : ``cancelled()`` returned True.  KeyError / ClipError : a frame cannot be read.
    """
    numbers = list(clip.frame_numbers)
    idx = list(range(len(numbers)))
    if frame_range is not None:
        first, last = frame_range
        idx = [i for i, n in enumerate(numbers) if first <= n <= last]
    if len(idx) < 3:
        raise ValueError(f"{clip.path}: magnification needs at least 3 frames, the range {frame_range or 'all'} "
                         f"has {len(idx)}; choose a longer range")
    width, height = clip.size if hasattr(clip, "size") else clip.frame(numbers[idx[0]]).shape[1::-1]
    box = _checked_crop(crop, width, height)
    if box is not None:
        width, height = box[2] - box[0], box[3] - box[1]
    _check_size(len(idx), height, width, settings)  # before reading frames
    from .data.readers import check_one_size

    check_one_size(clip, [numbers[i] for i in idx])   # a frame folder's frames must be one size to stack
    times = np.asarray(clip.times_s, dtype=np.float64)[idx]
    fps = clip_rate(times, clip.fps)
    key = (str(clip.path), clip.name, _file_stamp(clip.path), numbers[idx[0]], numbers[idx[-1]], len(idx),
           astuple(settings), box)
    if cache is not None:
        hit = cache.get(key)
        if hit is not None:
            if progress is not None:
                progress(1.0, "magnified (cached)")
            return hit
    frames = []
    for k, i in enumerate(idx):
        if cancelled is not None and k % 16 == 0 and cancelled():
            raise MagnifyCancelled("magnification cancelled")
        image = clip.frame(numbers[i])
        frames.append(image if box is None else image[box[1]:box[3], box[0]:box[2]])
        if progress is not None and k % 16 == 0:
            progress(0.3 * k / len(idx), f"reading frame {k + 1}/{len(idx)}")
    stack = np.ascontiguousarray(np.stack(frames))
    del frames

    def inner(fraction: float, message: str) -> None:
        if progress is not None:
            progress(0.3 + 0.7 * fraction, message)

    result = magnify_frames(stack, fps, settings, progress=inner, cancelled=cancelled)
    return cache.put(key, result) if cache is not None else result


def write_video(frames: np.ndarray, path: str | Path, fps: float, times_s: np.ndarray | None = None,
                crf: int = 16) -> Path:
    """Write uint8 RGB frames (T, H, W, 3) as an H.264 (libx264, yuv420p) mp4 at ``path``, atomically.

    ``crf`` is x264's constant rate factor (0 lossless .. 51; 16 is visually lossless for viewing; preset
    ``veryfast``, ~3x faster than the default at a slightly larger file). ``times_s`` (float (T,), seconds,
    increasing) stamps each frame's pts (1/90000 s ticks) so a variable-rate
    clip keeps its timing; without it frames are ``1 / fps`` s apart. An odd width or height is padded by one
    edge-replicated pixel (yuv420p needs even sides). The file is written beside the target under a temporary
    name and moved over it only when complete, so an old file survives a failed write; it gets the mode of the
    file it replaces, or that of a plain new file (`cmnet_core.safe_write.replacing`).

    Raises ``ValueError`` for a wrong shape/dtype, no frames, fps <= 0 or times that do not match or do not
    increase; ``OSError`` naming ``path`` (never the temporary name) when it cannot be written, `DiskFullError`
    when the disk is full.
    """
    import av

    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or len(frames) == 0:
        raise ValueError(f"frames must be uint8 RGB of shape (T, H, W, 3), T >= 1; got {frames.dtype} "
                         f"{frames.shape}")
    if not (fps > 0 and math.isfinite(fps)):
        raise ValueError(f"fps {fps!r} must be positive")
    tb = Fraction(1, 90000)
    if times_s is not None:
        times = np.asarray(times_s, dtype=np.float64)
        if times.shape != (len(frames),):
            raise ValueError(f"times_s has shape {times.shape}, expected ({len(frames)},): one time per frame")
        pts = np.round((times - times[0]) / float(tb)).astype(np.int64)
        if np.any(np.diff(pts) <= 0):
            raise ValueError("times_s must increase from frame to frame")
    else:
        pts = np.round(np.arange(len(frames)) / fps / float(tb)).astype(np.int64)
    h, w = frames.shape[1:3]
    pad_h, pad_w = h % 2, w % 2
    path = Path(path)
    with replacing(path, suffix=path.suffix or ".mp4") as tmp:
        with av.open(str(tmp), "w", format="mp4") as out:
            stream = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
            stream.width, stream.height = w + pad_w, h + pad_h
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": str(int(crf)), "preset": "veryfast"}
            stream.time_base = tb
            stream.codec_context.time_base = tb
            for image, p in zip(frames, pts):
                if pad_h or pad_w:
                    image = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
                frame.pts, frame.time_base = int(p), tb
                out.mux(stream.encode(frame))
            out.mux(stream.encode())
    return path
