"""Frame readers: video files (PyAV, i.e. FFmpeg's demuxer and decoders), frame folders and single still images.

Every reader implements `cmnet_core.data.clip.FrameSource`: frames are decoded on demand and
come out as uint8 RGB arrays of shape (H, W, 3); frame numbers are the source's own (a video
numbers its frames 0, 1, 2, ... in presentation order; a frame folder takes them from the file names).

Every reader also says when its frames happen: ``times_s`` (seconds since the first frame, one per frame),
``time_source`` (``"pts"`` = measured from the video's own timestamps, ``"nominal"`` = frame number / a known
frame rate, ``"assumed"`` = a frame folder whose rate nobody gave: `DEFAULT_FPS`) and ``timing_note`` (None, or a
sentence to show beside the times).

Videos: `VideoSource` builds a frame index once (per-frame pts and keyframes, from one demuxing pass; one
decoding pass only when the packets have no usable timestamps) and reads a frame by seeking to the keyframe at or
before it and decoding forward. OpenCV is kept for image work only: its average-fps frame times and seeks are
wrong for variable-frame-rate files, B-frames in AVI and files without an index.
"""
from __future__ import annotations

import bisect
import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import av
import cv2
import numpy as np

from .clip import Clip, ClipError

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".wmv", ".mkv", ".m4v")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
#: Frame rate assumed for sources without one (a bare frame folder, a video without any rate), frames/s.
DEFAULT_FPS = 30.0
#: Forward distance (frames) up to which decoding on from the current position beats a seek.
_FORWARD_WINDOW = 48
#: Frames before the one asked for that a read keeps in the cache (converting to RGB costs ~2 ms per frame at
#: 960x540, decoding ~0.7 ms), so that a few steps back after a jump need no new seek.
_KEEP_BEFORE = 8
#: The packet index is checked by decoding from the last keyframe to the end when that is at most this many frames.
_TAIL_CHECK_MAX = 600
#: Upper bound of the decoded-frame LRU cache in bytes (the count is also capped at 64 frames).
_CACHE_BYTES = 192 * 2 ** 20

_LAST_INT = re.compile(r"(\d+)(?!.*\d)")
_CONVERT_HINT = ("convert it to H.264 mp4 (e.g. `ffmpeg -i IN -c:v libx264 -pix_fmt yuv420p OUT.mp4`) "
                 "or export its frames to a folder of images")


# ---- images ------------------------------------------------------------------------------
def to_rgb8(image: np.ndarray, path: Path | str = "") -> np.ndarray:
    """Convert an OpenCV image (as read with ``IMREAD_UNCHANGED``) to uint8 RGB (H, W, 3).

    Handles grayscale (H, W) / (H, W, 1), gray+alpha (H, W, 2), BGR (H, W, 3) and BGRA
    (H, W, 4) (alpha dropped); 16-bit images are scaled by 255/65535 (not clipped), float
    images are taken as [0, 1].

    Raises `ClipError` (naming ``path``) for other shapes or dtypes.
    """
    img = image
    if img.dtype == np.uint16:
        img = np.round(img.astype(np.float32) * (255.0 / 65535.0)).astype(np.uint8)
    elif img.dtype in (np.float32, np.float64):
        img = np.round(np.clip(img, 0.0, 1.0) * 255.0).astype(np.uint8)
    elif img.dtype != np.uint8:
        raise ClipError(f"{path}: unsupported pixel type {img.dtype}; save the frames as 8- or 16-bit images")
    if img.ndim == 3 and img.shape[2] in (1, 2):
        img = img[:, :, 0]
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.ndim == 3 and img.shape[2] == 3:
        return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    if img.ndim == 3 and img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    raise ClipError(f"{path}: unsupported image shape {image.shape}; expected gray, RGB or RGBA")


def read_image(path: Path | str) -> np.ndarray:
    """Read one image file as uint8 RGB (H, W, 3) (see `to_rgb8`).

    Reads the bytes with numpy so non-ASCII paths work on every platform.
    Raises `ClipError` when the file is missing or cannot be decoded.
    """
    path = Path(path)
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise ClipError(f"{path}: cannot read the file ({exc})") from exc
    img = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if img is None:
        raise ClipError(f"{path}: not a readable image (corrupt or unsupported); re-export or remove it")
    return to_rgb8(img, path)


def frame_number_from_name(name: str) -> int | None:
    """The frame number in a file name: its last group of digits, ignoring the extension.

    ``img46.jpg`` → 46, ``reg_img46.jpg`` → 46, ``006_05562.jpg`` → 5562; ``None`` without digits.
    """
    m = _LAST_INT.search(Path(name).stem)
    return int(m.group(1)) if m else None


