"""CMNet model (Wei et al., AAAI 2023): configuration, backbones, network and contrastive augmentation."""
from .augment import ContrastiveAugment
from .backbones import BackboneWeightsError, imagenet_weights_file, resnet_trunk
from .cmnet import CMNet, CMNetOutput
from .config import CMNetConfig

__all__ = ["CMNet", "CMNetConfig", "CMNetOutput", "ContrastiveAugment", "BackboneWeightsError",
           "imagenet_weights_file", "resnet_trunk"]
