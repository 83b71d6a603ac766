"""The embedded demo: a synthetic clip and a small CMNet trained on synthetic clips (Qt-free).

Everything is deterministic by `DEMO_SEED`. The model is built on first use (about 5 minutes on an idle
2-core CPU; `DEMO_RECIPE`) into `demo_dir()` and reused afterwards; ``scripts/build_demo.py`` builds it from the
command line. Both are synthetic and labelled so in the window: they show how the app works, not
anything about real faces.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from cmnet_core.data.clip import Clip

from .prediction import Cancelled

DEMO_SEED = 2023
DEMO_VERSION = 2
#: The demo clip: a held-out synthetic subject (the model never saw this face) showing surprise.
DEMO_LABEL = "surprise"
DEMO_IMAGE_SIZE = 256
DEMO_FRAMES = 48


@dataclass(frozen=True)
class DemoRecipe:
    """How the demo model is trained (recorded in its checkpoint metadata as ``demo_recipe``).

    image_size : crop side S, pixels.  num_frames : N.  subjects, clips_per_class : synthetic training set
    (``subjects × 4 × clips_per_class`` clips, seeds from `DEMO_SEED`).  amplitude_px : apex AU displacement in
    pixels at 224 px (*exaggerated*: real micro-expressions and the generator's default are 2.5–4 px, which is
    below a pixel at demo sizes).  distractors : `Distractors` fields (head motion px, blink probability,
    flicker, noise).  epochs, batch_size, optimizer, lr, lr_step : the trainer's settings
    (`TrainConfig`; optimizer ``"sgd"`` or ``"adam"``).  use_id : L_ID on or off.

    Measured (scripts/demo_recipes.py, 16 held-out clips of 2 unseen subjects): this recipe does NOT yet learn
    the classes (held-out accuracy 0.25 = chance, L_C stays at ln 4 over its 48 SGD steps) and k_n is only
    weakly related to the true intensity (mean per-clip Spearman +0.15); the window's numbers are illustrative.
    Adam did not help either (held-out accuracy 0.25 each, training L_C still ≈ ln 4 at the end):
    lr 1e-3, 10 epochs, batch 4 (Spearman −0.18); lr 1e-3, 12 epochs, batch 4, no L_ID (+0.09);
    lr 3e-4, 8 epochs, batch 4 (+0.14). L_ID does fall (5.6 → 3.4–4.0), so the contrastive part trains.
    """

    image_size: int = 48
    num_frames: int = 16
    subjects: int = 6
    clips_per_class: int = 2
    amplitude_px: float = 12.0
    distractors: tuple[float, float, float, float] = (0.6, 0.2, 0.01, 1.0)
    epochs: int = 8
    batch_size: int = 8
    optimizer: str = "sgd"
    lr: float = 3e-2
    lr_step: int = 6
    use_id: bool = True

    def summary(self) -> str:
        """One line for the window and the progress dialog."""
        return (f"{self.image_size} px, {self.subjects * 4 * self.clips_per_class} synthetic clips with "
                f"exaggerated motion ({self.amplitude_px:g} px at 224 px), {self.epochs} epochs")


DEMO_RECIPE = DemoRecipe()
MODEL_EPOCHS = DEMO_RECIPE.epochs


def demo_clips(recipe: DemoRecipe = DEMO_RECIPE, held_out: bool = False, image_size: int = 128) -> list[Clip]:
    """The synthetic clips the demo model trains on (or, with ``held_out``, clips of other subjects for
    checking it). Rendered at ``image_size`` px (lazily), amplitude and distractors from ``recipe``."""
    from cmnet_core.data.synthetic import Distractors, FaceIdentity, make_synthetic_clip, synthetic_clip_specs

    seed = DEMO_SEED + 1 if held_out else DEMO_SEED
    n_subjects = 2 if held_out else recipe.subjects
    specs = synthetic_clip_specs(n_subjects=n_subjects, clips_per_class=recipe.clips_per_class, seed=seed)
    dis = Distractors(*recipe.distractors)
    return [make_synthetic_clip(sp["seed"], sp["label"], sp["subject"], name=sp["name"],
                                identity=FaceIdentity.random(sp["identity_seed"]), image_size=image_size,
                                amplitude_px=recipe.amplitude_px, distractors=dis) for sp in specs]


def demo_dir() -> Path:
    """``$CMNET_STUDIO_DEMO_DIR`` or ``~/.cache/cmnet-studio/demo``."""
    env = os.environ.get("CMNET_STUDIO_DEMO_DIR")
    return Path(env) if env else Path.home() / ".cache" / "cmnet-studio" / "demo"


def demo_checkpoint_path(folder: Path | None = None) -> Path:
    """Where the demo checkpoint is cached (versioned, so a new app version rebuilds it)."""
    return (folder or demo_dir()) / f"demo-model-v{DEMO_VERSION}.pt"


def demo_clip(recipe: DemoRecipe = DEMO_RECIPE) -> Clip:
    """The synthetic demo clip: 48 frames of 256×256 px at 200 fps, onset/apex/offset from the generator,
    with the demo model's exaggerated amplitude and distractors (`DemoRecipe`)."""
    from cmnet_core.data.synthetic import Distractors, make_synthetic_clip

    return make_synthetic_clip([DEMO_SEED, 99], DEMO_LABEL, subject="demo", name=f"demo_{DEMO_LABEL}",
                               image_size=DEMO_IMAGE_SIZE, n_frames=DEMO_FRAMES, amplitude_px=recipe.amplitude_px,
                               distractors=Distractors(*recipe.distractors))


