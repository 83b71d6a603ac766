"""`CMNetConfig`: every hyper-parameter of CMNet (Wei et al., AAAI 2023) as a named field.

Defaults are the paper's values where the paper gives one; where it is silent the default is
the one chosen in DESIGN.md §3 and the field says so ("not in the paper"). The optimiser recipe
(SGD, lr 1e-3 halved every 50 epochs, momentum 0.9, weight decay 1e-4) belongs to the trainer
(`cmnet_core.train`), not to this model/loss configuration.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from ..config_setting import setting

NEGATIVE_SAMPLERS = ("probabilistic", "deterministic", "random")
PVALUE_MODES = ("density", "two_sided")
INTENSITY_ACTIVATIONS = ("sigmoid", "none")
BACKBONES = ("resnet18", "resnet34", "resnet50", "small", "linear")
INPUTS = ("frames", "onset_diff")
TENDENCY_LOSSES = ("wrst", "position", "both", "none")
VIEW_JITTERS = ("per_frame", "per_clip")
READOUTS = ("last", "k_attention", "apex_attention")
#: How the training dialog names the tendency-term and input choices.
TENDENCY_TEXT = {"wrst": "L_Wrst (Eqs. 5–9, paper)", "position": "position term (MSE to the prototype mean; not in "
                 "the paper)", "both": "L_Wrst + position term", "none": "none"}
INPUT_TEXT = {"frames": "frames x_n (paper)", "onset_diff": "onset-relative x_n − x_onset (not in the paper)"}


@dataclass(frozen=True)
class CMNetConfig:
    """Model and loss hyper-parameters of CMNet. Frozen; use `dataclasses.replace` or `preset(**overrides)`.

    Raises ``ValueError`` (from ``__post_init__``) for an unknown choice or an out-of-range value.
    """

    # Each field's `setting` (cmnet_core.train.config_fields) says where it is shown: "cli" (a cmnet train/loso flag),
    # "dialog" (the training dialog's method box), "runs" (a runs-table column). Adding a field here is the one edit
    # that puts it on those surfaces.

    # ---- input -------------------------------------------------------------------------------
    image_size: int = setting(
        224, help="face crop side in pixels (overrides the preset)", group="model", column="px", unit="px",
        surfaces=("cli", "runs"), default_in_help=False)  #: side S of the square face crops, pixels (paper: 224).
    num_frames: int = setting(
        16, help="N, frames per clip after temporal normalisation", flag="--frames", group="model", column="N",
        unit="frames", surfaces=("cli", "runs"))  #: N, frames per clip after temporal normalisation (paper: 16).
    input: str = setting(
        "frames", help="what the encoders see: frames (x_n, paper) or onset_diff (x_n - x_onset, cancels identity; "
        "not in the paper)", label="Input", column="input", choices=INPUTS, choice_text=INPUT_TEXT,
        surfaces=("cli", "dialog", "runs"))  #: "frames": x_n as in the paper; "onset_diff": x_n − x_onset.

    # ---- encoders (FFE and ICE, separate weights) ----------------------------------------------
    backbone: str = setting(
        "resnet18", help="FFE/ICE backbone", choices=BACKBONES, group="model",
        surfaces=("cli", "runs"))  #: "resnet18" (paper), "resnet34", "resnet50", "small" (4-block CNN) or "linear".
    small_widths: tuple[int, int, int, int] = setting(
        (32, 64, 128, 128), help="channel widths of the 'small' backbone's blocks", group="model")
    pretrained: str = setting(
        "none", help="backbone weights: none, imagenet, or a state-dict file", group="model",
        surfaces=("cli",))  #: "none", "imagenet" (torchvision's download) or a path to a state-dict file.
    proj_hidden: int = setting(512, help="hidden width of the ICE projection head (not in the paper; DESIGN "
                               "default 512)", group="model")
    proj_dim: int = setting(128, help="size D of the L2-normalised projection z_n used by L_ID (not in the paper)",
                            group="model")
    intensity_activation: str = setting(
        "sigmoid", help="sigmoid: k_n = sigmoid(linear(h_n)) in (0,1); none: k_n = linear(h_n)",
        choices=INTENSITY_ACTIVATIONS)
    intensity_context: int = setting(
        0, help="temporal kernel (positions) of a residual Conv1d over h_n before the squeeze; 0 = none (paper)")
    lstm_hidden: int = setting(512, help="hidden size of the LSTM over the N enhanced features (not in the paper)",
                               group="model")
    lstm_layers: int = setting(1, help="LSTM layers (not in the paper)", group="model")
    readout: str = setting(
        "last", help="clip vector from the LSTM: last (its last state, paper), k_attention (weighted by "
        "softmax(k_n/0.1)) or apex_attention (weighted around the apex; not in the paper)", choices=READOUTS,
        surfaces=("cli",))
    readout_temperature: float = setting(0.1, help="T of the k_attention readout, in intensity units (not in the "
                                         "paper)")

    # ---- intensity distillation L_ID (Eq. 1) --------------------------------------------------
    tau: float = setting(
        0.07, help="τ, similarity temperature, Eq. 1", label="τ, temperature (Eq. 1)", column="τ",
        range=(0.001, 10.0), surfaces=("cli", "dialog", "runs"))  #: τ of sim(a, b) = exp(a·b/τ) (not in the paper).
    negative_sampling: str = setting(
        "probabilistic", help="negative sampling for L_ID", label="Negative sampling", column="sampling",
        choices=NEGATIVE_SAMPLERS, surfaces=("cli", "dialog", "runs"))  #: "probabilistic" (paper's best, Table 2).
    num_negatives: int = setting(15, help="M, negatives per anchor for the random/probabilistic samplers (paper: "
                                 "15 = N−1)")
    sampling_temperature: float | None = setting(None, help="softmax temperature of the probabilistic sampler; "
                                                 "None = tau")

    # ---- contrastive views (ColorJitter, RandomGrayscale, GaussianBlur; strengths not in the paper)
    jitter: tuple[float, float, float, float] = setting(
        (0.4, 0.4, 0.4, 0.1), help="ColorJitter brightness, contrast, saturation, hue")
    jitter_p: float = setting(0.8, help="probability of applying ColorJitter to a frame (SimCLR value)")
    grayscale_p: float = setting(0.2, help="probability of RandomGrayscale per frame (SimCLR value)")
    blur_p: float = setting(0.5, help="probability of GaussianBlur per frame (SimCLR value)")
    blur_sigma: tuple[float, float] = setting(
        (0.1, 2.0), help="GaussianBlur σ range in pixels at 224 px, scaled with image_size", unit="px")
    view_jitter: str = setting(
        "per_frame", help="per_frame: parameters drawn per frame (SimCLR); per_clip: once per clip",
        choices=VIEW_JITTERS)

    # ---- tendency prototype (Eqs. 2-4) ----------------------------------------------------------
    epsilon: float = setting(
        0.2, help="ε, prototype intensity at onset/offset, Eqs. 2–4", label="ε, prototype floor (Eqs. 2–4)",
        column="ε", range=(0.0, 0.99), surfaces=("cli", "dialog", "runs"))  #: intensities live in [ε, 1].
    eta_init: float = setting(0.5, help="initial η_n ∈ (0,1), the learnable σ scale per position (not in the "
                              "paper)")

    # ---- Wilcoxon rank-sum loss L_Wrst (Eqs. 5-9) ----------------------------------------------
    xi: float = setting(
        0.01, help="ξ, rank-sum loss margin, Eq. 9", label="ξ, rank-sum margin (Eq. 9)", column="ξ",
        range=(0.0, 1.0), decimals=4, step=0.005,
        surfaces=("cli", "dialog", "runs"))  #: ξ, margin in L = max(0, ξ − (p − α)) (paper: 0.01).
    alpha: float = setting(0.05, help="α, significance level (paper: 0.05)")
    pvalue: str = setting("density", help="density: p = φ(Z) as printed in Eq. 8; two_sided: p = 2(1 − Φ(|Z|))",
                          choices=PVALUE_MODES)
    rank_temperature: float = setting(0.05, help="temperature of the soft ranks, in intensity units (not in the "
                                      "paper)")

    # ---- total loss (Eq. 10) ------------------------------------------------------------------
    lambdas: tuple[float, float, float] = setting(
        (0.07, 0.71, 0.22), help="loss weights λ1 (L_ID), λ2 (L_Wrst), λ3 (L_C), Eq. 10",
        label="Loss weights (Eq. 10)", column="λ1/λ2/λ3", parts=("λ1", "λ2", "λ3"), metavar=("L1", "L2", "L3"),
        range=(0.0, 10.0), surfaces=("cli", "dialog", "runs"))  #: λ1 (L_ID), λ2 (L_Wrst), λ3 (L_C) (paper).
    use_id: bool = setting(True, help="include L_ID (Table 3 ablation switch)")
    tendency_loss: str = setting(
        "wrst", help="tendency term: wrst (L_Wrst, Eqs. 5-9, paper), position (MSE of k_n to the prototype mean at "
        "the apex position; not in the paper), both, none", label="Tendency term", column="tendency",
        choices=TENDENCY_LOSSES, choice_text=TENDENCY_TEXT, surfaces=("cli", "dialog", "runs"))
    position_weight: float = setting(
        1.0, help="λ_pos, weight of the position term (not in the paper)",
        surfaces=("cli",))  #: used by tendency_loss "position"/"both".
    use_cls: bool = setting(True, help="include the cross-entropy L_C")

    def __post_init__(self) -> None:
        def bad(name: str, why: str) -> ValueError:
            return ValueError(f"CMNetConfig.{name}={getattr(self, name)!r}: {why}")

        if self.backbone not in BACKBONES:
            raise bad("backbone", f"choose one of {BACKBONES}")
        if self.negative_sampling not in NEGATIVE_SAMPLERS:
            raise bad("negative_sampling", f"choose one of {NEGATIVE_SAMPLERS}")
        if self.pvalue not in PVALUE_MODES:
            raise bad("pvalue", f"choose one of {PVALUE_MODES}")
        for name, choices in (("input", INPUTS), ("tendency_loss", TENDENCY_LOSSES), ("view_jitter", VIEW_JITTERS),
                               ("readout", READOUTS)):
            if getattr(self, name) not in choices:
                raise bad(name, f"choose one of {choices}")
        if self.intensity_context < 0 or (self.intensity_context and self.intensity_context % 2 == 0):
            raise bad("intensity_context", "must be 0 (off) or an odd kernel size in positions")
        if self.position_weight < 0:
            raise bad("position_weight", "must be non-negative")
        if self.intensity_activation not in INTENSITY_ACTIVATIONS:
            raise bad("intensity_activation", f"choose one of {INTENSITY_ACTIVATIONS}")
        if self.image_size < 16:
            raise bad("image_size", "must be at least 16 pixels")
        if self.num_frames < 2:
            raise bad("num_frames", "must be at least 2 (L_ID needs other frames as negatives)")
        if self.num_negatives < 1:
            raise bad("num_negatives", "must be at least 1")
        if not 0.0 <= self.epsilon < 1.0:
            raise bad("epsilon", "must lie in [0, 1)")
        if not 0.0 < self.eta_init < 1.0:
            raise bad("eta_init", "must lie in (0, 1)")
        for name in ("tau", "rank_temperature", "readout_temperature"):
            if getattr(self, name) <= 0:
                raise bad(name, "must be positive")
        if self.sampling_temperature is not None and self.sampling_temperature <= 0:
            raise bad("sampling_temperature", "must be positive or None")
        if len(self.lambdas) != 3:
            raise bad("lambdas", "needs three weights (λ1 L_ID, λ2 L_Wrst, λ3 L_C)")
        if not (self.use_id or self.tendency_loss != "none" or self.use_cls):
            raise ValueError("CMNetConfig: at least one of use_id, tendency_loss, use_cls must be on")

    # ---- presets and serialisation ------------------------------------------------------------
    @classmethod
    def preset(cls, name: str = "paper", **overrides: Any) -> "CMNetConfig":
        """A named configuration (`PRESET_FIELDS`): ``"paper"`` (224 px, ResNet-18s, raw frames, L_Wrst: as
        published), ``"fast"`` (the paper's model at 112 px) or ``"cpu"`` (a small CNN on onset-relative 32 px
        frames, the position-aware tendency term and an apex-attention readout of the LSTM: labelled departures
        that learn on a CPU in minutes; README "The method" gives the measurements).

        Keyword overrides replace single fields. Raises ``ValueError`` for an unknown name.
        """
        if name not in PRESET_FIELDS:
            raise ValueError(f"unknown CMNet preset {name!r}: choose one of {sorted(PRESET_FIELDS)}")
        return cls(**{**PRESET_FIELDS[name], **overrides})

    @property
    def use_wrst(self) -> bool:
        """Whether L_Wrst (Eqs. 5-9) is in the loss (``tendency_loss`` "wrst" or "both")."""
        return self.tendency_loss in ("wrst", "both")

    @property
    def use_position(self) -> bool:
        """Whether the position-aware tendency term is in the loss (``tendency_loss`` "position" or "both")."""
        return self.tendency_loss in ("position", "both")

    @property
    def neg_temperature(self) -> float:
        """Softmax temperature of the probabilistic negative sampler (``sampling_temperature`` or ``tau``)."""
        return self.tau if self.sampling_temperature is None else self.sampling_temperature

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (tuples become lists) for checkpoints and result files."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "CMNetConfig":
        """Inverse of `to_dict`. Raises ``ValueError`` naming any unknown key (e.g. a newer checkpoint)."""
        known = {f.name: f for f in fields(cls)}
        data = dict(data)
        if "use_wrst" in data and "tendency_loss" not in data:  # checkpoints written before tendency_loss existed
            data["tendency_loss"] = "wrst" if data.pop("use_wrst") else "none"
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ValueError(f"CMNetConfig.from_dict: unknown field(s) {unknown}; known: {sorted(known)}")
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        return cls(**values)

    def replace(self, **changes: Any) -> "CMNetConfig":
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)


#: The named presets: field values that differ from the defaults (the defaults are the paper's).
PRESET_FIELDS: dict[str, dict[str, Any]] = {
    "paper": {},
    "fast": {"image_size": 112},
    "cpu": {"image_size": 32, "backbone": "small", "input": "onset_diff", "tendency_loss": "both",
            "readout": "apex_attention", "use_id": False, "view_jitter": "per_clip", "lstm_hidden": 128,
            "proj_hidden": 128},
}
PRESETS = tuple(PRESET_FIELDS)


__all__ = ["CMNetConfig", "PRESET_FIELDS", "TENDENCY_TEXT", "INPUT_TEXT",
           "PRESETS", "INPUTS", "TENDENCY_LOSSES", "VIEW_JITTERS", "READOUTS",
           "NEGATIVE_SAMPLERS", "PVALUE_MODES", "INTENSITY_ACTIVATIONS", "BACKBONES"]
