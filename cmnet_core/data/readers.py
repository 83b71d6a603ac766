"""Frame readers: video files (OpenCV), frame folders and single still images.

Every reader implements `cmnet_core.data.clip.FrameSource`: frames are decoded on demand and
come out as uint8 RGB arrays of shape (H, W, 3); frame numbers are the source's own (a video
numbers its frames 0, 1, 2, ...; a frame folder takes them from the file names).

Videos: OpenCV's reported frame count and its seeks are wrong for many real-world files
(variable frame rate, B-frames, HEVC ``.mov`` from phones, broken AVI indexes). `VideoSource`
checks both the first time it needs them and, when they cannot be trusted, counts the frames by
decoding once and finds frames through a timestamp index built in that same pass, with sequential
decoding as the last resort. A small LRU cache makes stepping back and forth cheap; the whole
video is never held in memory.
"""
from __future__ import annotations

import bisect
import math
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

from .clip import Clip, ClipError

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".wmv", ".mkv", ".m4v")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")
#: Frame rate reported for sources without one (frame folders, broken video headers), frames/s.
DEFAULT_FPS = 30.0
#: Forward distance (frames) up to which decoding on from the current position beats a seek.
_FORWARD_WINDOW = 48
#: After a short step backwards, decode this many frames before the target (cached for further steps).
_STEP_BACK_RUN = 16
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