def build_demo_model(out_path: str | Path | None = None, progress: Callable[[float, str], None] | None = None,
                     cancelled: Callable[[], bool] | None = None, epochs: int | None = None,
                     recipe: DemoRecipe = DEMO_RECIPE) -> Path:
    """Train the demo CMNet on synthetic clips (`demo_clips`) and write its checkpoint to ``out_path``.

    ``recipe`` sets size, data, amplitude and optimiser (``epochs`` overrides its epoch count).
    ``progress(fraction, message)`` reports preprocessing then training steps; ``cancelled()`` returning
    True stops at the next step (raises `Cancelled`, nothing is written).
    The checkpoint is first written in a temporary folder and moved into place, so a half-built model is
    never cached. Returns the checkpoint path.
    """
    from cmnet_core.data.synthetic import SYNTHETIC_LABELS
    from cmnet_core.model import CMNetConfig
    from cmnet_core.preprocess.types import PreprocessSettings
    from cmnet_core.train.callbacks import Callback
    from cmnet_core.train.dataset import preprocess_clips
    from cmnet_core.train.trainer import TrainConfig, Trainer

    epochs = recipe.epochs if epochs is None else epochs
    out = Path(out_path) if out_path else demo_checkpoint_path()
    progress = progress or (lambda f, m: None)
    cancelled = cancelled or (lambda: False)
    clips = demo_clips(recipe)
    settings = PreprocessSettings(image_size=recipe.image_size, num_frames=recipe.num_frames, landmarks="hint")
    labels = list(SYNTHETIC_LABELS)

    def pre_progress(done: int, total: int, name: str) -> None:
        progress(0.2 * done / total, f"preparing synthetic clip {done}/{total}")
        if cancelled():
            raise Cancelled()

    samples = preprocess_clips(clips, labels, settings, progress=pre_progress)
    steps_per_epoch = (len(samples) + recipe.batch_size - 1) // recipe.batch_size

    class Report(Callback):
        def __init__(self) -> None:
            self.epoch = 0

        def on_epoch_start(self, epoch, epochs_, steps):
            self.epoch = epoch - 1

        def on_step(self, step, steps, losses):
            done = (self.epoch * steps_per_epoch + step) / (epochs * steps_per_epoch)
            progress(0.2 + 0.8 * done, f"training epoch {self.epoch + 1}/{epochs}")

        def should_cancel(self):
            return cancelled()

    cfg = CMNetConfig.preset("fast", image_size=recipe.image_size, num_frames=recipe.num_frames,
                             use_id=recipe.use_id)
    train_cfg = TrainConfig(epochs=epochs, batch_size=recipe.batch_size, optimizer=recipe.optimizer, lr=recipe.lr,
                            lr_step=recipe.lr_step, seed=DEMO_SEED, device="cpu", amp=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        meta = {"database": "synthetic (demo, exaggerated motion)", "protocol": f"synthetic-{len(labels)}",
                "synthetic": True, "preprocess": settings.to_dict(), "demo_seed": DEMO_SEED,
                "demo_recipe": {**asdict(recipe), "epochs": epochs}, "demo_summary": recipe.summary()}
        result = Trainer(cfg, train_cfg, labels, tmp, metadata=meta, callbacks=Report()).fit(samples)
        if result.status != "finished":
            raise Cancelled()
        shutil.move(str(result.final_path), out.with_suffix(".tmp"))
        os.replace(out.with_suffix(".tmp"), out)
    return out
