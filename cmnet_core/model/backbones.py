"""ResNet trunks for the FFE and the ICE (torchvision), with offline-safe pretrained weights."""
from __future__ import annotations

from pathlib import Path

import torch
import torchvision
from torch import nn


class BackboneWeightsError(RuntimeError):
    """Pretrained weights for a backbone cannot be found or do not fit; the message says what to do."""


def _imagenet_weights(name: str):
    return torchvision.models.get_model_weights(name)["IMAGENET1K_V1"]


def imagenet_weights_file(name: str = "resnet18") -> Path:
    """Where torchvision keeps (or would download) the ImageNet weights of ``name``:
    ``torch.hub.get_dir()/checkpoints/<file>``, e.g. ``.../checkpoints/resnet18-f37072fd.pth``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / _imagenet_weights(name).url.rsplit("/", 1)[-1]


_WEIGHTS_HINT = "give the path of a torchvision ResNet state dict (.pth), 'imagenet' or 'none'"


def _load_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise BackboneWeightsError(f"pretrained weights file {path} does not exist: {_WEIGHTS_HINT}")
    with open(path, "rb") as fh:
        head = fh.read(4)
    if not (head.startswith(b"PK\x03\x04") or head.startswith(b"\x80")):  # torch.save's zip / legacy pickle
        what = "an empty file" if not head else "not a PyTorch file"
        raise BackboneWeightsError(f"pretrained weights file {path} is {what}: {_WEIGHTS_HINT}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)  # never runs code from the file
    except Exception as exc:  # noqa: BLE001 - any unpickling failure becomes one clear message
        # PyTorch's own text is not repeated: it suggests weights_only=False, which would run the file's code
        text = str(exc)
        if "Weights only load failed" in text:
            detail = ("it holds Python objects that would run code on loading; refused" if "GLOBAL" in text
                      else "a Python pickle that the safe loader refuses")
        else:
            first = text.strip().split(". ")[0].splitlines()[0] if text.strip() else type(exc).__name__
            detail = f"damaged or incomplete file: {first}"
        raise BackboneWeightsError(f"pretrained weights file {path} cannot be read as a state dict of tensors "
                                   f"({detail}): {_WEIGHTS_HINT}") from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise BackboneWeightsError(f"{path} is not a state dict (name -> tensor) of a torchvision ResNet: "
                                   f"{_WEIGHTS_HINT}")
    return state


def _mismatch(expected: dict[str, torch.Tensor], state: dict[str, torch.Tensor]) -> str:
    """How ``state`` differs from the ``expected`` state dict: counts of missing, unexpected and wrong-shape keys."""
    parts = []
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [k for k in state if k in expected and tuple(state[k].shape) != tuple(expected[k].shape)]
    for what, keys in (("missing", missing), ("unexpected", unexpected), ("of the wrong shape", shapes)):
        if keys:
            parts.append(f"{len(keys)} {what}, e.g. {keys[0]}")
    return "; ".join(parts) or "the weights differ"


def check_pretrained(name: str, pretrained: str = "none",
                     small_widths: tuple[int, int, int, int] = (32, 64, 128, 128), image_size: int = 224) -> None:
    """Check before any work that the backbone ``name`` can be built with ``pretrained`` weights.

    Loads the weights into one trunk exactly as `backbone_trunk` will (so a missing, empty, damaged, unsafe or
    mismatching file is found at once); nothing is kept. Returns None; raises `BackboneWeightsError` with the
    same messages as `backbone_trunk`. Does nothing for ``pretrained="none"``.
    """
    if pretrained != "none":
        backbone_trunk(name, pretrained, small_widths, image_size)


class SmallCNN(nn.Module):
    """A light trunk for CPUs (the ``cpu`` preset's FFE and ICE; not in the paper, which uses ResNet-18).

    Four blocks of Conv3×3 → BatchNorm → ReLU → MaxPool2 with ``widths`` channels, then an average pool to a
    2×2 grid, flattened: images (B, 3, S, S) -> features (B, F), F = 4 · widths[-1] (512 by default).
    The 2×2 grid keeps *where* on the face a change happens (brows above, mouth below), which a global average
    pool throws away and which separates the AU patterns of the emotion classes. About 0.24 M parameters with
    the default widths. Raises ``ValueError`` unless four positive widths are given.
    """

    def __init__(self, widths: tuple[int, int, int, int] = (32, 64, 128, 128)) -> None:
        super().__init__()
        if len(widths) != 4 or min(widths) < 1:
            raise ValueError(f"the small backbone needs four positive widths, got {widths}")
        layers: list[nn.Module] = []
        c_in = 3
        for c_out in widths:
            layers += [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out),
                       nn.ReLU(inplace=True), nn.MaxPool2d(2)]
            c_in = c_out
        layers += [nn.AdaptiveAvgPool2d(2), nn.Flatten()]
        self.body = nn.Sequential(*layers)
        self.out_features = 4 * widths[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) -> (B, 4 · widths[-1])."""
        return self.body(x)


class LinearTrunk(nn.Module):
    """The lightest trunk: one linear map of the whole (3, S, S) image to F = ``features`` values.

    Meant for tiny, area-downsampled onset-relative inputs (16-24 px), where DESIGN.md §7 measured CMNet's
    structure with linear encoders level with a logistic regression on real CASME II at 0.01 s per step.
    images (B, 3, S, S) -> (B, features). Not in the paper.
    """

    def __init__(self, image_size: int, features: int = 128) -> None:
        super().__init__()
        self.out_features = features
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(3 * image_size * image_size, features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) -> (B, features)."""
        return self.body(x)


def backbone_trunk(name: str, pretrained: str = "none",
                   small_widths: tuple[int, int, int, int] = (32, 64, 128, 128),
                   image_size: int = 224) -> tuple[nn.Module, int]:
    """The FFE/ICE trunk named by ``CMNetConfig.backbone``: a torchvision ResNet (`resnet_trunk`), `SmallCNN`
    or `LinearTrunk` (F = small_widths[-1]; needs ``image_size``).

    Returns (trunk, feature size F). Raises `BackboneWeightsError` when ``pretrained`` is not "none" for the
    small backbone (no pretrained weights exist for it) or as `resnet_trunk` does.
    """
    if name in ("small", "linear"):
        if pretrained != "none":
            raise BackboneWeightsError("the small backbone has no pretrained weights: use pretrained 'none' "
                                       "or a ResNet backbone")
        trunk = SmallCNN(tuple(small_widths)) if name == "small" else LinearTrunk(image_size, small_widths[-1])
        return trunk, trunk.out_features
    return resnet_trunk(name, pretrained)


def resnet_trunk(name: str = "resnet18", pretrained: str = "none") -> tuple[nn.Module, int]:
    """A torchvision ResNet without its classifier: images (B, 3, S, S) -> features (B, F), F = 512 for ResNet-18.

    Parameters
    ----------
    name : "resnet18" | "resnet34" | "resnet50"
    pretrained : "none" (random init), "imagenet" (torchvision's IMAGENET1K_V1 weights, downloaded on first
        use into ``torch.hub.get_dir()/checkpoints``) or a path to a local state-dict file of the same
        architecture (its ``fc.*`` entries, if any, are ignored).

    Returns the trunk (global-average-pooled output) and its feature size F.

    Raises `BackboneWeightsError` when "imagenet" weights can be neither found nor downloaded (the message
    names the file, e.g. ``resnet18-f37072fd.pth``, and the folder to put it in), or when a local file is
    unreadable or does not match the architecture (missing/unexpected keys, wrong shapes).
    """
    model = torchvision.models.get_model(name, weights=None)
    feature_dim = model.fc.in_features
    model.fc = nn.Identity()
    if pretrained == "none":
        return model, feature_dim
    if pretrained == "imagenet":
        weights = _imagenet_weights(name)
        target = imagenet_weights_file(name)
        try:
            state = weights.get_state_dict(progress=False)
        except Exception as exc:  # noqa: BLE001 - offline: URLError, socket errors, partial downloads
            raise BackboneWeightsError(
                f"ImageNet weights for {name} are not available offline and could not be downloaded ({exc}). "
                f"Place the file {target.name} (from {weights.url}) in the folder {target.parent}, "
                f"or set pretrained to a local weights file or 'none'.") from exc
    else:
        state = _load_state_dict(Path(pretrained))
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise BackboneWeightsError(f"pretrained weights file {pretrained}: the weights do not fit a torchvision "
                                   f"{name} ({_mismatch(model.state_dict(), state)}): give weights of the same "
                                   "architecture, or choose the backbone they were saved from with --backbone") from exc
    return model, feature_dim


__all__ = ["BackboneWeightsError", "LinearTrunk", "SmallCNN", "backbone_trunk", "check_pretrained",
           "imagenet_weights_file", "resnet_trunk"]
