"""What the magnified view shows (Qt-free): which frames are magnified, at what size, and how a shown frame is
composed (magnified alone, or the original and the magnified side by side).

The magnification itself is `cmnet_core.magnify` (Eulerian, Wu et al. 2012); it runs in a worker over a window of
the clip — the annotated onset..offset with a margin, else `WINDOW_FRAMES` from the current frame — at a working
size of at most `MAX_SIDE` pixels on the long side, so a long or 4K video stays interactive.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import cv2
import numpy as np

from cmnet_core.data.clip import Annotation, Clip

#: Frames magnified when no onset..offset is annotated (from the current frame on). Magnifying takes ~3x the
#: frames in float32 memory: 200 frames at 256x192 px are ~0.35 GB while it runs.
WINDOW_FRAMES = 200
#: Frames added before the onset and after the offset.
MARGIN_FRAMES = 20
#: Long side of the working size, pixels.
MAX_SIDE = 256


@dataclass(frozen=True)
class MagnifyJob:
    """One magnification to compute: the clip's frame numbers ``numbers`` (the window), the working ``size``
    (width, height) in pixels, the settings (`cmnet_core.magnify.MagnifySettings`), whether the face alone is
    wanted (``face``) and the part of each frame magnified, ``crop`` = (x, y, w, h) source pixels or None for the
    whole frame (`with_crop` sets it once the face is found)."""

    key: tuple
    numbers: tuple[int, ...]
    size: tuple[int, int]
    settings: object
    face: bool = False
    crop: tuple[int, int, int, int] | None = None

    def with_crop(self, crop: tuple[int, int, int, int] | None) -> "MagnifyJob":
        """The same job on ``crop`` (x, y, w, h source pixels; None: the whole frame), its working size scaled
        from the crop's."""
        import dataclasses

        if crop is None:
            return dataclasses.replace(self, crop=None)
        return dataclasses.replace(self, crop=tuple(int(v) for v in crop), size=working_size(crop[2], crop[3]))


def magnify_window(clip: Clip, current: int, annotation: Annotation) -> tuple[int, ...]:
    """The frame numbers to magnify: onset − margin .. offset + margin when both are annotated, else
    `WINDOW_FRAMES` frames from onset − margin (an onset alone) or from ``current`` (fewer at the clip's end)."""
    nums = [int(n) for n in clip.frame_numbers]
    if annotation.onset is not None and annotation.offset is not None:
        lo, hi = annotation.onset - MARGIN_FRAMES, annotation.offset + MARGIN_FRAMES
        chosen = [n for n in nums if lo <= n <= hi]
    else:
        if annotation.onset is not None:   # an onset alone: the frames from just before it
            current = annotation.onset - MARGIN_FRAMES
        start = next((i for i, n in enumerate(nums) if n >= current), 0)
        chosen = nums[start:start + WINDOW_FRAMES]
        if len(chosen) < min(len(nums), WINDOW_FRAMES):   # near the end: take the last WINDOW_FRAMES
            chosen = nums[-WINDOW_FRAMES:]
    return tuple(chosen)


def working_size(width: int, height: int, max_side: int = MAX_SIDE) -> tuple[int, int]:
    """(width, height) scaled down so that the long side is at most ``max_side`` pixels (never up)."""
    scale = min(1.0, max_side / max(width, height))
    return max(2, int(round(width * scale))), max(2, int(round(height * scale)))


def make_job(clip: Clip, current: int, annotation: Annotation, settings, face: bool = False) -> MagnifyJob:
    """The job for ``clip`` around ``current`` with ``settings``; its ``key`` identifies the result for a cache.
    ``face``: magnify the face box only (found when the job runs, `find_face_crop`); ignored for a clip that is a
    face crop already (it carries ``landmarks_hint``)."""
    numbers = magnify_window(clip, current, annotation)
    size = working_size(*clip.size)
    face = bool(face) and clip.landmarks_hint is None
    return MagnifyJob((str(clip.path), clip.name, numbers[0] if numbers else None, numbers[-1] if numbers else None,
                       size, settings, face), numbers, size, settings, face)


