"""L_ID (Eq. 1) against a direct loop, and the three negative samplers."""
import math

import pytest
import torch
import torch.nn.functional as F

from cmnet_core.losses import intensity_distillation_loss, sample_negatives

B, N, D, M = 2, 16, 8, 15


def _unit(*shape, seed):
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(*shape, generator=g, dtype=torch.float64), dim=-1)


def eq1_loop(z1, z2, z, neg_index, tau):
    """Eq. 1 written out term by term, averaged over clips."""
    sim = lambda a, b: math.exp(float(a @ b) / tau)  # noqa: E731
    total = 0.0
    for b in range(z.shape[0]):
        clip = 0.0
        for n in range(z.shape[1]):
            s12 = sim(z1[b, n], z2[b, n])
            neg1 = sum(sim(z1[b, n], z[b, m]) for m in neg_index[b, n].tolist())
            neg2 = sum(sim(z2[b, n], z[b, m]) for m in neg_index[b, n].tolist())
            clip += math.log(s12 / (s12 + neg1)) + math.log(s12 / (s12 + neg2))
        total += -clip / z.shape[1]
    return total / z.shape[0]


@pytest.mark.parametrize("mode", ["deterministic", "random", "probabilistic"])
def test_loss_equals_direct_loop_over_eq1(mode):
    z, z1, z2 = _unit(B, N, D, seed=1), _unit(B, N, D, seed=2), _unit(B, N, D, seed=3)
    idx = sample_negatives(z, mode, M, temperature=0.07, generator=torch.Generator().manual_seed(7))
    assert idx.shape == (B, N, M)
    got = intensity_distillation_loss(z1, z2, z, idx, tau=0.07)
    assert float(got) == pytest.approx(eq1_loop(z1, z2, z, idx, 0.07), rel=1e-9)


def test_deterministic_uses_exactly_the_other_frames():
    idx = sample_negatives(_unit(B, N, D, seed=0), "deterministic", M, 0.07)
    for b in range(B):
        for n in range(N):
            assert idx[b, n].tolist() == [m for m in range(N) if m != n]


def test_random_sampler_is_uniform_over_other_frames_and_seeded():
    z = _unit(1, N, D, seed=0)
    g = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    a = sample_negatives(z, "random", 6000, 0.07, generator=g())
    assert torch.equal(a, sample_negatives(z, "random", 6000, 0.07, generator=g()))
    counts = torch.bincount(a[0, 4], minlength=N).double()
    assert counts[4] == 0
    others = counts[torch.arange(N) != 4]
    assert torch.allclose(others / 6000, torch.full_like(others, 1 / 15), atol=0.015)


def test_probabilistic_sampler_follows_softmax_of_anchor_similarity():
    z = _unit(1, N, D, seed=5)
    temp = 0.5
    idx = sample_negatives(z, "probabilistic", 20000, temp, generator=torch.Generator().manual_seed(0))
    for n in (0, 9):
        logits = torch.tensor([float(z[0, n] @ z[0, m]) / temp if m != n else -math.inf for m in range(N)])
        expected = torch.softmax(logits, 0)
        freq = torch.bincount(idx[0, n], minlength=N).double() / 20000
        assert freq[n] == 0
        assert torch.allclose(freq, expected.double(), atol=0.015)
    # the most similar other frame is drawn more often than the least similar one
    sims = z[0, 1:] @ z[0, 0]
    near, far = 1 + int(sims.argmax()), 1 + int(sims.argmin())
    counts = torch.bincount(idx[0, 0], minlength=N)
    assert counts[near] > counts[far]


def test_unknown_sampler_raises():
    with pytest.raises(ValueError, match="negative sampling"):
        sample_negatives(_unit(1, N, D, seed=0), "hardest", M, 0.07)
