"""The batched contrastive views (issue 17): v2's arithmetic per frame, v2's distributions, both view_jitter modes."""
import pytest
import torch
from torchvision.transforms import v2
from torchvision.transforms.v2 import functional as TF

from cmnet_core.model import CMNetConfig, ContrastiveAugment
from cmnet_core.model.augment import blur_frames, gaussian_kernels, jitter_frames

MEAN = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
CFG = CMNetConfig.preset("fast", image_size=16)   # no model is built: the augmentation only


def _reference_views(cfg: CMNetConfig, frames: torch.Tensor) -> torch.Tensor:
    """The pre-issue-17 implementation: torchvision v2 called once per frame (per clip with per_clip)."""
    size = cfg.image_size
    kernel = 2 * max(1, round(0.05 * size)) + 1
    sigma = tuple(s * size / 224.0 for s in cfg.blur_sigma)
    t = v2.Compose([v2.RandomApply([v2.ColorJitter(*cfg.jitter)], p=cfg.jitter_p), v2.RandomGrayscale(cfg.grayscale_p),
                    v2.RandomApply([v2.GaussianBlur(kernel, sigma=sigma)], p=cfg.blur_p)])
    flat = (frames.flatten(0, 1) * STD + MEAN).clamp(0, 1)
    if cfg.view_jitter == "per_clip":
        out = torch.cat([t(clip) for clip in flat.view_as(frames)])
    else:
        out = torch.stack([t(img) for img in flat])
    return ((out.clamp(0, 1) - MEAN) / STD).view_as(frames)


def test_jitter_matches_v2_functional_per_frame():
    torch.manual_seed(1)
    x = torch.rand(6, 3, 12, 12)
    order = torch.stack([torch.randperm(4) for _ in range(6)])
    factors = torch.tensor([[0.7, 1.3, 0.6, 0.08], [1.4, 0.6, 1.4, -0.1], [1.0, 1.0, 1.0, 0.0],
                            [0.6, 1.2, 0.9, 0.05], [1.2, float("nan"), 0.7, -0.03], [0.9, 0.8, 1.1, float("nan")]])
    ops = [TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue]
    out = jitter_frames(x, order, factors)
    for i in range(6):
        ref = x[i]
        for op in order[i].tolist():
            if not torch.isnan(factors[i, op]):
                ref = ops[op](ref, float(factors[i, op]))
        torch.testing.assert_close(out[i], ref, atol=2e-6, rtol=0)


def test_blur_matches_v2_gaussian_blur_per_frame():
    x = torch.rand(4, 3, 20, 20)
    sigma = torch.tensor([0.1, 0.5, 1.3, 2.0])
    out = blur_frames(x, sigma, 5)
    for i in range(4):
        torch.testing.assert_close(out[i], TF.gaussian_blur(x[i], [5, 5], [float(sigma[i])] * 2), atol=2e-6, rtol=0)
    k = gaussian_kernels(torch.tensor([1.0]), 5)[0]
    assert torch.isclose(k.sum(), torch.tensor(1.0)) and torch.allclose(k, k.flip(0)) and k.argmax() == 2
    with pytest.raises(ValueError, match="odd"):
        gaussian_kernels(sigma, 4)


def test_drawn_parameters_follow_v2s_distributions():
    aug = ContrastiveAugment(CFG)   # SimCLR strengths: jitter (0.4, 0.4, 0.4, 0.1), p 0.8 / 0.2 / 0.5, σ 0.1-2.0 @224
    torch.manual_seed(0)
    n = 40000
    p = aug.draw(n)
    tol = 4 * (0.25 / n) ** 0.5                                    # 4 standard errors of a proportion
    assert abs(p["jitter"].float().mean() - 0.8) < tol and abs(p["grayscale"].float().mean() - 0.2) < tol
    assert abs(p["blur"].float().mean() - 0.5) < tol
    f = p["factors"]
    for op, (lo, hi) in enumerate([(0.6, 1.4), (0.6, 1.4), (0.6, 1.4), (-0.1, 0.1)]):
        assert lo <= f[:, op].min() and f[:, op].max() <= hi
        assert abs(f[:, op].mean() - (lo + hi) / 2) < 0.01 * (hi - lo)
        assert abs(f[:, op].std() - (hi - lo) / 12 ** 0.5) < 0.01 * (hi - lo)   # uniform
    s_lo, s_hi = 0.1 * 16 / 224, 2.0 * 16 / 224
    assert s_lo <= p["sigma"].min() and p["sigma"].max() <= s_hi and abs(p["sigma"].mean() - (s_lo + s_hi) / 2) < 0.01
    order = p["order"]
    assert torch.equal(order.sort(1).values, torch.arange(4).expand(n, 4))       # permutations
    share = torch.stack([(order[:, step] == op).float().mean() for step in range(4) for op in range(4)])
    assert (share - 0.25).abs().max() < tol                                    # uniform over positions


