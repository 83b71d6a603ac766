"""CMNet forward pass: shapes, one batched ICE pass, gradients to every part, loss switches (Eq. 10)."""
import pytest
import torch

from cmnet_core.losses import cmnet_loss
from cmnet_core.model import CMNet, CMNetConfig, ContrastiveAugment

B, N, S, C = 2, 16, 32, 3


@pytest.fixture(scope="module")
def cfg():
    return CMNetConfig.preset("fast", image_size=S, xi=1.0)  # ξ = 1 keeps the L_Wrst hinge active for gradients


@pytest.fixture(scope="module")
def batch():
    g = torch.Generator().manual_seed(0)
    frames = torch.randn(B, N, 3, S, S, generator=g)
    return frames, torch.tensor([0, N - 1]), torch.tensor([1, 2])


def test_single_ice_pass_shapes_and_gradients(cfg, batch):
    torch.manual_seed(0)
    frames, apex, labels = batch
    model = CMNet(cfg, C).train()
    calls = {"ice": [], "ffe": []}
    model.ice.register_forward_hook(lambda m, i, o: calls["ice"].append(i[0].shape[0]))
    model.ffe.register_forward_hook(lambda m, i, o: calls["ffe"].append(i[0].shape[0]))
    out = model(frames, apex, views=ContrastiveAugment(cfg)(frames))
    assert calls == {"ice": [3 * N * B], "ffe": [N * B]}
    assert out.logits.shape == (B, C)
    assert out.intensity.shape == out.proto_mean.shape == out.proto_sigma.shape == out.proto_sample.shape == (B, N)
    assert out.z.shape == out.z_view1.shape == out.z_view2.shape == (B, N, cfg.proj_dim)
    assert torch.allclose(out.z.norm(dim=-1), torch.ones(B, N), atol=1e-5)
    assert ((out.intensity > 0) & (out.intensity < 1)).all()  # sigmoid squeeze
    assert torch.isfinite(out.proto_sigma).all()  # apex at positions 0 and N-1
    assert float(out.proto_mean[0, 0]) == 1.0 and float(out.proto_mean[1, N - 1]) == 1.0

    terms = cmnet_loss(out, labels, cfg, generator=torch.Generator().manual_seed(1))
    v = terms.as_floats()
    assert v["l_id"] > 0 and v["l_wrst"] > 0 and v["l_c"] > 0
    lam = cfg.lambdas
    assert v["total"] == pytest.approx(lam[0] * v["l_id"] + lam[1] * v["l_wrst"] + lam[2] * v["l_c"], rel=1e-6)
    terms.total.backward()
    for name in ("ffe.conv1.weight", "ice.conv1.weight", "ice.layer4.1.conv2.weight", "projection.0.weight",
                 "squeeze.weight", "extend.weight", "lstm.weight_ih_l0", "classifier.weight",
                 "prototype.eta_logit"):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name


def test_eval_forward_without_views_and_switched_off_id(cfg, batch):
    frames, apex, labels = batch
    model = CMNet(cfg.replace(use_id=False), C).eval()
    calls = []
    model.ice.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    with torch.no_grad():
        out = model(frames, apex)
    assert calls == [N * B]
    assert out.z_view1 is None and out.z_view2 is None and out.proto_sample is None
    terms = cmnet_loss(out, labels, model.cfg)
    assert float(terms.l_id) == 0.0
    lam = cfg.lambdas
    assert float(terms.total) == pytest.approx(lam[1] * float(terms.l_wrst) + lam[2] * float(terms.l_c), rel=1e-6)
    with pytest.raises(ValueError, match="contrastive views"):
        cmnet_loss(out, labels, cfg)


def test_linear_squeeze_option_and_shape_errors(cfg, batch):
    frames, apex, _ = batch
    model = CMNet(cfg.replace(intensity_activation="none", lstm_hidden=16, proj_dim=8), C).eval()
    with torch.no_grad():
        k = model(frames, apex).intensity
        assert torch.allclose(k, model.squeeze(model.ice(frames.flatten(0, 1))).view(B, N))
        with pytest.raises(ValueError, match="N=16"):
            model(frames[:, :8], apex)
        with pytest.raises(ValueError, match="apex_position"):
            model(frames, apex[:1])
