"""Clip → `PreprocessedClip`: one face alignment per clip, temporal normalisation to N, apex, cache.

Steps (DESIGN.md §3, "Preprocessing (paper)"):

1. span = the clip's frames in onset..offset (the whole clip when not annotated);
2. landmarks on the reference frame (the onset) → one similarity transform for every frame
   (`align.alignment_matrix`). No face in the onset frame: the frames that will be sampled are searched
   in order and the first one with a face is used (noted); none at all → `NoFaceError`. Several faces:
   the largest (noted). The crop is kept inside the frame where the face allows (`align.fit_crop`: shifted, then
   a smaller margin; a face that fills its frame is cropped within it); what still lies outside is padded with the
   frame's mean colour and its share recorded (noted). After cropping,
   the last frame of the span is checked for a face too, on a small view around the reference face (`face_in_view`:
   one full-frame detection per clip); a face that has left the view (or moved far) is noted;
3. apex: annotated, spotted (`apex.spot_apex` on every aligned frame of the span: the spotter's name and
   confidence are recorded on the result) or the midpoint;
4. L >= N frames: N frames at regular intervals, the one nearest the apex moved onto the apex frame;
   L < N: TIM (or linear) interpolation of the L aligned crops;
5. frame map (source frame number per position, fractional when interpolated) and apex position.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..data.clip import Clip, ClipError
from .align import (alignment_matrix, centre_crop_matrix, crop_is_sane, fill_value, fit_crop, outside_note,
                    padded_fraction, warp)
from .apex import APEX_MODES, SPOTTER, ApexSpot, apex_position, flow_image, midpoint, spot_apex
from .cache import PreprocessCache, cache_key
from .errors import NoFaceError, PreprocessError
from .face import (BACKENDS, FAN_DETECTOR_FILE, FAN_MODEL_FILE, detect_faces, fan_model_dir, get_backend,
                   resolve_backend)
from .temporal import INTERPOLATIONS, frame_map, include_index, interpolate, sample_indices
from .types import PreprocessedClip, PreprocessSettings


LOW_CONFIDENCE = 0.3
"""A spotted apex below this confidence gets a note (the curve shows no clear peak)."""


def validate_settings(settings: PreprocessSettings) -> None:
    """Raise `PreprocessError` naming the field for a setting outside its allowed values."""
    problems = []
    if not (16 <= settings.image_size <= 2048):
        problems.append(f"image_size {settings.image_size} (16..2048 pixels)")
    if settings.num_frames < 1:
        problems.append(f"num_frames {settings.num_frames} (at least 1)")
    if not (0.0 <= settings.margin <= 5.0):
        problems.append(f"margin {settings.margin} (0..5 face units)")
    for name, allowed in (("landmarks", BACKENDS), ("interpolation", INTERPOLATIONS), ("apex_mode", APEX_MODES)):
        if getattr(settings, name) not in allowed:
            problems.append(f"{name} {getattr(settings, name)!r} (one of {', '.join(allowed)})")
    if problems:
        raise PreprocessError("invalid preprocessing settings: " + "; ".join(problems))


def span_frames(clip: Clip) -> list[int]:
    """Source frame numbers in onset..offset, ascending. Raises `PreprocessError` for an inconsistent
    annotation (names the clip's file and the problem) or an empty span."""
    problems = clip.annotation.validate(clip.frame_numbers)
    if problems:
        raise PreprocessError(f"{clip.path}: " + "; ".join(problems))
    on, off = clip.span()
    span = [int(n) for n in clip.frame_numbers if on <= n <= off]
    if not span:
        raise PreprocessError(f"{clip.path}: no frames between onset {on} and offset {off}")
    return span


def _file_identity(path) -> dict:
    st = path.stat()
    return {"name": path.name, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _key_extra(clip: Clip, settings: PreprocessSettings, backend: str, fan_dir) -> dict:
    extra = {}
    if _spots(clip, settings.apex_mode):  # a new spotter is a new result
        extra["apex_spotter"] = SPOTTER
    if backend == "hint" and clip.landmarks_hint is not None:
        extra["hint"] = np.asarray(clip.landmarks_hint, dtype=np.float64).round(4).tolist()
    if backend == "fan":
        folder = fan_model_dir(fan_dir)
        extra["fan"] = [_file_identity(folder / n) for n in (FAN_MODEL_FILE, FAN_DETECTOR_FILE)]
    return extra


def _detect_reference(clip: Clip, span: list[int], settings: PreprocessSettings, backend: str,
                      fan_dir) -> tuple[np.ndarray, int, list[str], object, np.ndarray]:
    """Transform from the first frame with a face among onset + the frames to be sampled.

    Returns ``(matrix (2, 3), reference index in span, notes, detector, the face's landmarks (5, 2) pixels)``.
    """
    detector = get_backend(backend, None if fan_dir is None else str(fan_dir))
    candidates = list(dict.fromkeys([0, *sample_indices(len(span), min(settings.num_frames, len(span)))]))
    for idx in candidates:
        image = clip.frame(span[idx])
        faces, detect_note = detect_faces(detector, image)
        if faces:
            break
    else:
        later = ", ".join(str(span[i]) for i in candidates[1:]) or "none"
        raise NoFaceError(f"{clip.path}: no face found in frame {span[0]} (onset) nor in the later frames "
                          f"checked ({later}) by the {backend} detector. Check that the clip shows a face, "
                          "set onset/offset to a part that does, or use landmarks 'none' (--landmarks none) "
                          "for a centre crop.")
    notes = []
    if idx != 0:
        notes.append(f"no face in the onset frame {span[0]}; aligned on frame {span[idx]}, "
                     "the first sampled frame with a face")
    if len(faces) > 1:
        w, h = faces[0].box[2:] - faces[0].box[:2]
        notes.append(f"{len(faces)} faces in frame {span[idx]}; took the largest ({w:.0f}x{h:.0f} px)")
    if detect_note:
        notes.append(detect_note)
    matrix, crop_notes = _fitted_crop(faces[0].points, image, settings, f"{clip.path} frame {span[idx]}")
    return matrix, idx, notes + crop_notes, detector, faces[0].points


def _fitted_crop(points: np.ndarray, image: np.ndarray, settings: PreprocessSettings,
                 where: str) -> tuple[np.ndarray, list[str]]:
    """`fit_crop` of ``points`` on ``image`` and the notes a researcher needs: a shrunk margin, padding left.

    Raises `PreprocessError` when the landmarks give a crop far larger than the frame (`crop_is_sane`)."""
    size, frame = settings.image_size, (image.shape[1], image.shape[0])
    matrix, info = fit_crop(points, frame, size, settings.margin)
    if not crop_is_sane(matrix, frame, size):
        raise PreprocessError(f"{where}: the face landmarks give a crop far larger than the {frame[0]}x{frame[1]} "
                              "frame (not a face of this frame); check the clip, or use --landmarks none for a "
                              "centre crop")
    notes = []
    if info.get("pre_cropped"):   # one note: "within the frame" and "extends beyond" must not both be said
        rest = f"; {info['padded']:.1%} of the crop padded at the corners" if info["padded"] >= 0.005 else ""
        notes.append(f"the face fills the {frame[0]}x{frame[1]} frame (a pre-cropped face): cropped within the "
                     f"frame as far as it allows, without a margin{rest}")
        return matrix, notes
    if info["margin"] < settings.margin:
        notes.append(f"face near the frame edge: margin shrunk from {settings.margin:g} to {info['margin']:g} face "
                     f"units (crop moved {info['shift_px']:g} px) to keep the crop inside the frame")
    elif info["shift_px"] > 0:
        notes.append(f"face near the frame edge: crop moved {info['shift_px']:g} px off the face centre to stay "
                     "inside the frame as far as the face allows")
    note = outside_note(matrix, frame, size)
    if note:
        notes.append(note)
    return matrix, notes


def _reference(clip: Clip, span: list[int], settings: PreprocessSettings, backend: str, fan_dir):
    """``(matrix, reference index, notes, detector or None, reference landmarks (5, 2) or None)`` for any
    backend (a detector and landmarks for the detector backends only)."""
    size = settings.image_size
    if backend == "none":
        first = clip.frame(span[0])
        return centre_crop_matrix(first.shape[1], first.shape[0], size), 0, [], None, None
    if backend == "hint":
        if clip.landmarks_hint is None:
            raise PreprocessError(f"{clip.path}: landmarks 'hint' needs clip.landmarks_hint (synthetic clips carry "
                                  "it); use 'auto' for real clips")
        matrix, notes = _fitted_crop(np.asarray(clip.landmarks_hint)[:5], clip.frame(span[0]), settings,
                                     f"{clip.path} frame {span[0]}")
        return matrix, 0, notes, None, None
    return _detect_reference(clip, span, settings, backend, fan_dir)


def _spots(clip: Clip, mode: str) -> bool:
    """True when the apex will be spotted: mode ``"spotting"``, or ``"annotated"`` without an annotated apex."""
    return mode == "spotting" or (mode == "annotated" and clip.apex is None)


def _annotated_apex(clip: Clip, mode: str, span: list[int]) -> tuple[int | None, str]:
    """Apex frame and source known before reading frames; ``(None, "spotted")`` when spotting is needed."""
    if mode == "annotated" and clip.apex is not None:
        return int(clip.apex), clip.annotation.apex_source or "annotated"
    if mode == "midpoint":
        return midpoint(span), "midpoint"
    return None, "spotted"


CHECK_VIEW_PX = 128
"""Side (pixels) of the view the last-frame face check runs the detector on (`face_in_view`)."""

CHECK_MARGIN = 1.2
"""Margin (face units, `align`) of the last-frame check's view around the reference face: the view spans
2.4 + 2 x 1.2 = 4.8 face units, the face ~55 px of its 128 (MTCNN looks for faces from 40 px,
`face.MTCNN_MIN_FACE`); a face that moved by up to about one face unit (an eye distance) is still found in it."""


def face_in_view(detector, image: np.ndarray, points: np.ndarray, fill: tuple[float, ...] | None = None) -> bool:
    """True when ``detector`` finds a face in ``image`` around where the reference face was.

    points : (5, 2) landmarks (pixels) of the clip's reference face (the one the crop is aligned on).
    image : uint8 RGB (H, W, 3), a frame of the same clip (the span's last frame).
    fill : padding colour where the view reaches outside the frame (the clip's `align.fill_value`).

    ``image`` is warped to a `CHECK_VIEW_PX` x `CHECK_VIEW_PX` view aligned on ``points`` with margin
    `CHECK_MARGIN` (`align.alignment_matrix`: the face crop's framing, wider) and the detector runs on that view
    only: one detection on a 128-px view instead of a second one on the whole frame, ~12 ms instead of ~40 ms for
    MTCNN on a 640x480 frame on one CPU core (issue 17; measured in docs/performance.md). A face that has left the
    view, or moved more than about one face unit from where it was, is not found.
    """
    view = warp(image, alignment_matrix(points, CHECK_VIEW_PX, CHECK_MARGIN), CHECK_VIEW_PX, fill)
    return bool(detector.detect(view))


SPOT_CROP_PX = 112
"""Side (pixels) of the aligned crop the apex spotter works on when the model's input is smaller (`bench_apex.py`
measures the spotter at this size)."""


def _compute(clip: Clip, settings: PreprocessSettings, backend: str, notes: list[str], fan_dir) -> PreprocessedClip:
    span = span_frames(clip)
    size, n, length = settings.image_size, settings.num_frames, len(span)
    matrix, ref_idx, ref_notes, detector, ref_points = _reference(clip, span, settings, backend, fan_dir)
    notes = notes + ref_notes
    apex_frame, apex_source = _annotated_apex(clip, settings.apex_mode, span)
    spot = apex_frame is None
    if spot and settings.apex_mode == "annotated":
        notes.append(f"no annotated apex; apex spotted ({SPOTTER}: peak optical flow from the onset)")
    span_arr = np.asarray(span)
    sampled = length >= n
    chosen = sample_indices(length, n) if sampled else np.arange(length)
    if sampled and not spot:
        chosen = include_index(chosen, int(np.argmin(np.abs(span_arr - apex_frame))))
    wanted = set(chosen.tolist())

    crops: dict[int, np.ndarray] = {}
    reference = clip.frame(span[ref_idx])
    fill = fill_value(reference)   # one padding colour per clip: no flicker in the padding
    flow_images: list[np.ndarray] = []  # every frame of the span, small grey, when spotting
    # the spotter sees the face at SPOT_CROP_PX whatever the model's input size (a 32-px crop upsampled to the
    # flow size loses the motion: 2-3x the midpoint's error at 32 px); same framing, scaled
    spot_size = max(size, SPOT_CROP_PX)
    k = spot_size / size                 # pixel centres: x_big + 0.5 = k (x + 0.5)
    spot_matrix = np.asarray(matrix, dtype=np.float64) * k
    spot_matrix[:, 2] += (k - 1) / 2
    last_raw = None
    for i, number in enumerate(span):
        if not spot and i not in wanted:
            continue
        raw = clip.frame(number)
        crop = warp(raw, matrix, size, fill)
        if i in wanted:
            crops[i] = crop
        if i == length - 1:
            last_raw = raw
        if spot:
            flow_images.append(flow_image(crop if spot_size == size else warp(raw, spot_matrix, spot_size, fill)))
    spotted = None
    if spot:
        spotted = (spot_apex(flow_images, 0, margin=settings.margin, prepared=True) if length >= 2
                   else ApexSpot(0, np.zeros(1), 0.0))  # a one-frame span: its only frame, no confidence
        apex_frame = span[spotted.index]
        if sampled:
            chosen = include_index(chosen, spotted.index)
            if spotted.index not in crops:
                crops[spotted.index] = warp(clip.frame(span[spotted.index]), matrix, size, fill)
        if spotted.confidence < LOW_CONFIDENCE:
            notes.append(f"spotted apex {apex_frame} has low confidence {spotted.confidence:.2f}: the motion from "
                         "the onset shows no clear rise and fall; check it or annotate the apex")

    if detector is not None and ref_idx != length - 1 and not face_in_view(detector, last_raw, ref_points, fill):
        notes.append(f"no face found in the last frame {span[-1]} around the face's place: the face may leave the view "
                     f"(or move far); every frame is cropped where the face was in frame {span[ref_idx]}")

    stack = np.stack([crops[i] for i in chosen.tolist()])
    if sampled:
        frames, fmap = stack, span_arr[chosen].astype(np.float64)
    else:
        frames, positions, interp_notes = interpolate(stack, n, settings.interpolation)
        notes += interp_notes
        fmap = frame_map(positions, span)
    return PreprocessedClip(frames=frames, frame_map=fmap, apex_position=apex_position(fmap, apex_frame),
                            apex_source=apex_source, backend=backend, settings=settings, notes=notes,
                            alignment=np.asarray(matrix, dtype=np.float64),
                            padded=padded_fraction(matrix, (reference.shape[1], reference.shape[0]), size),
                            apex_spotter=spotted.method if spotted else "",
                            apex_confidence=spotted.confidence if spotted else None)


def preprocess_clip(clip: Clip, settings: PreprocessSettings = PreprocessSettings(),
                    cache: PreprocessCache | None = None, *, fan_dir: str | os.PathLike | None = None
                    ) -> PreprocessedClip:
    """Preprocess one clip for CMNet (see the module doc for the steps).

    Parameters
    ----------
    clip : the clip; onset..offset (source frame numbers) bounds the frames used.
    settings : every setting that changes the output (`PreprocessSettings`).
    cache : when given, a matching entry is returned without reading any frame (pixel-hashed synthetic
        sources excepted) and a new result is stored.
    fan_dir : folder holding the FAN model files (default ``$CMNET_FAN_DIR`` or torch hub checkpoints).

    Returns
    -------
    `PreprocessedClip` with frames uint8 (N, S, S, 3), frame_map (N,) source frame numbers, apex_position
    (0-based, among N), apex_source, the landmark backend that ran and notes.

    Raises
    ------
    PreprocessError : bad settings or annotation; `NoFaceError` when no face is found;
        `ModelFilesMissingError` for ``landmarks="fan"`` without its files. ClipError : unreadable frames.
    """
    validate_settings(settings)
    backend, notes = resolve_backend(settings.landmarks, fan_dir)
    key = None
    if cache is not None:
        span = span_frames(clip)
        key = cache_key(clip, settings, backend, span, _key_extra(clip, settings, backend, fan_dir))
        hit = cache.get(key)
        if hit is not None:
            return hit
    result = _compute(clip, settings, backend, notes, fan_dir)
    if cache is not None:
        cache.put(key, result)
    return result


@dataclass
class ClipOutcome:
    """What happened to one clip of a database run: ``status`` is ``"done"``, ``"cached"`` or ``"failed"``
    (``error`` then says why); ``notes`` are the result's notes."""

    clip: Clip
    status: str
    error: str = ""
    notes: tuple[str, ...] = ()


def preprocess_database(db, settings: PreprocessSettings = PreprocessSettings(), cache: PreprocessCache | None = None,
                        progress: Callable[[int, int, ClipOutcome], None] | None = None,
                        on_result: Callable[[Clip, PreprocessedClip], None] | None = None, *,
                        fan_dir: str | os.PathLike | None = None) -> list[ClipOutcome]:
    """Preprocess every clip of ``db`` (a `Database` or an iterable of clips), one at a time.

    With a ``cache`` an interrupted run resumes: finished clips are cache hits (status ``"cached"``).
    A clip that fails with `PreprocessError`/`ClipError` is recorded as ``"failed"`` and the run goes on.
    ``progress(done, total, outcome)`` is called after each clip; ``on_result(clip, result)`` receives
    each result (results are not kept, so memory stays flat). Returns one `ClipOutcome` per clip.
    """
    validate_settings(settings)
    clips: list[Clip] = list(db.clips) if hasattr(db, "clips") else list(db)
    outcomes: list[ClipOutcome] = []
    for i, clip in enumerate(clips):
        hits_before = cache.hits if cache is not None else 0
        try:
            result = preprocess_clip(clip, settings, cache, fan_dir=fan_dir)
        except (PreprocessError, ClipError) as exc:
            outcome = ClipOutcome(clip, "failed", str(exc))
        else:
            status = "cached" if cache is not None and cache.hits > hits_before else "done"
            outcome = ClipOutcome(clip, status, notes=tuple(result.notes))
            if on_result is not None:
                on_result(clip, result)
        outcomes.append(outcome)
        if progress is not None:
            progress(i + 1, len(clips), outcome)
    return outcomes
