"""The cpu preset learns: a tiny model memorises 8 synthetic clips (4 classes, 2 identities each) in well under a
hundred Adam steps on one CPU thread. A regression test for anything that stops the cpu recipe (onset-relative
input, small CNN, L_Wrst + position term + cross-entropy) from fitting at all (~3 s; DESIGN.md §7)."""
from __future__ import annotations

import time

import torch

from cmnet_core.data.synthetic import SYNTHETIC_LABELS, SYNTHETIC_RECIPES, make_synthetic_clip
from cmnet_core.losses import cmnet_loss
from cmnet_core.model.cmnet import CMNet
from cmnet_core.model.config import CMNetConfig
from cmnet_core.preprocess.types import PreprocessSettings
from cmnet_core.train.dataset import ClipDataset, preprocess_clips

S, N = 32, 8


def _batch():
    recipe = SYNTHETIC_RECIPES["demo"]
    labels = list(SYNTHETIC_LABELS)
    clips = [make_synthetic_clip((7, i), labels[i % 4], subject=f"s{i // 4}", image_size=48,
                                 distractors=recipe.distractors, amplitude_range=recipe.amplitude_range)
             for i in range(8)]
    samples = preprocess_clips(clips, labels, PreprocessSettings(image_size=S, num_frames=N, landmarks="hint"))
    ds = ClipDataset(samples)
    x, y, apex = (torch.stack(t) for t in zip(*(ds[i] for i in range(len(ds)))))
    return x, y, apex


def test_tiny_cpu_preset_model_overfits_eight_clips():
    x, y, apex = _batch()
    assert x.shape == (8, N, 3, S, S) and sorted(y.tolist()) == [0, 0, 1, 1, 2, 2, 3, 3]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        cfg = CMNetConfig.preset("cpu", image_size=S, num_frames=N, small_widths=(8, 16, 16, 16))
        assert cfg.input == "onset_diff" and cfg.use_position and cfg.use_wrst and not cfg.use_id
        model = CMNet(cfg, len(SYNTHETIC_LABELS))
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        start, accuracy, steps = time.perf_counter(), 0.0, 0
        while steps < 150 and accuracy < 0.9:
            model.train()
            for _ in range(10):
                loss = cmnet_loss(model(x, apex), y, cfg).total
                opt.zero_grad()
                loss.backward()
                opt.step()
            steps += 10
            model.eval()  # accuracy as a prediction would see it (BatchNorm running statistics)
            with torch.no_grad():
                accuracy = (model(x, apex).logits.argmax(1) == y).float().mean().item()
        elapsed = time.perf_counter() - start
    finally:
        torch.set_num_threads(threads)
    assert accuracy >= 0.9, f"train accuracy {accuracy:.2f} after {steps} steps ({elapsed:.1f} s)"
    assert torch.isfinite(loss)
