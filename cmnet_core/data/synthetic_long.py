"""Long synthetic videos with micro- and macro-expressions at known frames, for the spotting benchmark and tests.

One drawn face (`cmnet_core.data.synthetic`, same renderer) sits in front of the camera for minutes. Expressions
(the generator's AU-like motions) start at random, non-overlapping times: *micro* ones last 0.2-0.5 s from onset to
offset with an apex displacement of 1.5-5 px at 224 px (the generator's "realistic" range), *macro* ones 0.8-3 s
(rise, hold at the apex, fall) with 6-12 px. In between, what a spotter must ignore: blinks (15-20 a minute,
0.1-0.3 s each, as adults blink), slow head drift plus occasional quick head shifts (up to ``head_motion_px``),
lighting flicker and sensor noise. Frames are rendered lazily by `LongVideoSource` (a `FrameSource`), so a
10-minute video costs a few arrays of per-frame parameters, not its pixels.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .clip import Annotation, Clip
from .synthetic import (REFERENCE_SIZE, SYNTHETIC_AUS, SYNTHETIC_LABELS, FaceIdentity, _landmarks, _rng,
                        flicker_gain, render_frame)

MICRO_MAX_S = 0.5
"""Longest micro-expression, onset to offset, seconds (the field's usual bound)."""


@dataclass(frozen=True)
class LongVideoTruth:
    """One true expression of a synthetic long video: ``onset``, ``apex``, ``offset`` (frame numbers, inclusive),
    ``kind`` (``"micro"`` or ``"macro"``), ``label`` (`SYNTHETIC_LABELS`), ``amplitude_px`` (apex displacement
    in pixels at 224 px)."""

    onset: int
    apex: int
    offset: int
    kind: str
    label: str
    amplitude_px: float

    def annotation(self) -> Annotation:
        """The same as a clip `Annotation` (apex_source ``"annotated"``)."""
        return Annotation(onset=self.onset, apex=self.apex, offset=self.offset, emotion=self.label,
                          aus=SYNTHETIC_AUS[self.label], apex_source="annotated", notes=f"synthetic {self.kind}")


class LongVideoSource:
    """A `FrameSource` rendering a synthetic long video on demand: frames 0..N-1 (numbered like a video file),
    square uint8 RGB frames of ``size`` px, ``fps`` frames per second, deterministic per frame (noise is seeded
    by frame number, not by reading order). Per-frame arrays: ``label_index`` (N,) int (-1 = neutral),
    ``displacement`` (N,) output pixels, ``blink`` (N,) 0..1, ``head`` (N, 2) output pixels, ``gain`` (N,)."""

    def __init__(self, identity: FaceIdentity, size: int, fps: float, path: str, label_index, displacement, blink,
                 head, gain, noise_sigma: float, noise_seed: int):
        self.identity, self.path = identity, Path(path)
        self.fps, self.size = float(fps), (size, size)
        self.label_index, self.displacement, self.blink, self.head, self.gain = (
            label_index, displacement, blink, head, gain)
        self.noise_sigma, self.noise_seed = float(noise_sigma), int(noise_seed)
        self.frame_numbers = range(len(displacement))

    def read(self, number: int) -> np.ndarray:
        """Frame ``number`` (0..N-1) as uint8 RGB (S, S, 3); ``KeyError`` outside the video."""
        if not 0 <= number < len(self.frame_numbers):
            raise KeyError(f"{self.path}: no frame {number} (frames 0..{len(self.frame_numbers) - 1})")
        size = self.size[0]
        noise = None
        if self.noise_sigma > 0:
            noise = (np.random.default_rng([self.noise_seed, number]).standard_normal((size, size, 3), np.float32)
                     * self.noise_sigma)
        li = int(self.label_index[number])
        return render_frame(self.identity, SYNTHETIC_LABELS[max(li, 0)], float(self.displacement[number]) if li >= 0
                            else 0.0, float(self.blink[number]),
                            (float(self.head[number, 0]), float(self.head[number, 1])), float(self.gain[number]),
                            noise, size)

    def close(self) -> None:
        """Nothing to release."""


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def synthetic_long_video(seed: int, minutes: float = 1.0, fps: float = 30.0, n_expressions: int | None = None,
                         image_size: int = 96, micro_fraction: float = 0.6, head_motion_px: float = 3.0,
                         blinks_per_minute: float = 17.0, flicker: float = 0.015, noise_sigma: float = 1.5,
                         ) -> tuple[Clip, list[LongVideoTruth]]:
    """A synthetic long video and its true expression intervals, deterministic by ``seed``.

    Parameters
    ----------
    minutes : length (N = minutes x 60 x fps frames, numbered 0..N-1).  fps : frames per second.
    n_expressions : how many expressions (default: 6 a minute), ``micro_fraction`` of them micro (≤ 0.5 s,
        1.5-5 px at 224 px), the rest macro (0.8-3 s, 6-12 px); at least 1.5 s apart.
    image_size : side of the square frames, pixels.  head_motion_px : largest head offset (pixels at 224 px):
        slow drift plus 0.2-0.4 s head shifts every ~10 s.  blinks_per_minute : blinks (0.1-0.3 s, both eyes).
    flicker : relative lighting gain amplitude.  noise_sigma : sensor noise, grey levels.

    Returns
    -------
    (clip, truth): a `Clip` on a `LongVideoSource` (``landmarks_hint`` (5, 2) of frame 0, database
    ``"synthetic"``, empty annotation) and the `LongVideoTruth` list in time order.
    Raises ``ValueError`` for a length under 10 s, an image under 32 px or more expressions than fit.
    """
    n = int(round(minutes * 60.0 * fps))
    if n < 10 * fps:
        raise ValueError(f"a long video of {minutes} min is too short; use at least 10 s")
    if image_size < 32:
        raise ValueError(f"image_size {image_size} px is too small to draw a face; use 32 or more")
    scale = image_size / REFERENCE_SIZE
    identity = FaceIdentity.random([seed, 7])
    r = _rng([seed, 11], 0)
    count = int(n_expressions) if n_expressions is not None else max(1, int(round(6 * minutes)))
    # expression lengths first, then place them with gaps of at least 1.5 s
    kinds = ["micro" if r.random() < micro_fraction else "macro" for _ in range(count)]
    lengths = [int(round(r.uniform(0.2, MICRO_MAX_S) * fps)) if k == "micro" else int(round(r.uniform(0.8, 3.0) * fps))
               for k in kinds]
    gap = int(round(1.5 * fps))
    free = n - int(2 * fps) - sum(lengths) - gap * count
    if free < 0:
        raise ValueError(f"{count} expressions do not fit into {minutes} min; ask for fewer")
    cuts = np.sort(r.integers(0, free + 1, count))
    label_index = np.full(n, -1, np.int64)
    displacement = np.zeros(n, np.float32)
    truth = []
    start = int(fps)
    for i, (kind, length) in enumerate(zip(kinds, lengths)):
        onset = start + int(cuts[i]) + gap * i + sum(lengths[:i])
        offset = onset + length - 1
        label = SYNTHETIC_LABELS[int(r.integers(len(SYNTHETIC_LABELS)))]
        amp = float(r.uniform(1.5, 5.0) if kind == "micro" else r.uniform(6.0, 12.0))
        k = np.arange(length, dtype=np.float64)
        if kind == "micro":
            apex_i = int(round(r.uniform(0.35, 0.65) * (length - 1)))
            rise = _smoothstep(k / max(apex_i, 1))
            fall = _smoothstep((length - 1 - k) / max(length - 1 - apex_i, 1))
            curve = np.where(k <= apex_i, rise, fall)
        else:
            rise_n = int(round(r.uniform(0.2, 0.35) * length))
            fall_n = int(round(r.uniform(0.2, 0.35) * length))
            apex_i = rise_n
            curve = np.minimum(_smoothstep(k / rise_n), _smoothstep((length - 1 - k) / fall_n))
        label_index[onset:offset + 1] = SYNTHETIC_LABELS.index(label)
        displacement[onset:offset + 1] = curve * amp * scale
        truth.append(LongVideoTruth(onset, onset + apex_i, offset, kind, label, round(amp, 4)))
    # blinks
    blink = np.zeros(n, np.float32)
    n_blinks = int(round(blinks_per_minute * n / fps / 60.0))
    for c in r.integers(0, n, n_blinks):
        length = max(3, int(round(r.uniform(0.1, 0.3) * fps)))
        k = np.arange(length + 1)
        idx = c + k
        ok = idx < n
        blink[idx[ok]] = np.maximum(blink[idx[ok]], np.sin(np.pi * k[ok] / length).clip(0, 1))
    # head: slow drift + quick shifts, capped
    limit = head_motion_px * scale
    drift = gaussian_filter1d(np.cumsum(r.normal(0, 1, (n, 2)), axis=0), fps, axis=0)
    drift -= drift.mean(axis=0)
    drift *= 0.6 * limit / max(float(np.abs(drift).max()), 1e-9)
    shifts = np.zeros((n, 2))
    for c in r.integers(0, n, max(1, int(n / fps / 10))):
        length = max(2, int(round(r.uniform(0.2, 0.4) * fps)))
        step = r.normal(0, 0.4 * limit, 2)
        ramp = _smoothstep(np.arange(n - c) / length)[:, None]
        shifts[c:] += ramp * step
    shifts -= gaussian_filter1d(shifts, 20 * fps, axis=0, mode="nearest")  # shifts come back slowly
    head = drift + shifts
    peak = float(np.abs(head).max())
    if peak > limit:
        head *= limit / peak
    gain = flicker_gain(r, n, flicker, fps)
    name = f"long_{seed}"
    source = LongVideoSource(identity, image_size, fps, f"synthetic://long/{name}", label_index, displacement, blink,
                             head.astype(np.float32), gain.astype(np.float32), noise_sigma,
                             zlib.crc32(f"long{seed}".encode()))
    clip = Clip(source=source, name=name, subject="long", database="synthetic",
                landmarks_hint=_landmarks(identity, image_size, head[0]))
    return clip, truth


__all__ = ["LongVideoSource", "LongVideoTruth", "MICRO_MAX_S", "synthetic_long_video"]
