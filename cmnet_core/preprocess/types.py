"""Data types passed from preprocessing to the model, the Predictor and the GUI."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

#: ImageNet statistics used to normalise crops for the ResNet backbones (torchvision convention).
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

BACKENDS = ("auto", "fan", "mtcnn", "hint", "none")
"""Values of ``PreprocessSettings.landmarks``."""


@dataclass(frozen=True)
class PreprocessSettings:
    """Every setting that changes preprocessing output (all of them key the cache).

    image_size : int        side of the square face crop in pixels (paper: 224).
    num_frames : int        N, frames after temporal normalisation (paper: 16).
    margin : float          crop margin around the face as a fraction of the inter-ocular distance scale.
    landmarks : str         ``"auto"`` (FAN if its model files exist, else MTCNN), ``"fan"``, ``"mtcnn"``,
                            ``"hint"`` (clip.landmarks_hint, synthetic clips), ``"none"`` (centre crop).
    interpolation : str     ``"tim"`` or ``"linear"`` for clips shorter than N.
    apex_mode : str         ``"annotated"`` (fall back to spotting), ``"spotting"`` or ``"midpoint"``.
    """

    image_size: int = 224
    num_frames: int = 16
    margin: float = 0.6
    landmarks: str = "auto"
    interpolation: str = "tim"
    apex_mode: str = "annotated"

    def to_dict(self) -> dict:
        """JSON-safe dict of every field (stored in caches, outputs and checkpoints)."""
        return asdict(self)


@dataclass
class PreprocessedClip:
    """A clip ready for CMNet.

    frames : np.ndarray         uint8 RGB, shape (N, S, S, 3), S = settings.image_size.
    frame_map : np.ndarray      float64, shape (N,): source frame number of each of the N positions
                                (fractional for interpolated frames).
    apex_position : int         0-based position of the apex among the N frames.
    apex_source : str           ``"annotated"``, ``"sheet"``, ``"spotted"`` or ``"midpoint"``.
    backend : str               landmark backend that actually ran (``"fan"``, ``"mtcnn"``, ``"hint"``, ``"none"``).
    settings : PreprocessSettings
    notes : list[str]           non-fatal remarks (e.g. "2 faces found, took the largest").
    alignment : np.ndarray | None   float64 (2, 3): the affine map from source-frame pixels to the S × S crop
                                (one per clip); None for results cached before it was recorded.
    padded : float              share (0..1) of the crop's pixels that lie outside the source frame (filled
                                with the frame's mean colour; `align.fit_crop` keeps it small where the face
                                allows). Shown on the contact sheet and written to preprocess.json.
    apex_spotter : str          the spotter's name (`apex.SPOTTER`) when ``apex_source`` is ``"spotted"``, else "".
    apex_confidence : float | None  the spotter's confidence 0..1 (`apex.spot_apex`); None when not spotted.
    """

    frames: np.ndarray
    frame_map: np.ndarray
    apex_position: int
    apex_source: str
    backend: str
    settings: PreprocessSettings
    notes: list[str] = field(default_factory=list)
    alignment: np.ndarray | None = None
    padded: float = 0.0
    apex_spotter: str = ""
    apex_confidence: float | None = None

    def to_tensor(self) -> "torch.Tensor":
        """Float tensor (N, 3, S, S), ImageNet-normalised, ready for `CMNet`."""
        import torch  # here, so that importing the settings stays cheap (the CLI's parsers)

        x = torch.from_numpy(np.ascontiguousarray(self.frames)).permute(0, 3, 1, 2).float().div_(255.0)
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        return (x - mean) / std
