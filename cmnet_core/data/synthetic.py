"""Procedural micro-expression clips with a known intensity curve, for tests, the demo and validation.

Each clip shows one drawn face (an *identity*: face shape, skin tone, hair, eye/brow/nose/mouth
placement, background) performing one AU-like local motion whose intensity rises from the onset to
the apex and falls back to the offset. Amplitudes are *micro*: a few pixels at 224 px at the apex,
scaled to the render size. Distractors that a recogniser must ignore are added on top: small head
motion (drift + jitter), blinks at random times, lighting flicker and sensor noise.

Classes (named by the field's emotions, FACS AUs as in the CASME II coding):

=============  ======  =========================================================
happiness      12      lip corners pulled up and slightly outwards
surprise       1+2     inner and outer brows raised
disgust        4       brows lowered and drawn together
repression     14+24   lips pressed thinner, corners tightened inwards
=============  ======  =========================================================

Rendering is anti-aliased with sub-pixel geometry: every shape is drawn with OpenCV at
``SUPERSAMPLE`` times the output size using fixed-point coordinates (``shift`` bits) and
``LINE_AA``, then reduced with area averaging, so a 0.3-pixel motion changes the pixels smoothly.
Everything is deterministic by seed; frames are rendered lazily by `SyntheticSource`.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import zlib
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import cv2
import numpy as np
from scipy.ndimage import gaussian_filter1d

from .clip import Annotation, Clip
from .database_types import Database

SYNTHETIC_LABELS: tuple[str, ...] = ("happiness", "surprise", "disgust", "repression")
"""The classes the generator can draw, in protocol order (index = class id)."""

SYNTHETIC_AUS: dict[str, str] = {"happiness": "12", "surprise": "1+2", "disgust": "4", "repression": "14+24"}
"""The FACS action units each class imitates."""

SPEC_FILE, SHEET_FILE, TRUTH_FILE = "synthetic.json", "clips.csv", "truth.json"
"""Files of a synthetic tree on disk: the generator parameters, the annotation sheet, the ground truth."""
SHEET_COLUMNS = ("subject", "clip", "onset", "apex", "offset", "emotion", "aus", "notes")
FRAME_PATTERN = "img{:04d}.png"

REFERENCE_SIZE = 224
"""Amplitudes and head motion are given in pixels at this render size and scaled to the actual one."""

SUPERSAMPLE = 4
_SHIFT = 4  # fixed-point bits for OpenCV drawing
_ONE = 1 << _SHIFT

_SKIN_TONES = ((250, 222, 196), (238, 194, 160), (224, 172, 120), (196, 138, 90), (150, 100, 64), (100, 66, 46))
_HAIR_COLOURS = ((24, 18, 14), (62, 42, 28), (112, 76, 44), (182, 142, 88), (128, 124, 120), (150, 60, 30))
_IRIS_COLOURS = ((70, 44, 24), (40, 26, 16), (70, 110, 150), (80, 110, 70), (100, 100, 104))


# ---------------------------------------------------------------------------------------------
# identity and per-clip parameters
# ---------------------------------------------------------------------------------------------
def _rng(seed: int | Sequence[int], stream: int) -> np.random.Generator:
    """A generator for one purpose (``stream``) of one seed; seeds may be ints or int sequences."""
    entropy = [int(s) for s in (seed if isinstance(seed, Sequence) else [seed])]
    return np.random.default_rng(entropy + [stream])


@dataclass(frozen=True)
class FaceIdentity:
    """The static look of one synthetic subject. Lengths are fractions of the image side.

    ``centre``/``half_size``: face ellipse centre (x, y) and half-axes (width, height);
    ``eye_y``, ``eye_dx``, ``eye_half``: eye-centre height, distance from the midline, half-axes;
    ``brow_gap``: eye centre to brow centre line; ``brow_half_len``, ``brow_thick``, ``brow_arch``;
    ``nose_y``, ``nose_half_w``: nose tip height and nostril half-width;
    ``mouth_y``, ``mouth_half_w``, ``lip_upper``, ``lip_lower``, ``mouth_curve`` (neutral corner
    height, + = down); ``hair_line``: forehead height covered by the hair band, as a fraction of the
    face half-height above the centre; colours as RGB tuples.
    """

    centre: tuple[float, float]
    half_size: tuple[float, float]
    eye_y: float
    eye_dx: float
    eye_half: tuple[float, float]
    brow_gap: float
    brow_half_len: float
    brow_thick: float
    brow_arch: float
    nose_y: float
    nose_half_w: float
    mouth_y: float
    mouth_half_w: float
    lip_upper: float
    lip_lower: float
    mouth_curve: float
    hair_line: float
    skin: tuple[int, int, int]
    hair: tuple[int, int, int]
    iris: tuple[int, int, int]
    lips: tuple[int, int, int]
    clothes: tuple[int, int, int]
    background: tuple[tuple[int, int, int], tuple[int, int, int]]

    @classmethod
    def random(cls, seed: int | Sequence[int]) -> "FaceIdentity":
        """A random but plausible identity, deterministic by ``seed`` (an int or a sequence of ints)."""
        r = _rng(seed, 0)
        u = r.uniform

        def jitter(colour, amount):
            return tuple(int(np.clip(c + r.integers(-amount, amount + 1), 0, 255)) for c in colour)

        a, b = u(0.27, 0.32), u(0.35, 0.39)
        cx, cy = 0.5 + u(-0.015, 0.015), 0.49 + u(-0.015, 0.015)
        eye_half_w = a * u(0.15, 0.19)
        skin = jitter(_SKIN_TONES[r.integers(len(_SKIN_TONES))], 8)
        hair = jitter(_HAIR_COLOURS[r.integers(len(_HAIR_COLOURS))], 10)
        lips = tuple(int(0.55 * s + 0.45 * t) for s, t in zip(skin, (175, 60, 70)))
        bg_base = r.integers(60, 220, size=3)
        bg_top = tuple(int(v) for v in bg_base)
        bg_bottom = tuple(int(np.clip(v + r.integers(-50, 51), 0, 255)) for v in bg_base)
        return cls(
            centre=(cx, cy), half_size=(a, b),
            eye_y=cy - b * u(0.08, 0.16), eye_dx=a * u(0.36, 0.44), eye_half=(eye_half_w, eye_half_w * u(0.42, 0.52)),
            brow_gap=b * u(0.18, 0.23), brow_half_len=eye_half_w * u(1.15, 1.35), brow_thick=b * u(0.035, 0.05),
            brow_arch=b * u(0.015, 0.035),
            nose_y=cy + b * u(0.22, 0.30), nose_half_w=a * u(0.12, 0.16),
            mouth_y=cy + b * u(0.52, 0.60), mouth_half_w=a * u(0.30, 0.38),
            lip_upper=b * u(0.055, 0.075), lip_lower=b * u(0.07, 0.095), mouth_curve=b * u(-0.015, 0.02),
            hair_line=u(0.62, 0.82),
            skin=skin, hair=hair, iris=jitter(_IRIS_COLOURS[r.integers(len(_IRIS_COLOURS))], 10), lips=lips,
            clothes=tuple(int(v) for v in r.integers(30, 200, size=3)),
            background=(bg_top, bg_bottom),
        )


@dataclass(frozen=True)
class Distractors:
    """Nuisances added to every clip. ``head_motion_px``: largest head displacement (drift + jitter)
    in pixels at 224 px; ``blink_probability``: chance of one blink per clip; ``flicker``: relative
    amplitude of the lighting gain; ``noise_sigma``: Gaussian sensor noise in grey levels (0..255)."""

    head_motion_px: float = 1.2
    blink_probability: float = 0.4
    flicker: float = 0.015
    noise_sigma: float = 1.5

    @classmethod
    def none(cls) -> "Distractors":
        """No distractors at all (a clean clip: only the AU motion changes between frames)."""
        return cls(0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class SyntheticRecipe:
    """A named condition of the generator (``cmnet make-synthetic --recipe``, `scripts/bench_fidelity.py`).

    amplitude_range : (low, high) apex AU displacement in pixels at 224 px, drawn uniformly per clip.
    distractors : the `Distractors` of every clip.  description : one line for help texts and reports.
    generator : ``"cartoon"`` (drawn faces, this module) or ``"real_texture"`` (warped real face photographs,
        `cmnet_core.data.real_texture`; train and test people must then be split by person, `split_persons`).
    """

    name: str
    amplitude_range: tuple[float, float]
    distractors: Distractors
    description: str
    generator: str = "cartoon"


#: The generator's conditions. Real micro-expressions move a few pixels at 224 px (DESIGN.md §7); the demo's
#: motion is exaggerated so that it is visible at 48-64 px; the wide realistic range lets a benchmark check
#: whether a clip-level intensity ranks clips by strength.
SYNTHETIC_RECIPES: dict[str, SyntheticRecipe] = {
    "demo": SyntheticRecipe("demo", (9.0, 15.0), Distractors(0.6, 0.2, 0.01, 1.0),
                            "exaggerated motion (9-15 px at 224 px), mild distractors: the app's demo"),
    "realistic": SyntheticRecipe("realistic", (1.5, 5.0), Distractors(),
                                 "micro-expression amplitude (1.5-5 px at 224 px), default distractors"),
    "hard": SyntheticRecipe("hard", (1.5, 5.0), Distractors(3.0, 0.8, 0.04, 2.5),
                            "realistic amplitude plus 3 px head motion, blinks in 80 % of clips, 4 % lighting "
                            "flicker, noise σ 2.5"),
    "real_texture": SyntheticRecipe("real_texture", (1.0, 4.0), Distractors(1.5, 0.5, 0.02, 2.0),
                                    "real face photographs warped by AU-shaped fields (1-4 px at 224 px), 1.5 px head "
                                    "motion, blinks in 50 % of clips, 2 % lighting gain/gradient, noise σ 2",
                                    generator="real_texture"),
}


def intensity_curve(n_frames: int, onset_index: int, apex_index: int, offset_index: int) -> np.ndarray:
    """True intensity per frame index, shape (n_frames,), in [0, 1].

    0 up to the onset, a smoothstep rise to 1 at the apex, a smoothstep fall to 0 at the offset,
    0 after it; monotone on each side. Requires ``onset_index < apex_index < offset_index``.
    """
    if not 0 <= onset_index < apex_index < offset_index < n_frames:
        raise ValueError(f"need 0 <= onset < apex < offset < {n_frames}, "
                         f"got {onset_index}, {apex_index}, {offset_index}")
    i = np.arange(n_frames, dtype=np.float64)
    t = np.where(i <= apex_index, (i - onset_index) / (apex_index - onset_index),
                 (offset_index - i) / (offset_index - apex_index))
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


@dataclass(frozen=True)
class ClipMotion:
    """What changes over one clip, per frame index i = 0..L-1 (frame number i + 1).

    ``amplitude``: AU displacement at the apex, output pixels; ``intensity`` (L,): true intensity
    0..1; ``blink`` (L,): eyelid closure 0..1; ``head`` (L, 2): head offset (x, y), output pixels;
    ``gain`` (L,): lighting gain; ``noise_sigma``: grey levels; ``noise_seed``: seeds the noise.
    """

    label: str
    amplitude: float  # apex displacement in output pixels
    intensity: np.ndarray  # (L,)
    blink: np.ndarray  # (L,) eyelid closure 0..1
    head: np.ndarray  # (L, 2) head offset in output pixels (x, y)
    gain: np.ndarray  # (L,) lighting gain
    noise_sigma: float
    noise_seed: tuple[int, ...]


# ---------------------------------------------------------------------------------------------
# drawing
# ---------------------------------------------------------------------------------------------
def _fx(points: np.ndarray) -> np.ndarray:
    """Output-pixel coordinates (pixel centres at integers) -> fixed-point supersampled ints."""
    ss = (np.asarray(points, dtype=np.float64) + 0.5) * SUPERSAMPLE - 0.5
    return np.round(ss * _ONE).astype(np.int32)


def _opaque(img: np.ndarray, colour) -> tuple:
    """An RGB colour for ``img``; on an RGBA layer it also marks the pixels as covered."""
    return (*colour, 255) if img.shape[2:] == (4,) else tuple(colour)


def _fill(img: np.ndarray, pts: np.ndarray, colour) -> None:
    cv2.fillPoly(img, [_fx(pts).reshape(-1, 1, 2)], _opaque(img, colour), cv2.LINE_AA, _SHIFT)


def _line(img: np.ndarray, pts: np.ndarray, colour, width: float) -> None:
    thick = max(1, int(round(width * SUPERSAMPLE)))
    cv2.polylines(img, [_fx(pts).reshape(-1, 1, 2)], False, _opaque(img, colour), thick, cv2.LINE_AA, _SHIFT)


def _ellipse_pts(cx: float, cy: float, ax: float, ay: float, n: int = 48, start: float = 0.0,
                 stop: float = 2 * np.pi) -> np.ndarray:
    t = np.linspace(start, stop, n)
    return np.stack([cx + ax * np.cos(t), cy + ay * np.sin(t)], axis=1)


def _bezier(p0, p1, p2, n: int = 20) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n)[:, None]
    p0, p1, p2 = (np.asarray(p, dtype=np.float64) for p in (p0, p1, p2))
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t ** 2 * p2


def _shade(colour, factor: float) -> tuple[int, int, int]:
    return tuple(int(np.clip(c * factor, 0, 255)) for c in colour)


@lru_cache(maxsize=8)
def _static_layers(identity: FaceIdentity, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The parts that never move relative to the head, drawn once per identity and size.

    Returns (head: RGBA uint8 at ``SUPERSAMPLE`` x ``size``, colours premultiplied on black and
    alpha = coverage; background: float32 (S, S, 3) at ``size``).
    """
    s = float(size)
    ss = size * SUPERSAMPLE
    face = np.zeros((ss, ss, 4), np.uint8)
    (cx, cy), (a, b) = (np.array(identity.centre) * s), (np.array(identity.half_size) * s)

    skin = identity.skin
    # clothes and neck, reaching past the bottom edge so head motion never uncovers them
    _fill(face, _ellipse_pts(cx, s * 1.12, s * 0.52, s * 0.24), identity.clothes)
    neck = np.array([[cx - 0.5 * a, cy + 0.5 * b], [cx + 0.5 * a, cy + 0.5 * b],
                     [cx + 0.55 * a, s * 1.05], [cx - 0.55 * a, s * 1.05]])
    _fill(face, neck, _shade(skin, 0.82))
    # hair behind the head, ears, the face
    _fill(face, _ellipse_pts(cx, cy - 0.06 * b, a * 1.1, b * 1.06), identity.hair)
    ear_y = (identity.eye_y + identity.nose_y) * 0.5 * s
    for side in (-1, 1):
        _fill(face, _ellipse_pts(cx + side * a * 0.98, ear_y, a * 0.13, b * 0.17), _shade(skin, 0.9))
    _fill(face, _ellipse_pts(cx, cy, a, b, 72), skin)
    # forehead hair band: the part of a slightly larger ellipse above the hair line
    by, ba, bb = cy - 0.02 * b, a * 1.04, b * 1.04
    dip = np.arcsin((by - (cy - identity.hair_line * b)) / bb)  # where the hair line meets the band ellipse
    _fill(face, _ellipse_pts(cx, by, ba, bb, 64, np.pi + dip, 2 * np.pi - dip), identity.hair)
    # gentle shading towards the face border (a rounder look), applied inside the face only
    yy, xx = (np.mgrid[0:ss, 0:ss].astype(np.float32) + 0.5) / SUPERSAMPLE - 0.5
    r2 = ((xx - cx) / a) ** 2 + ((yy - cy) / b) ** 2
    shade = 1.0 - 0.16 * np.clip(r2, 0.0, 1.2) ** 2
    face[..., :3] = np.clip(face[..., :3] * shade[..., None], 0, 255).astype(np.uint8)
    # cheeks, a faint blush
    blush = face.copy()
    for side in (-1, 1):
        _fill(blush, _ellipse_pts(cx + side * a * 0.52, identity.nose_y * s, a * 0.2, b * 0.1),
              _shade(identity.lips, 1.05))
    face = cv2.addWeighted(blush, 0.25, face, 0.75, 0.0)
    # nose: bridge shadow, tip, nostrils
    ny, nw = identity.nose_y * s, identity.nose_half_w * s
    nose_dark = _shade(skin, 0.72)
    bridge_top = identity.eye_y * s + 0.05 * b
    _line(face, _bezier((cx - 0.35 * nw, bridge_top), (cx - 0.55 * nw, ny - 0.3 * nw), (cx - 0.75 * nw, ny)),
          _shade(skin, 0.85), 0.012 * s)
    _line(face, _bezier((cx - nw, ny - 0.1 * nw), (cx, ny + 0.55 * nw), (cx + nw, ny - 0.1 * nw)), nose_dark,
          0.014 * s)
    for side in (-1, 1):
        _fill(face, _ellipse_pts(cx + side * 0.45 * nw, ny + 0.02 * nw, 0.22 * nw, 0.11 * nw), _shade(skin, 0.45))
    # background: a vertical gradient in the output resolution
    top, bottom = (np.array(c, np.float32) for c in identity.background)
    ramp = np.linspace(0.0, 1.0, size, dtype=np.float32)[:, None, None]
    background = np.broadcast_to(top * (1 - ramp) + bottom * ramp, (size, size, 3)).copy()
    return face, background


