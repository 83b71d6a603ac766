"""Prediction with a trained CMNet checkpoint: `Predictor` (load once, predict many clips) and `Prediction`.

A `Prediction` holds the class probabilities and, at the N sampled positions, the intensity clues k_n, the
tendency prototype mean and σ (Wei et al., AAAI 2023, Eqs. 2–4) and the map position → source frame number,
plus provenance. `Prediction.table` gives one row per position (py-feat style) for CSV export.
"""
from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .data.clip import Clip
from .preprocess.apex import describe_apex_source
from .preprocess.types import PreprocessSettings
from .train.checkpoint import Checkpoint, CheckpointError, load_checkpoint
from .train.fidelity import apex_change
from .train.trainer import resolve_device

__all__ = ["Predictor", "Prediction", "PredictionCancelled", "CheckpointError"]

TABLE_COLUMNS = ("position", "frame", "time_s", "time_source", "intensity", "proto_mean", "proto_sigma", "is_apex",
                 "is_k_peak")
#: What ``time_source`` says about ``time_s``.
TIME_SOURCES = {"pts": "measured: the video's decoded frame timestamps (pts)",
                "nominal": "nominal: (frame - first frame) / the source's known frame rate",
                "assumed": "ASSUMED: (frame - first frame) / 30 fps, nobody gave this folder's frame rate "
                           "(set it with --fps)"}
#: Preprocessing settings a user may change at prediction time (the model's input size and N are fixed).
OVERRIDABLE = ("landmarks", "apex_mode")
#: A video whose decodable frames differ from its header's count by more than this fraction gets a note.
COUNT_MISMATCH = 0.05


class PredictionCancelled(Exception):
    """``cancel()`` returned True during `Predictor.predict`."""


