"""CMNetConfig presets and serialisation, pretrained weights handling, contrastive views."""
import json
import urllib.error

import pytest
import torch
import torchvision

from cmnet_core.model import BackboneWeightsError, CMNetConfig, ContrastiveAugment, resnet_trunk


def test_paper_defaults_and_presets():
    cfg = CMNetConfig.preset("paper")
    assert (cfg.image_size, cfg.num_frames, cfg.backbone, cfg.tau, cfg.epsilon, cfg.xi, cfg.alpha) == \
        (224, 16, "resnet18", 0.07, 0.2, 0.01, 0.05)
    assert cfg.lambdas == (0.07, 0.71, 0.22) and cfg.num_negatives == 15
    assert (cfg.negative_sampling, cfg.pvalue) == ("probabilistic", "density")
    fast = CMNetConfig.preset("fast", negative_sampling="random")
    assert fast.image_size == 112 and fast.negative_sampling == "random"
    with pytest.raises(ValueError, match="preset"):
        CMNetConfig.preset("huge")


def test_json_round_trip_and_bad_values():
    cfg = CMNetConfig.preset("fast", lambdas=(1.0, 0.0, 0.5), sampling_temperature=0.2)
    assert CMNetConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ValueError, match="unknown field"):
        CMNetConfig.from_dict({**cfg.to_dict(), "dropout": 0.5})
    with pytest.raises(ValueError, match="negative_sampling"):
        CMNetConfig(negative_sampling="hard")
    with pytest.raises(ValueError, match="at least one"):
        CMNetConfig(use_id=False, tendency_loss="none", use_cls=False)


def test_imagenet_offline_names_the_file_and_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(BackboneWeightsError) as err:
        resnet_trunk("resnet18", "imagenet")
    assert "resnet18-f37072fd.pth" in str(err.value) and str(tmp_path / "checkpoints") in str(err.value)


@pytest.fixture(scope="module")
def resnet18_file(tmp_path_factory):
    """A torchvision ResNet-18 state dict in float16 (23 MB instead of 47: the tests share one file) and the
    weights it holds, as float32."""
    ref = {k: v.half() if v.is_floating_point() else v
           for k, v in torchvision.models.resnet18(weights=None).state_dict().items()}
    path = tmp_path_factory.mktemp("weights") / "r18.pth"
    torch.save(ref, path)
    return path, {k: v.float() for k, v in ref.items()}


def test_local_weights_file_loads_and_mismatch_is_clear(tmp_path, resnet18_file):
    path, ref = resnet18_file
    trunk, dim = resnet_trunk("resnet18", str(path))
    assert dim == 512 and torch.equal(trunk.conv1.weight, ref["conv1.weight"])
    torch.save({"conv1.weight": torch.zeros(64, 3, 3, 3)}, tmp_path / "r34.pth")  # wrong shape, keys missing
    with pytest.raises(BackboneWeightsError, match="do not fit a torchvision resnet18"):
        resnet_trunk("resnet18", str(tmp_path / "r34.pth"))
    with pytest.raises(BackboneWeightsError, match="does not exist"):
        resnet_trunk("resnet18", str(tmp_path / "missing.pth"))


def test_views_are_normalised_independent_per_frame_and_identity_when_off():
    cfg = CMNetConfig.preset("fast", image_size=32)  # no model is built: the augmentation only
    frame = torch.rand(3, 32, 32)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(3, 1, 1)
    frames = ((frame - mean) / std).expand(2, 16, 3, 32, 32).contiguous()  # one image repeated
    off = ContrastiveAugment(cfg.replace(jitter_p=0.0, grayscale_p=0.0, blur_p=0.0))
    v1, v2 = off(frames)
    assert torch.allclose(v1, frames, atol=1e-5) and torch.allclose(v2, frames, atol=1e-5)
    torch.manual_seed(0)
    v1, v2 = ContrastiveAugment(cfg.replace(jitter_p=1.0))(frames)
    assert v1.shape == frames.shape
    flat = v1.flatten(0, 1)
    assert all(not torch.allclose(flat[0], flat[i], atol=1e-3) for i in range(1, 32))  # per-frame randomness
    assert not torch.allclose(v1, v2, atol=1e-3)
    pixels = v1 * std + mean
    assert pixels.min() >= -1e-5 and pixels.max() <= 1 + 1e-5


def test_imagenet_weights_in_the_hub_cache_load_offline(tmp_path, monkeypatch, resnet18_file):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file", lambda *a, **k: pytest.fail("tried the network"))
    path, ref = resnet18_file
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "checkpoints" / "resnet18-f37072fd.pth").symlink_to(path)   # the file torchvision looks for
    trunk, _ = resnet_trunk("resnet18", "imagenet")
    assert torch.equal(trunk.layer1[0].conv1.weight, ref["layer1.0.conv1.weight"])
