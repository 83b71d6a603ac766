"""Contrastive views for L_ID (Wei et al., AAAI 2023, Eq. 1): ColorJitter, RandomGrayscale, GaussianBlur."""
from __future__ import annotations

import torch
from torchvision.transforms import v2

from cmnet_core.preprocess.types import IMAGENET_MEAN, IMAGENET_STD

from .config import CMNetConfig


class ContrastiveAugment:
    """Two independently augmented views of every frame, photometric only (no geometric change).

    Input and output are **ImageNet-normalised** float tensors (B, N, 3, S, S) — the model's input convention
    (`PreprocessedClip.to_tensor`). Internally frames are un-normalised to [0, 1], augmented with
    torchvision.transforms.v2 (RandomApply(ColorJitter), RandomGrayscale, RandomApply(GaussianBlur)), clamped to
    [0, 1] and normalised again. Randomness is independent per view and, with ``cfg.view_jitter="per_frame"``
    (SimCLR, default), per frame: v2 draws one set of parameters per call, so the transform is called on each
    (3, S, S) frame. With ``"per_clip"`` (not in the paper) it is called once on each clip's (N, 3, S, S) stack, so
    all frames of a clip share one draw: the views then differ from the clip by a photometric change, not by a
    per-frame jitter ~100× larger than the expression's frame-to-frame change (DESIGN.md §7). It draws from torch's global
    generator (seed it with ``torch.manual_seed``). Strengths come from `CMNetConfig` (SimCLR values by
    default; the paper names the transforms only). The GaussianBlur kernel is ~10 % of S (odd) and σ is
    scaled by S/224. Runs without gradient.
    """

    def __init__(self, cfg: CMNetConfig) -> None:
        size = cfg.image_size
        kernel = 2 * max(1, round(0.05 * size)) + 1
        scale = size / 224.0
        sigma = (cfg.blur_sigma[0] * scale, cfg.blur_sigma[1] * scale)
        self.transform = v2.Compose([
            v2.RandomApply([v2.ColorJitter(*cfg.jitter)], p=cfg.jitter_p),
            v2.RandomGrayscale(p=cfg.grayscale_p),
            v2.RandomApply([v2.GaussianBlur(kernel, sigma=sigma)], p=cfg.blur_p),
        ])
        self.per_clip = cfg.view_jitter == "per_clip"
        self.mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD).view(3, 1, 1)

    @torch.no_grad()
    def view(self, frames: torch.Tensor) -> torch.Tensor:
        """One augmented view: (B, N, 3, S, S) normalised -> same shape, normalised."""
        mean, std = self.mean.to(frames), self.std.to(frames)
        flat = (frames.flatten(0, 1) * std + mean).clamp_(0.0, 1.0)
        if self.per_clip:  # one draw per clip: the transform sees the clip's (N, 3, S, S) stack
            out = torch.cat([self.transform(clip) for clip in flat.view_as(frames)]).clamp_(0.0, 1.0)
        else:
            out = torch.stack([self.transform(img) for img in flat]).clamp_(0.0, 1.0)
        return ((out - mean) / std).view_as(frames)

    def __call__(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """frames (B, N, 3, S, S) -> (view1, view2), each the same shape. Raises ``ValueError`` on other shapes."""
        if frames.dim() != 5 or frames.shape[2] != 3:
            raise ValueError(f"frames must be (B, N, 3, S, S), got {tuple(frames.shape)}")
        return self.view(frames), self.view(frames)


def clip_augment(frames: torch.Tensor, max_shift: float = 0.06, gain: float = 0.2) -> torch.Tensor:
    """Label-preserving augmentation of whole clips for training on few clips (not in the paper).

    Per clip, the same for all its N frames (so onset-relative differences stay differences of the same motion):
    a horizontal flip with probability 0.5 (the emotion classes do not depend on the face's side), an integer
    translation of up to ``max_shift`` · S pixels in x and y (borders repeated), and a contrast gain drawn from
    [1 − gain, 1 + gain]. frames : (B, N, 3, S, S) ImageNet-normalised -> same shape. Draws from torch's global
    generator (its state is saved in training checkpoints). Raises ``ValueError`` on other shapes.
    """
    if frames.dim() != 5:
        raise ValueError(f"frames must be (B, N, 3, S, S), got {tuple(frames.shape)}")
    b, n, c, h, w = frames.shape
    limit = int(round(max_shift * w))
    out = []
    for clip in frames:
        if torch.rand(()) < 0.5:
            clip = clip.flip(-1)
        if limit > 0:
            dx, dy = (int(v) for v in torch.randint(-limit, limit + 1, (2,)))
            padded = torch.nn.functional.pad(clip, (limit, limit, limit, limit), mode="replicate")
            clip = padded[..., limit + dy:limit + dy + h, limit + dx:limit + dx + w]
        g = 1.0 + gain * (2.0 * torch.rand(()) - 1.0)
        out.append(clip * g)
    return torch.stack(out)


__all__ = ["ContrastiveAugment", "clip_augment"]
