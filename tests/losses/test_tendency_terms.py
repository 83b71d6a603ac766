"""The tendency terms of the loss: L_Wrst (Eqs. 5–9) is blind to the order of k_1..k_N, the position-aware term is
not (DESIGN.md §7), and `cmnet_loss` includes exactly the terms ``CMNetConfig.tendency_loss`` asks for."""
from __future__ import annotations

import pytest
import torch

from cmnet_core.losses import cmnet_loss, position_loss, wrst_loss
from cmnet_core.model.prototype import prototype_parameters
from cmnet_core.model.cmnet import CMNetOutput
from cmnet_core.model.config import CMNetConfig

N = 16


def _k_and_prototype(seed: int = 0, batch: int = 3):
    g = torch.Generator().manual_seed(seed)
    k = torch.rand(batch, N, generator=g, dtype=torch.float64) * 0.8 + 0.2
    apex = torch.tensor([3, 8, 15][:batch])
    mean = prototype_parameters(apex, torch.full((N,), 0.5), 0.2)[0].double()
    q = mean + 0.05 * torch.randn(batch, N, generator=g, dtype=torch.float64)
    return k, q, mean, g


@pytest.mark.parametrize("temperature", [0.05, None])  # soft ranks (training) and hard ranks
@pytest.mark.parametrize("mode", ["density", "two_sided"])
def test_wrst_is_invariant_to_permuting_k_while_position_loss_is_not(temperature, mode):
    k, q, mean, g = _k_and_prototype()
    # xi = 2 > max p - α keeps the hinge active and the loss is a live function of Z (not the clamp at 0)
    ref = wrst_loss(k, q, xi=2.0, alpha=0.05, mode=mode, temperature=temperature)
    assert ref > 0
    pos = position_loss(k, mean)
    changed = 0
    for _ in range(5):
        perm = torch.randperm(N, generator=g)
        kp = k[:, perm]
        # the same value: exact in the hard-rank statistic, up to float summation order (≤ 1 ulp) with soft ranks
        assert (wrst_loss(kp, q, xi=2.0, alpha=0.05, mode=mode, temperature=temperature) - ref).abs() <= 1e-15
        changed += not torch.isclose(position_loss(kp, mean), pos)
    assert changed == 5  # every shuffle of k moves the position term
    # the extreme case: k reversed in time (peak moved to the other end) — L_Wrst cannot tell, L_pos can
    assert torch.allclose(wrst_loss(k.flip(-1), q, 2.0, 0.05, mode, temperature), ref, atol=1e-12)
    assert position_loss(mean.flip(-1), mean) > 0 and position_loss(mean, mean) == 0


def test_position_loss_is_the_hand_computed_mean_squared_error():
    k = torch.tensor([[0.2, 0.5, 1.0, 0.4], [0.3, 0.3, 0.3, 0.3]])
    mean = torch.tensor([[0.2, 0.6, 1.0, 0.6], [0.2, 1.0, 0.6, 0.2]])
    hand = ((0 + 0.01 + 0 + 0.04) + (0.01 + 0.49 + 0.09 + 0.01)) / 8
    assert position_loss(k, mean).item() == pytest.approx(hand, abs=1e-7)
    # gradient flows to k only (the prototype mean is a target)
    k.requires_grad_(True)
    m = mean.clone().requires_grad_(True)
    position_loss(k, m).backward()
    assert torch.allclose(k.grad, 2 * (k - mean).detach() / 8) and m.grad is None
    with pytest.raises(ValueError, match="differ"):
        position_loss(k, mean[:, :3])


def _output(seed: int = 1, batch: int = 2, classes: int = 3) -> CMNetOutput:
    k, q, mean, g = _k_and_prototype(seed, batch)
    k, q, mean = k.float(), q.float(), mean.float()
    z = torch.nn.functional.normalize(torch.randn(batch, N, 8, generator=g), dim=-1)
    v1 = torch.nn.functional.normalize(z + 0.1 * torch.randn(batch, N, 8, generator=g), dim=-1)
    v2 = torch.nn.functional.normalize(z + 0.1 * torch.randn(batch, N, 8, generator=g), dim=-1)
    return CMNetOutput(logits=torch.randn(batch, classes, generator=g), intensity=k, z=z, z_view1=v1, z_view2=v2,
                       proto_mean=mean, proto_sigma=torch.full_like(mean, 0.05), proto_sample=q,
                       apex_position=torch.tensor([3, 8][:batch]))


@pytest.mark.parametrize("tendency", ["none", "wrst", "position", "both"])
def test_cmnet_loss_includes_exactly_the_asked_tendency_terms(tendency):
    out = _output()
    labels = torch.tensor([0, 2])
    cfg = CMNetConfig(num_frames=N, tendency_loss=tendency, position_weight=1.7, xi=0.5)
    neg = torch.stack([torch.stack([torch.tensor([m for m in range(N) if m != n][:15]) for n in range(N)])] * 2)
    terms = cmnet_loss(out, labels, cfg, neg_index=neg)
    l_wrst = wrst_loss(out.intensity, out.proto_sample, cfg.xi, cfg.alpha, cfg.pvalue, cfg.rank_temperature)
    l_pos = position_loss(out.intensity, out.proto_mean)
    l_c = torch.nn.functional.cross_entropy(out.logits, labels)
    assert l_wrst > 0 and l_pos > 0 and terms.l_id > 0
    want_wrst = tendency in ("wrst", "both")
    want_pos = tendency in ("position", "both")
    assert (cfg.use_wrst, cfg.use_position) == (want_wrst, want_pos)
    assert torch.allclose(terms.l_wrst, l_wrst if want_wrst else torch.zeros(()))
    assert torch.allclose(terms.l_pos, l_pos if want_pos else torch.zeros(()))
    assert torch.allclose(terms.l_c, l_c)
    lam1, lam2, lam3 = cfg.lambdas
    expected = lam1 * terms.l_id + lam3 * l_c + (lam2 * l_wrst if want_wrst else 0) + (1.7 * l_pos if want_pos else 0)
    assert torch.allclose(terms.total, expected)
    assert set(terms.as_floats()) == {"total", "l_id", "l_wrst", "l_c", "l_pos"}


def test_only_tendency_terms_switched_off_still_needs_one_loss():
    with pytest.raises(ValueError, match="at least one"):
        CMNetConfig(use_id=False, use_cls=False, tendency_loss="none")
    CMNetConfig(use_id=False, use_cls=False, tendency_loss="position")  # the position term alone is a loss