def find_face_crop(job: MagnifyJob, clip: Clip) -> tuple[MagnifyJob, str]:
    """For a ``job.face`` job: the face box MTCNN finds (`cmnet_core.preprocess.face.locate_face`, 15 % margin; the
    largest face when there are several) in the window's first frame, else at 1/4, 1/2 and 3/4 of the window and
    its last frame, as the job's crop, and a note for the user (which frame, how many faces); without a face (or
    a detector that fails) the whole frame, and the note says so. Runs in a worker (the first detection builds
    the detector)."""
    if not job.face or not job.numbers:
        return job, ""
    numbers = job.numbers
    tried = list(dict.fromkeys(numbers[int(f * (len(numbers) - 1))] for f in (0, 0.25, 0.5, 0.75, 1.0)))
    try:
        from cmnet_core.preprocess.face import locate_face

        for number in tried:
            found = locate_face(clip.frame(number))
            if found is not None:
                break
    except Exception as exc:  # noqa: BLE001 - the face is a convenience: magnify the whole frame, and say so
        return job.with_crop(None), f"whole frame (face detection failed: {exc})"
    if found is None:
        return job.with_crop(None), f"whole frame (no face in frames {', '.join(map(str, tried))})"
    x, y, w, h = found.box
    several = f", the largest of {found.n_faces} faces" if found.n_faces > 1 else ""
    return job.with_crop(found.box), f"face {w}×{h} px at {x}, {y} (frame {number}{several})"


