"""Benchmark CMNet inference on one 16-frame clip end to end (decode, landmarks, crop, model) on this machine.

A 16-frame 640x480 mp4v video of a real face (scikit-image's astronaut photograph) is written to a temporary
folder and predicted with `Predictor` from a checkpoint built here (random weights: the speed is the same as
with trained ones). The floor, measured in the same run and interleaved with the predictions, is the 32
ResNet-18 forward passes CMNet needs, batched as the model batches them (the ICE on the 16 frames, the FFE on
the 16 frames). Goal: end-to-end / floor <= 1.2 (issue 17: <= 1.05). `PreprocessedClip.to_tensor` permutes HWC
frames, so the model receives channels_last (NHWC) tensors, which oneDNN runs ~20 % faster than NCHW on this CPU:
the floor uses the same layout (the NCHW floor is reported too).

The breakdown (decode, landmarks, warp, model, other) times the real calls inside `Predictor.predict` by
wrapping the frame source's ``read``, the landmark backend's ``detect``, the pipeline's ``warp`` and the
model's ``forward``; ``landmark_passes`` lists the images the detector ran on in one prediction (since issue 17:
the frame once, and a 128-px view around the face for the last-frame check).

    .venv/bin/python scripts/bench_inference.py [--size 224] [--repeats 7] [--landmarks auto] [--threads N]

Prints one JSON line.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from bench_common import emit, summary, write_video
from cmnet_core.data.readers import open_clip
from cmnet_core.inference import Predictor
from cmnet_core.model import CMNet, CMNetConfig, resnet_trunk
from cmnet_core.preprocess import pipeline
from cmnet_core.preprocess.face import get_backend, resolve_backend
from cmnet_core.preprocess.types import PreprocessSettings
from cmnet_core.train.checkpoint import save_checkpoint

LABELS = ["disgust", "happiness", "repression", "surprise", "others"]


def build_checkpoint(path: Path, size: int, landmarks: str) -> Path:
    """A CMNet checkpoint (ResNet-18, random weights, 5 classes) for ``size`` px crops and N = 16."""
    cfg = CMNetConfig.preset("paper", image_size=size)
    model = CMNet(cfg, len(LABELS))
    settings = PreprocessSettings(image_size=size, num_frames=cfg.num_frames, landmarks=landmarks)
    meta = {"labels": LABELS, "image_size": size, "num_frames": cfg.num_frames, "preprocess": settings.to_dict(),
            "model_config": cfg.to_dict(), "database": "benchmark (random weights)"}
    return save_checkpoint(path, model.state_dict(), meta)


class Stopwatch:
    """Accumulates the seconds spent inside wrapped callables, per name."""

    def __init__(self):
        self.total: dict[str, float] = {}

    def wrap(self, name: str, fn):
        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.total[name] = self.total.get(name, 0.0) + time.perf_counter() - t
        return timed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=224, help="crop side in pixels (default 224, the paper's)")
    ap.add_argument("--repeats", type=int, default=7, help="timed predictions (and floors), interleaved")
    ap.add_argument("--landmarks", default="auto", help="landmark backend (default auto: FAN if present, else MTCNN)")
    ap.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's own, the core count)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    n = 16
    with tempfile.TemporaryDirectory() as tmp:
        video = write_video(Path(tmp) / "clip16.mp4", n)
        predictor = Predictor.load(build_checkpoint(Path(tmp) / "bench.pt", args.size, args.landmarks), "cpu")
        backend_name, _ = resolve_backend(args.landmarks)
        watch = Stopwatch()
        passes: list[str] = []
        if backend_name in ("fan", "mtcnn"):
            backend = get_backend(backend_name, None)  # the instance the pipeline asks for
            timed_detect = watch.wrap("landmarks", backend.detect)

            def detect(image):
                passes.append(f"{image.shape[1]}x{image.shape[0]}")
                return timed_detect(image)
            backend.detect = detect
        pipeline.warp = watch.wrap("warp", pipeline.warp)
        predictor.model.forward = watch.wrap("model", predictor.model.forward)

        ice, _ = resnet_trunk("resnet18")
        ffe, _ = resnet_trunk("resnet18")
        ice.eval(), ffe.eval()
        x = torch.randn(n, 3, args.size, args.size)
        x_nhwc = x.contiguous(memory_format=torch.channels_last)

        @torch.no_grad()
        def floor(inp: torch.Tensor) -> None:
            ice(inp)
            ffe(inp)

        def predict():
            clip = open_clip(video)
            clip.source.read = watch.wrap("decode", clip.source.read)
            return predictor.predict(clip)

        predict(), floor(x), floor(x_nhwc)  # warm-up: detector weights, allocator, first decode
        floors, floors_nchw, totals, parts = [], [], [], []
        for _ in range(args.repeats):
            t = time.perf_counter()
            floor(x)
            floors_nchw.append(time.perf_counter() - t)
            t = time.perf_counter()
            floor(x_nhwc)
            floors.append(time.perf_counter() - t)
            watch.total.clear()
            passes.clear()
            t = time.perf_counter()
            pred = predict()
            totals.append(time.perf_counter() - t)
            parts.append(dict(watch.total))
    median_floor, median_total = statistics.median(floors), statistics.median(totals)
    names = ("decode", "landmarks", "warp", "model")
    breakdown = {k: round(statistics.median(p.get(k, 0.0) for p in parts), 4) for k in names}
    breakdown["other"] = round(median_total - sum(breakdown.values()), 4)
    emit({"bench": "inference", "clip": f"{n} frames 640x480 mp4v, one real face", "size": args.size,
          "num_frames": n, "backend": pred.provenance["preprocess_backend"],
          "end_to_end_s": summary(totals), "floor_32_resnet18_forward_s": summary(floors),
          "floor_layout": "channels_last, as the model receives frames from PreprocessedClip.to_tensor",
          "floor_nchw_s": summary(floors_nchw),
          "ratio_median": round(median_total / median_floor, 3),
          "ratio_best": round(min(totals) / min(floors), 3), "goal_ratio": 1.2, "issue_17_goal_ratio": 1.05,
          "breakdown_median_s": breakdown, "landmark_passes": passes,
          "model_over_floor": round(breakdown["model"] / median_floor, 3)})


if __name__ == "__main__":
    main()