def assumed_fps_note(fps: float = DEFAULT_FPS) -> str:
    """The sentence shown beside times of a frame folder whose frame rate nobody gave."""
    return (f"no frame rate is known for these frames: times assume {fps:g} fps; give the real rate with --fps "
            "(cmnet predict, cmnet-studio) or the fps field of the app")


class _TimedByRate:
    """Times of a source numbered at a constant rate: ``times_s = (number - first) / fps``.

    ``fps`` None means nobody gave a rate: `DEFAULT_FPS` is assumed and ``time_source`` is ``"assumed"``.
    """

    frame_numbers: Sequence[int]
    rate_note: str | None = None
    """Where a given rate came from, when that needs saying (e.g. a database whose sheet row for this folder was
    left out); shown as `timing_note` while the rate is given."""

    def _init_rate(self, fps: float | None) -> None:
        self.fps_given = fps is not None and fps > 0
        self.fps = float(fps) if self.fps_given else DEFAULT_FPS
        self.fps_nominal = self.fps

    def set_fps(self, fps: float | None) -> None:
        """Set the frame rate from outside (a user's entry, a database's known rate); None = unknown again.

        Raises ``ValueError`` for a rate that is not a finite number > 0."""
        if fps is not None and not (math.isfinite(fps) and fps > 0):
            raise ValueError(f"{self.path}: frame rate must be a number > 0 frames/s, got {fps!r}")
        self._init_rate(fps)

    @property
    def times_s(self) -> np.ndarray:
        """float64 (T,): seconds since the first frame, ``(number - first) / fps`` (gaps keep their time)."""
        nums = np.asarray(self.frame_numbers, dtype=np.float64)
        return (nums - nums[0]) / self.fps if len(nums) else nums

    @property
    def time_source(self) -> str:
        """``"nominal"`` when the rate was given, ``"assumed"`` when `DEFAULT_FPS` stands in for it."""
        return "nominal" if self.fps_given else "assumed"

    @property
    def timing_note(self) -> str | None:
        """`rate_note` (usually None) when the rate was given; else the `assumed_fps_note` sentence."""
        return self.rate_note if self.fps_given else assumed_fps_note(self.fps)

    @property
    def duration_s(self) -> float:
        """Seconds from the first frame to the end of the last: (last - first + 1) / fps."""
        nums = self.frame_numbers
        return (nums[-1] - nums[0] + 1) / self.fps if len(nums) else 0.0


