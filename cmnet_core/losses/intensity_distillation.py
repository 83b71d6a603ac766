"""Intensity distillation loss L_ID (Wei et al., AAAI 2023, Eq. 1) and its three negative samplers.

For each frame n of a clip, the two augmented views give z̃1_n, z̃2_n (positives, L2-normalised ICE projections);
M negatives z⁻_{n,m} are projections of *other original frames* of the same clip; sim(a, b) = exp(a·b/τ):

    L_ID = −1/N Σ_n [ log s12/(s12 + Σ_m sim(z̃1_n, z⁻_{n,m})) + log s12/(s12 + Σ_m sim(z̃2_n, z⁻_{n,m})) ],
    s12 = sim(z̃1_n, z̃2_n),

averaged over the clips of the batch. The same negative set serves both terms of one anchor.

Samplers (indices into the N original frames, never n itself):

* ``deterministic``: all N − 1 other frames, in order (M = N − 1 whatever ``num_negatives`` says).
* ``random``: M draws, uniform over the N − 1 other frames, **with replacement** (without replacement and
  M = N − 1 it would equal the deterministic set).
* ``probabilistic`` (paper default, Table 2): M draws **with replacement** from softmax_m(z_n·z_m / T) over m ≠ n,
  where the anchor is the projection z_n of the *original* frame n (not a view, whose augmentation would add
  noise to the choice) and T is the sampling temperature (default τ). Frames closer to the anchor in the
  latent space — hard negatives — are drawn more often. Sampling uses detached z: indices carry no gradient.

Every z is computed once per clip by the model (16 originals + 32 views in one ICE pass); negatives are
gathered by indexing, never re-encoded.
"""
from __future__ import annotations

import torch


def sample_negatives(z: torch.Tensor, mode: str, num_negatives: int, temperature: float,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Indices of the negatives of each anchor: z (B, N, D) -> LongTensor (B, N, M), values in 0..N−1, ≠ n.

    M = N − 1 for ``deterministic``, ``num_negatives`` otherwise. ``generator`` fixes the draws.
    Raises ``ValueError`` for an unknown mode or N < 2.
    """
    b, n, _ = z.shape
    if n < 2:
        raise ValueError(f"L_ID needs at least 2 frames per clip for negatives, got N={n}")
    device = z.device
    anchor = torch.arange(n, device=device).view(1, n, 1)
    if mode == "deterministic":
        others = torch.arange(n - 1, device=device).view(1, 1, n - 1)
        return (others + (others >= anchor)).expand(b, n, n - 1).contiguous()
    if mode == "random":
        r = torch.randint(0, n - 1, (b, n, num_negatives), generator=generator, device=device)
        return r + (r >= anchor)
    if mode == "probabilistic":
        zd = z.detach()
        logits = torch.einsum("bnd,bmd->bnm", zd, zd) / temperature
        logits = logits.masked_fill(torch.eye(n, dtype=torch.bool, device=device), float("-inf"))
        probs = torch.softmax(logits, dim=-1).view(b * n, n)
        idx = torch.multinomial(probs, num_negatives, replacement=True, generator=generator)
        return idx.view(b, n, num_negatives)
    raise ValueError(f"unknown negative sampling {mode!r}: use 'probabilistic', 'deterministic' or 'random'")


def intensity_distillation_loss(z_view1: torch.Tensor, z_view2: torch.Tensor, z: torch.Tensor,
                                neg_index: torch.Tensor, tau: float) -> torch.Tensor:
    """L_ID of Eq. 1, averaged over clips: scalar.

    Parameters
    ----------
    z_view1, z_view2 : Tensor (B, N, D)   L2-normalised projections of the two views of every frame.
    z : Tensor (B, N, D)                  L2-normalised projections of the original frames (negatives).
    neg_index : LongTensor (B, N, M)      negatives of each anchor (from `sample_negatives`).
    tau : float                           temperature τ of sim(a, b) = exp(a·b/τ).
    """
    b, n, m = neg_index.shape
    batch = torch.arange(b, device=z.device).view(b, 1, 1)
    z_neg = z[batch, neg_index]                                    # (B, N, M, D)
    pos = (z_view1 * z_view2).sum(-1, keepdim=True) / tau          # log s12, (B, N, 1)
    loss = 0.0
    for view in (z_view1, z_view2):
        neg = torch.einsum("bnd,bnmd->bnm", view, z_neg) / tau     # log sim(z̃, z⁻), (B, N, M)
        loss = loss - (pos.squeeze(-1) - torch.logsumexp(torch.cat([pos, neg], dim=-1), dim=-1))
    return loss.mean()


__all__ = ["sample_negatives", "intensity_distillation_loss"]