class FolderSource:
    """Frames stored as image files (jpg, jpeg, png, bmp, tif, tiff) in one folder.

    Parameters
    ----------
    path : folder of frames. The frame number of each file is the last integer in its name
        (``img46.jpg`` → 46); frames are ordered by that number (natural order).
    fps : frames per second to report (a folder has none; databases pass their own, e.g. 200).

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

    def __init__(self, path: Path | str, fps: float = DEFAULT_FPS):
        self.path = Path(path)
        self.fps = float(fps)
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

    def read(self, number: int) -> np.ndarray:
        """Frame ``number`` as uint8 RGB (H, W, 3); ``KeyError`` when absent, `ClipError` when unreadable."""
        if number not in self.files:
            raise KeyError(f"{self.path}: no frame {number} (frames {self.frame_numbers[0]}..{self.frame_numbers[-1]})")
        return read_image(self.files[number])

    def close(self) -> None:
        """Nothing to release (files are opened per read)."""


class StillImageSource:
    """A single still image as a one-frame source (frame number 0).

    Raises `ClipError` when the image cannot be read.
    """

    def __init__(self, path: Path | str, fps: float = DEFAULT_FPS):
        self.path = Path(path)
        self.fps = float(fps)
        self.frame_numbers = [0]
        self.gaps: list[tuple[int, int]] = []
        h, w = read_image(self.path).shape[:2]
        self.size = (w, h)

    def read(self, number: int) -> np.ndarray:
        """The image as uint8 RGB (H, W, 3) for ``number == 0``; ``KeyError`` otherwise."""
        if number != 0:
            raise KeyError(f"{self.path}: a still image has only frame 0")
        return read_image(self.path)

    def close(self) -> None:
        """Nothing to release."""


# ---- video --------------------------------------------------------------------------------
class VideoSource:
    """A video file decoded lazily with OpenCV; frames numbered 0 .. frame_count-1.

    Parameters
    ----------
    path : mp4, avi, mov, wmv, mkv (anything OpenCV's FFmpeg backend decodes).

    Attributes
    ----------
    fps : float                 frames per second from the header (`DEFAULT_FPS` when missing).
    size : tuple[int, int]      ``(width, height)`` in pixels of the decoded frames.
    codec : str                 FourCC reported by OpenCV (e.g. ``"h264"``, ``"hevc"``).
    reported_count : int        frame count from the container header (may be wrong).

    The true frame count (`frame_count`, `frame_numbers`) and whether seeks are exact
    (`seeks_exact`) are checked on first use: the last reported frame must decode at the
    expected timestamp (frame / fps) and the frame after it must not exist; a mid-video seek must
    land at its expected timestamp. If any check fails the video is decoded once, counting frames
    and recording each frame's timestamp; later reads seek, identify the frame they landed on by
    its timestamp, and decode forward to the one asked for (or decode from the start when
    timestamps are not unique). Every seek is re-checked the same way.

    Raises
    ------
    ClipError : the file cannot be opened or its first frame cannot be decoded (message names
        the file and suggests converting it).
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        if not self.path.is_file():
            raise ClipError(f"video file {self.path} does not exist")
        self._lock = threading.RLock()
        self._cap: cv2.VideoCapture | None = None
        self._cursor = 0                     # index of the frame the next grab() returns
        self._open()
        cap = self._cap
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and math.isfinite(fps) and fps > 0 else DEFAULT_FPS
        fourcc = int(cap.get(cv2.CAP_PROP_FOURCC))
        self.codec = "".join(chr((fourcc >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00 ") or "unknown"
        self.reported_count = max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0)
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_max = 64
        self._count: int | None = None
        self._seeks_exact: bool | None = None
        self._timestamps: list[float] | None = None   # ms per frame, from one full decode
        self._unique_stamps = False
        first = self._decode_next()
        if first is None:
            self.close()
            raise ClipError(f"{self.path}: OpenCV opened the file but cannot decode its first frame "
                            f"(codec {self.codec!r}); {_CONVERT_HINT}")
        self.size = (first.shape[1], first.shape[0])
        self._cache_max = int(max(4, min(64, _CACHE_BYTES // max(first.nbytes, 1))))
        self._remember(0, first)

    # -- public ---------------------------------------------------------------------------
    @property
    def frame_count(self) -> int:
        """Number of decodable frames (checked; may differ from `reported_count`)."""
        self._check()
        return self._count  # type: ignore[return-value]

    @property
    def frame_numbers(self) -> Sequence[int]:
        """``range(frame_count)``."""
        return range(self.frame_count)

    @property
    def seeks_exact(self) -> bool:
        """True when OpenCV's seeks land on the frame asked for (checked on first use)."""
        self._check()
        return bool(self._seeks_exact)

    @property
    def count_source(self) -> str:
        """``"header"`` when the reported count was confirmed, ``"decoded"`` when counted by decoding."""
        self._check()
        return "decoded" if self._timestamps is not None else "header"

    @property
    def duration(self) -> float:
        """Duration in seconds: last timestamp + one frame period when decoded, else count / fps."""
        self._check()
        if self._timestamps:
            return (self._timestamps[-1] / 1000.0) + 1.0 / self.fps
        return self.frame_count / self.fps

    @property
    def variable_frame_rate(self) -> bool:
        """True when the decoded frame intervals vary by more than 10 % of their median (only known
        after a decoding pass; False when the header count and seeks were confirmed)."""
        self._check()
        if not self._timestamps or len(self._timestamps) < 3:
            return False
        steps = np.diff(self._timestamps)
        return bool(np.ptp(steps) > 0.1 * np.median(steps))

    def read(self, number: int) -> np.ndarray:
        """Frame ``number`` (0-based) as uint8 RGB (H, W, 3).

        Raises ``KeyError`` outside 0..frame_count-1 and `ClipError` when decoding fails.
        """
        with self._lock:
            number = int(number)
            if number in self._cache:
                self._cache.move_to_end(number)
                return self._cache[number]
            if not 0 <= number < self.frame_count:
                raise KeyError(f"{self.path}: no frame {number} (frames 0..{self.frame_count - 1})")
            # After a jump, keep the frames decoded on the way so stepping back stays cheap.
            keep_from = number + 1
            if not (self._cursor - 1 <= number <= self._cursor + _FORWARD_WINDOW):
                # A short step back lands a little earlier so that the next steps back are cached.
                step_back = self._cursor - 1 - _FORWARD_WINDOW <= number < self._cursor - 1
                self._position_before(max(0, number - _STEP_BACK_RUN) if step_back else number)
                keep_from = number - self._cache_max // 2
            while self._cursor - 1 < number:
                if self._cursor >= 1 and self._cursor - 1 >= keep_from and self._cursor - 1 not in self._cache:
                    ok, bgr = self._cap.retrieve()  # type: ignore[union-attr]
                    if ok and bgr is not None:
                        self._remember(self._cursor - 1, to_rgb8(bgr, self.path))
                if not self._grab():
                    raise ClipError(f"{self.path}: decoding stopped at frame {self._cursor} before frame "
                                    f"{number}; the file may be truncated — {_CONVERT_HINT}")
            ok, bgr = self._cap.retrieve()  # type: ignore[union-attr]
            if not ok or bgr is None:
                raise ClipError(f"{self.path}: frame {number} cannot be decoded; {_CONVERT_HINT}")
            frame = to_rgb8(bgr, self.path)
            self._remember(number, frame)
            return frame

    def close(self) -> None:
        """Release the decoder (reading again reopens it) and drop cached frames."""
        with self._lock:
            if self._cap is not None:
                self._cap.release()
            self._cap = None
            self._cache.clear()

    # -- decoding -------------------------------------------------------------------------
    def _open(self) -> None:
        if self._cap is not None:
            self._cap.release()
        cap = cv2.VideoCapture(str(self.path), cv2.CAP_FFMPEG)
        if not cap.isOpened():
            raise ClipError(f"{self.path}: OpenCV cannot open this video (corrupt, or an unsupported "
                            f"container/codec); {_CONVERT_HINT}")
        self._cap = cap
        self._cursor = 0

    def _ensure_open(self) -> cv2.VideoCapture:
        if self._cap is None:
            self._open()
        return self._cap  # type: ignore[return-value]

    def _grab(self) -> bool:
        ok = self._ensure_open().grab()
        if ok:
            self._cursor += 1
        return ok

    def _decode_next(self) -> np.ndarray | None:
        if not self._grab():
            return None
        ok, bgr = self._cap.retrieve()  # type: ignore[union-attr]
        return to_rgb8(bgr, self.path) if ok and bgr is not None else None

    def _remember(self, number: int, frame: np.ndarray) -> None:
        frame.setflags(write=False)
        self._cache[number] = frame
        self._cache.move_to_end(number)
        while len(self._cache) > self._cache_max:
            self._cache.popitem(last=False)

    def _expected_ms(self, index: int) -> float:
        return index * 1000.0 / self.fps

    def _seek_grab(self, index: int) -> float | None:
        """Seek to ``index``, grab one frame, return its timestamp (ms), or None if nothing decoded."""
        cap = self._ensure_open()
        cap.set(cv2.CAP_PROP_POS_FRAMES, index)
        if not cap.grab():
            self._open()
            return None
        return float(cap.get(cv2.CAP_PROP_POS_MSEC))

    def _lands_on(self, index: int) -> bool:
        """Seek to ``index`` and check the decoded frame has the timestamp of frame ``index``."""
        ts = self._seek_grab(index)
        ok = ts is not None and abs(ts - self._expected_ms(index)) <= 500.0 / self.fps
        if ok:
            self._cursor = index + 1
        else:
            self._open()
        return ok

    def _check(self) -> None:
        """Confirm the header count and seeking once; otherwise index the video by decoding it."""
        if self._count is not None:
            return
        with self._lock:
            if self._count is not None:
                return
            n = self.reported_count
            trusted = (n >= 1 and self._lands_on(n - 1) and self._seek_grab(n) is None
                       and (n < 3 or self._lands_on(n // 2)))
            self._open()
            if trusted:
                self._count, self._seeks_exact = n, True
            else:
                self._index_by_decoding()

    def _index_by_decoding(self) -> None:
        self._open()
        stamps: list[float] = []
        while self._grab():
            stamps.append(float(self._cap.get(cv2.CAP_PROP_POS_MSEC)))  # type: ignore[union-attr]
        self._open()
        if not stamps:
            raise ClipError(f"{self.path}: no frame could be decoded; {_CONVERT_HINT}")
        self._timestamps = stamps
        self._count = len(stamps)
        self._unique_stamps = all(b > a for a, b in zip(stamps, stamps[1:]))
        self._seeks_exact = False

    def _position_before(self, number: int) -> None:
        """Leave the decoder with a grabbed frame at index ``_cursor - 1 <= number`` (or at the start)."""
        self._check()
        if self._seeks_exact:
            if self._lands_on(number):
                return
            # A seek failed its timestamp check: stop trusting seeks, index by decoding.
            self._index_by_decoding()
        if self._timestamps is not None and self._unique_stamps:
            back = 8
            while number - back > 0:
                ts = self._seek_grab(number - back)
                if ts is not None:
                    i = bisect.bisect_left(self._timestamps, ts - 0.5)
                    if i < len(self._timestamps) and abs(self._timestamps[i] - ts) <= 0.5 and i <= number:
                        self._cursor = i + 1
                        return
                back *= 4
        self._open()   # decode from the start


# ---- opening ------------------------------------------------------------------------------
def open_source(path: Path | str, fps: float | None = None) -> VideoSource | FolderSource | StillImageSource:
    """Open a video file, a frame folder or a single still image as a `FrameSource`.

    ``fps`` sets the frame rate of a folder or still image (default `DEFAULT_FPS`); a video uses its own.

    Raises
    ------
    ClipError : the path does not exist, its extension is not supported, or it cannot be decoded.
    """
    path = Path(path)
    if not path.exists():
        raise ClipError(f"{path} does not exist; give a video file, a folder of frames or an image")
    if path.is_dir():
        return FolderSource(path, fps=fps or DEFAULT_FPS)
    ext = path.suffix.lower()
    if ext in VIDEO_EXTENSIONS:
        return VideoSource(path)
    if ext in IMAGE_EXTENSIONS:
        return StillImageSource(path, fps=fps or DEFAULT_FPS)
    raise ClipError(f"{path}: unsupported file type {ext or '(no extension)'}; supported videos: "
                    f"{', '.join(VIDEO_EXTENSIONS)}; images: {', '.join(IMAGE_EXTENSIONS)}; or a folder of frames")


def open_clip(path: Path | str, fps: float | None = None) -> Clip:
    """Open a loose video file, frame folder or still image as a `Clip` with an empty annotation.

    The clip is named after the file stem (or the folder name); subject and database are empty.
    Raises `ClipError` as `open_source` does.
    """
    source = open_source(path, fps=fps)
    p = Path(path)
    return Clip(source=source, name=p.name if p.is_dir() else p.stem)
