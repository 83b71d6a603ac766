"""`CMNetConfig` migration of old dicts, the documented presets, and the onset-relative input (identity cancels)."""
from __future__ import annotations

import pytest
import torch

from cmnet_core.model.cmnet import CMNet
from cmnet_core.model.config import PRESET_FIELDS, PRESETS, CMNetConfig


def test_from_dict_migrates_use_wrst():
    old = CMNetConfig().to_dict()
    del old["tendency_loss"]
    assert CMNetConfig.from_dict({**old, "use_wrst": False}).tendency_loss == "none"
    assert CMNetConfig.from_dict({**old, "use_wrst": True}).tendency_loss == "wrst"
    assert CMNetConfig.from_dict({"use_wrst": False}) == CMNetConfig(tendency_loss="none")
    cfg = CMNetConfig.from_dict({"use_wrst": False})
    assert not cfg.use_wrst and not cfg.use_position
    # a current dict round-trips, and use_wrst is a read-only view of tendency_loss
    for t in ("wrst", "position", "both", "none"):
        c = CMNetConfig(tendency_loss=t)
        assert CMNetConfig.from_dict(c.to_dict()) == c and "use_wrst" not in c.to_dict()
        assert c.use_wrst == (t in ("wrst", "both")) and c.use_position == (t in ("position", "both"))
    with pytest.raises(ValueError, match="unknown field"):
        CMNetConfig.from_dict({"use_wrsst": True})
    with pytest.raises(ValueError, match="tendency_loss"):
        CMNetConfig(tendency_loss="rank")


def test_presets_have_the_documented_fields():
    assert set(PRESETS) == set(PRESET_FIELDS) == {"paper", "fast", "cpu"}
    paper = CMNetConfig.preset("paper")
    assert paper == CMNetConfig()  # the defaults are the paper's
    assert (paper.image_size, paper.num_frames, paper.backbone, paper.input, paper.tendency_loss, paper.use_id,
            paper.lambdas, paper.view_jitter, paper.pretrained) == \
        (224, 16, "resnet18", "frames", "wrst", True, (0.07, 0.71, 0.22), "per_frame", "none")
    assert CMNetConfig.preset("fast") == paper.replace(image_size=112)
    cpu = CMNetConfig.preset("cpu")
    assert (cpu.image_size, cpu.num_frames, cpu.backbone, cpu.input, cpu.tendency_loss, cpu.readout, cpu.use_id,
            cpu.view_jitter, cpu.lstm_hidden, cpu.proj_hidden) == \
        (32, 16, "small", "onset_diff", "both", "apex_attention", False, "per_clip", 128, 128)
    assert paper.readout == "last"
    assert cpu.use_wrst and cpu.use_position
    assert CMNetConfig.preset("cpu", image_size=48).image_size == 48  # overrides win
    with pytest.raises(ValueError, match="unknown CMNet preset"):
        CMNetConfig.preset("gpu")


def _dyadic(shape, generator):
    """Values on a 1/64 grid in [-2, 2]: sums and differences of them are exact in float32, so 'identical' below
    means bit for bit."""
    return torch.randint(-128, 129, shape, generator=generator).float() / 64


@pytest.mark.parametrize("backbone", ["small", "resnet18"])
def test_onset_diff_cancels_a_constant_image_added_to_every_frame(backbone):
    g = torch.Generator().manual_seed(0)
    b, n, s = 2, 4, 32
    frames = _dyadic((b, n, 3, s, s), g)
    identity = _dyadic((1, 1, 3, s, s), g)  # one image (a face) added to every frame of the clip
    apex = torch.tensor([1, 2])
    torch.manual_seed(0)
    cfg = CMNetConfig.preset("cpu", image_size=s, num_frames=n, backbone=backbone, small_widths=(8, 8, 8, 8),
                             lstm_hidden=8, proj_hidden=8, proj_dim=4)
    model = CMNet(cfg, 3).eval()
    with torch.no_grad():
        a, c = model(frames, apex), model(frames + identity, apex)
    assert torch.equal(model.encoder_input(frames), model.encoder_input(frames + identity))
    assert torch.equal(a.logits, c.logits) and torch.equal(a.intensity, c.intensity) and torch.equal(a.z, c.z)
    # control: on raw frames (the paper's input) the same shift changes the outputs
    raw = CMNet(cfg.replace(input="frames"), 3).eval()
    with torch.no_grad():
        assert not torch.allclose(raw(frames, apex).logits, raw(frames + identity, apex).logits)