class FolderSource(_TimedByRate):
    """Frames stored as image files (jpg, jpeg, png, bmp, tif, tiff) in one folder.

    Parameters
    ----------
    path : folder of frames. The frame number of each file is the last integer in its name
        (``img46.jpg`` → 46); frames are ordered by that number (natural order).
    fps : frames per second (a folder has none of its own: a database passes its rate, e.g. 200, a user
        gives one with ``--fps``); None = unknown: `DEFAULT_FPS` is assumed and ``time_source`` says
        ``"assumed"`` (`set_fps` sets it later).

    Attributes
    ----------
    frame_numbers : list[int]   ascending source frame numbers.
    gaps : list[tuple[int, int]] missing runs ``(first_missing, last_missing)`` between frames.
    files : dict[int, Path]     frame number → file.

    Raises
    ------
    ClipError : the folder is missing or cannot be read (e.g. permission denied), holds no images, a file
        name has no number, or two files carry the same number.
    """

    def __init__(self, path: Path | str, fps: float | None = None):
        self.path = Path(path)
        self._init_rate(fps)
        if not self.path.is_dir():
            raise ClipError(f"frame folder {self.path} does not exist")
        files: dict[int, Path] = {}
        try:
            entries = list(self.path.iterdir())
        except OSError as exc:  # e.g. permission denied for this user
            raise ClipError(f"frame folder {self.path} cannot be read ({exc.strerror or exc}); check its "
                            "permissions (the user running CMNet Studio needs read and execute rights)") from exc
        for f in entries:
            if f.suffix.lower() not in IMAGE_EXTENSIONS or not f.is_file() or f.name.startswith("."):
                continue
            n = frame_number_from_name(f.name)
            if n is None:
                raise ClipError(f"{f}: no frame number in the file name; frames must be named like img46.jpg")
            if n in files:
                raise ClipError(f"{self.path}: frame number {n} occurs twice ({files[n].name} and {f.name}); "
                                "remove one of them")
            files[n] = f
        if not files:
            raise ClipError(f"{self.path}: no image frames ({', '.join(IMAGE_EXTENSIONS)}) in this folder")
        self.frame_numbers = sorted(files)
        self.files = {n: files[n] for n in self.frame_numbers}
        self.gaps = [(a + 1, b - 1) for a, b in zip(self.frame_numbers, self.frame_numbers[1:]) if b - a > 1]
        self._size: tuple[int, int] | None = None

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)`` in pixels, from the first frame."""
        if self._size is None:
            h, w = self.read(self.frame_numbers[0]).shape[:2]
            self._size = (w, h)
        return self._size

    def check_one_size(self, numbers: Sequence[int] | None = None) -> tuple[int, int]:
        """Check that the frames ``numbers`` (default all) are one size, from the image headers (PIL reads no
        pixels: ~0.1 ms a file); returns that ``(width, height)``. Work that stacks frames (magnification,
        spotting) calls it first; reading single frames does not need it (prediction resizes every frame).

        Raises `ClipError` naming the first frame file of another size, its size, the size of the others (the
        most common one) and what to do. Files PIL cannot read are left to `read`, which reports them.
        """
        from PIL import Image

        chosen = self.frame_numbers if numbers is None else [n for n in numbers if n in self.files]
        sizes: dict[tuple[int, int], list[int]] = {}
        for n in chosen:
            try:
                with Image.open(self.files[n]) as im:
                    sizes.setdefault(tuple(im.size), []).append(n)
            except Exception:  # noqa: BLE001 - unreadable here: `read` names it when the frame is used
                continue
        if len(sizes) <= 1:
            return next(iter(sizes), self.size)
        common = max(sizes, key=lambda s: len(sizes[s]))
        odd = min((n for s, ns in sizes.items() if s != common for n in ns))
        (w, h), (cw, ch) = next(s for s, ns in sizes.items() if odd in ns), common
        others = sum(len(ns) for s, ns in sizes.items() if s != common)
        raise ClipError(f"{self.files[odd]} is {w}x{h} px, the others {cw}x{ch} px"
                        f"{f' ({others} frames differ)' if others > 1 else ''}; all frames of a folder must be one "
                        "size: re-export the folder at one size, or remove the odd frames")

    def read(self, number: int) -> np.ndarray:
        """Frame ``number`` as uint8 RGB (H, W, 3); ``KeyError`` when absent, `ClipError` when unreadable."""
        if number not in self.files:
            raise KeyError(f"{self.path}: no frame {number} (frames {self.frame_numbers[0]}..{self.frame_numbers[-1]})")
        return read_image(self.files[number])

    def close(self) -> None:
        """Nothing to release (files are opened per read)."""


class StillImageSource(_TimedByRate):
    """A single still image as a one-frame source (frame number 0, time 0 s).

    Raises `ClipError` when the image cannot be read.
    """

    def __init__(self, path: Path | str, fps: float | None = None):
        self.path = Path(path)
        self._init_rate(fps)
        self.frame_numbers = [0]
        self.gaps: list[tuple[int, int]] = []
        h, w = read_image(self.path).shape[:2]
        self.size = (w, h)

    @property
    def time_source(self) -> str:
        """``"nominal"``: one frame at 0 s needs no frame rate."""
        return "nominal"

    @property
    def timing_note(self) -> None:
        """None: a single frame's time (0 s) needs no frame rate."""
        return None

    def read(self, number: int) -> np.ndarray:
        """The image as uint8 RGB (H, W, 3) for ``number == 0``; ``KeyError`` otherwise."""
        if number != 0:
            raise KeyError(f"{self.path}: a still image has only frame 0")
        return read_image(self.path)

    def close(self) -> None:
        """Nothing to release."""


# ---- video --------------------------------------------------------------------------------
class IndexCancelled(ClipError):
    """`VideoSource.build_index` was cancelled (its ``cancelled()`` callback returned True)."""


