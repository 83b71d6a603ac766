"""CMNet (Wei et al., "CMNet: Contrastive Magnification Network for Micro-Expression Recognition", AAAI 2023).

Per clip of N frames x^(n) (ImageNet-normalised crops, (N, 3, S, S)):

* Encoder input (``cfg.input``): the frames (paper) or, with ``"onset_diff"`` (not in the paper), x_n − x_1 with
  each difference's spatial mean removed (`CMNet.encoder_input`).
* FFE (facial feature encoder): ResNet trunk -> texture feature f_n (F = 512 for ResNet-18); ``backbone="small"``
  or ``"linear"`` (not in the paper) swaps in a light trunk (`cmnet_core.model.backbones`).
* ICE (intensity clues encoder): a second ResNet trunk (own weights) -> intensity feature h_n (F);
  projection head F -> proj_hidden -> proj_dim (Linear, ReLU, Linear), L2-normalised -> z_n for L_ID.
* squeeze: Linear(F, 1) maps h_n to the intensity clue k_n; with ``intensity_activation="sigmoid"`` (default)
  k_n = sigmoid(Linear(h_n)) ∈ (0, 1). Why: L_Wrst compares k with the tendency prototype, which lives in
  [ε, 1], through soft ranks whose temperature is in those units, and the GUI plots k against the prototype;
  an unbounded k has an arbitrary scale. ``"none"`` gives the plain linear squeeze of DESIGN.md §3.
* extend: Linear(1, F) maps k_n to e_n; enhanced feature f_n ⊙ e_n (element-wise).
* LSTM over the N enhanced features; its last hidden state v -> Linear classifier -> logits (C).
  ``readout="k_attention"`` (not in the paper) reads v = Σ_n softmax(k_n / T)·h_n over the LSTM's outputs
  instead, so the frames the intensity clues mark as strongest decide the class; ``"apex_attention"`` weights
  by softmax(prototype mean / T), i.e. around the given apex position.
* Tendency prototype (Eqs. 2-4): mean and σ per position from the apex position and learnable η_n.

All ICE inputs of a batch — N originals plus, in training, 2N views per clip — go through the ICE in ONE
batched call (B·3N images); the FFE sees the B·N originals once. Negatives for L_ID are gathered by indexing.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .prototype import TendencyPrototype

from .backbones import backbone_trunk
from .config import CMNetConfig


@dataclass
class CMNetOutput:
    """What one forward pass returns. B clips, N positions, C classes, D = cfg.proj_dim.

    logits : Tensor (B, C)            class scores (softmax -> probabilities).
    intensity : Tensor (B, N)         intensity clues k_n (in (0, 1) with the sigmoid squeeze; unitless).
    z : Tensor (B, N, D)              L2-normalised ICE projections of the original frames.
    z_view1, z_view2 : Tensor (B, N, D) or None   projections of the two contrastive views (None without views).
    proto_mean : Tensor (B, N)        tendency-prototype mean per position (Eqs. 2-4), in [ε, 1].
    proto_sigma : Tensor (B, N)       prototype standard deviation per position (includes η_n).
    proto_sample : Tensor (B, N) or None   reparameterised draw q_n (training mode only).
    apex_position : LongTensor (B,)   the 0-based apex positions the prototype used.
    """

    logits: torch.Tensor
    intensity: torch.Tensor
    z: torch.Tensor
    z_view1: torch.Tensor | None
    z_view2: torch.Tensor | None
    proto_mean: torch.Tensor
    proto_sigma: torch.Tensor
    proto_sample: torch.Tensor | None
    apex_position: torch.Tensor


class CMNet(nn.Module):
    """CMNet: FFE + ICE (separate ResNet trunks), squeeze/extend, LSTM, classifier, tendency prototype.

    Parameters
    ----------
    cfg : CMNetConfig
    num_classes : int   C, number of emotion classes (≥ 2).

    Raises ``ValueError`` for fewer than 2 classes and `BackboneWeightsError` when pretrained weights are
    missing or do not fit (see `cmnet_core.model.backbones.resnet_trunk`).
    """

    def __init__(self, cfg: CMNetConfig, num_classes: int) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"CMNet needs at least 2 classes, got {num_classes}")
        self.cfg = cfg
        self.num_classes = num_classes
        self.ffe, feat = backbone_trunk(cfg.backbone, cfg.pretrained, cfg.small_widths, cfg.image_size)
        self.ice, _ = backbone_trunk(cfg.backbone, cfg.pretrained, cfg.small_widths, cfg.image_size)
        self.projection = nn.Sequential(nn.Linear(feat, cfg.proj_hidden), nn.ReLU(inplace=True),
                                        nn.Linear(cfg.proj_hidden, cfg.proj_dim))
        # intensity_context (not in the paper): k_n may look at its neighbours' ICE features, so a blink (2-3
        # frames) or a drift (the whole clip) can be told from a rise and fall around the apex
        self.context = (nn.Conv1d(feat, feat, cfg.intensity_context, padding=cfg.intensity_context // 2,
                                  padding_mode="replicate") if cfg.intensity_context else None)
        self.squeeze = nn.Linear(feat, 1)
        self.extend = nn.Linear(1, feat)
        self.lstm = nn.LSTM(feat, cfg.lstm_hidden, num_layers=cfg.lstm_layers, batch_first=True)
        self.classifier = nn.Linear(cfg.lstm_hidden, num_classes)
        self.prototype = TendencyPrototype(cfg.num_frames, cfg.epsilon, cfg.eta_init)

    def encoder_input(self, frames: torch.Tensor) -> torch.Tensor:
        """What FFE and ICE see (``cfg.input``): the frames themselves (paper) or, with ``"onset_diff"``, every
        frame minus the clip's first (onset) frame, x_n − x_1, with each difference's spatial mean per channel
        removed (a global lighting change, e.g. flicker, is not facial motion), (B, N, 3, S, S) -> same shape.

        Why onset-relative (a labelled departure from the paper): within a clip the face changes by ~1 grey
        level, between clips by ~40; subtracting the onset cancels identity, as apex − onset optical flow does
        in OFF-ApexNet/STSTNet. Measured in `scripts/bench_fidelity.py` (README, "The method").
        """
        if self.cfg.input == "onset_diff":
            diff = frames - frames[:, :1]
            return diff - diff.mean(dim=(-2, -1), keepdim=True)  # a global lighting change is not motion
        return frames

    def forward(self, frames: torch.Tensor, apex_position: torch.Tensor,
                views: tuple[torch.Tensor, torch.Tensor] | None = None) -> CMNetOutput:
        """Run CMNet on a batch of clips.

        Parameters
        ----------
        frames : Tensor (B, N, 3, S, S)     ImageNet-normalised face crops; N must equal cfg.num_frames. With
                                            ``cfg.input="onset_diff"`` the encoders see x_n − x_1 (`encoder_input`).
        apex_position : LongTensor (B,)     0-based apex position among the N frames.
        views : (Tensor, Tensor) or None    two contrastive views of ``frames``, same shape (training with L_ID).

        Raises ``ValueError`` for wrong shapes.
        """
        if frames.dim() != 5 or frames.shape[2] != 3:
            raise ValueError(f"frames must be (B, N, 3, S, S), got {tuple(frames.shape)}")
        b, n = frames.shape[:2]
        if n != self.cfg.num_frames:
            raise ValueError(f"clips have {n} frames but the model was built for N={self.cfg.num_frames}")
        if apex_position.shape != (b,):
            raise ValueError(f"apex_position must have shape ({b},), got {tuple(apex_position.shape)}")
        if views is not None and any(v.shape != frames.shape for v in views):
            raise ValueError(f"views must both have the frames' shape {tuple(frames.shape)}")
        frames = self.encoder_input(frames)
        ice_input = frames
        if views is not None:
            ice_input = torch.cat([frames, self.encoder_input(views[0]), self.encoder_input(views[1])], dim=1)
        h_all = self.ice(ice_input.flatten(0, 1)).view(b, ice_input.shape[1], -1)  # one ICE pass
        if self.context is not None:  # residual temporal conv over each sequence (originals, views) separately
            seqs = h_all.view(b, -1, n, h_all.shape[-1]).flatten(0, 1).transpose(1, 2)   # (B·V, F, N)
            h_all = h_all + torch.relu(self.context(seqs)).transpose(1, 2).reshape(h_all.shape)
        z_all = F.normalize(self.projection(h_all), dim=-1)
        h = h_all[:, :n]
        k = self.squeeze(h).squeeze(-1)                                       # (B, N)
        if self.cfg.intensity_activation == "sigmoid":
            k = torch.sigmoid(k)
        e = self.extend(k.unsqueeze(-1))                                      # (B, N, F)
        f = self.ffe(frames.flatten(0, 1)).view(b, n, -1)                     # (B, N, F)
        h_seq, (h_last, _) = self.lstm(f * e)                                 # (B, N, H), (layers, B, H)
        mean, sigma = self.prototype(apex_position)
        if self.cfg.readout == "last":
            v = h_last[-1]
        else:  # k_n (or the prototype at the known apex) decides which time steps the clip vector reads
            score = k if self.cfg.readout == "k_attention" else mean
            weights = torch.softmax(score / self.cfg.readout_temperature, dim=1)   # (B, N)
            v = (weights.unsqueeze(-1) * h_seq).sum(dim=1)
        logits = self.classifier(v)
        sample = TendencyPrototype.sample(mean, sigma) if self.training else None
        return CMNetOutput(
            logits=logits, intensity=k, z=z_all[:, :n],
            z_view1=z_all[:, n:2 * n] if views is not None else None,
            z_view2=z_all[:, 2 * n:] if views is not None else None,
            proto_mean=mean, proto_sigma=sigma, proto_sample=sample, apex_position=apex_position)


__all__ = ["CMNet", "CMNetOutput"]