@pytest.mark.parametrize("view_jitter, clips, n", [("per_frame", 48, 16), ("per_clip", 384, 2)])
def test_output_statistics_match_the_per_frame_v2_reference(view_jitter, clips, n):
    cfg = CFG.replace(view_jitter=view_jitter)
    torch.manual_seed(0)
    base = torch.rand(1, 1, 3, 16, 16) * 0.8 + 0.1
    frames = ((base - MEAN) / STD).expand(clips, n, 3, 16, 16).contiguous()  # one image: spread = augmentation only
    ours = ContrastiveAugment(cfg).view(frames).flatten(0, 1) * STD + MEAN
    ref = _reference_views(cfg, frames).flatten(0, 1) * STD + MEAN
    draws = 768                                                         # independent draws on each side
    for stat in (lambda v: v.mean(dim=(1, 2, 3)), lambda v: v.std(dim=(1, 2, 3)),
                 lambda v: (v[:, 0] - v[:, 2]).mean(dim=(1, 2))):     # brightness, contrast/blur, hue/grey
        a, b = stat(ours), stat(ref)
        se = ((a.var() + b.var()) / draws) ** 0.5
        assert abs(a.mean() - b.mean()) < 4 * se, (a.mean(), b.mean(), se)
        assert abs(a.std() / b.std() - 1) < 5 / (2 * draws) ** 0.5, (a.std(), b.std())


def test_identity_when_off_shapes_and_determinism():
    frames = ((torch.rand(2, 4, 3, 16, 16) - MEAN) / STD)
    for off in (CFG.replace(jitter_p=0.0, grayscale_p=0.0, blur_p=0.0),
                CFG.replace(jitter=(0.0, 0.0, 0.0, 0.0), jitter_p=1.0, grayscale_p=0.0, blur_p=0.0)):
        v1, v2_ = ContrastiveAugment(off)(frames)
        torch.testing.assert_close(v1, frames, atol=1e-5, rtol=0)
        torch.testing.assert_close(v2_, frames, atol=1e-5, rtol=0)
    aug = ContrastiveAugment(CFG)
    torch.manual_seed(3)
    a1, a2 = aug(frames)
    torch.manual_seed(3)
    b1, b2 = aug(frames)
    assert a1.shape == frames.shape and torch.equal(a1, b1) and torch.equal(a2, b2) and not torch.equal(a1, a2)
    with pytest.raises(ValueError, match=r"\(B, N, 3, S, S\)"):
        aug(frames[0])


def test_per_clip_shares_one_draw_per_clip_and_per_frame_does_not():
    base = (torch.rand(1, 1, 3, 16, 16) - MEAN) / STD
    frames = base.expand(3, 8, 3, 16, 16).contiguous()
    torch.manual_seed(0)
    clip_view = ContrastiveAugment(CFG.replace(view_jitter="per_clip", jitter_p=1.0)).view(frames)
    assert all(torch.allclose(c[0], c[i], atol=1e-6) for c in clip_view for i in range(8))   # same within a clip
    assert not torch.allclose(clip_view[0, 0], clip_view[1, 0], atol=1e-3)                # differs between clips
    frame_view = ContrastiveAugment(CFG.replace(jitter_p=1.0)).view(frames)
    assert sum(torch.allclose(frame_view[0, 0], frame_view[0, i], atol=1e-3) for i in range(1, 8)) == 0
