"""CMNet model (Wei et al., AAAI 2023): configuration, backbones, network and contrastive augmentation.

The names below are imported on first use (PEP 562): `cmnet_core.model.config` (`CMNetConfig`) stays
importable without torch, which keeps the ``cmnet`` argument parser fast.
"""
from importlib import import_module

_EXPORTS = {"ContrastiveAugment": "augment", "BackboneWeightsError": "backbones",
            "imagenet_weights_file": "backbones", "resnet_trunk": "backbones", "CMNet": "cmnet",
            "CMNetOutput": "cmnet", "CMNetConfig": "config",
            "TendencyPrototype": "prototype", "prototype_parameters": "prototype"}

__all__ = ["CMNet", "CMNetConfig", "CMNetOutput", "ContrastiveAugment", "BackboneWeightsError",
           "imagenet_weights_file", "resnet_trunk", "TendencyPrototype", "prototype_parameters"]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