@dataclass(frozen=True)
class VideoIndex:
    """Where every frame of a video is, built once by `VideoSource.build_index`.

    Attributes
    ----------
    pts : np.ndarray | None     int64 (T,), presentation timestamp of each frame in ``time_base`` units, ascending;
        None when the file's timestamps are missing or broken (frames are then found by sequential decoding).
    keyframes : tuple[int, ...] frame indices (0-based, presentation order) where decoding may start after a seek.
    times_s : np.ndarray        float64 (T,), seconds since frame 0: from ``pts`` when present, else index / nominal fps.
    duration_s : float          seconds from frame 0 to the end of the last frame (its own duration when the file
        gives one, else the median frame interval).
    count_source : str          ``"packets"`` (counted from the demuxed packets) or ``"decoded"`` (one decoding pass).
    timing_note : str | None    None, or a sentence saying the timestamps are missing/broken and times are nominal.
    """

    pts: np.ndarray | None
    keyframes: tuple[int, ...]
    times_s: np.ndarray
    duration_s: float
    count_source: str
    timing_note: str | None = None

    @property
    def count(self) -> int:
        """Number of frames T."""
        return len(self.times_s)


class _Resync(Exception):
    """The decoder did not deliver the frame the index promised (a frame missing, or the stream ended early)."""


class _Overshoot(Exception):
    """A seek landed after the frame asked for."""