def read_window(job: MagnifyJob, clip: Clip, cached: Callable[[int], np.ndarray | None] | None = None,
                cancelled: Callable[[], bool] | None = None,
                sink: Callable[[np.ndarray], None] | None = None) -> np.ndarray:
    """The job's frames at the working size: uint8 RGB (T, h, w, 3), one per ``job.numbers``, in order.

    ``cached(number)`` (e.g. the frame loader's ``peek``) gives frames already decoded for the GUI; the rest come
    from ``clip``, read in frame order by one reader thread (a video: one keyframe seek, then decoding forward) while
    this thread resizes each frame (INTER_AREA) as it arrives into one preallocated array, so the full-size frames
    are never all held; ``sink(frame)``, when given, then gets each resized frame in order (a
    `cmnet_core.magnify.Magnifier` builds its pyramid meanwhile). (Two reader threads gained nothing on a folder of
    JPEG frames, and the synthetic renderer holds the GIL.) Raises what ``clip.frame`` raises; `MagnifyCancelled` when
    ``cancelled()`` turns True (checked every 16 frames)."""
    import queue
    import threading

    from cmnet_core.magnify import MagnifyCancelled

    numbers = list(job.numbers)
    out = np.empty((len(numbers), job.size[1], job.size[0], 3), np.uint8)

    def known(n: int) -> np.ndarray | None:
        return cached(n) if cached is not None else None

    def put(i: int, image: np.ndarray) -> None:
        if cancelled is not None and i % 16 == 0 and cancelled():
            raise MagnifyCancelled("magnification cancelled")
        if job.crop is not None:
            x, y, w, h = job.crop
            image = image[y:y + h, x:x + w]
        if image.shape[1::-1] == job.size:
            out[i] = image[..., :3]
        else:
            cv2.resize(image[..., :3], job.size, dst=out[i], interpolation=cv2.INTER_AREA)
        if sink is not None:
            sink(out[i])

    frames: queue.Queue = queue.Queue(maxsize=16)
    stop = threading.Event()

    def decode() -> None:    # in frame order; frames the loader holds are taken from it
        try:
            for n in numbers:
                if stop.is_set():
                    return
                image = known(n)
                frames.put(image if image is not None else clip.frame(n))
            frames.put(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the consuming thread, which raises it
            frames.put(exc)

    reader = threading.Thread(target=decode, name="cmnet-magnify-decode", daemon=True)
    reader.start()
    try:
        for i in range(len(numbers)):
            item = frames.get()
            if isinstance(item, BaseException):
                raise item
            put(i, item)
    finally:
        stop.set()
        while reader.is_alive():                  # unblock a reader waiting on a full queue
            try:
                frames.get_nowait()
            except queue.Empty:
                reader.join(0.01)
    return out


def run_job(job: MagnifyJob, clip: Clip, fps: float, progress=None, cancelled=None,
            cached: Callable[[int], np.ndarray | None] | None = None, timings: dict | None = None) -> np.ndarray:
    """Read the job's frames (`read_window`: ``cached`` frames first, else ``clip``, in the worker with its own
    decoder) at the working size and magnify them (`cmnet_core.magnify.Magnifier`, whose pyramid is built frame by
    frame while the next frames are decoded): (T, h, w, 3) uint8, one per ``job.numbers``. ``timings``, when given,
    receives ``read_s`` (reading, resizing and the pyramid) and ``magnify_s`` (filter and reconstruction), seconds.
    Raises ``ValueError`` (band vs rate, size) before reading, and what `read_window` raises."""
    import time

    from cmnet_core.magnify import Magnifier

    start = time.perf_counter()
    magnifier = Magnifier(len(job.numbers), job.size[1], job.size[0], fps, job.settings)
    progress = progress or (lambda fraction, message: None)
    counter = iter(range(1, len(job.numbers) + 1))

    def sink(frame: np.ndarray) -> None:
        magnifier.add(frame)
        k = next(counter)
        if k % 16 == 0:
            progress(0.4 * k / len(job.numbers), f"reading frame {k}/{len(job.numbers)}")

    read_window(job, clip, cached, cancelled, sink=sink)
    read = time.perf_counter()
    result = magnifier.finish(progress, cancelled)
    if timings is not None:
        timings.update(read_s=round(read - start, 3), magnify_s=round(time.perf_counter() - read, 3))
    return result


def average_fps(clip: Clip) -> float:
    """Frames per second over the clip's own timestamps (a video's pts), else its nominal rate: the sampling rate
    the temporal band-pass assumes."""
    times = clip.times_s
    if len(times) > 1 and times[-1] > times[0]:
        return float(len(times) - 1) / float(times[-1] - times[0])
    return float(clip.fps)


def badge(image: np.ndarray, text: str) -> np.ndarray:
    """A copy of ``image`` (H, W, 3) uint8 with ``text`` written in its top-left corner (white on a dark outline,
    sized to the image), so that a magnified picture is never taken for the recording."""
    out = np.ascontiguousarray(image[..., :3]).copy()
    scale = max(0.3, out.shape[0] / 640.0)
    thick = max(1, int(round(scale * 1.5)))
    org = (int(4 + 4 * scale), int(4 + 22 * scale))
    cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
    cv2.putText(out, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 0), thick, cv2.LINE_AA)
    return out


def compose(original: np.ndarray, magnified: np.ndarray | None, side_by_side: bool,
            crop: tuple[int, int, int, int] | None = None, label: str | None = None) -> np.ndarray:
    """The picture to show: ``magnified`` alone, or the original (its ``crop`` (x, y, w, h) pixels when the face
    alone was magnified, resized to the magnified frame's size) and the magnified side by side with a 4-pixel black
    gap; the original alone when there is no magnified frame. With ``label`` (e.g. ``"MAGNIFIED α10 phase"``) the
    magnified picture carries it and the original half says ``"original"`` (`badge`)."""
    if magnified is None:
        return original
    if label:
        magnified = badge(magnified, label)
    if crop is not None:
        x, y, w, h = crop
        original = original[y:y + h, x:x + w]
    if not side_by_side:
        return magnified
    h, w = magnified.shape[:2]
    left = cv2.resize(original, (w, h), interpolation=cv2.INTER_AREA) if original.shape[:2] != (h, w) else original
    if label:
        left = badge(left, "original")
    gap = np.zeros((h, 4, 3), np.uint8)
    return np.concatenate([left[..., :3], gap, magnified], axis=1)


__all__ = ["MAX_SIDE", "MagnifyJob", "WINDOW_FRAMES", "average_fps", "badge", "compose", "find_face_crop",
           "magnify_window", "make_job", "read_window", "run_job", "working_size"]
