"""The readout switch, the linear trunk and the per-clip training augmentation (departures of the cpu preset)."""
import pytest
import torch

from cmnet_core.model import CMNet, CMNetConfig
from cmnet_core.model.augment import clip_augment


def tiny(**changes) -> CMNetConfig:
    return CMNetConfig.preset("cpu", image_size=16, num_frames=6, small_widths=(4, 4, 4, 4), lstm_hidden=8,
                              **changes)


def test_apex_attention_reads_the_lstm_where_the_prototype_peaks():
    torch.manual_seed(0)
    model = CMNet(tiny(readout="apex_attention", readout_temperature=1e-4), 3).eval()
    frames = torch.randn(2, 6, 3, 16, 16)
    apex = torch.tensor([1, 4])
    out = model(frames, apex)
    # with a near-zero temperature the softmax over the prototype mean is one-hot at the apex
    f = model.ffe(model.encoder_input(frames).flatten(0, 1)).view(2, 6, -1)
    e = model.extend(out.intensity.unsqueeze(-1))
    h_seq, _ = model.lstm(f * e)
    expected = model.classifier(h_seq[torch.arange(2), apex])
    torch.testing.assert_close(out.logits, expected, rtol=1e-5, atol=1e-5)


def test_k_attention_weights_follow_k_and_last_reads_the_final_state():
    torch.manual_seed(1)
    frames = torch.randn(1, 6, 3, 16, 16)
    apex = torch.tensor([2])
    cfg = tiny(readout="k_attention", readout_temperature=0.05)
    model = CMNet(cfg, 3).eval()
    out = model(frames, apex)
    f = model.ffe(model.encoder_input(frames).flatten(0, 1)).view(1, 6, -1)
    h_seq, (h_last, _) = model.lstm(f * model.extend(out.intensity.unsqueeze(-1)))
    weights = torch.softmax(out.intensity[0] / 0.05, 0)
    torch.testing.assert_close(out.logits[0], model.classifier((weights[:, None] * h_seq[0]).sum(0)),
                               rtol=1e-5, atol=1e-5)
    # the apex position does not enter the k readout (only the prototype), unlike apex_attention
    torch.testing.assert_close(model(frames, torch.tensor([5])).logits, out.logits)
    last = CMNet(tiny(readout="last"), 3).eval()
    last.load_state_dict(model.state_dict())
    torch.testing.assert_close(last(frames, apex).logits[0], model.classifier(h_last[-1][0]), rtol=1e-5, atol=1e-5)


def test_linear_trunk_shapes_and_no_pretrained_weights():
    model = CMNet(tiny(backbone="linear"), 4)
    out = model(torch.randn(2, 6, 3, 16, 16), torch.tensor([0, 5]))
    assert out.logits.shape == (2, 4) and out.intensity.shape == (2, 6)
    assert model.ffe.out_features == 4  # small_widths[-1]
    from cmnet_core.model.backbones import BackboneWeightsError
    with pytest.raises(BackboneWeightsError, match="no pretrained weights"):
        CMNet(tiny(backbone="linear", pretrained="imagenet"), 4)
    with pytest.raises(ValueError, match="readout"):
        tiny(readout="mean")


def test_clip_augment_treats_all_frames_of_a_clip_alike():
    torch.manual_seed(3)
    base = torch.randn(1, 1, 3, 20, 20)
    motion = torch.zeros(1, 4, 3, 20, 20)
    motion[0, :, :, 8:12, 8:12] = torch.arange(4.0).view(4, 1, 1, 1)  # a patch that grows brighter
    frames = base + motion
    for _ in range(10):
        out = clip_augment(frames, max_shift=0.1, gain=0.2)
        assert out.shape == frames.shape
        diff = out - out[:, :1]
        # the onset-relative change is still one 4×4 patch (moved/flipped, scaled), growing linearly
        support = diff[0, 3].abs().sum(0) > 1e-4
        assert int(support.sum()) == 16
        torch.testing.assert_close(diff[0, 2], diff[0, 3] * 2 / 3, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError):
        clip_augment(torch.zeros(4, 3, 8, 8))


def test_intensity_context_lets_k_n_see_its_neighbours_only_when_on():
    torch.manual_seed(4)
    frames = torch.randn(1, 6, 3, 16, 16)
    changed = frames.clone()
    changed[0, 3] += torch.randn(3, 16, 16)  # change frame 3 only
    apex = torch.tensor([2])
    plain = CMNet(tiny(), 3).eval()
    k0, k1 = plain(frames, apex).intensity, plain(changed, apex).intensity
    # without context k_n is a function of frame n alone (onset_diff: of x_n − x_1): only k_3 moves
    torch.testing.assert_close(k0[0, [0, 1, 2, 4, 5]], k1[0, [0, 1, 2, 4, 5]])
    ctx = CMNet(tiny(intensity_context=3), 3).eval()
    with torch.no_grad():
        ctx.context.bias.fill_(0.5)  # make sure the residual's ReLU is open
    k0, k1 = ctx(frames, apex).intensity, ctx(changed, apex).intensity
    moved = (k0 - k1).abs()[0] > 1e-6
    assert moved.tolist() == [False, False, True, True, True, False]  # kernel 3: frames 2..4 see frame 3
    with pytest.raises(ValueError, match="intensity_context"):
        tiny(intensity_context=2)
