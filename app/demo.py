"""The embedded demo: a synthetic clip and a small CMNet trained on synthetic clips (Qt-free).

Everything is deterministic by `DEMO_SEED`. The model is built on first use (about a minute or two on
a 2-core CPU) into `demo_dir()` and reused afterwards; ``scripts/build_demo.py`` builds it from the
command line. Both are synthetic and labelled so in the window: they show how the app works, not
anything about real faces.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable

from cmnet_core.data.clip import Clip

from .prediction import Cancelled

DEMO_SEED = 2023
DEMO_VERSION = 1
#: The demo clip: a held-out synthetic subject (the model never saw this face) showing surprise.
DEMO_LABEL = "surprise"
DEMO_IMAGE_SIZE = 256
DEMO_FRAMES = 48
#: The demo model: 40 px input, 6 epochs on 24 clips, so that it builds on a 2-core CPU in minutes.
MODEL_IMAGE_SIZE = 40
MODEL_EPOCHS = 6
MODEL_SUBJECTS = 3
MODEL_CLIPS_PER_CLASS = 2


def demo_dir() -> Path:
    """``$CMNET_STUDIO_DEMO_DIR`` or ``~/.cache/cmnet-studio/demo``."""
    env = os.environ.get("CMNET_STUDIO_DEMO_DIR")
    return Path(env) if env else Path.home() / ".cache" / "cmnet-studio" / "demo"


def demo_checkpoint_path(folder: Path | None = None) -> Path:
    """Where the demo checkpoint is cached (versioned, so a new app version rebuilds it)."""
    return (folder or demo_dir()) / f"demo-model-v{DEMO_VERSION}.pt"


def demo_clip() -> Clip:
    """The synthetic demo clip: 48 frames of 256×256 px at 200 fps, onset/apex/offset from the generator."""
    from cmnet_core.data.synthetic import make_synthetic_clip

    return make_synthetic_clip([DEMO_SEED, 99], DEMO_LABEL, subject="demo", name=f"demo_{DEMO_LABEL}",
                               image_size=DEMO_IMAGE_SIZE, n_frames=DEMO_FRAMES)


def build_demo_model(out_path: str | Path | None = None, progress: Callable[[float, str], None] | None = None,
                     cancelled: Callable[[], bool] | None = None, epochs: int = MODEL_EPOCHS,
                     image_size: int = MODEL_IMAGE_SIZE) -> Path:
    """Train the demo CMNet on a synthetic database and write its checkpoint to ``out_path``.

    ``progress(fraction, message)`` reports preprocessing then training steps; ``cancelled()`` returning
    True stops at the next step (raises `Cancelled`, nothing is written).
    The checkpoint is first written in a temporary folder and moved into place, so a half-built model is
    never cached. Returns the checkpoint path.
    """
    from cmnet_core.data.synthetic import synthetic_database
    from cmnet_core.model import CMNetConfig
    from cmnet_core.preprocess.types import PreprocessSettings
    from cmnet_core.train.callbacks import Callback
    from cmnet_core.train.dataset import preprocess_clips
    from cmnet_core.train.trainer import TrainConfig, Trainer

    out = Path(out_path) if out_path else demo_checkpoint_path()
    progress = progress or (lambda f, m: None)
    cancelled = cancelled or (lambda: False)
    db = synthetic_database(n_subjects=MODEL_SUBJECTS, clips_per_class=MODEL_CLIPS_PER_CLASS, image_size=128,
                            seed=DEMO_SEED)
    settings = PreprocessSettings(image_size=image_size, landmarks="hint")
    n = len(db.clips)

    def pre_progress(done: int, total: int, name: str) -> None:
        progress(0.3 * done / total, f"preparing synthetic clip {done}/{total}")
        if cancelled():
            raise Cancelled()

    samples = preprocess_clips(db.clips, db.labels, settings, progress=pre_progress)
    steps_per_epoch = (n + 3) // 4

    class Report(Callback):
        def __init__(self) -> None:
            self.epoch = 0

        def on_epoch_start(self, epoch, epochs_, steps):
            self.epoch = epoch - 1

        def on_step(self, step, steps, losses):
            done = (self.epoch * steps_per_epoch + step) / (epochs * steps_per_epoch)
            progress(0.3 + 0.7 * done, f"training epoch {self.epoch + 1}/{epochs}")

        def should_cancel(self):
            return cancelled()

    cfg = CMNetConfig.preset("fast", image_size=image_size)
    train_cfg = TrainConfig(epochs=epochs, batch_size=4, lr=1e-2, lr_step=max(1, epochs // 2), seed=DEMO_SEED,
                            device="cpu", amp=False)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        meta = {"database": "synthetic (demo)", "protocol": db.protocol, "synthetic": True,
                "preprocess": settings.to_dict(), "demo_seed": DEMO_SEED}
        result = Trainer(cfg, train_cfg, db.labels, tmp, metadata=meta, callbacks=Report()).fit(samples)
        if result.status != "finished":
            raise Cancelled()
        shutil.move(str(result.final_path), out.with_suffix(".tmp"))
        os.replace(out.with_suffix(".tmp"), out)
    return out
