"""L_Wrst (Eqs. 5-9): hard ranks match scipy's rank-sum test, soft ranks converge to them and pass gradients."""
import math

import numpy as np
import pytest
import scipy.stats as st
import torch

from cmnet_core.losses import hard_rank, ranksum_p, ranksum_z, soft_rank, wrst_loss

N = 16


def _samples(seed, ties=False):
    rng = np.random.default_rng(seed)
    k, q = rng.uniform(0.0, 1.0, N), rng.uniform(0.2, 1.0, N)
    if ties:  # a coarse grid forces ties inside and across the two samples
        k, q = np.round(k * 5) / 5, np.round(q * 5) / 5
    return k, q


@pytest.mark.parametrize("seed,ties", [(0, False), (1, False), (2, True), (3, True)])
def test_hard_rank_statistic_matches_scipy_ranksums(seed, ties):
    k, q = _samples(seed, ties)
    t2, z = ranksum_z(torch.tensor(k)[None], torch.tensor(q)[None], temperature=None)
    assert float(t2) == pytest.approx(st.rankdata(np.concatenate([k, q]))[:N].sum(), abs=1e-9)
    # Eq. 6 as printed: μ_T = N(2N+1)/2, σ_T = sqrt(N²(2N+1)/12), Eq. 7: Z = (T2 − μ_T)/σ_T
    assert float(z) == pytest.approx((float(t2) - N * (2 * N + 1) / 2) / math.sqrt(N * N * (2 * N + 1) / 12))
    res = st.ranksums(k, q)
    assert float(z) == pytest.approx(res.statistic, abs=1e-9)
    assert float(ranksum_p(z, "density")) == pytest.approx(st.norm.pdf(res.statistic), rel=1e-9)  # Eq. 8
    assert float(ranksum_p(z, "two_sided")) == pytest.approx(res.pvalue, rel=1e-9)


def test_paper_mu_sigma_equal_the_standard_rank_sum_moments():
    for n in (4, 16, 32):
        n1 = n2 = n
        assert n * (2 * n + 1) / 2 == n1 * (n1 + n2 + 1) / 2
        assert math.isclose(math.sqrt(n * n * (2 * n + 1) / 12), math.sqrt(n1 * n2 * (n1 + n2 + 1) / 12))


def test_hard_rank_averages_ties_like_scipy():
    x = np.array([0.3, 0.1, 0.3, 0.7, 0.1, 0.3])
    assert torch.allclose(hard_rank(torch.tensor(x)), torch.tensor(st.rankdata(x)))


def test_soft_ranks_approach_hard_ranks_as_temperature_falls_with_ties():
    k, q = _samples(4, ties=True)
    x = torch.tensor(np.concatenate([k, q]))
    hard = hard_rank(x)
    errors = [float((soft_rank(x, t) - hard).abs().max()) for t in (0.3, 0.03, 0.003)]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-6  # grid spacing 0.2: exp(-0.2/0.003) is negligible; exact ties give exactly ½
    assert errors[0] > 0.5


def test_wrst_loss_value_and_gradients():
    k, q = _samples(5)
    kt = torch.tensor(k, requires_grad=True)
    qt = torch.tensor(q, requires_grad=True)
    z_ref = st.ranksums(k, q).statistic
    expect = max(0.0, 0.5 - (st.norm.pdf(z_ref) - 0.05))  # Eq. 9 with ξ = 0.5
    assert float(wrst_loss(kt[None], qt[None], 0.5, 0.05, "density", temperature=None).detach()) == pytest.approx(expect)
    loss = wrst_loss(kt[None], qt[None], 0.5, 0.05, "density", temperature=0.05)
    assert float(loss.detach()) == pytest.approx(expect, abs=0.05)
    loss.backward()
    assert torch.isfinite(kt.grad).all() and kt.grad.abs().sum() > 0
    assert torch.isfinite(qt.grad).all() and qt.grad.abs().sum() > 0


def test_wrst_loss_is_zero_when_samples_agree_and_hinge_inactive():
    x = torch.linspace(0.2, 1.0, N, dtype=torch.float64)[None]
    # identical samples: Z = 0, p = φ(0) ≈ 0.399 > ξ + α = 0.06, so the hinge gives 0 (paper values)
    assert float(wrst_loss(x, x.clone(), 0.01, 0.05, "density", temperature=0.05)) == 0.0


def test_unknown_pvalue_mode_raises():
    with pytest.raises(ValueError, match="p-value mode"):
        ranksum_p(torch.zeros(1), "one_sided")
