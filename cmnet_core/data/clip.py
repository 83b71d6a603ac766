"""The `Clip`: one micro-expression sample, its frames read lazily, and its annotation.

Frame numbers are always the *source's own* numbers (CASME II clips start at ``img46``,
SAMM at ``006_05562``); a video file numbers its frames 0, 1, 2, ... .
Every reader (video file, frame folder, synthetic generator) implements `FrameSource`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol, Sequence, runtime_checkable

import numpy as np


class ClipError(Exception):
    """Raised when a clip or its source cannot be read; the message names the file and what to do."""


@runtime_checkable
class FrameSource(Protocol):
    """Lazy access to the frames of one source (a video file, a frame folder, a generator).

    Attributes
    ----------
    path : Path
        The file or folder the frames come from (a synthetic source uses a ``synthetic://`` style path).
    frame_numbers : Sequence[int]
        The source's frame numbers in ascending order (may have gaps for frame folders).
    fps : float
        Frames per second: a video's nominal rate; a frame folder's given rate (a database's, a user's), else 30.0
        assumed.
    size : tuple[int, int]
        ``(width, height)`` in pixels.

    Readers may also give ``times_s`` (float (T,), seconds of each frame since the first), ``time_source``
    (``"pts"``, ``"nominal"`` or ``"assumed"``) and ``timing_note`` (None or a sentence); `Clip` falls back to
    ``(number - first) / fps`` and ``"nominal"`` for sources without them (synthetic generators).
    """

    path: Path
    frame_numbers: Sequence[int]
    fps: float
    size: tuple[int, int]

    def read(self, number: int) -> np.ndarray:
        """Return frame ``number`` (source numbering) as uint8 RGB of shape (H, W, 3).

        Raises ``KeyError`` for a number the source does not have and `ClipError` for a
        frame that cannot be decoded.
        """
        ...

    def close(self) -> None:
        """Release file handles; reading again may reopen them."""
        ...


@dataclass
class Annotation:
    """What a coder says about a clip. Frame numbers in source numbering; ``None`` = not annotated.

    ``apex_source`` tells where the apex came from: ``"annotated"``, ``"sheet"`` (an apex
    sheet such as smic_apex.xlsx), ``"spotted"`` (apex spotting), ``"midpoint"`` or ``""``.
    ``aus`` is the action-unit string as coded (e.g. ``"4+L10"``).
    """

    onset: int | None = None
    apex: int | None = None
    offset: int | None = None
    emotion: str | None = None
    aus: str = ""
    notes: str = ""
    apex_source: str = ""

    def validate(self, frame_numbers: Sequence[int]) -> list[str]:
        """Return human-readable problems (empty when consistent): marks outside the clip,
        onset after offset, apex outside onset..offset."""
        problems: list[str] = []
        if len(frame_numbers) == 0:
            return ["the clip has no frames"]
        lo, hi = frame_numbers[0], frame_numbers[-1]
        for name in ("onset", "apex", "offset"):
            v = getattr(self, name)
            if v is not None and not (lo <= v <= hi):
                problems.append(f"{name} {v} is outside the clip's frames {lo}..{hi}")
        if self.onset is not None and self.offset is not None and self.onset > self.offset:
            problems.append(f"onset {self.onset} is after offset {self.offset}")
        if self.apex is not None and self.onset is not None and self.offset is not None:
            if not (self.onset <= self.apex <= self.offset):
                problems.append(f"apex {self.apex} is outside onset..offset {self.onset}..{self.offset}")
        return problems


@dataclass
class Clip:
    """One micro-expression clip: a lazy `FrameSource` plus metadata and annotation.

    Parameters
    ----------
    source : FrameSource
        Where the frames come from; frames are decoded on demand, never all held in memory.
    name : str
        Clip identifier within its database (e.g. ``"EP02_01f"``) or the file stem.
    subject : str
        Subject identifier as used for LOSO folds (e.g. ``"sub01"``; prefixed by database in
        composite protocols, e.g. ``"casme2/sub01"``).
    database : str
        Database/adaptor name (``"casme2"``, ``"samm"``, ``"smic"``, ``"casme3"``, ``"generic"``,
        ``"synthetic"``, ``""`` for a loose file).
    annotation : Annotation
        Onset/apex/offset (source frame numbers), emotion label, AUs, notes.
    true_intensity : dict[int, float] | None
        Ground-truth per-frame intensity in [0, 1] keyed by frame number (synthetic clips only).
    true_amplitude_px : float | None
        Ground-truth apex displacement of the AU motion in pixels at 224 px (synthetic clips only): the clip's
        absolute strength, which the per-clip normalised intensity curve cannot show.
    landmarks_hint : np.ndarray | None
        Optional known face landmarks of the first frame, shape (K, 2) in pixels (x, y) with
        K = 5 in MTCNN order (left eye, right eye, nose, left mouth corner, right mouth corner);
        synthetic clips carry it so preprocessing needs no detector.
    """

    source: FrameSource
    name: str = ""
    subject: str = ""
    database: str = ""
    annotation: Annotation = field(default_factory=Annotation)
    true_intensity: dict[int, float] | None = None
    true_amplitude_px: float | None = None
    landmarks_hint: np.ndarray | None = None

    # ---- frame access -------------------------------------------------------------------
    @property
    def path(self) -> Path:
        """The source file or folder."""
        return Path(self.source.path)

    @property
    def frame_numbers(self) -> Sequence[int]:
        """Source frame numbers, ascending."""
        return self.source.frame_numbers

    @property
    def fps(self) -> float:
        """Frames per second: a video's mean rate from its timestamps, a frame folder's given (or assumed) rate.
        Times come from `times_s`, not from this."""
        return float(self.source.fps)

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels."""
        return tuple(self.source.size)  # type: ignore[return-value]

    @property
    def times_s(self) -> np.ndarray:
        """float64 (T,): seconds of each frame since the first: the source's own (a video's decoded pts), else
        ``(number - first) / fps``."""
        times = getattr(self.source, "times_s", None)
        if times is not None:
            return np.asarray(times, dtype=np.float64)
        nums = np.asarray(self.frame_numbers, dtype=np.float64)
        return (nums - nums[0]) / self.fps if len(nums) else nums

    @property
    def time_source(self) -> str:
        """Where `times_s` comes from: ``"pts"`` (a video's timestamps), ``"nominal"`` (number / a known fps) or
        ``"assumed"`` (a frame folder whose rate nobody gave; 30 fps assumed)."""
        return str(getattr(self.source, "time_source", "nominal"))

    @property
    def timing_note(self) -> str | None:
        """None, or a sentence to show beside the times (timestamps broken, frame rate assumed)."""
        return getattr(self.source, "timing_note", None)

    def time_of(self, number: float) -> float:
        """Seconds since the first frame at (possibly fractional) frame ``number``, interpolated linearly in
        `times_s` between frames and extrapolated at the nominal fps outside the clip; 0.0 for an empty clip."""
        nums = np.asarray(self.frame_numbers, dtype=np.float64)
        if not len(nums):
            return 0.0
        times = self.times_s
        if number < nums[0]:
            return float(times[0] + (number - nums[0]) / self.fps)
        if number > nums[-1]:
            return float(times[-1] + (number - nums[-1]) / self.fps)
        return float(np.interp(number, nums, times))

    def frame_at_time(self, seconds: float) -> int:
        """The frame number shown at ``seconds`` since the first frame: the last frame whose time is <= it
        (the first frame for earlier times)."""
        nums = self.frame_numbers
        i = int(np.searchsorted(self.times_s, seconds + 1e-9, side="right")) - 1
        return int(nums[max(0, min(len(nums) - 1, i))])

    def __len__(self) -> int:
        return len(self.source.frame_numbers)

    def frame(self, number: int) -> np.ndarray:
        """Frame ``number`` (source numbering) as uint8 RGB (H, W, 3). Raises ``KeyError`` if absent."""
        return self.source.read(number)

    # ---- annotation shortcuts -----------------------------------------------------------
    @property
    def onset(self) -> int | None:
        """Onset frame number (source numbering) or None."""
        return self.annotation.onset

    @property
    def apex(self) -> int | None:
        """Apex frame number (source numbering) or None."""
        return self.annotation.apex

    @property
    def offset(self) -> int | None:
        """Offset frame number (source numbering) or None."""
        return self.annotation.offset

    @property
    def label(self) -> str | None:
        """The emotion label (protocol class name after the adapter mapped it)."""
        return self.annotation.emotion

    def span(self) -> tuple[int, int]:
        """``(onset, offset)`` in source numbering; the whole clip where not annotated."""
        nums = self.frame_numbers
        on = self.onset if self.onset is not None else nums[0]
        off = self.offset if self.offset is not None else nums[-1]
        return int(on), int(off)

    def with_annotation(self, **changes) -> "Clip":
        """A copy of this clip (same source) with annotation fields replaced."""
        return replace(self, annotation=replace(self.annotation, **changes))

    def close(self) -> None:
        """Release the source's file handles (reading again reopens them)."""
        self.source.close()