@dataclass
class Prediction:
    """CMNet's output for one clip. N positions, C classes.

    labels : class names (C,) in class-id order.
    probabilities : float (C,), softmax of the logits; sums to 1.
    intensity : float (N,), intensity clues k_n (unitless, in (0, 1) with the sigmoid squeeze).
    proto_mean, proto_sigma : float (N,), tendency prototype mean and standard deviation per position.
    frame_map : float (N,), source frame number of each position (fractional where interpolated).
    apex_position : 0-based position of the apex among the N.
    fps : nominal frames per second of the source.
    first_frame : the source's first frame number (time 0).
    position_times : float (N,), seconds since the first frame of each position, from the source's frame times
        (`Clip.time_of`: a video's decoded pts, interpolated between frames); None = ``(frame - first) / fps``.
    time_source : where the times come from: ``"pts"``, ``"nominal"`` or ``"assumed"`` (`TIME_SOURCES`).
    timing_note : None, or the source's sentence about its times (broken timestamps, assumed frame rate).
    clip_name, source : the clip's name and file/folder.
    apex_change : clip-level intensity: how far the face moves between the onset and the peak of k_n, pixels of
        a 224-px face crop (99th percentile of the optical flow, head translation removed;
        `cmnet_core.train.fidelity.apex_change`). k_n is normalised per clip (the prototype pins every apex at 1);
        this says how strongly the clip moves. Only roughly calibrated (README, "Calibration across clips").
    provenance : checkpoint, device, preprocessing backend and settings (and ``overrides`` of the checkpoint's),
        apex source, notes (preprocessing remarks; a video whose header count disagrees with what decodes),
        seconds taken.
    """

    labels: list[str]
    probabilities: np.ndarray
    intensity: np.ndarray
    proto_mean: np.ndarray
    proto_sigma: np.ndarray
    frame_map: np.ndarray
    apex_position: int
    fps: float
    first_frame: int = 0
    clip_name: str = ""
    source: str = ""
    provenance: dict = field(default_factory=dict)
    apex_change: float = float("nan")
    position_times: np.ndarray | None = None
    time_source: str = "nominal"
    timing_note: str | None = None

    @property
    def k_peak_position(self) -> int:
        """0-based position of the largest intensity clue: an apex estimate from the frames alone."""
        return int(np.argmax(self.intensity))

    @property
    def k_peak_frame(self) -> float:
        """Source frame number of the peak of k_n (fractional where interpolated)."""
        return float(self.frame_map[self.k_peak_position])

    @property
    def label(self) -> str:
        """The most probable class."""
        return self.labels[int(np.argmax(self.probabilities))]

    @property
    def times(self) -> np.ndarray:
        """Time of each position in seconds since the source's first frame, (N,): `position_times` when known."""
        if self.position_times is not None:
            return np.asarray(self.position_times, dtype=np.float64)
        return (self.frame_map - self.first_frame) / self.fps

    def table(self) -> list[dict]:
        """One row per position: position, source frame number, time (s) and its source, k_n, prototype mean, σ,
        is_apex, is_k_peak."""
        times = self.times
        return [{"position": i, "frame": float(self.frame_map[i]), "time_s": float(times[i]),
                 "time_source": self.time_source,
                 "intensity": float(self.intensity[i]), "proto_mean": float(self.proto_mean[i]),
                 "proto_sigma": float(self.proto_sigma[i]), "is_apex": i == self.apex_position,
                 "is_k_peak": i == self.k_peak_position}
                for i in range(len(self.frame_map))]

    def write_csv(self, path: str | Path) -> Path:
        """Write `table` as CSV (header `TABLE_COLUMNS`) preceded by ``# key: value`` lines with the predicted
        label, probabilities and checkpoint, atomically (`write_text_atomically`). Returns the path.

        Raises `DiskFullError` when the disk is full and `OSError` when the file cannot be written; no partial
        file is left and a previous file at ``path`` is kept."""
        from .safe_write import write_text_atomically

        f = io.StringIO()
        f.write(f"# clip: {self.clip_name} ({self.source})\n# predicted: {self.label}\n")
        f.write("# probabilities: " + ", ".join(f"{lab}={p:.6f}" for lab, p in
                                                zip(self.labels, self.probabilities)) + "\n")
        prov = self.provenance
        apex_text = describe_apex_source(prov.get("apex_source", ""), prov.get("apex_confidence"))
        if prov.get("apex_spotter"):
            apex_text += f", {prov['apex_spotter']}"
        f.write(f"# apex: frame {self.frame_map[self.apex_position]:g} ({apex_text}); "
                f"peak of k_n: frame {self.k_peak_frame:g}\n")
        f.write(f"# apex change (clip-level intensity, px at a 224-px face crop): {self.apex_change:.3f}\n")
        f.write(f"# time_s: {TIME_SOURCES.get(self.time_source, self.time_source)}\n")
        if self.timing_note:
            f.write(f"# timing note: {self.timing_note}\n")
        f.write(f"# checkpoint: {self.provenance.get('checkpoint', '')}\n")
        w = csv.DictWriter(f, fieldnames=TABLE_COLUMNS)
        w.writeheader()
        w.writerows(self.table())
        return write_text_atomically(path, f.getvalue())

    def to_dict(self) -> dict:
        """JSON-safe dict of everything (arrays as lists)."""
        return {"clip": self.clip_name, "source": self.source, "label": self.label, "labels": list(self.labels),
                "probabilities": {lab: float(p) for lab, p in zip(self.labels, self.probabilities)},
                "apex_position": int(self.apex_position), "k_peak_position": self.k_peak_position,
                "k_peak_frame": self.k_peak_frame, "apex_change": float(self.apex_change), "fps": self.fps, "first_frame": self.first_frame,
                "time_source": self.time_source, "timing_note": self.timing_note,
                "frames": self.table(), "provenance": self.provenance}


