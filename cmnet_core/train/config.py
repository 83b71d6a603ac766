"""`TrainConfig`: the optimisation and evaluation settings of a training run (no torch import, so the CLI's
argument parsers can show its defaults cheaply)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

SELECTIONS = ("fixed", "val")
#: Training settings that belong to a `CMNetConfig` preset (applied where the user gave none). The paper's SGD
#: recipe is `TrainConfig`'s default; the ``cpu`` preset's small from-scratch model trains with Adam, which fits
#: it in ~100 steps (scripts/bench_fidelity.py).
PRESET_TRAINING: dict[str, dict] = {
    "paper": {},
    "fast": {},
    "cpu": {"optimizer": "adam", "lr": 1e-3, "epochs": 20, "batch_size": 8, "lr_step": 1000, "augment": "clip"},
}


def auto_preset(cuda_available: bool) -> str:
    """The preset ``--preset auto`` picks: ``"cpu"`` on either device.

    Why not ``"paper"`` with CUDA: the paper's two ResNet-18s trained from scratch do not learn from ~100 clips
    (DESIGN.md §7), on a GPU either. Measured on an H200 (scripts/device_check.sh, the same 2 LOSO folds of a
    synthetic database at 112 px, 15 epochs): paper UF1 0.17 (chance), cpu 1.00. ``--preset paper`` still gives
    the published recipe. ``cuda_available`` is kept so the choice can depend on the device again.
    """
    del cuda_available  # the same answer on both devices (measured above)
    return "cpu"
OPTIMIZERS = ("sgd", "adam")
AUGMENTS = ("none", "clip")


@dataclass
class TrainConfig:
    """Optimisation and evaluation settings (the model's own hyper-parameters live in `CMNetConfig`).

    epochs : int            training epochs (not in the paper; fixed-epoch selection uses the last one).
    batch_size : int        clips per optimiser step (not in the paper).
    optimizer : str         ``"sgd"``: the paper's SGD with ``momentum`` and ``weight_decay``; ``"adam"``:
                            ``torch.optim.Adam(lr, weight_decay=weight_decay)`` (not in the paper; ``momentum``
                            unused), which trains the small from-scratch models of the demo in far fewer steps.
    lr, momentum, weight_decay : SGD (paper: 1e-3, 0.9, 1e-4).
    lr_step, lr_gamma : the learning rate is multiplied by ``lr_gamma`` every ``lr_step`` epochs (paper: 50, 0.5).
    seed : int              seeds model initialisation, sample order, augmentation (recorded with every result).
    class_balanced : bool   draw each epoch's samples with probability ∝ 1/(class count), with replacement.
    amp : bool              mixed precision (float16 autocast + gradient scaling); used on CUDA only.
    device : str            ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
    num_workers : int       DataLoader worker processes (loading only; randomness stays in the main process).
    selection : str         ``"fixed"``: the model after the last epoch; ``"val"``: the epoch with the best
                            ``select_metric`` on validation subjects drawn from the *training* subjects.
    val_subjects : int      how many training subjects are held out for ``selection="val"``.
    select_metric : str     ``"uf1"``, ``"uar"`` or ``"accuracy"`` for validation selection.
    augment : str           ``"none"`` (paper) or ``"clip"``: per-clip flip, shift and contrast gain of the training
                            clips (`cmnet_core.model.augment.clip_augment`; not in the paper).
    oracle : bool           also score the test subject after every epoch and report the best epoch as a
                            separate, labelled *oracle* figure (optimistic; never the honest result).
    """

    epochs: int = 100
    batch_size: int = 8
    optimizer: str = "sgd"
    lr: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 1e-4
    lr_step: int = 50
    lr_gamma: float = 0.5
    seed: int = 0
    class_balanced: bool = False
    amp: bool = True
    device: str = "auto"
    num_workers: int = 0
    selection: str = "fixed"
    val_subjects: int = 0
    select_metric: str = "uf1"
    oracle: bool = False
    augment: str = "none"

    def __post_init__(self):
        if self.augment not in AUGMENTS:
            raise ValueError(f"TrainConfig.augment={self.augment!r}: choose one of {AUGMENTS}")
        if self.selection not in SELECTIONS:
            raise ValueError(f"TrainConfig.selection={self.selection!r}: choose one of {SELECTIONS} "
                             "(the oracle best-on-test figure is the separate flag oracle=True)")
        if self.selection == "val" and self.val_subjects < 1:
            raise ValueError("TrainConfig: selection='val' needs val_subjects >= 1 (subjects taken from training)")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"TrainConfig.optimizer={self.optimizer!r}: choose one of {OPTIMIZERS}")
        if self.select_metric not in ("uf1", "uar", "accuracy"):
            raise ValueError(f"TrainConfig.select_metric={self.select_metric!r}: choose uf1, uar or accuracy")
        for name in ("epochs", "batch_size", "lr_step"):
            if getattr(self, name) < 1:
                raise ValueError(f"TrainConfig.{name} must be at least 1")

    def to_dict(self) -> dict:
        """JSON-safe dict (for config.json and checkpoints)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        """Inverse of `to_dict`; unknown keys raise ``ValueError``."""
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"TrainConfig: unknown field(s) {sorted(unknown)}")
        return cls(**data)
