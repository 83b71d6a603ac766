"""CMNet losses (Wei et al., AAAI 2023): L_ID (Eq. 1), tendency prototype (Eqs. 2-4), L_Wrst (Eqs. 5-9),
total (Eq. 10)."""
from .intensity_distillation import intensity_distillation_loss, sample_negatives
from .prototype import TendencyPrototype, prototype_parameters
from .ranksum import hard_rank, ranksum_p, ranksum_z, soft_rank, wrst_loss
from .total import LossTerms, cmnet_loss, position_loss

__all__ = [
    "LossTerms", "cmnet_loss", "position_loss",
    "intensity_distillation_loss", "sample_negatives",
    "TendencyPrototype", "prototype_parameters",
    "soft_rank", "hard_rank", "ranksum_z", "ranksum_p", "wrst_loss",
]
