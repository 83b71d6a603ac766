"""The progress-event vocabulary: JsonlPrinter (hook → JSON line) and replay (JSON line → hook) are inverses."""
import io
import json

import pytest

from cmnet_core.train.callbacks import Callback, JsonlPrinter
from cmnet_core.train.events import BY_HOOK, EVENTS, encode, replay

#: One call per hook, with values as a real run sends them (after JSON: lists, not tuples).
CALLS = [
    ("on_run_start", ({"run_dir": "runs/x", "kind": "loso", "folds": ["s01", "s02"], "device": "cpu"},)),
    ("on_preprocess", (3, 10, "s01/EP02_01f")),
    ("on_fold_start", ("s01", {"train_clips": 8, "val_clips": 0, "test_clips": 2, "device": "cpu"})),
    ("on_resume", ({"checkpoint": "runs/x/last.pt", "epoch": 2, "epochs": 3, "step": 1, "steps": 4,
                    "written": "2026-12-04T20:00:00", "age_s": 12.5, "fold": "s01"},)),
    ("on_epoch_start", (2, 3, 4)),
    ("on_step", (1, 4, {"l_id": 0.5, "l_wrst": 0.25, "l_c": 1.5, "total": 2.25})),
    ("on_epoch_end", (2, {"loss": 2.0, "lr": 0.001, "val_uf1": None})),
    ("on_checkpoint", ("runs/x/folds/s01/checkpoints/final.pt",)),
    ("on_fold_end", ("s01", {"uf1": 0.5, "uar": 0.5, "accuracy": 0.5})),
    ("on_run_end", ({"status": "finished", "run_dir": "runs/x", "pooled": {"uf1": 0.5}},)),
    ("on_summary", ({"checkpoint": "runs/x/checkpoints/final.pt", "held_out": None},)),
]


class Recorder(Callback):
    """Records every hook call as (hook, args)."""

    def __init__(self):
        self.calls = []

    def __getattribute__(self, name):
        if name in BY_HOOK:
            return lambda *args: object.__getattribute__(self, "calls").append((name, args))
        return object.__getattribute__(self, name)


def test_every_hook_of_callback_is_in_the_vocabulary_and_back():
    hooks = {name for name in dir(Callback) if name.startswith("on_")}
    assert hooks == set(BY_HOOK), "a Callback hook without an event (or an event without a hook)"
    assert len(EVENTS) == len(BY_HOOK) == 11


def test_printer_then_replay_gives_the_same_calls():
    stream = io.StringIO()
    printer = JsonlPrinter(stream)
    for hook, args in CALLS:
        getattr(printer, hook)(*args)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [e["event"] for e in lines] == [BY_HOOK[h].name for h, _ in CALLS]
    assert all(isinstance(e["time"], float) for e in lines)
    rec = Recorder()
    assert all(replay(e, rec) for e in lines)
    assert rec.calls == CALLS


def test_replay_then_printer_gives_the_same_lines():
    events = [{**encode(hook, *args), "time": 1764876000.0 + i} for i, (hook, args) in enumerate(CALLS)]
    stream = io.StringIO()
    printer = JsonlPrinter(stream)
    for e in events:
        assert replay(e, printer)
    again = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [{k: v for k, v in e.items() if k != "time"} for e in again] == \
        [{k: v for k, v in e.items() if k != "time"} for e in events]


def test_events_outside_the_vocabulary_are_not_replayed():
    rec = Recorder()
    assert not replay({"event": "clip_start", "clip": "a"}, rec)
    assert rec.calls == []


def test_encode_refuses_wrong_arguments_and_clashing_fields():
    with pytest.raises(TypeError, match="takes 3"):
        encode("on_epoch_start", 1, 2)
    with pytest.raises(TypeError, match="fold"):
        encode("on_fold_start", "s01", {"fold": "other"})
    with pytest.raises(KeyError):
        encode("on_lunch", {})


def test_gui_progress_state_from_replayed_events():
    from app.training.progress import RunProgress

    p = RunProgress(clock=lambda: 0.0)
    for i, (hook, args) in enumerate(CALLS[:-2]):
        assert p.update({**encode(hook, *args), "time": 100.0 + i})
    assert p.folds == ["s01", "s02"] and p.fold == "s01" and p.device == "cpu"
    assert p.preprocessed == (3, 10, "s01/EP02_01f")
    assert p.resumed["epoch"] == 2 and p.resumed["fold"] == "s01"
    assert (p.epoch, p.epochs, p.step, p.steps) == (2, 3, 1, 4)
    assert p.losses["total"] == [(1, 2.25)] and p.losses["l_pos"] == []
    assert p.fold_metrics == {"s01": {"uf1": 0.5, "uar": 0.5, "accuracy": 0.5}}
    assert p.checkpoints == ["runs/x/folds/s01/checkpoints/final.pt"]
    assert p.status == "running"
    p.update({**encode(*CALLS[-2][:1], *CALLS[-2][1]), "time": 200.0})
    p.update({**encode(*CALLS[-1][:1], *CALLS[-1][1]), "time": 201.0})
    assert p.status == "finished" and p.summary["pooled"] == {"uf1": 0.5}
    assert p.summary["checkpoint"] == "runs/x/checkpoints/final.pt"