def _nominal_fps(stream) -> float:
    """The stream's nominal frame rate: average rate (frames / duration), else FFmpeg's guessed rate, else
    `DEFAULT_FPS`."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        try:
            value = float(rate) if rate is not None else 0.0
        except (ZeroDivisionError, TypeError, ValueError):
            value = 0.0
        if math.isfinite(value) and 0.0 < value < 10_000.0:
            return value
    return DEFAULT_FPS


def frame_intervals_vary(times_s: np.ndarray, tick_s: float = 0.0) -> bool:
    """True when the frame intervals of ``times_s`` (seconds, (T,)) are not all equal: some interval differs
    from the median interval by more than 1.5 time-base ticks (``tick_s`` seconds; timestamp rounding, e.g.
    33/34 ms at 30 fps in a millisecond time base, is not variable frame rate) plus 1 µs."""
    if len(times_s) < 3:
        return False
    steps = np.diff(np.asarray(times_s, dtype=np.float64))
    return bool(np.max(np.abs(steps - np.median(steps))) > 1.5 * tick_s + 1e-6)


class VideoSource:
    """A video file decoded lazily with PyAV (FFmpeg's own demuxer and decoders); frames numbered 0 .. T-1
    in presentation order.

    Parameters
    ----------
    path : mp4, avi, mov, wmv, mkv, m4v (anything FFmpeg decodes).
    index : a `VideoIndex` already built for this file (`clone` passes it), so it is not built again.

    Attributes
    ----------
    fps_nominal : float         the stream's declared frame rate (average rate, else FFmpeg's guess, else
        `DEFAULT_FPS`); times use it only when the file has no usable timestamps.
    fps : float                 the mean rate measured from the pts once indexed (see `fps`), else `fps_nominal`.
    size : tuple[int, int]      ``(width, height)`` in pixels of the decoded frames.
    codec : str                 FFmpeg's decoder name (e.g. ``"h264"``, ``"hevc"``, ``"mpeg4"``).
    reported_count : int        frame count from the container header (0 when absent; may be wrong).
    time_base : Fraction | None seconds per pts unit.

    The frame index (`VideoIndex`: per-frame pts, keyframes) is built on first use of `frame_count`,
    `times_s` and the like, or explicitly with `build_index` (the app calls it in a worker thread; it may take
    seconds on a long file). It demuxes the packets once without decoding and checks that frame 0 and the last GOP
    decode with the listed pts; only when packet timestamps are missing or repeated, or that check fails (a
    truncated file), is the file decoded once. Frames are turned upright by the display matrix. A read seeks to the last keyframe at or before the frame and decodes
    forward, identifying frames by their pts; if the decoder disagrees with the packet index the index is rebuilt
    by decoding. A small LRU cache makes stepping back and forth cheap; the video is never held in memory.

    Raises
    ------
    ClipError : the file is missing, FFmpeg cannot open it, it has no video stream, or its first frame cannot be
        decoded (the message names the file and suggests converting it).
    """

    def __init__(self, path: Path | str, index: VideoIndex | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise ClipError(f"video file {self.path} does not exist")
        self._lock = threading.RLock()
        self._container = None
        self._stream = None
        self._frames_iter = None
        self._last: int | None = None        # index of the frame the decoder returned last (None: unknown)
        self._trusted_from = 0               # frames before this index (leading frames after a seek) are not used
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_max = 64
        self._index: VideoIndex | None = index
        self._open()
        st = self._stream
        self.codec = st.codec_context.name or "unknown"
        self.time_base = st.time_base
        self.reported_count = max(int(st.frames or 0), 0)
        self.fps_nominal = _nominal_fps(st)
        try:
            first = next(self._frames())
        except (StopIteration, av.FFmpegError) as exc:
            self.close()
            raise ClipError(f"{self.path}: FFmpeg opened the file but cannot decode its first frame "
                            f"(codec {self.codec!r}{': ' + str(exc) if str(exc) else ''}); {_CONVERT_HINT}") from exc
        rgb = self._to_rgb(first)
        self.size = (rgb.shape[1], rgb.shape[0])
        self._cache_max = int(max(4, min(64, _CACHE_BYTES // max(rgb.nbytes, 1))))
        self._last = 0
        self._remember(0, rgb)

    # -- the index --------------------------------------------------------------------------
    @property
    def fps(self) -> float:
        """Frames per second: once the index exists, the mean rate measured from the pts ((T - 1) / last frame's
        time; an AVI whose header says 60 fps for 30 fps of frames gives 30); before that, or without usable pts,
        `fps_nominal`. Never builds the index."""
        index = self._index
        if index is not None and index.pts is not None and index.count > 1 and index.times_s[-1] > 0:
            return (index.count - 1) / float(index.times_s[-1])
        return self.fps_nominal

    @property
    def is_indexed(self) -> bool:
        """True once the frame index exists (reading `frame_count`, `times_s` ... then costs nothing)."""
        return self._index is not None

    def build_index(self, cancelled: Callable[[], bool] | None = None) -> VideoIndex:
        """Build the frame index now (once; later calls return it). Demuxes every packet (no decoding); decodes
        the file once when packet timestamps are missing or repeated. Run it off the GUI thread.

        Raises `IndexCancelled` when ``cancelled()`` returns True (checked every 256 packets/frames) and
        `ClipError` when no frame decodes.
        """
        index = self._index
        if index is not None:      # no lock: the GUI thread asking for times never waits on a decoding thread
            return index
        with self._lock:
            if self._index is None:
                self._index = self._index_from_packets(cancelled)
                if self._index is None:
                    self._index = self._index_by_decoding(cancelled)
                self._after_index()
            return self._index

    @property
    def index(self) -> VideoIndex:
        """The `VideoIndex` (built on first use)."""
        return self.build_index()

    @property
    def frame_count(self) -> int:
        """Number of frames T (from the index; may differ from `reported_count`)."""
        return self.index.count

    @property
    def frame_numbers(self) -> Sequence[int]:
        """``range(frame_count)``."""
        return range(self.frame_count)

    @property
    def times_s(self) -> np.ndarray:
        """float64 (T,): seconds of each frame since frame 0, from the decoded pts (or nominal, see `time_source`)."""
        return self.index.times_s

    @property
    def time_source(self) -> str:
        """``"pts"`` when `times_s` comes from the file's timestamps, ``"nominal"`` when from `fps_nominal`."""
        return "pts" if self.index.pts is not None else "nominal"

    @property
    def timing_note(self) -> str | None:
        """None, or a sentence saying the file's timestamps are missing/broken and times use the nominal fps."""
        return self.index.timing_note

    @property
    def duration_s(self) -> float:
        """Seconds from frame 0 to the end of the last frame (from pts; see `VideoIndex.duration_s`)."""
        return self.index.duration_s

    @property
    def duration(self) -> float:
        """Alias of `duration_s`."""
        return self.duration_s

    @property
    def is_vfr(self) -> bool:
        """True when the frame intervals from pts are not all equal (`frame_intervals_vary`)."""
        tick = float(self.time_base) if self.time_base else 0.0
        return self.time_source == "pts" and frame_intervals_vary(self.times_s, tick)

    @property
    def variable_frame_rate(self) -> bool:
        """Alias of `is_vfr`."""
        return self.is_vfr

    @property
    def keyframes(self) -> tuple[int, ...]:
        """Frame indices where decoding can start after a seek."""
        return self.index.keyframes

    @property
    def seeks_exact(self) -> bool:
        """True when frames are found by keyframe seeks identified by pts; False when the file's timestamps are
        unusable and frames are found by decoding from the start."""
        return self.index.pts is not None

    @property
    def count_source(self) -> str:
        """``"packets"`` or ``"decoded"`` (see `VideoIndex.count_source`)."""
        return self.index.count_source

    def clone(self) -> "VideoSource":
        """Another reader of the same file with its own decoder (for another thread), sharing the index."""
        return VideoSource(self.path, index=self._index)

    # -- reading ----------------------------------------------------------------------------
    def read(self, number: int) -> np.ndarray:
        """Frame ``number`` (0-based, presentation order) as uint8 RGB (H, W, 3).

        Raises ``KeyError`` outside 0..frame_count-1 and `ClipError` when decoding fails.
        """
        with self._lock:
            number = int(number)
            if number in self._cache:
                self._cache.move_to_end(number)
                return self._cache[number]
            index = self.build_index()
            if not 0 <= number < index.count:
                raise KeyError(f"{self.path}: no frame {number} (frames 0..{index.count - 1})")
            for attempt in range(2):
                try:
                    return self._read_indexed(number, index)
                except _Resync:
                    if attempt or index.count_source == "decoded":
                        break
                    # The decoder disagrees with the packets (a frame the decoder drops): decode once to index.
                    self._index = index = self._index_by_decoding(None)
                    self._after_index()
                    if number >= index.count:
                        raise KeyError(f"{self.path}: no frame {number} (frames 0..{index.count - 1})") from None
            self._open()
            raise ClipError(f"{self.path}: frame {number} cannot be found by decoding; {_CONVERT_HINT}")

    def close(self) -> None:
        """Release the decoder (reading again reopens it) and drop cached frames."""
        with self._lock:
            if self._container is not None:
                self._container.close()
            self._container = self._stream = self._frames_iter = None
            self._last = None
            self._cache.clear()

    # -- decoding -------------------------------------------------------------------------
    def _open(self) -> None:
        if self._container is not None:
            self._container.close()
        self._container = self._stream = self._frames_iter = None
        try:
            empty = self.path.stat().st_size == 0
        except OSError:
            empty = False
        if empty:
            raise ClipError(f"{self.path}: the file is empty (0 bytes): an interrupted copy or download? Copy it "
                            "again from its source")
        try:
            container = av.open(str(self.path))
        except (av.FFmpegError, OSError, ValueError) as exc:
            raise ClipError(f"{self.path}: FFmpeg cannot open this video ({exc}); corrupt, or an unsupported "
                            f"container/codec; {_CONVERT_HINT}") from exc
        if not container.streams.video:
            container.close()
            raise ClipError(f"{self.path}: the file has no video stream; {_CONVERT_HINT}")
        self._container = container
        self._stream = container.streams.video[0]
        self._last = -1
        self._trusted_from = 0

    def _frames(self):
        """The decoded-frame iterator of the current container position (created after open or seek)."""
        if self._container is None:
            self._open()
        if self._frames_iter is None:
            self._frames_iter = self._decode_packets(self._container, self._stream)
        return self._frames_iter

    @staticmethod
    def _decode_packets(container, stream):
        """Decoded frames of ``stream`` from the current position; a packet that fails to decode (a damaged or
        truncated stretch) is skipped, so the frames after it still come."""
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.FFmpegError:
                continue
            yield from frames

    @staticmethod
    def _to_rgb(frame) -> np.ndarray:
        """uint8 RGB (H, W, 3), turned upright by the stream's display matrix (a phone's portrait video), as
        OpenCV's automatic orientation did: ``frame.rotation`` is counter-clockwise degrees."""
        rgb = frame.to_ndarray(format="rgb24")
        quarter = int(round((frame.rotation or 0) / 90.0)) % 4
        return np.ascontiguousarray(np.rot90(rgb, quarter)) if quarter else rgb

    def _remember(self, number: int, frame: np.ndarray) -> None:
        frame.setflags(write=False)
        self._cache[number] = frame
        self._cache.move_to_end(number)
        while len(self._cache) > self._cache_max:
            self._cache.popitem(last=False)

    def _after_index(self) -> None:
        """The cache and decoder position were numbered before the index existed: start over."""
        self._cache.clear()
        self._open()

    def _identify(self, frame, index: VideoIndex) -> int | None:
        """The index of a decoded frame: by its pts, or by decoding order when the file has no usable pts."""
        if index.pts is None:
            return (self._last if self._last is not None else -1) + 1
        if frame.pts is None:
            return None
        i = int(np.searchsorted(index.pts, frame.pts))
        return i if i < len(index.pts) and index.pts[i] == frame.pts else None

    def _seek_to_keyframe(self, number: int, index: VideoIndex, earlier: int) -> None:
        """Seek to the ``earlier``-th keyframe before the last one at or before ``number`` (0 = that one);
        past the first keyframe: reopen (decode from the start)."""
        k = bisect.bisect_right(index.keyframes, number) - 1 - earlier
        if k < 0 or index.pts is None:
            self._open()
            return
        frame_k = index.keyframes[k]
        try:
            self._container.seek(int(index.pts[frame_k]), stream=self._stream, backward=True, any_frame=False)
        except av.FFmpegError:
            self._open()
            return
        self._frames_iter = None
        self._last = None
        self._trusted_from = frame_k

    def _read_indexed(self, number: int, index: VideoIndex) -> np.ndarray:
        if self._container is None:
            self._open()
        forward = self._last is not None and self._last < number <= self._last + _FORWARD_WINDOW
        if index.pts is None:
            if not forward and (self._last is None or number <= self._last):
                self._open()                       # no timestamps: decode from the start
            return self._decode_to(number, index)
        if forward:
            return self._decode_to(number, index)
        for earlier in range(4):
            self._seek_to_keyframe(number, index, earlier)
            try:
                return self._decode_to(number, index)
            except _Overshoot:
                continue
        self._open()
        return self._decode_to(number, index)

    def _decode_to(self, number: int, index: VideoIndex) -> np.ndarray:
        """Decode forward to frame ``number``, caching the frames just before it."""
        keep_from = max(number - _KEEP_BEFORE, self._trusted_from)
        try:
            for frame in self._frames():
                i = self._identify(frame, index)
                if i is None:
                    raise _Resync()
                if i < self._trusted_from:        # a leading frame of an open GOP: may reference the skipped GOP
                    continue
                if self._last is None and i > number:
                    raise _Overshoot()
                if self._last is not None and i != self._last + 1:
                    raise _Resync()               # the decoder skipped a frame the index lists
                self._last = i
                if i == number:
                    rgb = self._to_rgb(frame)
                    self._remember(number, rgb)
                    return rgb
                if i > number:
                    raise _Resync()
                if i >= keep_from and i not in self._cache:
                    self._remember(i, self._to_rgb(frame))
        except av.FFmpegError as exc:
            self._open()
            raise ClipError(f"{self.path}: decoding failed before frame {number} ({exc}); {_CONVERT_HINT}") from exc
        self._open()                              # the end came before frame ``number``
        if index.count_source == "decoded" and index.pts is None:
            raise ClipError(f"{self.path}: decoding stopped before frame {number}; the file may be truncated — "
                            f"{_CONVERT_HINT}")
        raise _Resync()

    # -- building the index -------------------------------------------------------------------
    def _index_from_packets(self, cancelled) -> VideoIndex | None:
        """The index from one demuxing pass (no decoding); None when packet timestamps are missing or repeated."""
        self._open()
        st = self._stream
        pts, keys, durations = [], [], {}
        try:
            for n, pkt in enumerate(self._container.demux(st)):
                if cancelled is not None and n % 256 == 0 and cancelled():
                    raise IndexCancelled(f"{self.path}: building the frame index was cancelled")
                if pkt.size == 0 or pkt.is_discard:      # the flush packet; frames cut by an edit list
                    continue
                if pkt.pts is None:
                    return None
                pts.append(int(pkt.pts))
                if pkt.is_keyframe:
                    keys.append(int(pkt.pts))
                if pkt.duration:
                    durations[int(pkt.pts)] = int(pkt.duration)
        except av.FFmpegError:
            return None      # a damaged stretch: let the decoding pass find what decodes
        finally:
            self._open()
        if not pts:
            return None
        order = np.sort(np.asarray(pts, dtype=np.int64))
        if np.any(np.diff(order) == 0):
            return None
        keyframes = tuple(sorted(int(np.searchsorted(order, k)) for k in keys))
        if not self._tail_decodes(order, keyframes, cancelled):
            return None
        last_duration = durations.get(int(order[-1]), 0)
        return self._make_index(order, keyframes, "packets", last_duration)

    def _tail_decodes(self, pts: np.ndarray, keyframes: tuple[int, ...], cancelled) -> bool:
        """Check the packet index where files break (a truncated or damaged end, an edit list cutting frames):
        frame 0 and every frame from the last keyframe to the end must decode with the listed pts. Skipped (True)
        when that tail is longer than `_TAIL_CHECK_MAX` frames."""
        k = keyframes[-1] if keyframes else 0
        if len(pts) - k > _TAIL_CHECK_MAX:
            return True
        self._open()
        try:
            if k > 0:
                self._container.seek(int(pts[k]), stream=self._stream, backward=True, any_frame=False)
            seen = []
            for n, frame in enumerate(self._decode_packets(self._container, self._stream)):
                if cancelled is not None and n % 256 == 0 and cancelled():
                    raise IndexCancelled(f"{self.path}: building the frame index was cancelled")
                if k == 0 and n == 0 and frame.pts != pts[0]:
                    return False
                if frame.pts is not None and frame.pts >= pts[k]:
                    seen.append(int(frame.pts))
        except av.FFmpegError:
            return False
        finally:
            self._open()
        return seen == [int(p) for p in pts[k:]]

    def _index_by_decoding(self, cancelled) -> VideoIndex:
        """The index from one full decoding pass (frames in presentation order with their pts)."""
        self._open()
        pts: list[int | None] = []
        keys: list[int] = []
        last_duration = 0
        try:
            for n, frame in enumerate(self._decode_packets(self._container, self._stream)):
                if cancelled is not None and n % 256 == 0 and cancelled():
                    raise IndexCancelled(f"{self.path}: building the frame index was cancelled")
                pts.append(frame.pts)
                if frame.key_frame:
                    keys.append(n)
                last_duration = int(frame.duration or 0)
        except av.FFmpegError:
            pass             # a damaged tail: keep the frames that decoded
        finally:
            self._open()
        if not pts:
            raise ClipError(f"{self.path}: no frame could be decoded; {_CONVERT_HINT}")
        note = None
        if any(p is None for p in pts):
            note = "missing"
        elif any(b <= a for a, b in zip(pts, pts[1:])):
            note = "not increasing"
        if note is None:
            return self._make_index(np.asarray(pts, dtype=np.int64), tuple(keys), "decoded", last_duration)
        times = np.arange(len(pts), dtype=np.float64) / self.fps_nominal
        sentence = (f"{self.path.name}: the frame timestamps are {note}; times use the nominal "
                    f"{self.fps_nominal:g} fps (frame / fps) and may be wrong")
        return VideoIndex(pts=None, keyframes=(), times_s=times, duration_s=len(pts) / self.fps_nominal,
                          count_source="decoded", timing_note=sentence)

    def _make_index(self, pts: np.ndarray, keyframes: tuple[int, ...], count_source: str,
                    last_duration: int) -> VideoIndex:
        tb = float(self.time_base) if self.time_base else 1.0 / self.fps_nominal
        times = (pts - pts[0]).astype(np.float64) * tb
        step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0 / self.fps_nominal
        # The last frame's own duration when the file gives a plausible one (edit lists can leave odd values).
        tail = last_duration * tb if 0.5 * step <= last_duration * tb <= 2.0 * step else step
        return VideoIndex(pts=pts, keyframes=keyframes, times_s=times, duration_s=float(times[-1] + tail),
                          count_source=count_source)


