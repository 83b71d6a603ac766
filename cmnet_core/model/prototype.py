"""Tendency prototype (Wei et al., AAAI 2023, Eqs. 2-4): a Gaussian intensity per position n.

With N positions and the apex at 1-based position N1 + 1 (N1 frames before it, N2 after, N1 + N2 + 1 = N),
intensities live in [ε, 1] and rise linearly from ε at the onset to 1 at the apex, then fall back to ε:

* Eq. 2, before the apex (n ≤ N1):    q_n ~ N(ε + (n−1)(1−ε)/N1,        σ = (1−ε)/(3 N1) · η_n)
* Eq. 3, after the apex (n ≥ N1+2):   q_n ~ N(1 − (n−N1−1)(1−ε)/N2,     σ = (1−ε)/(3 N2) · η_n)
* Eq. 4, at the apex (n = N1+1):      q_n ~ N(1,                        σ = min((1−ε)/(3N1), (1−ε)/(3N2)) · η_n)

The second argument is read as the standard deviation: (1−ε)/N1 is the step between neighbouring means, so
σ = step/3 makes the ±3σ band (η_n = 1) just reach the neighbours' means. η_n = sigmoid(θ_n) ∈ (0, 1) is
learnable, one per position. Apex first (N1 = 0) or last (N2 = 0): the side with no frames has no terms, and
the apex σ uses the remaining side only (no division by zero). In code positions are 0-based: i = n − 1 and
``apex_position`` = N1.
"""
from __future__ import annotations

import math

import torch
from torch import nn


def prototype_parameters(apex_position: torch.Tensor, eta: torch.Tensor,
                         epsilon: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation of the tendency prototype at every position (Eqs. 2-4).

    Parameters
    ----------
    apex_position : LongTensor (B,)   0-based apex position N1 in 0..N−1.
    eta : Tensor (N,)                 η_n ∈ (0, 1).
    epsilon : float                   ε, onset/offset intensity.

    Returns ``(mean, sigma)``, each (B, N), intensity units in [ε, 1] (mean) and ≥ 0 (sigma).
    Raises ``ValueError`` if N < 2 or an apex position lies outside 0..N−1.
    """
    n_pos = eta.shape[0]
    if n_pos < 2:
        raise ValueError(f"the tendency prototype needs at least 2 positions, got N={n_pos}")
    apex = apex_position.to(device=eta.device, dtype=torch.long).view(-1, 1)
    if bool(((apex < 0) | (apex >= n_pos)).any()):
        raise ValueError(f"apex_position {apex_position.tolist()} outside 0..{n_pos - 1}")
    dtype = eta.dtype
    i = torch.arange(n_pos, device=eta.device).view(1, -1)
    n1 = apex.to(dtype)                      # frames before the apex
    n2 = (n_pos - 1 - apex).to(dtype)        # frames after the apex
    n1_safe, n2_safe = n1.clamp(min=1), n2.clamp(min=1)
    rise = 1.0 - epsilon
    mean_before = epsilon + i.to(dtype) * rise / n1_safe             # Eq. 2
    mean_after = 1.0 - (i - apex).to(dtype) * rise / n2_safe          # Eq. 3
    sd_before = rise / (3.0 * n1_safe)
    sd_after = rise / (3.0 * n2_safe)
    inf = torch.full_like(n1, math.inf)
    sd_apex = torch.minimum(torch.where(n1 > 0, sd_before, inf), torch.where(n2 > 0, sd_after, inf))  # Eq. 4
    before, at_apex = i < apex, i == apex
    mean = torch.where(before, mean_before, torch.where(at_apex, torch.ones_like(mean_after), mean_after))
    base_sd = torch.where(before, sd_before, torch.where(at_apex, sd_apex, sd_after))
    return mean, base_sd * eta.view(1, -1)


class TendencyPrototype(nn.Module):
    """Learnable η_n = sigmoid(θ_n) (N parameters) and the Gaussian prototype of Eqs. 2-4.

    ``forward(apex_position (B,))`` -> ``(mean, sigma)`` each (B, N); `sample` draws q (B, N) with the
    reparameterisation trick q = mean + sigma · ε̂, ε̂ ~ N(0, 1), so gradients reach η.
    """

    def __init__(self, num_frames: int, epsilon: float, eta_init: float) -> None:
        super().__init__()
        self.epsilon = float(epsilon)
        self.eta_logit = nn.Parameter(torch.full((num_frames,), math.log(eta_init / (1.0 - eta_init))))

    @property
    def eta(self) -> torch.Tensor:
        """η_n ∈ (0, 1), shape (N,)."""
        return torch.sigmoid(self.eta_logit)

    def forward(self, apex_position: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Prototype mean and σ·η_n, each (B, N), for apex positions (B,) long (Eqs. 2–4)."""
        return prototype_parameters(apex_position, self.eta, self.epsilon)

    @staticmethod
    def sample(mean: torch.Tensor, sigma: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Reparameterised draw q = mean + sigma · ε̂ (B, N); differentiable in mean and sigma."""
        noise = torch.randn(mean.shape, generator=generator, device=mean.device, dtype=mean.dtype)
        return mean + sigma * noise


__all__ = ["prototype_parameters", "TendencyPrototype"]