class Predictor:
    """A loaded checkpoint ready to predict clips. Build with `Predictor.load`.

    Attributes: ``meta`` (the checkpoint's `CheckpointMeta`), ``metadata`` (the same as a plain dict), ``labels``,
    ``device`` (torch.device that runs),
    ``settings`` (`PreprocessSettings` from the checkpoint, changed by `override`), ``overrides`` (what `override`
    changed: name → ``{"checkpoint": value, "used": value}``), ``model`` (CMNet in eval mode), ``path``.
    """

    def __init__(self, model: torch.nn.Module, checkpoint: Checkpoint, device: torch.device):
        self.model = model.eval()
        self.checkpoint = checkpoint
        self.meta = checkpoint.meta
        self.metadata = checkpoint.metadata
        self.labels = checkpoint.labels
        self.device = device
        self.path = checkpoint.path
        self.settings = PreprocessSettings(**checkpoint.meta.preprocess)
        self.overrides: dict[str, dict] = {}

    def override(self, **changes) -> None:
        """Use other preprocessing settings than the checkpoint's: ``landmarks`` and/or ``apex_mode`` (None =
        keep). Each change is recorded in every prediction's provenance (``"overrides"``: name → checkpoint and
        used value). Raises ``ValueError`` for another field or an unknown value."""
        from .preprocess.apex import APEX_MODES
        from .preprocess.types import BACKENDS

        allowed = {"landmarks": BACKENDS, "apex_mode": APEX_MODES}
        for name, value in changes.items():
            if value is None:
                continue
            if name not in OVERRIDABLE:
                raise ValueError(f"{name} cannot change at prediction time (only {', '.join(OVERRIDABLE)})")
            if value not in allowed[name]:
                raise ValueError(f"{name} {value!r}: choose one of {', '.join(allowed[name])}")
            original = self.meta.preprocess.get(name, getattr(PreprocessSettings(), name))
            self.settings = replace(self.settings, **{name: value})
            if value == original:
                self.overrides.pop(name, None)
            else:
                self.overrides[name] = {"checkpoint": original, "used": value}

    @classmethod
    def load(cls, path: str | Path, device: str = "auto") -> "Predictor":
        """Load a checkpoint (no code from the file is run) onto ``device`` (``"auto"``: CUDA when available).

        Raises `CheckpointError` for an unsafe/invalid file or metadata that does not describe a CMNet,
        ``ValueError`` when CUDA is asked for but absent.
        """
        from .model import CMNet, CMNetConfig

        dev = resolve_device(device)
        ckpt = load_checkpoint(path, map_location="cpu")
        try:
            cfg = CMNetConfig.from_dict(ckpt.meta.model_config)
            PreprocessSettings(**ckpt.meta.preprocess)
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"{path}: the checkpoint's settings are not understood: {exc}") from exc
        if (cfg.image_size, cfg.num_frames) != (ckpt.meta.image_size, ckpt.meta.num_frames):  # a partial model_config
            raise CheckpointError(f"{path}: model_config gives {cfg.image_size} px and N = {cfg.num_frames} but the "
                                  f"metadata says {ckpt.meta.image_size} px and N = {ckpt.meta.num_frames}; retrain "
                                  "it with cmnet train, or re-save it with cmnet so that its settings agree")
        model = CMNet(cfg.replace(pretrained="none"), len(ckpt.labels))
        try:
            model.load_state_dict(ckpt.state_dict)
        except RuntimeError as exc:
            raise CheckpointError(f"{path}: the weights do not fit the model described by its metadata: {exc}") from exc
        return cls(model.to(dev), ckpt, dev)

    def settings_for(self, clip: Clip) -> tuple[PreprocessSettings, list[str]]:
        """The checkpoint's preprocessing settings for ``clip``, and notes on any change.

        Only change: the checkpoint's landmarks ``"hint"`` (synthetic training data) on a clip without a landmark
        hint becomes ``"auto"`` (a real detector); an explicit `override` is kept as given.
        """
        if self.settings.landmarks == "hint" and clip.landmarks_hint is None and "landmarks" not in self.overrides:
            return replace(self.settings, landmarks="auto"), [
                "checkpoint preprocessing used synthetic landmark hints; this clip has none: used 'auto' landmarks"]
        return self.settings, []

    @torch.no_grad()
    def predict(self, clip: Clip, progress: Callable[[float, str], None] | None = None,
                cancel: Callable[[], bool] | None = None, cache=None) -> Prediction:
        """Preprocess ``clip`` with the checkpoint's settings and run CMNet on it.

        progress(fraction in [0, 1], message) is called at each stage; cancel() is checked between stages.
        cache : an optional `PreprocessCache`.
        Raises `PredictionCancelled` on cancel, `PreprocessError`/`ClipError` when the clip cannot be preprocessed
        or is a single image (a micro-expression is a change over frames; one frame repeated N times carries no
        motion, and with onset-relative input the model would see zeros and give the same label for any image).
        """
        from .preprocess.errors import PreprocessError
        from .preprocess.pipeline import preprocess_clip

        if len(clip) < 2:
            raise PreprocessError(f"{clip.path} is a single image: CMNet reads a micro-expression from the change "
                                  "over frames; open the video or the folder of frames it comes from")

        def stage(fraction: float, message: str) -> None:
            if progress is not None:
                progress(fraction, message)
            if cancel is not None and cancel():
                raise PredictionCancelled(f"prediction of {clip.name or clip.path} cancelled")

        t0 = time.perf_counter()
        settings, notes = self.settings_for(clip)
        stage(0.0, "preprocessing")
        pre = preprocess_clip(clip, settings=settings, cache=cache)
        t1 = time.perf_counter()
        stage(0.7, "running CMNet")
        frames = pre.to_tensor().unsqueeze(0).to(self.device)
        apex = torch.tensor([pre.apex_position], device=self.device)
        out = self.model(frames, apex)
        probs = torch.softmax(out.logits.float(), dim=1)[0].cpu().numpy()
        t2 = time.perf_counter()
        stage(1.0, "done")
        numbers = clip.frame_numbers
        notes += source_notes(clip, settings.num_frames)
        frame_map = np.asarray(pre.frame_map, dtype=np.float64)
        position_times = np.array([clip.time_of(f) for f in frame_map], dtype=np.float64)
        if self.meta.synthetic and not clip.true_intensity:
            notes.append("this model was trained on synthetic faces only: on real video its label and intensity "
                         "curve mean nothing (train or fine-tune on your own clips)")
        intensity = out.intensity[0].float().cpu().numpy().astype(np.float64)
        return Prediction(
            labels=list(self.labels), probabilities=probs.astype(np.float64),
            intensity=intensity, apex_change=apex_change(clip, pre, int(np.argmax(intensity))),
            proto_mean=out.proto_mean[0].float().cpu().numpy().astype(np.float64),
            proto_sigma=out.proto_sigma[0].float().cpu().numpy().astype(np.float64),
            frame_map=frame_map, apex_position=int(pre.apex_position),
            fps=clip.fps, first_frame=int(numbers[0]) if len(numbers) else 0, clip_name=clip.name,
            position_times=position_times, time_source=clip.time_source, timing_note=clip.timing_note,
            source=str(clip.path),
            provenance={"checkpoint": str(self.path), "device": str(self.device),
                        "preprocess_backend": pre.backend, "preprocess": settings.to_dict(),
                        "apex_source": pre.apex_source, "apex_spotter": pre.apex_spotter,
                        "apex_confidence": (None if pre.apex_confidence is None
                                            else round(float(pre.apex_confidence), 4)),
                        "notes": [*notes, *pre.notes],
                        "overrides": dict(self.overrides),
                        "checkpoint_database": self.meta.database,
                        "checkpoint_protocol": self.meta.protocol,
                        "code_version": self.meta.code_version,
                        "seconds": {"preprocess": round(t1 - t0, 4), "model": round(t2 - t1, 4)}})


