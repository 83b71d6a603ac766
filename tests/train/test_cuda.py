"""CUDA checks (skipped without a GPU; run on one by ``scripts/device_check.sh``, selected with ``-k cuda``): the
paper and cpu presets train a step under AMP + channels_last with finite losses, the Trainer runs an epoch on the
GPU and its checkpoint loads and predicts on the CPU, the same as on the GPU."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from cmnet_core.model import CMNet, CMNetConfig, ContrastiveAugment
from cmnet_core.losses import cmnet_loss
from cmnet_core.preprocess.types import PreprocessedClip, PreprocessSettings
from cmnet_core.train.checkpoint import load_checkpoint
from cmnet_core.train.dataset import Sample
from cmnet_core.train.trainer import TrainConfig, Trainer, predict_samples

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

N, S = 8, 64


@pytest.mark.parametrize("preset", ["paper", "cpu"])
def test_cuda_amp_step_is_finite(preset):
    torch.manual_seed(0)
    cfg = CMNetConfig.preset(preset, image_size=S, num_frames=N, num_negatives=4)
    dev = torch.device("cuda")
    model = CMNet(cfg, 5).to(dev).to(memory_format=torch.channels_last)
    x = torch.randn(4, N, 3, S, S, device=dev)
    apex = torch.tensor([0, 3, 5, 7], device=dev)
    y = torch.tensor([0, 1, 2, 4], device=dev)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    scaler = torch.amp.GradScaler("cuda")
    for _ in range(2):
        views = ContrastiveAugment(cfg)(x) if cfg.use_id else None
        with torch.autocast("cuda", dtype=torch.float16):
            terms = cmnet_loss(model(x, apex, views=views), y, cfg)
        opt.zero_grad()
        scaler.scale(terms.total).backward()
        scaler.step(opt)
        scaler.update()
        assert all(np.isfinite(v) for v in terms.as_floats().values()), terms.as_floats()
    assert all(torch.isfinite(p).all() for p in model.parameters())


def _samples(n=6):
    settings = PreprocessSettings(image_size=S, num_frames=N, landmarks="hint")
    rng = np.random.default_rng(1)
    return [Sample(PreprocessedClip(rng.integers(0, 256, (N, S, S, 3), dtype=np.uint8), np.arange(N, dtype=float),
                                    i % N, "annotated", "hint", settings), i % 2, f"s{i // 2}", f"c{i}")
            for i in range(n)]


def test_cuda_trainer_epoch_and_checkpoint_on_cpu(tmp_path):
    cfg = CMNetConfig.preset("cpu", image_size=S, num_frames=N)
    trainer = Trainer(cfg, TrainConfig(epochs=1, batch_size=3, optimizer="adam", device="cuda"), ["a", "b"],
                      tmp_path / "ckpt")
    assert trainer.device.type == "cuda"
    samples = _samples()
    fit = trainer.fit(samples)
    assert fit.status == "finished" and fit.final_path.is_file()
    on_gpu = predict_samples(fit.model, samples, trainer.device, 3)
    ckpt = load_checkpoint(fit.final_path)
    model = CMNet(CMNetConfig.from_dict(ckpt.metadata["model_config"]), 2)
    model.load_state_dict(ckpt.state_dict)
    on_cpu = predict_samples(model.eval(), samples, torch.device("cpu"), 3)
    assert np.allclose(on_gpu, on_cpu, atol=1e-3)
