"""How well a model's outputs follow the truth, and the baselines every CMNet figure is shown beside.

* Labels: `DifferenceBaseline`, a multinomial logistic regression (scikit-learn) on the grey apex − onset
  difference image, area-downsampled to 16×16 (DESIGN.md §7: on real CASME II it reaches 0.61 UF1; the
  resize filter alone is worth 16 points, so the downsampling is anti-aliased).
* Intensity: per-clip Spearman ρ between k_n and the true intensity at the sampled frames
  (`intensity_spearman`), and the apex error of the peak of k_n in source frames (`apex_error_frames`), beside
  two apex baselines that use no model: the onset..offset midpoint and the peak of the frame-difference
  magnitude from the onset (`frame_difference_apex`).
* Across clips: `apex_change` measures how far the face moves between the onset and the k_n peak, in pixels
  (a clip-level intensity; the per-clip normalised k_n cannot show it, since the prototype pins every apex at 1).

Everything takes `PreprocessedClip` s (uint8 (N, S, S, 3) crops, frame map, apex position) and is Qt-free.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np
from scipy.stats import spearmanr

from cmnet_core.data.clip import Clip
from cmnet_core.preprocess.align import warp
from cmnet_core.preprocess.types import PreprocessedClip

#: Side of the area-downsampled difference image the logistic-regression baseline reads (DESIGN.md §7).
BASELINE_SIZE = 16
#: ``format`` tag of a saved `DifferenceBaseline` (`DifferenceBaseline.save`).
BASELINE_FORMAT = "cmnet-difference-baseline-1"
#: Side at which frame differences are measured for the frame-difference apex baseline.
DIFF_SIZE = 32


def _grey(frames: np.ndarray, size: int) -> np.ndarray:
    """uint8 RGB (N, S, S, 3) -> float32 grey (N, size, size) in grey levels, area-downsampled (anti-aliased)."""
    out = []
    for f in frames:
        g = cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY).astype(np.float32)
        out.append(cv2.resize(g, (size, size), interpolation=cv2.INTER_AREA) if g.shape[0] != size else g)
    return np.stack(out)


def onset_differences(pre: PreprocessedClip, size: int = DIFF_SIZE) -> np.ndarray:
    """Grey x_n − x_onset at ``size``×``size`` (area-downsampled), float32 (N, size, size), grey levels; each
    difference has its mean removed, so a global lighting change (flicker) does not count as motion."""
    g = _grey(pre.frames, size)
    d = g - g[:1]
    return d - d.mean(axis=(1, 2), keepdims=True)


def frame_difference_apex(pre: PreprocessedClip) -> int:
    """Apex baseline without a model: the position (0-based, of the N) with the largest RMS onset difference
    (`onset_differences`). DESIGN.md §7 asks every spotter to be compared with it."""
    d = onset_differences(pre)
    return int(np.argmax(np.sqrt((d ** 2).mean(axis=(1, 2)))))


#: Side of the re-cropped face on which `apex_change` measures optical flow, pixels.
FLOW_SIZE = 128
#: Apex change is reported in pixels of a face crop of this side (the paper's input size).
REFERENCE_CROP = 224


def apex_change(clip: Clip, pre: PreprocessedClip, position: int, size: int = FLOW_SIZE) -> float:
    """Clip-level intensity: how far the face moves between the onset and ``position`` (e.g. the peak of k_n).

    The two source frames (the nearest real frames to positions 0 and ``position``) are cropped again with the
    clip's alignment (`PreprocessedClip.alignment`) at ``size`` px, dense Farnebäck optical flow runs between
    them (OpenCV), the median flow (head translation) is removed, and the 99th percentile of the flow magnitude
    is returned in pixels of a `REFERENCE_CROP` px face crop. NaN when the result has no alignment (an old
    cache entry). Raises ``IndexError`` for a position outside 0..N−1 and whatever reading the frames raises.

    Why flow at 128 px and not the model's crop: at the `cpu` preset's 32 px a micro-expression moves 0.2-0.7 px,
    and a grey-level difference depends on the face's contrast as much as on the motion (bench_fidelity.py's
    calibration figure: Spearman over clips ≈ 0 for the RMS difference at 32 px, 0.35-0.46 for this measure).
    """
    if pre.alignment is None:
        return float("nan")
    numbers = np.asarray(clip.frame_numbers, dtype=np.float64)
    onset, moved = (int(numbers[np.argmin(np.abs(numbers - pre.frame_map[i]))]) for i in (0, position))
    matrix = np.asarray(pre.alignment) * (size / pre.frames.shape[1])
    g0, g1 = (cv2.cvtColor(warp(clip.frame(n), matrix, size), cv2.COLOR_RGB2GRAY) for n in (onset, moved))
    flow = cv2.calcOpticalFlowFarneback(g0, g1, None, 0.5, 3, 9, 3, 5, 1.1, 0)
    flow -= np.median(flow.reshape(-1, 2), axis=0)
    return float(np.percentile(np.linalg.norm(flow, axis=2), 99) * REFERENCE_CROP / size)


def true_intensity_at(clip: Clip, frame_map: np.ndarray) -> np.ndarray:
    """The clip's true intensity (synthetic clips) at the sampled frame numbers, linearly interpolated, (N,).
    Raises ``ValueError`` when the clip has no ground truth."""
    if not clip.true_intensity:
        raise ValueError(f"clip {clip.name} has no true intensity (only synthetic clips do)")
    numbers = np.array(sorted(clip.true_intensity), dtype=np.float64)
    values = np.array([clip.true_intensity[int(n)] for n in numbers])
    return np.interp(np.asarray(frame_map, dtype=np.float64), numbers, values)


def intensity_spearman(intensity: np.ndarray, truth: np.ndarray) -> float:
    """Spearman ρ between k_n (N,) and the true intensity (N,); 0.0 when either is constant (ρ undefined)."""
    if np.ptp(intensity) == 0 or np.ptp(truth) == 0:
        return 0.0
    return float(spearmanr(intensity, truth).statistic)


def apex_error_frames(position: int, pre: PreprocessedClip, apex_frame: float) -> float:
    """|frame_map[position] − apex_frame| in source frames (the error of an apex estimate given as a position)."""
    return float(abs(float(pre.frame_map[position]) - float(apex_frame)))


def midpoint_position(pre: PreprocessedClip) -> int:
    """Apex baseline: the middle of onset..offset, as a position of the N (the clip is cut to onset..offset)."""
    return (len(pre.frame_map) - 1) // 2


class DifferenceBaseline:
    """Multinomial logistic regression on the grey apex − onset difference, 16×16 area-downsampled.

    scikit-learn's `LogisticRegression` (L2, C = 100, i.e. an L2 weight of 1e-2) on train-set z-scored features
    (`StandardScaler`), the recipe measured on real CASME II in DESIGN.md §7. The apex is the clip's
    ``apex_position`` (annotated, sheet, or spotted: whatever preprocessing recorded).
    """

    def __init__(self, size: int = BASELINE_SIZE, c: float = 100.0) -> None:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.size = size
        self.model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))

    def features(self, clips: Sequence[PreprocessedClip]) -> np.ndarray:
        """(M, size²) apex − onset grey differences, float32, grey levels."""
        rows = []
        for pre in clips:
            g = _grey(pre.frames[[0, pre.apex_position]], self.size)
            rows.append((g[1] - g[0]).ravel())
        return np.stack(rows)

    def fit(self, clips: Sequence[PreprocessedClip], labels: Sequence[int]) -> "DifferenceBaseline":
        """Fit on training clips and their class ids. Raises ``ValueError`` (scikit-learn) with one class only."""
        self.model.fit(self.features(clips), np.asarray(labels))
        return self

    def predict_proba(self, clips: Sequence[PreprocessedClip], num_classes: int) -> np.ndarray:
        """(M, num_classes) class probabilities; a class absent from training gets probability 0."""
        p = self.model.predict_proba(self.features(clips))
        out = np.zeros((len(clips), num_classes))
        out[:, self.model.classes_] = p
        return out

    def to_dict(self) -> dict:
        """The fitted model as plain JSON-safe numbers (no pickle): ``size``, ``c``, the scaler's ``mean`` /
        ``scale`` / ``var`` (size² each, grey levels), ``coef`` (K', size²) and ``intercept`` (K',) of the
        regression (K' = 1 with two classes, else the number of classes seen), ``classes`` (class ids seen in
        training), ``n_samples`` (training clips), ``dtypes`` (of the scaler's and the regression's arrays, so a
        loaded model computes in the same precision and predicts bit for bit the same).
        Raises ``ValueError`` when the model is not fitted yet."""
        scaler, reg = self.model[0], self.model[-1]
        if not hasattr(reg, "coef_"):
            raise ValueError("the baseline is not fitted yet (call fit first)")
        return {"format": BASELINE_FORMAT, "size": self.size, "c": float(reg.C),
                "mean": scaler.mean_.tolist(), "scale": scaler.scale_.tolist(), "var": scaler.var_.tolist(),
                "n_samples": int(scaler.n_samples_seen_), "coef": reg.coef_.tolist(),
                "intercept": reg.intercept_.tolist(), "classes": [int(c) for c in reg.classes_],
                "dtypes": {"scaler": str(scaler.mean_.dtype), "coef": str(reg.coef_.dtype)}}

    def save(self, path) -> Path:
        """Write `to_dict` as JSON to ``path`` (floats written exactly: Python's shortest round-trip repr)."""
        from ..safe_write import write_text_atomically

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_text_atomically(path, json.dumps(self.to_dict()) + "\n")  # unique temporary file

    @classmethod
    def from_dict(cls, data: dict, source: str = "the baseline") -> "DifferenceBaseline":
        """A fitted baseline rebuilt from `to_dict`'s numbers (it predicts exactly what the saved one did).

        Raises ``ValueError`` naming ``source`` for another format or inconsistent shapes."""
        if data.get("format") != BASELINE_FORMAT:
            raise ValueError(f"{source} is not a saved difference baseline (format {data.get('format')!r}, "
                             f"expected {BASELINE_FORMAT!r})")
        base = cls(size=int(data["size"]), c=float(data["c"]))
        scaler, reg = base.model[0], base.model[-1]
        dtypes = data.get("dtypes", {})  # the fitted arrays' own dtypes (float32 features give float32 coef)
        mean, scale, var = (np.asarray(data[k], dtype=dtypes.get("scaler", "float64"))
                            for k in ("mean", "scale", "var"))
        coef = np.asarray(data["coef"], dtype=dtypes.get("coef", "float64"))
        intercept = np.asarray(data["intercept"], dtype=dtypes.get("coef", "float64"))
        classes = np.asarray(data["classes"], dtype=np.int64)
        features = base.size ** 2
        rows = 1 if len(classes) == 2 else len(classes)
        if (mean.shape != (features,) or scale.shape != (features,) or coef.shape != (rows, features)
                or intercept.shape != (rows,) or len(classes) < 2):
            raise ValueError(f"{source}: inconsistent shapes (size {base.size}, {len(classes)} classes, coef "
                             f"{coef.shape}, intercept {intercept.shape}, mean {mean.shape})")
        scaler.mean_, scaler.scale_, scaler.var_ = mean, scale, var
        scaler.n_samples_seen_, scaler.n_features_in_ = int(data["n_samples"]), features
        reg.coef_, reg.intercept_, reg.classes_, reg.n_features_in_ = coef, intercept, classes, features
        reg.n_iter_ = np.zeros(1, dtype=np.int32)
        return base

    @classmethod
    def load(cls, path) -> "DifferenceBaseline":
        """Read a baseline written by `save` (plain JSON: nothing in the file is executed). Raises ``ValueError``
        naming the file when it is not a saved baseline, ``OSError`` when it cannot be read."""
        try:
            data = json.loads(open(path, encoding="utf-8").read())
        except ValueError as exc:
            raise ValueError(f"{path} is not JSON: {exc}") from exc
        return cls.from_dict(data, source=str(path))


__all__ = ["BASELINE_FORMAT", "BASELINE_SIZE", "DIFF_SIZE", "FLOW_SIZE", "REFERENCE_CROP", "DifferenceBaseline",
           "apex_change", "apex_error_frames",
           "frame_difference_apex", "intensity_spearman", "midpoint_position", "onset_differences",
           "true_intensity_at"]