#: Fewer source frames than this in onset..offset and the intensity curve cannot show a course (onset, apex,
#: offset need at least 3 distinct frames plus one to rise from); CAS(ME)^3 has 1–3-frame MEs, so such clips are
#: predicted, with a note.
MIN_COURSE_FRAMES = 4
#: Frame files whose size is checked for a mixed-size folder (headers only, first this many in onset..offset).
SIZE_CHECK_LIMIT = 2000


def source_notes(clip: Clip, num_frames: int | None = None) -> list[str]:
    """Remarks on the clip's source worth showing with a prediction.

    - a video whose header promises more (or fewer) frames than decode (a truncated or damaged file;
      `VideoSource.reported_count` vs ``frame_count``), when they differ by more than `COUNT_MISMATCH` of the
      header's count;
    - fewer than `MIN_COURSE_FRAMES` source frames in onset..offset (a still image, a 1-frame video, a 1–3-frame
      folder): the frames are repeated/interpolated to ``num_frames`` (TIM) and the curve shows no course;
    - a frame folder whose images differ in size (every frame is resized; two clips mixed in one folder?);
    - a gap in a folder's frame numbers inside onset..offset (frames sampled across the gap);
    - the source's timing note (`Clip.timing_note`: a video whose timestamps are missing or broken, a frame folder
      whose frame rate is assumed).
    """
    src = clip.source
    notes: list[str] = []
    reported = getattr(src, "reported_count", None)
    if reported:
        decoded = len(src.frame_numbers)
        if abs(reported - decoded) > COUNT_MISMATCH * reported:
            notes.append(f"the video header says {reported} frames but {decoded} decode "
                         f"({'the file may be truncated or damaged' if decoded < reported else 'the header is wrong'}); "
                         f"predicted on the {decoded} decoded frames")
    numbers = list(clip.frame_numbers)
    if not numbers:
        return notes
    if clip.timing_note and len(numbers) > 1:
        notes.append(clip.timing_note)
    try:
        lo, hi = clip.span()
    except Exception:  # an annotation outside the clip: the whole clip
        lo, hi = numbers[0], numbers[-1]
    inside = [n for n in numbers if lo <= n <= hi] or numbers
    n_src = len(inside)
    if n_src < MIN_COURSE_FRAMES:
        n = num_frames or "N"
        what = "repeated" if n_src == 1 else "interpolated"
        notes.append(f"only {n_src} source frame{'s' if n_src != 1 else ''} in {clip.path.name}"
                     f"{f' (frames {lo}..{hi})' if n_src != len(numbers) else ''}: {what} to {n} (TIM); the "
                     "intensity curve cannot show a course (the label still applies; CAS(ME)^3 codes 1–3-frame MEs)")
    files = getattr(src, "files", None)
    if isinstance(files, dict) and len(inside) > 1:
        sizes = _image_sizes([files[k] for k in inside[:SIZE_CHECK_LIMIT] if k in files])
        if len(sizes) > 1:
            common = max(sizes, key=lambda s: len(sizes[s]))
            odd = [f"{w}x{h} ({', '.join(p.name for p in sizes[(w, h)][:3])}"
                   f"{' …' if len(sizes[(w, h)]) > 3 else ''})" for (w, h) in sizes if (w, h) != common]
            notes.append(f"frames of different sizes in {clip.path}: most are {common[0]}x{common[1]}, but "
                         f"{'; '.join(odd)}; every frame was resized to the same face crop. Check that the folder "
                         "holds one clip only")
    for a, b in getattr(src, "gaps", None) or []:
        if a - 1 >= lo and b + 1 <= hi:
            notes.append(f"frame numbers jump from {a - 1} to {b + 1} in {clip.path} (frame"
                         f"{f's {a}..{b}' if b > a else f' {a}'} missing): sampled across the gap, so the course "
                         "is compressed there; restore the frames if they were lost")
    return notes


def _image_sizes(paths: list[Path]) -> dict[tuple[int, int], list[Path]]:
    """``(width, height)`` → files, from the image headers (PIL reads no pixels); unreadable files left out."""
    from PIL import Image

    out: dict[tuple[int, int], list[Path]] = {}
    for p in paths:
        try:
            with Image.open(p) as im:
                out.setdefault(tuple(im.size), []).append(p)
        except Exception:  # unreadable here: the reader reports it when the frame is used
            continue
    return out
