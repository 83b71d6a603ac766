"""Benchmark CMNet on an NVIDIA GPU: clips/s for inference and training, mixed precision + channels_last
against plain fp32, and the wall time of a LOSO run on a synthetic database — all in one run.

Without CUDA it prints one JSON line saying so and exits with status 0 (nothing is measured on a CPU).

* Inference: ``model.eval()``, batches of ``--batch`` clips (N = 16, ``--size`` px), no gradient;
  fp32 vs ``torch.autocast(float16)`` with the model and input in channels_last.
* Training: the trainer's step (`ContrastiveAugment` views, forward with views, Eq. 10, backward, SGD
  momentum 0.9, weight decay 1e-4); fp32 vs AMP (autocast float16 + GradScaler) + channels_last, as
  `Trainer` does on CUDA.
* LOSO: ``cmnet loso`` (the CLI, a subprocess) on a synthetic database written here
  (``--subjects`` x 4 classes x ``--clips-per-class`` clips), paper preset, ``--epochs`` epochs, AMP on.

    .venv/bin/python scripts/bench_cuda.py [--batch 8] [--size 224] [--iters 10] [--epochs 5]

Prints one JSON line.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from bench_common import emit

N = 16


def timed_rate(fn, iters: int, clips_per_call: int) -> dict:
    """Clips/s of ``fn`` over ``iters`` calls after 3 warm-up calls (CUDA synchronised)."""
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(iters):
        fn()
    torch.cuda.synchronize()
    s = time.perf_counter() - t
    return {"clips_per_s": round(iters * clips_per_call / s, 2), "s_per_call": round(s / iters, 4)}


def inference(size: int, batch: int, iters: int, fast: bool) -> dict:
    from cmnet_core.model import CMNet, CMNetConfig

    dev = torch.device("cuda")
    model = CMNet(CMNetConfig.preset("paper", image_size=size), 5).to(dev).eval()
    x = torch.randn(batch, N, 3, size, size, device=dev)
    apex = torch.full((batch,), 7, device=dev)
    if fast:
        model = model.to(memory_format=torch.channels_last)

    @torch.no_grad()
    def call():
        with torch.autocast("cuda", dtype=torch.float16, enabled=fast):
            model(x, apex)

    return timed_rate(call, iters, batch)


def training(size: int, batch: int, iters: int, fast: bool) -> dict:
    from cmnet_core.losses import cmnet_loss
    from cmnet_core.model import CMNet, CMNetConfig, ContrastiveAugment

    dev = torch.device("cuda")
    cfg = CMNetConfig.preset("paper", image_size=size)
    model = CMNet(cfg, 5).to(dev).train()
    if fast:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4)
    scaler = torch.amp.GradScaler("cuda", enabled=fast)
    augment = ContrastiveAugment(cfg)
    x = torch.randn(batch, N, 3, size, size, device=dev).clamp_(-2, 2)
    y = torch.randint(0, 5, (batch,), device=dev)
    apex = torch.full((batch,), 7, device=dev)
    parts = {"augment": 0.0, "rest": 0.0}

    def call():
        t = time.perf_counter()
        views = augment(x)
        torch.cuda.synchronize()
        parts["augment"] += time.perf_counter() - t
        t = time.perf_counter()
        with torch.autocast("cuda", dtype=torch.float16, enabled=fast):
            out = model(x, apex, views=views)
            loss = cmnet_loss(out, y, cfg).total
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        torch.cuda.synchronize()
        parts["rest"] += time.perf_counter() - t

    rate = timed_rate(call, iters, batch)
    calls = iters + 3
    return {**rate, "augment_s_per_step": round(parts["augment"] / calls, 4),
            "model_s_per_step": round(parts["rest"] / calls, 4)}


def loso(args) -> dict:
    from cmnet_core.data.synthetic_writer import write_synthetic_database

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "synth"
        db = write_synthetic_database(root, n_subjects=args.subjects, clips_per_class=args.clips_per_class,
                                      image_size=args.frame_size)
        cmd = [sys.executable, "-m", "cmnet_core.cli", "loso", str(root), "--preset", "paper",
               "--image-size", str(args.size), "--epochs", str(args.epochs), "--batch-size", str(args.batch),
               "--device", "cuda", "--run-dir", str(Path(tmp) / "run"), "--cache", str(Path(tmp) / "cache"),
               "--progress", "jsonl"]
        t = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True)
        s = time.perf_counter() - t
        return {"wall_s": round(s, 1), "exit_status": out.returncode, "clips": len(db.clips),
                "subjects": args.subjects, "epochs": args.epochs, "size": args.size, "batch": args.batch,
                "stderr_tail": out.stderr[-600:] if out.returncode else ""}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=8, help="clips per batch (default 8)")
    ap.add_argument("--size", type=int, default=224, help="crop side in pixels (default 224)")
    ap.add_argument("--iters", type=int, default=10, help="timed batches per measurement (default 10)")
    ap.add_argument("--epochs", type=int, default=5, help="LOSO epochs (default 5)")
    ap.add_argument("--subjects", type=int, default=4)
    ap.add_argument("--clips-per-class", type=int, default=2)
    ap.add_argument("--frame-size", type=int, default=128, help="synthetic frame side in pixels (default 128)")
    ap.add_argument("--no-loso", action="store_true", help="skip the LOSO wall-time run")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        emit({"bench": "cuda", "cuda_available": False,
              "note": "no CUDA device here: nothing measured (run this script on a machine with an NVIDIA GPU)"})
        return
    torch.backends.cudnn.benchmark = True
    result = {"bench": "cuda", "cuda_available": True, "batch": args.batch, "size": args.size, "num_frames": N}
    for name, fn in (("inference", inference), ("training", training)):
        plain = fn(args.size, args.batch, args.iters, fast=False)
        fast = fn(args.size, args.batch, args.iters, fast=True)
        result[name] = {"fp32": plain, "amp_channels_last": fast,
                        "speedup": round(fast["clips_per_s"] / plain["clips_per_s"], 2)}
    result["peak_gpu_memory_gb"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    if not args.no_loso:
        result["loso"] = loso(args)
    emit(result)


if __name__ == "__main__":
    main()
