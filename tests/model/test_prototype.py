"""Tendency prototype (Eqs. 2-4): means, σ·η, apex at either end, reparameterised sampling."""
import pytest
import torch

from cmnet_core.model.prototype import TendencyPrototype, prototype_parameters

N, EPS = 16, 0.2


def test_means_and_sigmas_follow_eqs_2_to_4():
    eta = torch.linspace(0.1, 0.9, N, dtype=torch.float64)
    mean, sigma = prototype_parameters(torch.tensor([5]), eta, EPS)
    n1, n2 = 5, 10
    for i in range(N):
        if i < n1:
            m, s = EPS + i * (1 - EPS) / n1, (1 - EPS) / (3 * n1)
        elif i == n1:
            m, s = 1.0, min((1 - EPS) / (3 * n1), (1 - EPS) / (3 * n2))
        else:
            m, s = 1 - (i - n1) * (1 - EPS) / n2, (1 - EPS) / (3 * n2)
        assert float(mean[0, i]) == pytest.approx(m)
        assert float(sigma[0, i]) == pytest.approx(s * float(eta[i]))
    assert float(mean[0, 0]) == pytest.approx(EPS) and float(mean[0, -1]) == pytest.approx(EPS)
    assert float(mean[0, n1]) == 1.0


@pytest.mark.parametrize("apex", [0, N - 1])
def test_apex_at_first_or_last_position_is_finite(apex):
    eta = torch.full((N,), 0.5, dtype=torch.float64)
    mean, sigma = prototype_parameters(torch.tensor([apex]), eta, EPS)
    assert torch.isfinite(mean).all() and torch.isfinite(sigma).all()
    assert float(mean[0, apex]) == 1.0
    other_end = N - 1 if apex == 0 else 0
    assert float(mean[0, other_end]) == pytest.approx(EPS)
    side = (1 - EPS) / (3 * (N - 1))  # the only side present
    assert float(sigma[0, apex]) == pytest.approx(side * 0.5)
    assert torch.allclose(sigma, torch.full_like(sigma, side * 0.5))


def test_bad_apex_raises():
    with pytest.raises(ValueError, match="outside"):
        prototype_parameters(torch.tensor([N]), torch.full((N,), 0.5), EPS)


def test_samples_have_mean_and_spread_sigma_eta_and_pass_gradients():
    proto = TendencyPrototype(N, EPS, eta_init=0.7).double()
    assert torch.allclose(proto.eta, torch.full((N,), 0.7, dtype=torch.float64))
    mean, sigma = proto(torch.full((20000,), 7))
    mean_d, sigma_d = mean.detach(), sigma.detach()
    q = proto.sample(mean, sigma, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(q.detach().mean(0), mean_d[0], atol=4 * float(sigma_d.max()) / 20000 ** 0.5)
    assert torch.allclose(q.detach().std(0), sigma_d[0], rtol=0.03)
    q.pow(2).sum().backward()
    assert proto.eta_logit.grad is not None and proto.eta_logit.grad.abs().min() > 0