def _draw_eye(img, identity: FaceIdentity, side: int, closure: float, size: int) -> None:
    s = float(size)
    cx = identity.centre[0] * s + side * identity.eye_dx * s
    cy = identity.eye_y * s
    w, h = identity.eye_half[0] * s, identity.eye_half[1] * s
    _fill(img, _ellipse_pts(cx, cy, w, h), (246, 244, 238))
    r = 0.9 * h
    _fill(img, _ellipse_pts(cx, cy, r, r, 32), identity.iris)
    _fill(img, _ellipse_pts(cx, cy, 0.45 * r, 0.45 * r, 24), (12, 10, 10))
    _fill(img, _ellipse_pts(cx + 0.3 * r, cy - 0.3 * r, 0.15 * r, 0.15 * r, 12), (250, 250, 250))
    # upper eyelid: covers the eye from its top arc down to an edge that sinks with the closure
    x = np.linspace(-w, w, 25)
    arc = np.sqrt(np.clip(1 - (x / w) ** 2, 0, 1))
    top = np.stack([cx + x, cy - h * arc], axis=1)
    edge = np.stack([cx + x, cy - h * (1 - 2 * closure) * arc], axis=1)
    if closure > 0:
        _fill(img, np.concatenate([top, edge[::-1]]), _shade(identity.skin, 0.9))
    _line(img, edge, (30, 22, 20), 0.011 * s)