# ---- opening ------------------------------------------------------------------------------
def open_source(path: Path | str, fps: float | None = None) -> VideoSource | FolderSource | StillImageSource:
    """Open a video file, a frame folder or a single still image as a `FrameSource`.

    ``fps`` sets the frame rate of a folder or still image (None: unknown, `DEFAULT_FPS` is assumed and the
    source says so); a video ignores it and times its frames by their own timestamps.

    Raises
    ------
    ClipError : the path does not exist, its extension is not supported, or it cannot be decoded.
    """
    path = Path(path)
    if not path.exists():
        raise ClipError(f"{path} does not exist; give a video file, a folder of frames or an image")
    if path.is_dir():
        return FolderSource(path, fps=fps)
    ext = path.suffix.lower()
    if ext in VIDEO_EXTENSIONS:
        return VideoSource(path)
    if ext in IMAGE_EXTENSIONS:
        return StillImageSource(path, fps=fps)
    raise ClipError(f"{path}: unsupported file type {ext or '(no extension)'}; supported videos: "
                    f"{', '.join(VIDEO_EXTENSIONS)}; images: {', '.join(IMAGE_EXTENSIONS)}; or a folder of frames")


def check_one_size(clip: Clip, numbers: Sequence[int] | None = None) -> None:
    """Raise `ClipError` when ``clip`` is a frame folder whose frames ``numbers`` (default all) are not one size
    (`FolderSource.check_one_size`); nothing to check for videos and still images (one size by construction)."""
    check = getattr(clip.source, "check_one_size", None)
    if check is not None:
        check(numbers)


def open_clip(path: Path | str, fps: float | None = None) -> Clip:
    """Open a loose video file, frame folder or still image as a `Clip` with an empty annotation.

    The clip is named after the file stem (or the folder name); subject and database are empty.
    Raises `ClipError` as `open_source` does.
    """
    source = open_source(path, fps=fps)
    p = Path(path)
    return Clip(source=source, name=p.name if p.is_dir() else p.stem)
