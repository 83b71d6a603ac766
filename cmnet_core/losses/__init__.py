"""CMNet losses (Wei et al., AAAI 2023): L_ID (Eq. 1), L_Wrst (Eqs. 5-9), total (Eq. 10).

The tendency prototype (Eqs. 2-4) is part of the model (`cmnet_core.model.prototype`): it holds learnable η_n.
"""
from .intensity_distillation import intensity_distillation_loss, sample_negatives
from .ranksum import hard_rank, ranksum_p, ranksum_z, soft_rank, wrst_loss
from .total import LossTerms, cmnet_loss, position_loss

__all__ = [
    "LossTerms", "cmnet_loss", "position_loss",
    "intensity_distillation_loss", "sample_negatives",
    "soft_rank", "hard_rank", "ranksum_z", "ranksum_p", "wrst_loss",
]
