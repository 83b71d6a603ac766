"""Total CMNet loss (Wei et al., AAAI 2023, Eq. 10): L = λ1 L_ID + λ2 L_Wrst + λ3 L_C, with ablation switches,
plus the position-aware tendency term λ_pos L_pos (`position_loss`; a labelled departure from the paper)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from .intensity_distillation import intensity_distillation_loss, sample_negatives
from .ranksum import wrst_loss

if TYPE_CHECKING:  # the model package imports the losses, not the other way round at run time
    from cmnet_core.model.cmnet import CMNetOutput
    from cmnet_core.model.config import CMNetConfig


@dataclass
class LossTerms:
    """Scalar loss tensors. ``total`` carries the gradient; a switched-off term is a constant 0."""

    total: torch.Tensor
    l_id: torch.Tensor
    l_wrst: torch.Tensor
    l_c: torch.Tensor
    l_pos: torch.Tensor

    def as_floats(self) -> dict[str, float]:
        """Plain floats for logging: ``{"total", "l_id", "l_wrst", "l_c", "l_pos"}``."""
        return {k: float(getattr(self, k).detach()) for k in ("total", "l_id", "l_wrst", "l_c", "l_pos")}


def position_loss(intensity: torch.Tensor, proto_mean: torch.Tensor) -> torch.Tensor:
    """Position-aware tendency term: mean squared error between k_n and the prototype mean at each position.

    intensity : Tensor (B, N)   intensity clues k_n.
    proto_mean : Tensor (B, N)  prototype mean of Eqs. 2-4 at the clip's apex position (ε at the ends, 1 at the apex).
    Returns a scalar, (1/(B·N)) Σ (k_n − mean_n)².

    Not in the paper. Why it exists: L_Wrst (Eqs. 5-9) compares the *set* of k's with the *set* of prototype draws
    through their pooled ranks, so any permutation of k_1..k_N gives the same loss — nothing in it makes k_n rise
    towards the apex and fall after it (`tests/losses` pins this invariance). This term ties each k_n to its own
    position. Raises ``ValueError`` when the shapes differ.
    """
    if intensity.shape != proto_mean.shape:
        raise ValueError(f"intensity {tuple(intensity.shape)} and prototype mean {tuple(proto_mean.shape)} differ")
    return F.mse_loss(intensity, proto_mean.detach())


def cmnet_loss(out: "CMNetOutput", labels: torch.Tensor, cfg: "CMNetConfig",
               generator: torch.Generator | None = None, neg_index: torch.Tensor | None = None) -> LossTerms:
    """Eq. 10 for one batch, plus ``cfg.position_weight`` · `position_loss` when ``cfg.tendency_loss`` is
    "position" or "both" (L_Wrst is on for "wrst" and "both").

    Parameters
    ----------
    out : CMNetOutput      the model's forward output; L_ID needs ``z_view1``/``z_view2`` (forward with views).
    labels : LongTensor (B,)   class indices in 0..C−1.
    cfg : CMNetConfig      λ's, switches, τ, sampler, ξ, α, p-value mode, soft-rank temperature.
    generator : torch.Generator, optional   fixes the negative draws.
    neg_index : LongTensor (B, N, M), optional   explicit negatives (overrides the sampler).

    L_Wrst compares k with the prototype draw ``out.proto_sample`` (training); when the model ran in eval mode
    (no draw) it uses ``out.proto_mean``. Raises ``ValueError`` if L_ID is on and the output has no views.
    """
    zero = out.logits.new_zeros(())
    l_id = l_wrst = l_c = l_pos = zero
    if cfg.use_id:
        if out.z_view1 is None or out.z_view2 is None:
            raise ValueError("L_ID is switched on but the forward pass had no contrastive views: call "
                             "model(frames, apex_position, views=ContrastiveAugment(cfg)(frames)) or set use_id=False")
        if neg_index is None:
            neg_index = sample_negatives(out.z, cfg.negative_sampling, cfg.num_negatives, cfg.neg_temperature,
                                         generator=generator)
        l_id = intensity_distillation_loss(out.z_view1, out.z_view2, out.z, neg_index, cfg.tau)
    if cfg.use_wrst:
        q = out.proto_sample if out.proto_sample is not None else out.proto_mean
        l_wrst = wrst_loss(out.intensity, q, cfg.xi, cfg.alpha, cfg.pvalue, cfg.rank_temperature)
    if cfg.use_position:
        l_pos = position_loss(out.intensity, out.proto_mean)
    if cfg.use_cls:
        l_c = F.cross_entropy(out.logits, labels)
    lam1, lam2, lam3 = cfg.lambdas
    # switched-off terms are the constant 0
    total = lam1 * l_id + lam2 * l_wrst + lam3 * l_c + cfg.position_weight * l_pos
    return LossTerms(total=total, l_id=l_id, l_wrst=l_wrst, l_c=l_c, l_pos=l_pos)


__all__ = ["LossTerms", "cmnet_loss", "position_loss"]
