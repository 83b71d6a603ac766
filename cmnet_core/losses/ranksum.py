"""Wilcoxon rank-sum loss L_Wrst (Wei et al., AAAI 2023, Eqs. 5-9) with differentiable soft ranks.

Per clip, the N prototype draws q_1..q_N and the N intensity clues k_1..k_N are pooled (2N values) and ranked:

* Eq. 5  T2 = Σ_n rank(k_n)                          (ranks 1..2N in the pooled sample, ties averaged)
* Eq. 6  μ_T = n1(n1+n2+1)/2,  σ_T = sqrt(n1 n2 (n1+n2+1)/12)   with n1 = #k = N, n2 = #q = N, i.e.
         μ_T = N(2N+1)/2 and σ_T = sqrt(N²(2N+1)/12) as written in the paper
* Eq. 7  Z = (T2 − μ_T)/σ_T                          (= ``scipy.stats.ranksums(k, q).statistic``)
* Eq. 8  p = φ(Z) = exp(−Z²/2)/√(2π)                 (as printed: a density, default ``"density"``),
         or the two-sided p-value p = 2(1 − Φ(|Z|)) (``"two_sided"``)
* Eq. 9  L_Wrst = max(0, ξ − (p − α))

Hard ranks are piecewise constant, so training uses soft ranks
``rank_i = 1/2 + Σ_j sigmoid((x_i − x_j)/T)`` over the pooled values (the j = i term gives 1/2). As T → 0 this
tends to the hard rank 1 + #{x_j < x_i} + ½ #{j ≠ i: x_j = x_i}: ties get the average rank, as in scipy.
"""
from __future__ import annotations

import math

import torch


def soft_rank(x: torch.Tensor, temperature: float) -> torch.Tensor:
    """Differentiable ranks along the last dim: x (..., K) -> ranks (..., K) in [1, K], via pairwise sigmoids."""
    diff = (x.unsqueeze(-1) - x.unsqueeze(-2)) / temperature
    return 0.5 + torch.sigmoid(diff).sum(-1)


def hard_rank(x: torch.Tensor) -> torch.Tensor:
    """Exact ranks along the last dim (1-based, ties averaged like ``scipy.stats.rankdata``); no gradient."""
    diff = x.unsqueeze(-1) - x.unsqueeze(-2)
    return 1.0 + (diff > 0).sum(-1).to(x.dtype) + 0.5 * ((diff == 0).sum(-1) - 1).to(x.dtype)


def ranksum_z(k: torch.Tensor, q: torch.Tensor, temperature: float | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Rank sum T2 of the intensity clues and its standard score Z (Eqs. 5-7).

    Parameters
    ----------
    k : Tensor (B, n1)     intensity clues (network).
    q : Tensor (B, n2)     prototype draws.
    temperature : float or None   soft-rank temperature (intensity units); None = hard ranks (no gradient).

    Returns ``(T2, Z)``, each (B,).
    """
    n1, n2 = k.shape[-1], q.shape[-1]
    pooled = torch.cat([k, q], dim=-1)
    ranks = hard_rank(pooled) if temperature is None else soft_rank(pooled, temperature)
    t2 = ranks[..., :n1].sum(-1)
    mu = n1 * (n1 + n2 + 1) / 2.0
    sd = math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12.0)
    return t2, (t2 - mu) / sd


def ranksum_p(z: torch.Tensor, mode: str = "density") -> torch.Tensor:
    """p from Z (Eq. 8): ``"density"`` φ(Z) as printed in the paper, ``"two_sided"`` 2(1 − Φ(|Z|)).

    Raises ``ValueError`` for another mode.
    """
    if mode == "density":
        return torch.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    if mode == "two_sided":
        return torch.special.erfc(z.abs() / math.sqrt(2.0))
    raise ValueError(f"unknown p-value mode {mode!r}: use 'density' or 'two_sided'")


def wrst_loss(k: torch.Tensor, q: torch.Tensor, xi: float, alpha: float, mode: str = "density",
              temperature: float | None = 0.05) -> torch.Tensor:
    """L_Wrst (Eq. 9) averaged over the batch: mean_b max(0, ξ − (p_b − α)); k, q (B, N) -> scalar."""
    _, z = ranksum_z(k, q, temperature)
    return torch.relu(xi - (ranksum_p(z, mode) - alpha)).mean()


__all__ = ["soft_rank", "hard_rank", "ranksum_z", "ranksum_p", "wrst_loss"]
