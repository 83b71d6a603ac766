"""Smoke-train CMNet on the synthetic database and check that the intensity clues learn the true intensity.

For every configuration (negative sampler × with/without L_Wrst) it trains a fresh model for ``--steps`` steps on
CPU at a small size, then prints one JSON line (progress every ``--window`` steps goes to stderr): mean L_ID, L_Wrst, L_C and training accuracy over the first and
last ``--window`` steps, the accuracy of the trained model on the training clips (eval mode), and the Spearman
correlation (``scipy.stats.spearmanr``) between its k_n and the generator's true intensity at the sampled frames,
before and after training (pooled over all clips, and the mean of the per-clip correlations).

This is a check of the method's plumbing, not the paper's recipe: Adam (lr ``--lr``) replaces SGD so that a few
hundred steps move the weights. Usage::

    .venv/bin/python scripts/train_synthetic.py --size 32 --steps 200
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import cv2
import numpy as np
import scipy.stats as st
import torch

from cmnet_core.data.synthetic import (FaceIdentity, make_synthetic_clip, synthetic_clip_specs,
                                      synthetic_database)
from cmnet_core.losses import cmnet_loss
from cmnet_core.model import CMNet, CMNetConfig, ContrastiveAugment
from cmnet_core.preprocess.types import IMAGENET_MEAN, IMAGENET_STD


def sample_clip(clip, size: int, num_frames: int) -> tuple[torch.Tensor, int, np.ndarray]:
    """Frames (N, 3, S, S) normalised, apex position, true intensity (N,) for one synthetic clip.

    Uses the preprocessing pipeline when it is installed, else samples onset..offset at regular intervals.
    """
    try:
        from cmnet_core.preprocess.pipeline import preprocess_clip
        from cmnet_core.preprocess.types import PreprocessSettings
    except ImportError:
        preprocess_clip = None
    numbers = np.asarray(clip.frame_numbers)
    truth = np.array([clip.true_intensity[int(n)] for n in numbers])
    if preprocess_clip is not None:
        pre = preprocess_clip(clip, PreprocessSettings(image_size=size, num_frames=num_frames, landmarks="hint"))
        return pre.to_tensor(), int(pre.apex_position), np.interp(pre.frame_map, numbers, truth)
    onset, offset = clip.span()
    frame_map = np.round(np.linspace(onset, offset, num_frames)).astype(int)
    imgs = np.stack([cv2.resize(clip.frame(int(n)), (size, size), interpolation=cv2.INTER_AREA) for n in frame_map])
    x = torch.from_numpy(imgs).permute(0, 3, 1, 2).float() / 255.0
    x = (x - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    apex = int(np.argmin(np.abs(frame_map - clip.apex)))
    return x, apex, np.array([clip.true_intensity[int(n)] for n in frame_map])


@torch.no_grad()
def evaluate(model, frames, apex, labels, truth) -> dict:
    """Accuracy and Spearman(k_n, true intensity) of the model in eval mode over all clips."""
    model.eval()
    out = [model(frames[i:i + 8], apex[i:i + 8]) for i in range(0, len(frames), 8)]
    model.train()
    k = torch.cat([o.intensity for o in out]).numpy()
    pred = torch.cat([o.logits for o in out]).argmax(1)
    per_clip = [st.spearmanr(k[i], truth[i]).statistic for i in range(len(k))]
    return {"acc": float((pred == labels).float().mean()),
            "spearman_pooled": float(st.spearmanr(k.ravel(), truth.ravel()).statistic),
            "spearman_per_clip": float(np.nanmean(per_clip))}


def run(cfg: CMNetConfig, data, steps: int, batch: int, lr: float, window: int, seed: int) -> dict:
    frames, apex, labels, truth = data
    torch.manual_seed(seed)
    model = CMNet(cfg, int(labels.max()) + 1).train()
    augment = ContrastiveAugment(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    before = evaluate(model, frames, apex, labels, truth)
    history = []
    mean = lambda rows: {k: round(float(np.mean([r[k] for r in rows])), 4) for k in rows[0]}  # noqa: E731
    t0 = time.time()
    for _ in range(steps):
        idx = torch.randint(0, len(frames), (batch,), generator=gen)
        x = frames[idx]
        out = model(x, apex[idx], views=augment(x) if cfg.use_id else None)
        terms = cmnet_loss(out, labels[idx], cfg, generator=gen)
        opt.zero_grad()
        terms.total.backward()
        opt.step()
        row = terms.as_floats()
        row["acc"] = float((out.logits.argmax(1) == labels[idx]).float().mean())
        history.append(row)
        if len(history) % window == 0:
            print(json.dumps({"step": len(history), "sampler": cfg.negative_sampling, "wrst": cfg.use_wrst,
                              **mean(history[-window:]), "s": round(time.time() - t0, 1)}), file=sys.stderr, flush=True)
    after = evaluate(model, frames, apex, labels, truth)
    return {"negative_sampling": cfg.negative_sampling, "use_wrst": cfg.use_wrst, "use_id": cfg.use_id,
            "size": cfg.image_size, "steps": steps, "batch": batch, "clips": len(frames),
            "first": mean(history[:window]), "last": mean(history[-window:]),
            "eval_before": before, "eval_after": after, "eta_mean": round(float(model.prototype.eta.detach().mean()), 4),
            "seconds": round(time.time() - t0, 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--size", type=int, default=32, help="crop side in pixels (≥ 32)")
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch", type=int, default=4, help="clips per step")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--window", type=int, default=25, help="steps averaged for the first/last figures")
    p.add_argument("--subjects", type=int, default=2)
    p.add_argument("--clips-per-class", type=int, default=3)
    p.add_argument("--samplers", default="probabilistic,deterministic,random")
    p.add_argument("--wrst", default="on,off", help="L_Wrst settings to run: on, off or on,off")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--amplitude-px", type=float, default=None,
                   help="apex AU displacement in px at 224 px (default: the generator's 2.5-4; exaggerate it at "
                        "small sizes, where the default is below a pixel)")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch's default)")
    a = p.parse_args()
    torch.set_flush_denormal(True)
    if a.threads:
        torch.set_num_threads(a.threads)
    db = synthetic_database(n_subjects=a.subjects, clips_per_class=a.clips_per_class, image_size=a.size, seed=a.seed)
    if a.amplitude_px is not None:
        db.clips = [make_synthetic_clip(sp["seed"], sp["label"], sp["subject"], name=sp["name"], image_size=a.size,
                                        identity=FaceIdentity.random(sp["identity_seed"]), amplitude_px=a.amplitude_px)
                    for sp in synthetic_clip_specs(a.subjects, a.clips_per_class, a.seed)]
    cfg0 = CMNetConfig.preset("fast", image_size=a.size)
    samples = [sample_clip(c, a.size, cfg0.num_frames) for c in db.clips]
    data = (torch.stack([s[0] for s in samples]), torch.tensor([s[1] for s in samples]),
            torch.tensor([db.label_index(c.label) for c in db.clips]), np.stack([s[2] for s in samples]))
    for sampler in a.samplers.split(","):
        for wrst in a.wrst.split(","):
            cfg = cfg0.replace(negative_sampling=sampler, use_wrst=(wrst == "on"))
            print(json.dumps(run(cfg, data, a.steps, a.batch, a.lr, a.window, a.seed)), flush=True)


if __name__ == "__main__":
    main()