def _draw_brow(img, identity: FaceIdentity, side: int, label: str, d: float, size: int) -> None:
    """``d``: this frame's AU displacement in output pixels (amplitude x intensity)."""
    s = float(size)
    cx = identity.centre[0] * s + side * identity.eye_dx * s
    cy = (identity.eye_y - identity.brow_gap) * s
    half = identity.brow_half_len * s
    inner = np.array([cx - side * half * 0.9, cy + 0.1 * half])
    outer = np.array([cx + side * half * 1.1, cy + 0.15 * half])
    if label == "surprise":  # AU1 (inner raiser) + AU2 (outer raiser)
        inner += (0.0, -d)
        outer += (0.0, -0.85 * d)
    elif label == "disgust":  # AU4 (brow lowerer): down and towards the midline
        inner += (side * 0.6 * d, d)
        outer += (0.0, 0.6 * d)
    ctrl = (inner + outer) / 2 + (0.0, -2 * identity.brow_arch * s)
    centre = _bezier(inner, ctrl, outer, 18)
    tangent = np.gradient(centre, axis=0)
    normal = np.stack([tangent[:, 1], -tangent[:, 0]], axis=1)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    normal *= np.sign(normal[:, 1:2] + 1e-9) * -1  # point upwards (negative y)
    thick = identity.brow_thick * s * np.linspace(0.6, 0.35, len(centre))[:, None]
    band = np.concatenate([centre + normal * thick, (centre - normal * thick)[::-1]])
    _fill(img, band, _shade(identity.hair, 0.8))


