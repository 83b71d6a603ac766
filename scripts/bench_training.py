"""Benchmark one CMNet training step (one clip, B = 1) on the CPU against its ResNet-18 floor.

The step is the trainer's (`cmnet_core.train.trainer.Trainer.fit` loop body, CPU, no AMP): two contrastive
views (`ContrastiveAugment`), one forward with views (the ICE sees 16 frames + 32 views in one batch of 48,
the FFE the 16 frames), Eq. 10 (`cmnet_loss`), backward, SGD step (momentum 0.9, weight decay 1e-4).
The floor, measured in the same run and interleaved with the steps, is the 64 ResNet-18 forward+backward
passes the step needs, batched as the model batches them (48 through one trunk, 16 through another).
Goal: step / floor <= 1.25.

For comparison it also times a naive L_ID encoding that runs the ICE once per (anchor, comparison) pair:
16 anchors x 17 frames = 272 ICE forward+backward passes per clip (one batch of 17 per anchor). With
``--naive-anchors k < 16`` only k anchors are run and the time is extrapolated x16/k (said in the output).

    .venv/bin/python scripts/bench_training.py [--sizes 224,112] [--repeats 3] [--naive-anchors 4] [--threads N]

``augment_ms_per_frame`` is the two views' time per augmented frame (2 x 16 per step; `ContrastiveAugment`
augments all of them in one batch since issue 17). Smaller sizes (``--sizes 64,32``) show the fixed per-step costs.

On a shared, busy machine two intra-op threads can be several times slower than one (each parallel op waits
for a core): compare runs with ``--threads 1`` and the default, and read the load average in the output.

Prints one JSON line.
"""
from __future__ import annotations

import argparse
import statistics
import time

import torch

from bench_common import emit, summary
from cmnet_core.losses import cmnet_loss
from cmnet_core.model import CMNet, CMNetConfig, ContrastiveAugment, resnet_trunk

N = 16


def step_parts(size: int, repeats: int) -> tuple[list[float], list[dict], list[float]]:
    """Time ``repeats`` training steps (and their floor, interleaved) at ``size`` px.

    Returns (step seconds, per-step breakdown dicts, floor seconds)."""
    torch.manual_seed(0)
    cfg = CMNetConfig.preset("paper", image_size=size)
    model = CMNet(cfg, 5).train()
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, weight_decay=1e-4)
    augment = ContrastiveAugment(cfg)
    frames = torch.randn(1, N, 3, size, size).clamp_(-2, 2)
    y, apex = torch.tensor([1]), torch.tensor([7])
    a, _ = resnet_trunk("resnet18")
    b, _ = resnet_trunk("resnet18")
    a.train(), b.train()
    x48, x16 = torch.randn(3 * N, 3, size, size), torch.randn(N, 3, size, size)

    def floor() -> None:
        (a(x48).sum() + b(x16).sum()).backward()
        a.zero_grad(set_to_none=True)
        b.zero_grad(set_to_none=True)

    def step() -> dict:
        t0 = time.perf_counter()
        views = augment(frames)
        t1 = time.perf_counter()
        out = model(frames, apex, views=views)
        t2 = time.perf_counter()
        terms = cmnet_loss(out, y, cfg)
        t3 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        terms.total.backward()
        t4 = time.perf_counter()
        opt.step()
        terms.as_floats()
        t5 = time.perf_counter()
        return {"augment": t1 - t0, "forward": t2 - t1, "loss": t3 - t2, "backward": t4 - t3,
                "optimizer": t5 - t4}

    step(), floor()  # warm-up
    steps, parts, floors = [], [], []
    for _ in range(repeats):
        t = time.perf_counter()
        floor()
        floors.append(time.perf_counter() - t)
        t = time.perf_counter()
        parts.append(step())
        steps.append(time.perf_counter() - t)
    return steps, parts, floors


def naive_pairs(size: int, anchors: int) -> float:
    """Seconds for ``anchors`` ICE forward+backward passes on batches of 17 (anchor + 16 comparisons)."""
    ice, _ = resnet_trunk("resnet18")
    ice.train()
    x = torch.randn(N + 1, 3, size, size)
    ice(x).sum().backward()  # warm-up
    t = time.perf_counter()
    for _ in range(anchors):
        ice.zero_grad(set_to_none=True)
        ice(x).sum().backward()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="224,112", help="crop sizes in pixels, comma-separated (default 224,112)")
    ap.add_argument("--repeats", type=int, default=3, help="timed steps (and floors) per size (default 3)")
    ap.add_argument("--naive-anchors", type=int, default=4,
                    help="anchors run for the naive per-pair encoding (16 = all; fewer are extrapolated)")
    ap.add_argument("--threads", type=int, help="torch intra-op threads (default: torch's own, the core count)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    results = {}
    for size in (int(s) for s in args.sizes.split(",")):
        steps, parts, floors = step_parts(size, args.repeats)
        ms, mf = statistics.median(steps), statistics.median(floors)
        k = max(1, min(N, args.naive_anchors))
        naive = naive_pairs(size, k) * N / k
        results[str(size)] = {
            "step_s": summary(steps), "floor_64_resnet18_fwd_bwd_s": summary(floors),
            "ratio_median": round(ms / mf, 3), "ratio_best": round(min(steps) / min(floors), 3),
            "breakdown_median_s": {key: round(statistics.median(p[key] for p in parts), 4) for key in parts[0]},
            "augment_ms_per_frame": round(1000 * statistics.median(p["augment"] for p in parts) / (2 * N), 3),
            "naive_per_pair_ice_s": round(naive, 3),
            "naive_note": f"272 ICE fwd+bwd passes (16 anchors x 17); {k} anchors timed" +
                          ("" if k == N else f", extrapolated x{N / k:g}"),
            "naive_over_batched_step": round(naive / ms, 2)}
    emit({"bench": "training_step", "clips_per_step": 1, "num_frames": N, "goal_ratio": 1.25, "sizes": results})


if __name__ == "__main__":
    main()
