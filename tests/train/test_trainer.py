"""Trainer: a resumed run ends with exactly the weights of an uninterrupted one; cancel honoured within a step."""
import numpy as np
import pytest
import torch

from cmnet_core.model import CMNetConfig
from cmnet_core.preprocess.types import PreprocessedClip, PreprocessSettings
from cmnet_core.train.callbacks import Callback
from cmnet_core.train.checkpoint import CheckpointError, load_checkpoint
from cmnet_core.train.dataset import Sample
from cmnet_core.train.trainer import Trainer, TrainConfig, epoch_order

N, S = 4, 32
SETTINGS = PreprocessSettings(image_size=S, num_frames=N, landmarks="hint")
MODEL = CMNetConfig.preset("fast", image_size=S, num_frames=N, backbone="small", small_widths=(8, 8, 16, 16),
                           lstm_hidden=16, proj_hidden=16, proj_dim=8, num_negatives=3)
LABELS = ["a", "b"]


def _samples(n=4):
    rng = np.random.default_rng(1)
    return [Sample(PreprocessedClip(rng.integers(0, 256, (N, S, S, 3), dtype=np.uint8), np.arange(N, dtype=float),
                                    i % N, "annotated", "hint", SETTINGS), i % 2, f"s{i // 2}", f"c{i}")
            for i in range(n)]


class CancelAfter(Callback):
    """Cancels after ``steps`` optimiser steps, or at the end of epoch ``epoch``."""

    def __init__(self, steps=None, epoch=None):
        self.steps, self.epoch, self.count, self.ended = steps, epoch, 0, 0
        self.steps_seen = []

    def on_step(self, step, steps, losses):
        self.count += 1
        self.steps_seen.append(step)

    def on_epoch_end(self, epoch, metrics):
        self.ended = epoch

    def should_cancel(self):
        return (self.steps is not None and self.count >= self.steps) or (self.epoch is not None
                                                                          and self.ended >= self.epoch)


def _trainer(folder, cb=None, **kw):
    cfg = TrainConfig(epochs=2, batch_size=2, device="cpu", seed=7, **kw)
    return Trainer(MODEL, cfg, LABELS, folder, metadata={"preprocess": SETTINGS.to_dict()}, callbacks=cb)


def test_resume_equals_uninterrupted(tmp_path):
    samples = _samples()
    ref = _trainer(tmp_path / "ref").fit(samples)
    assert ref.status == "finished" and [h["epoch"] for h in ref.history] == [1, 2]

    c1 = CancelAfter(steps=1)                         # mid-epoch 1: sampler position 1 of 2
    r1 = _trainer(tmp_path / "run", c1).fit(samples)
    assert r1.status == "cancelled" and c1.count == 1  # honoured within one step
    assert load_checkpoint(tmp_path / "run" / "last.pt").train_state["step"] == 1
    with pytest.raises(CheckpointError, match="other settings"):  # a different seed must not resume this run
        Trainer(MODEL, TrainConfig(epochs=2, batch_size=2, device="cpu", seed=8), LABELS, tmp_path / "run",
                metadata={"preprocess": SETTINGS.to_dict()}).fit(samples)
    c2 = CancelAfter(epoch=1)                         # resumes at step 2 of epoch 1, stops after the epoch
    r2 = _trainer(tmp_path / "run", c2).fit(samples)
    assert r2.status == "cancelled" and c2.steps_seen == [2]
    r3 = _trainer(tmp_path / "run").fit(samples)
    assert r3.status == "finished"

    a, b = ref.model.state_dict(), r3.model.state_dict()
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert r3.history == ref.history
    # and training did change the weights
    fresh = _trainer(tmp_path / "fresh").build_model().state_dict()
    assert not torch.equal(fresh["classifier.weight"], a["classifier.weight"])


def test_epoch_order_fixed_by_seed_and_balanced():
    labels = [0] * 8 + [1] * 2
    assert epoch_order(labels, 3, 5, False) == epoch_order(labels, 3, 5, False)
    assert sorted(epoch_order(labels, 3, 5, False)) == list(range(10))
    assert epoch_order(labels, 3, 5, False) != epoch_order(labels, 4, 5, False)
    draws = [labels[i] for e in range(200) for i in epoch_order(labels, e, 0, True)]
    assert abs(np.mean(draws) - 0.5) < 0.03  # balanced: the minority class is drawn half the time


def test_config_rejects_oracle_as_selection():
    with pytest.raises(ValueError, match="oracle"):
        TrainConfig(selection="oracle")
    with pytest.raises(ValueError, match="val_subjects"):
        TrainConfig(selection="val", val_subjects=0)


def test_adam_optimizer_from_cli_round_trip_and_resume(tmp_path):
    import argparse

    from cmnet_core.train.options import add_train_arguments

    p = argparse.ArgumentParser()
    add_train_arguments(p)
    assert p.parse_args([]).optimizer is None  # filled from the preset's training settings (test_presets_cli.py)
    with pytest.raises(SystemExit):
        p.parse_args(["--optimizer", "rmsprop"])
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="rmsprop")
    cfg = TrainConfig(optimizer=p.parse_args(["--optimizer", "adam"]).optimizer, lr=3e-4)
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg and cfg.to_dict()["optimizer"] == "adam"

    trainer = _trainer(tmp_path / "adam", optimizer="adam")
    opt = trainer.build_optimizer(trainer.build_model())
    assert isinstance(opt, torch.optim.Adam) and opt.defaults["weight_decay"] == 1e-4
    samples = _samples()
    ref = _trainer(tmp_path / "ref", optimizer="adam").fit(samples)
    r1 = _trainer(tmp_path / "run", CancelAfter(steps=1), optimizer="adam").fit(samples)
    state = load_checkpoint(tmp_path / "run" / "last.pt").train_state["optimizer"]["state"]
    assert r1.status == "cancelled" and "exp_avg_sq" in next(iter(state.values()))  # Adam's moments saved
    r2 = _trainer(tmp_path / "run", optimizer="adam").fit(samples)
    a, b = ref.model.state_dict(), r2.model.state_dict()
    assert r2.status == "finished" and all(torch.equal(a[k], b[k]) for k in a)