def _draw_mouth(img, identity: FaceIdentity, label: str, d: float, size: int) -> None:
    s = float(size)
    mx, my = identity.centre[0] * s, identity.mouth_y * s
    w = identity.mouth_half_w * s
    up, low = identity.lip_upper * s, identity.lip_lower * s
    corner_dx, corner_dy = 0.0, identity.mouth_curve * s
    if label == "happiness":  # AU12 (lip corner puller): corners up and a little outwards
        corner_dx, corner_dy = 0.35 * d, corner_dy - d
    elif label == "repression":  # AU14 (dimpler) + AU24 (lip presser): thinner lips, corners in
        corner_dx = -0.3 * d
        up, low = up - 0.6 * d, low - 0.6 * d
    left = np.array([mx - w - corner_dx, my + corner_dy])
    right = np.array([mx + w + corner_dx, my + corner_dy])
    centre = np.array([mx, my])
    line = _bezier(left, 2 * centre - (left + right) / 2, right, 25)
    t = np.linspace(0.0, 1.0, len(line))
    bow = 1.0 - 0.3 * np.exp(-((t - 0.5) / 0.07) ** 2)
    upper = line - np.stack([np.zeros_like(t), up * np.sin(np.pi * t) ** 0.6 * bow], axis=1)
    lower = line + np.stack([np.zeros_like(t), low * np.sin(np.pi * t) ** 0.8], axis=1)
    _fill(img, np.concatenate([line, upper[::-1]]), _shade(identity.lips, 0.88))
    _fill(img, np.concatenate([line, lower[::-1]]), identity.lips)
    _line(img, line, _shade(identity.lips, 0.45), 0.009 * s)


