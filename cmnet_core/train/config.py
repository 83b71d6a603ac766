"""`TrainConfig`: the optimisation and evaluation settings of a training run (no torch import, so the CLI's
argument parsers can show its defaults cheaply), with the training presets (`PRESET_TRAINING`)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from ..config_setting import setting

SELECTIONS = ("fixed", "val")
OPTIMIZERS = ("sgd", "adam")
AUGMENTS = ("none", "clip")
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

    # Each field's `setting` (cmnet_core.train.config_fields) says where it is shown ("cli": a cmnet train/loso flag,
    # "runs": a runs-table column); help texts name the per-preset default from PRESET_TRAINING.
    epochs: int = setting(100, help="epochs", group="training", unit="epochs", surfaces=("cli", "runs"))
    batch_size: int = setting(8, help="clips per step", group="training", column="batch", unit="clips",
                              surfaces=("cli", "runs"))
    optimizer: str = setting(
        "sgd", help="sgd: the paper's SGD (momentum 0.9, weight decay 1e-4); adam: Adam with the same lr and weight "
        "decay (not in the paper; faster for small from-scratch models)", choices=OPTIMIZERS, group="training",
        surfaces=("cli", "runs"))
    lr: float = setting(1e-3, help="learning rate", group="training", surfaces=("cli", "runs"))
    momentum: float = setting(0.9, help="SGD momentum (paper: 0.9)", group="training")
    weight_decay: float = setting(1e-4, help="weight decay (paper: 1e-4)", group="training")
    lr_step: int = setting(50, help="halve the lr every this many epochs", group="training", unit="epochs",
                           surfaces=("cli",))
    lr_gamma: float = setting(0.5, help="factor applied to the lr every lr_step epochs (paper: 0.5)",
                              group="training")
    seed: int = setting(0, help="random seed", group="training", cli_uses_default=True, surfaces=("cli",))
    class_balanced: bool = setting(False, help="sample clips with probability ∝ 1/class count", group="training",
                                   default_in_help=False, surfaces=("cli",))
    amp: bool = setting(True, help="no mixed precision on CUDA", flag="--no-amp", negate=True, group="training",
                        default_in_help=False, surfaces=("cli",))
    device: str = setting("auto", help="auto (CUDA when available), cpu, cuda, cuda:1 ...", group="training",
                          cli_uses_default=True, default_in_help=False, surfaces=("cli", "runs"))
    num_workers: int = setting(
        0, help="DataLoader worker processes (default: the CPUs SLURM gave the task, SLURM_CPUS_PER_TASK, inside a "
        "SLURM job; else 0); they ignore SIGTERM/SIGINT, which the training process handles (clean stop)",
        flag="--workers", group="training", default_in_help=False, surfaces=("cli",))
    selection: str = setting(
        "fixed", help="model selection: fixed (last epoch) or val (best epoch on validation subjects taken from the "
        "training subjects)", choices=SELECTIONS, group="training", cli_uses_default=True, default_in_help=False,
        surfaces=("cli",))
    val_subjects: int = setting(0, help="training subjects held out for --selection val", group="training",
                                cli_default=1, default_in_help=False, surfaces=("cli",))
    select_metric: str = setting("uf1", help="uf1, uar or accuracy for validation selection",
                                 choices=("uf1", "uar", "accuracy"), group="training", surfaces=("cli",))
    oracle: bool = setting(False, help="ALSO report the optimistic best-epoch-on-test figure, labelled 'oracle' "
                           "(never alone)", group="training", only="loso", default_in_help=False, surfaces=("cli",))
    augment: str = setting(
        "none", help="training augmentation: none (paper) or clip (per-clip flip, shift, contrast; not in the paper)",
        choices=AUGMENTS, group="training", surfaces=("cli",))

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
