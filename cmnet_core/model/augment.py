"""Contrastive views for L_ID (Wei et al., AAAI 2023, Eq. 1): ColorJitter, RandomGrayscale, GaussianBlur.

The transforms are torchvision.transforms.v2's (RandomApply(ColorJitter), RandomGrayscale, RandomApply(GaussianBlur),
SimCLR's recipe), applied to a whole batch of frames at once with one draw of parameters per frame (or per clip):
the same arithmetic as v2's kernels (`_blend`, the 0.2989/0.587/0.114 grey, v2's RGB<->HSV hue shift, a reflect-
padded Gaussian with v2's kernel) on (M, 3, S, S), with per-sample factors, masks and kernels (issue 17: v2 called
once per frame cost 29 ms per 224-px frame and 0.9 ms per 64-px frame, batched 8 and 0.5 ms; docs/performance.md).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
# v2's own RGB<->HSV conversions (batched over leading dims); private, pinned by the test that compares
# `jitter_frames` with v2.functional.adjust_hue.
from torchvision.transforms.v2.functional._color import _hsv_to_rgb, _rgb_to_hsv

from cmnet_core.preprocess.types import IMAGENET_MEAN, IMAGENET_STD

from .config import CMNetConfig

GREY_WEIGHTS = (0.2989, 0.587, 0.114)
"""R, G, B weights of the luminance torchvision uses for grayscale, contrast and saturation (ITU-R 601-2)."""


def _grey(x: torch.Tensor) -> torch.Tensor:
    """(M, 3, H, W) in [0, 1] -> (M, 1, H, W) luminance (`GREY_WEIGHTS`)."""
    r, g, b = x.unbind(1)
    return r.mul(GREY_WEIGHTS[0]).add_(g, alpha=GREY_WEIGHTS[1]).add_(b, alpha=GREY_WEIGHTS[2]).unsqueeze(1)


def _blend(x: torch.Tensor, other: torch.Tensor, ratio: torch.Tensor) -> torch.Tensor:
    """``ratio * x + (1 - ratio) * other`` clamped to [0, 1]; ratio (M,) per sample (v2's ``_blend``)."""
    r = ratio.view(-1, 1, 1, 1)
    return (x * r + other * (1.0 - r)).clamp_(0.0, 1.0)


def _hue(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Hue of (M, 3, H, W) in [0, 1] rotated by ``shift`` (M,) turns in [-0.5, 0.5] (v2's ``adjust_hue``)."""
    hsv = _rgb_to_hsv(x)
    h, s, v = hsv.unbind(1)
    h = (h + shift.view(-1, 1, 1)).remainder_(1.0)
    return _hsv_to_rgb(torch.stack((h, s, v), 1))


def jitter_frames(x: torch.Tensor, order: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """ColorJitter of every frame with its own parameters (torchvision.transforms.v2.ColorJitter's arithmetic).

    x : (M, 3, H, W) float in [0, 1]. order : (M, 4) long, a permutation of 0..3 per frame (0 brightness,
    1 contrast, 2 saturation, 3 hue; v2 draws ``torch.randperm(4)``). factors : (M, 4) float: brightness,
    contrast, saturation factors (>= 0, 1 = unchanged) and hue shift (turns, in [-0.5, 0.5]); a NaN factor
    skips that operation for that frame (v2 skips a strength of 0). Returns (M, 3, H, W) in [0, 1].
    """
    out = x.clone()
    for step in range(4):
        for op in range(4):
            idx = ((order[:, step] == op) & ~torch.isnan(factors[:, op])).nonzero().flatten()
            if idx.numel() == 0:
                continue
            img, f = out[idx], factors[idx, op]
            if op == 0:
                img = _blend(img, torch.zeros_like(img[:, :1]), f)
            elif op == 1:
                img = _blend(img, _grey(img).mean(dim=(1, 2, 3), keepdim=True), f)
            elif op == 2:
                img = _blend(img, _grey(img), f)
            else:
                img = _hue(img, f)
            out[idx] = img
    return out


def gaussian_kernels(sigma: torch.Tensor, kernel: int) -> torch.Tensor:
    """(M, kernel) 1-D Gaussian weights, one row per σ (pixels) in ``sigma`` (M,), each summing to 1.

    Taps at ``-(kernel - 1) / 2 .. (kernel - 1) / 2`` pixels, ``exp(-t² / 2σ²)`` normalised (v2's
    ``_get_gaussian_kernel1d``). Raises ``ValueError`` for an even or non-positive ``kernel``.
    """
    if kernel < 1 or kernel % 2 == 0:
        raise ValueError(f"kernel must be a positive odd number of pixels, got {kernel}")
    t = torch.arange(kernel, dtype=sigma.dtype, device=sigma.device) - (kernel - 1) / 2.0
    return torch.softmax(-0.5 * (t / sigma.view(-1, 1)) ** 2, dim=1)


def blur_frames(x: torch.Tensor, sigma: torch.Tensor, kernel: int) -> torch.Tensor:
    """Gaussian blur of every frame with its own σ (torchvision.transforms.v2.GaussianBlur's arithmetic).

    x : (M, C, H, W) float; sigma : (M,) pixels (> 0); kernel : odd side in pixels (< H and W: reflect padding).
    The separable Gaussian (`gaussian_kernels`) runs as two grouped convolutions (one group per frame channel)
    over the reflect-padded frames: equal to v2's 2-D kernel up to float rounding. Returns (M, C, H, W).
    """
    m, c, h, w = x.shape
    k = gaussian_kernels(sigma.to(x.dtype), kernel).repeat_interleave(c, dim=0)          # (M*C, kernel)
    pad = kernel // 2
    y = F.pad(x.reshape(1, m * c, h, w), (pad, pad, pad, pad), mode="reflect")
    y = F.conv2d(y, k.view(m * c, 1, 1, kernel), groups=m * c)
    y = F.conv2d(y, k.view(m * c, 1, kernel, 1), groups=m * c)
    return y.view(m, c, h, w)


class ContrastiveAugment:
    """Two independently augmented views of every frame, photometric only (no geometric change).

    Input and output are **ImageNet-normalised** float tensors (B, N, 3, S, S) — the model's input convention
    (`PreprocessedClip.to_tensor`). Internally frames are un-normalised to [0, 1], augmented as
    torchvision.transforms.v2 would (RandomApply(ColorJitter, p=jitter_p), RandomGrayscale(grayscale_p),
    RandomApply(GaussianBlur, p=blur_p), in that order), clamped to [0, 1] and normalised again — all B·N frames
    in one batch (`jitter_frames`, `blur_frames`). Randomness is independent per view and, with
    ``cfg.view_jitter="per_frame"`` (SimCLR, default), per frame: each frame draws its own apply-flags, ColorJitter
    order and factors, and σ, from the distributions v2 uses (factors uniform in [max(0, 1 − s), 1 + s], hue in
    [−h, h], σ uniform in the range). With ``"per_clip"`` (not in the paper) one draw per clip is shared by its N
    frames (contrast still uses each frame's own mean grey, as v2 on an (N, 3, S, S) stack does): the views then
    differ from the clip by a photometric change, not by a per-frame jitter ~100× larger than the expression's
    frame-to-frame change (DESIGN.md §7). It draws from torch's global generator (seed it with
    ``torch.manual_seed``), on the CPU. Strengths come from `CMNetConfig` (SimCLR values by default; the paper names
    the transforms only). The GaussianBlur kernel is ~10 % of S (odd) and σ is scaled by S/224. Runs without
    gradient.
    """

    def __init__(self, cfg: CMNetConfig) -> None:
        size = cfg.image_size
        self.kernel = 2 * max(1, round(0.05 * size)) + 1
        scale = size / 224.0
        self.sigma = (cfg.blur_sigma[0] * scale, cfg.blur_sigma[1] * scale)
        b, c, s, h = cfg.jitter
        # v2.ColorJitter ranges; None = that operation is off (a strength of 0)
        self.ranges = [None if b == 0 else (max(0.0, 1.0 - b), 1.0 + b),
                       None if c == 0 else (max(0.0, 1.0 - c), 1.0 + c),
                       None if s == 0 else (max(0.0, 1.0 - s), 1.0 + s),
                       None if h == 0 else (-h, h)]
        self.jitter_p, self.grayscale_p, self.blur_p = cfg.jitter_p, cfg.grayscale_p, cfg.blur_p
        self.per_clip = cfg.view_jitter == "per_clip"
        self.mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD).view(3, 1, 1)

    def draw(self, count: int) -> dict[str, torch.Tensor]:
        """Parameters for ``count`` draws (frames, or clips with ``per_clip``), from torch's global generator.

        Returns ``{"jitter": (count,) bool, "order": (count, 4) long permutations, "factors": (count, 4) float
        (NaN where an operation is off), "grayscale": (count,) bool, "blur": (count,) bool, "sigma": (count,) px}``.
        """
        factors = torch.full((count, 4), float("nan"))
        for op, bounds in enumerate(self.ranges):
            if bounds is not None:
                factors[:, op] = torch.empty(count).uniform_(*bounds)
        return {"jitter": torch.rand(count) < self.jitter_p,
                "order": torch.argsort(torch.rand(count, 4), dim=1),   # a uniform random permutation per draw
                "factors": factors,
                "grayscale": torch.rand(count) < self.grayscale_p,
                "blur": torch.rand(count) < self.blur_p,
                "sigma": torch.empty(count).uniform_(*self.sigma)}

    def apply(self, flat: torch.Tensor, params: dict[str, torch.Tensor]) -> torch.Tensor:
        """Augment (M, 3, S, S) frames in [0, 1] with per-frame ``params`` (as `draw` returns, M rows, on the
        frames' device) -> (M, 3, S, S) in [0, 1]."""
        out = flat
        idx = params["jitter"].nonzero().flatten()
        if idx.numel() and not torch.isnan(params["factors"]).all():
            out = out.clone()
            out[idx] = jitter_frames(out[idx], params["order"][idx], params["factors"][idx])
        idx = params["grayscale"].nonzero().flatten()
        if idx.numel():
            out = out.clone() if out is flat else out
            out[idx] = _grey(out[idx]).expand(-1, 3, -1, -1)
        idx = params["blur"].nonzero().flatten()
        if idx.numel():
            out = out.clone() if out is flat else out
            out[idx] = blur_frames(out[idx], params["sigma"][idx], self.kernel)
        return out.clamp(0.0, 1.0)

    @torch.no_grad()
    def view(self, frames: torch.Tensor) -> torch.Tensor:
        """One augmented view: (B, N, 3, S, S) normalised -> same shape, normalised."""
        b, n = frames.shape[:2]
        mean, std = self.mean.to(frames), self.std.to(frames)
        flat = (frames.flatten(0, 1) * std + mean).clamp_(0.0, 1.0)
        params = self.draw(b if self.per_clip else b * n)
        if self.per_clip:   # one draw per clip, shared by its N frames
            params = {k: v.repeat_interleave(n, dim=0) for k, v in params.items()}
        params = {k: v.to(frames.device) for k, v in params.items()}
        out = self.apply(flat, params)
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


__all__ = ["ContrastiveAugment", "blur_frames", "clip_augment", "gaussian_kernels", "jitter_frames"]