def render_frame(identity: FaceIdentity, label: str, displacement: float, closure: float = 0.0,
                 head: tuple[float, float] = (0.0, 0.0), gain: float = 1.0, noise: np.ndarray | None = None,
                 size: int = 128) -> np.ndarray:
    """Draw one frame.

    Parameters
    ----------
    identity : the face.  label : the class whose AU motion is applied (one of `SYNTHETIC_LABELS`).
    displacement : AU displacement in output pixels (amplitude x intensity; 0 = neutral face).
    closure : eyelid closure 0 (open) .. 1 (shut).  head : head offset (x, y) in output pixels.
    gain : lighting gain.  noise : additive noise in grey levels, shape (size, size, 3), or None.

    Returns uint8 RGB of shape (size, size, 3). Raises ``ValueError`` for an unknown label.
    """
    if label not in SYNTHETIC_LABELS:
        raise ValueError(f"unknown synthetic label {label!r}; known: {', '.join(SYNTHETIC_LABELS)}")
    head_static, background = _static_layers(identity, size)
    face = head_static.copy()
    for side in (-1, 1):
        _draw_eye(face, identity, side, closure, size)
        _draw_brow(face, identity, side, label, displacement, size)
    _draw_mouth(face, identity, label, displacement, size)
    ss = size * SUPERSAMPLE
    if head != (0.0, 0.0):
        shift = np.float32([[1, 0, head[0] * SUPERSAMPLE], [0, 1, head[1] * SUPERSAMPLE]])
        face = cv2.warpAffine(face, shift, (ss, ss), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    small = cv2.resize(face, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32)
    out = (background * (1.0 - small[..., 3:] / 255.0) + small[..., :3]) * gain
    if noise is not None:
        out = out + noise
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# clips
# ---------------------------------------------------------------------------------------------
class GeneratedSource:
    """Base of the `FrameSource` s whose frames a generator makes on demand (`SyntheticSource`, and
    `cmnet_core.data.real_texture.TextureSource`): frame numbers 1..L from ``motion.intensity`` (L,), square
    frames of ``size`` px, ``fps`` frames per second, ``path`` ``synthetic://<subject>/<clip>``. Subclasses
    implement ``read``; `_index` checks a frame number.
    """

    def __init__(self, identity, motion, size: int, fps: float, path: str):
        self.identity = identity
        self.motion = motion
        self.path = Path(path)
        self.frame_numbers = list(range(1, len(motion.intensity) + 1))
        self.fps = float(fps)
        self.size = (size, size)

    def _index(self, number: int) -> int:
        """0-based index of frame ``number``; ``KeyError`` for a number outside 1..L."""
        if not 1 <= number <= len(self.frame_numbers):
            raise KeyError(f"{self.path}: no frame {number} (frames 1..{len(self.frame_numbers)})")
        return number - 1

    def close(self) -> None:
        """Nothing to release (the generators cache what they draw module-wide)."""


class SyntheticSource(GeneratedSource):
    """A `FrameSource` that renders the frames of one synthetic clip on demand.

    ``path`` is ``synthetic://<subject>/<clip>``; frame numbers are 1..L; ``read(n)`` is
    deterministic (noise is seeded by clip and frame number, not by reading order).
    ``identity`` (`FaceIdentity`) and ``motion`` (`ClipMotion`) are the ground truth behind the pixels.
    """

    def read(self, number: int) -> np.ndarray:
        """Frame ``number`` (1..L) as uint8 RGB (S, S, 3); ``KeyError`` for a number outside the clip."""
        m, i, size = self.motion, self._index(number), self.size[0]
        noise = None
        if m.noise_sigma > 0:
            noise = _rng(m.noise_seed, 1000 + number).standard_normal((size, size, 3), np.float32) * m.noise_sigma
        return render_frame(self.identity, m.label, m.amplitude * float(m.intensity[i]), float(m.blink[i]),
                            (float(m.head[i, 0]), float(m.head[i, 1])), float(m.gain[i]), noise, size)


def head_track(r: np.random.Generator, n_frames: int, limit: float) -> np.ndarray:
    """Head translation per frame, (n_frames, 2) pixels: a straight drift plus smoothed jitter, capped at
    ``limit`` pixels. Draws from ``r`` (the generators' distractor tracks share this draw order)."""
    t = np.linspace(0.0, 1.0, n_frames)[:, None]
    drift = r.normal(0.0, 1.0, 2) * 0.5 * limit * t
    jitter = np.cumsum(r.normal(0.0, 1.0, (n_frames, 2)), axis=0)
    jitter = gaussian_filter1d(jitter, 2.0, axis=0)
    jitter -= jitter.mean(axis=0)
    jitter *= 0.4 * limit / max(np.abs(jitter).max(), 1e-9)
    head = drift + jitter
    peak = np.abs(head).max()
    if peak > limit:
        head *= limit / peak
    return head


def blink_track(r: np.random.Generator, n_frames: int, probability: float, fps: float) -> np.ndarray:
    """Eye closure per frame, (n_frames,) in [0, 1]: with ``probability`` one blink that rises and falls over
    6..12 frames at 200 fps (scaled by ``fps``), else zeros. All draws happen whatever ``probability`` is, so
    switching a distractor off leaves the others unchanged."""
    blinks = r.random() < probability
    length = max(3, int(round(r.uniform(6, 12) * fps / 200.0)))
    k = np.arange(n_frames) - int(r.integers(-length // 2, n_frames - length // 2))
    return np.clip(np.sin(np.pi * k / length), 0, 1) * ((k >= 0) & (k <= length)) * blinks


def flicker_gain(r: np.random.Generator, n_frames: int, flicker: float, fps: float) -> np.ndarray:
    """Global lighting gain per frame, (n_frames,): 1 + ``flicker`` × (a 2-8 Hz sinusoid + per-frame flutter)."""
    phase, freq = r.uniform(0, 2 * np.pi), r.uniform(2.0, 8.0)  # Hz
    tsec = np.arange(n_frames) / fps
    flutter = r.uniform(-1, 1, n_frames)
    return 1.0 + flicker * (0.7 * np.sin(2 * np.pi * freq * tsec + phase) + 0.3 * flutter)


def _motion(seed, label: str, n_frames: int, onset_i: int, apex_i: int, offset_i: int, amplitude: float,
            distractors: Distractors, size: int, fps: float) -> ClipMotion:
    r = _rng(seed, 2)
    head = head_track(r, n_frames, distractors.head_motion_px * size / REFERENCE_SIZE)
    blink = blink_track(r, n_frames, distractors.blink_probability, fps)
    gain = flicker_gain(r, n_frames, distractors.flicker, fps)
    return ClipMotion(label, amplitude, intensity_curve(n_frames, onset_i, apex_i, offset_i), blink, head, gain,
                   distractors.noise_sigma, tuple(int(v) for v in np.atleast_1d(seed)) + (zlib.crc32(label.encode()),))


def make_synthetic_clip(seed: int | Sequence[int], label: str, subject: str = "s01", *,
                        identity: FaceIdentity | None = None, name: str | None = None, image_size: int = 128,
                        fps: float = 200.0, amplitude_px: float | None = None,
                        distractors: Distractors = Distractors(), n_frames: int | None = None,
                        amplitude_range: tuple[float, float] = (2.5, 4.0)) -> Clip:
    """One synthetic micro-expression clip, deterministic by ``seed``.

    Parameters
    ----------
    seed : int or sequence of ints; drives the clip length, onset/apex/offset, amplitude and
        distractors (and the identity when ``identity`` is None).
    label : one of `SYNTHETIC_LABELS`.  subject : subject id stored on the clip.
    identity : the face to draw; default ``FaceIdentity.random(seed)``.
    name : clip name; default ``"<label>_<crc>"``.  image_size : side S of the square frames, pixels.
    fps : frame rate (200 like CASME II).  amplitude_px : apex displacement in pixels at 224 px
        (default: uniform in ``amplitude_range``, 2.5..4.0 px unless given), scaled to ``image_size``.
    distractors : `Distractors` (``Distractors.none()`` for a clean clip).
    n_frames : clip length L (default: uniform in 24..40 frames).

    Returns
    -------
    `Clip` with frames 1..L (uint8 RGB (S, S, 3), rendered lazily), annotation onset/apex/offset
    (frame numbers), emotion, AUs (`SYNTHETIC_AUS`), ``true_intensity`` {frame: [0, 1]} (0 at onset
    and offset, 1 at the apex) and ``landmarks_hint`` (5, 2) for frame 1, pixels (x, y), in the
    order left eye, right eye, nose tip, left mouth corner, right mouth corner (left = smaller x).

    Raises ``ValueError`` for an unknown label, ``image_size`` < 32 or ``n_frames`` < 12.
    """
    if label not in SYNTHETIC_LABELS:
        raise ValueError(f"unknown synthetic label {label!r}; known: {', '.join(SYNTHETIC_LABELS)}")
    if image_size < 32:
        raise ValueError(f"image_size {image_size} px is too small to draw a face; use 32 or more")
    identity = identity if identity is not None else FaceIdentity.random(seed)
    r = _rng(seed, 1)
    length = int(n_frames) if n_frames is not None else int(r.integers(24, 41))
    if length < 12:
        raise ValueError(f"n_frames {length} is too short; use 12 or more")
    onset_i = int(r.integers(2, max(3, length // 8) + 1))
    offset_i = length - 1 - int(r.integers(2, max(3, length // 8) + 1))
    apex_i = int(round(onset_i + r.uniform(0.3, 0.7) * (offset_i - onset_i)))
    amp224 = float(amplitude_px) if amplitude_px is not None else float(r.uniform(*amplitude_range))
    amplitude = amp224 * image_size / REFERENCE_SIZE
    motion = _motion(seed, label, length, onset_i, apex_i, offset_i, amplitude, distractors, image_size, fps)
    name = name or f"{label}_{zlib.crc32(repr(seed).encode()):08x}"
    source = SyntheticSource(identity, motion, image_size, fps, f"synthetic://{subject}/{name}")
    numbers = source.frame_numbers
    annotation = Annotation(onset=numbers[onset_i], apex=numbers[apex_i], offset=numbers[offset_i], emotion=label,
                            aus=SYNTHETIC_AUS[label], apex_source="annotated",
                            notes=f"synthetic; apex displacement {amp224:.2f} px at {REFERENCE_SIZE} px")
    truth = {n: float(v) for n, v in zip(numbers, motion.intensity)}
    return Clip(source=source, name=name, subject=subject, database="synthetic", annotation=annotation,
                true_intensity=truth, true_amplitude_px=round(amp224, 6), landmarks_hint=_landmarks(identity, image_size, motion.head[0]))


def _landmarks(identity: FaceIdentity, size: int, head: np.ndarray) -> np.ndarray:
    s = float(size)
    cx = identity.centre[0] * s
    mouth_y = (identity.mouth_y + identity.mouth_curve) * s
    pts = np.array([
        [cx - identity.eye_dx * s, identity.eye_y * s],
        [cx + identity.eye_dx * s, identity.eye_y * s],
        [cx, identity.nose_y * s],
        [cx - identity.mouth_half_w * s, mouth_y],
        [cx + identity.mouth_half_w * s, mouth_y],
    ])
    return (pts + np.asarray(head, dtype=np.float64)[None, :]).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# databases
# ---------------------------------------------------------------------------------------------
def synthetic_clip_specs(n_subjects: int = 6, clips_per_class: int = 3, seed: int = 0,
                         labels: Sequence[str] = SYNTHETIC_LABELS) -> list[dict]:
    """The clips a synthetic database holds, in order: dicts with ``subject``, ``name``, ``label``,
    ``seed`` (the clip seed) and ``identity_seed`` (shared by a subject's clips).

    Raises ``ValueError`` for non-positive counts or unknown/duplicate labels.
    """
    if n_subjects < 1 or clips_per_class < 1:
        raise ValueError(f"need at least one subject and one clip per class (got {n_subjects}, {clips_per_class})")
    unknown = [lab for lab in labels if lab not in SYNTHETIC_LABELS]
    if unknown or len(set(labels)) != len(labels) or not labels:
        raise ValueError(f"labels must be distinct names from {SYNTHETIC_LABELS}; got {list(labels)}")
    specs = []
    for si in range(n_subjects):
        for label in labels:
            ci = SYNTHETIC_LABELS.index(label)
            for k in range(clips_per_class):
                specs.append({"subject": f"s{si + 1:02d}", "name": f"{label}_{k + 1:02d}", "label": label,
                              "seed": [int(seed), si, ci, k], "identity_seed": [int(seed), si]})
    return specs


def clip_from_spec(spec: dict, image_size: int = 128, fps: float = 200.0,
                   distractors: Distractors = Distractors(), amplitude_range: tuple[float, float] = (2.5, 4.0)) -> Clip:
    """Rebuild one clip from an entry of `synthetic_clip_specs` (same pixels every time)."""
    return make_synthetic_clip(spec["seed"], spec["label"], spec["subject"], name=spec["name"],
                               identity=FaceIdentity.random(spec["identity_seed"]), image_size=image_size,
                               fps=fps, distractors=distractors, amplitude_range=amplitude_range)


def synthetic_database(n_subjects: int = 6, clips_per_class: int = 3, image_size: int = 128, seed: int = 0,
                       labels: Sequence[str] = SYNTHETIC_LABELS, fps: float = 200.0,
                       distractors: Distractors = Distractors(),
                       amplitude_range: tuple[float, float] = (2.5, 4.0)) -> Database:
    """An in-memory synthetic `Database`: subjects ``s01``.., one identity per subject,
    ``clips_per_class`` clips of every label per subject (so LOSO folds are meaningful), protocol
    ``"synthetic-<C>"``. Frames are rendered on demand. Raises ``ValueError`` like `synthetic_clip_specs`."""
    specs = synthetic_clip_specs(n_subjects, clips_per_class, seed, labels)
    clips = [clip_from_spec(sp, image_size, fps, distractors, amplitude_range) for sp in specs]
    return Database(name="synthetic", root=Path(f"synthetic://seed{seed}"), protocol=f"synthetic-{len(labels)}",
                    labels=list(labels), clips=clips)


def contact_sheet(clips: Sequence[Clip], amplify: float = 8.0, columns: int = 2) -> np.ndarray:
    """A picture for checking clips by eye: per clip its onset frame, its apex frame and the
    apex - onset difference amplified ``amplify`` times around mid-grey, with the label written on it.

    Clips are laid out ``columns`` triplets per row. Returns uint8 RGB (rows*S, columns*3*S, 3).
    Raises ``ValueError`` for no clips or clips of different sizes.
    """
    if not clips or len({c.size for c in clips}) != 1:
        raise ValueError("contact_sheet needs at least one clip, all of one frame size")
    w, h = clips[0].size
    tiles = []
    for clip in clips:
        onset, apex = clip.frame(clip.onset), clip.frame(clip.apex)
        diff = np.clip(128.0 + amplify * (apex.astype(np.float32) - onset.astype(np.float32)), 0, 255)
        tile = np.concatenate([onset, apex, diff.astype(np.uint8)], axis=1)
        text = f"{clip.subject} {clip.label} AU{clip.annotation.aus}"
        scale = max(0.3, h / 400)
        cv2.putText(tile, text, (3, h - 5), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 2, cv2.LINE_AA)
        cv2.putText(tile, text, (3, h - 5), cv2.FONT_HERSHEY_SIMPLEX, scale, (20, 20, 20), 1, cv2.LINE_AA)
        tiles.append(tile)
    tiles += [np.zeros_like(tiles[0])] * (-len(tiles) % columns)
    rows = [np.concatenate(tiles[i:i + columns], axis=1) for i in range(0, len(tiles), columns)]
    return np.concatenate(rows, axis=0)


__all__ = ["SYNTHETIC_LABELS", "SYNTHETIC_AUS", "FaceIdentity", "Distractors", "ClipMotion", "SyntheticSource",
           "intensity_curve",
           "render_frame", "make_synthetic_clip", "synthetic_clip_specs", "clip_from_spec", "synthetic_database",
           "contact_sheet", "SPEC_FILE", "SHEET_FILE", "TRUTH_FILE", "SHEET_COLUMNS",
           "FRAME_PATTERN"]
