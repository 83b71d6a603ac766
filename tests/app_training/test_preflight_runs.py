"""Pre-launch checks (too few subjects, a class without clips, missing frames, no space) and the runs index."""
from __future__ import annotations

from collections import namedtuple
from dataclasses import replace

import pytest

from cmnet_core.data.database import Database, Skip
from cmnet_core.train import preflight as pf
from cmnet_core.train.run_index import list_runs, read_run
from cmnet_core.train.runs import write_json


@pytest.fixture(scope="module")
def db(synth_root):
    from cmnet_core.data.database import open_database

    return open_database(synth_root)


def _sub(db, clips, labels=None):
    return Database(db.name, db.root, db.protocol, list(labels or db.labels), clips)


class Gappy:
    """A frame source whose frame numbers miss ``gap`` (wraps a real one)."""

    def __init__(self, source, gap):
        self.source, self.gap = source, gap
        self.path, self.fps, self.size = source.path, source.fps, source.size
        self.frame_numbers = [n for n in source.frame_numbers if n != gap]

    def read(self, n):
        return self.source.read(n)

    def close(self):
        pass


def test_subjects_classes_frames(db):
    assert pf.check_subjects(db, "loso") == [] and pf.check_classes(db, "loso") == []
    one = _sub(db, [c for c in db.clips if c.subject == "s01"])
    (p,) = pf.check_subjects(one, "loso")
    assert p.level == "error" and "at least 2 subjects" in p.message and "s01" in p.message
    assert pf.check_subjects(one, "final") == []
    assert "not a subject" in pf.check_subjects(db, "fold", fold="s09")[0].message
    assert "every subject is held out" in pf.check_subjects(db, "final", holdout_subjects=["s01", "s02"])[0].message

    no_disgust = _sub(db, [c for c in db.clips if c.label != "disgust"])
    (p,) = pf.check_classes(no_disgust, "loso")
    assert p.level == "error" and "disgust" in p.message
    assert pf.check_classes(no_disgust, "finetune")[0].level == "warning"
    lone = _sub(db, [c for c in db.clips if c.label != "surprise" or c.subject == "s02"])
    (p,) = pf.check_classes(lone, "loso")
    assert p.level == "warning" and "surprise" in p.message and "one subject" in p.message

    clip = db.clips[0]
    gap = clip.span()[0] + 2
    broken = replace(clip, source=Gappy(clip.source, gap))
    with_gap = _sub(db, [broken, *db.clips[1:]])
    with_gap.skips.append(Skip("row 9 (s02/x)", "missing clip folder"))
    problems = pf.check_frames(with_gap)
    assert [p.level for p in problems] == ["warning", "error"]
    assert "row 9" in problems[0].message
    assert f"{clip.subject}/{clip.name} (frame {gap})" in problems[1].message
    assert pf.check_frames(db) == []


def test_space_estimate_and_check(db, tmp_path, monkeypatch):
    from cmnet_core.model import CMNet, CMNetConfig

    cfg = CMNetConfig.preset("fast", image_size=32)
    n = pf.count_parameters(cfg, 4)
    assert n == sum(p.numel() for p in CMNet(cfg, 4).parameters()) and n > 1_000_000
    # last.pt (weights + momentum) + final.pt per fold: LOSO on 2 subjects trains 2 models
    assert pf.run_bytes(n, 2) == 2 * 3 * 4 * n + pf._MARGIN
    assert pf.run_bytes(n, 1, val_selection=True) == 4 * 4 * n + pf._MARGIN
    assert pf.check_space(tmp_path / "not" / "yet", 1) == []  # the nearest existing parent is checked
    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr(pf.shutil, "disk_usage", lambda p: Usage(10 * 2**30, 10 * 2**30 - 2**20, 2**20))
    problems = pf.preflight(db, "loso", tmp_path, cfg)
    assert len(problems) == 1 and problems[0].level == "error" and "not enough space" in problems[0].message
    assert f"{pf.run_bytes(n, 2) / 2**30:.2f} GiB needed" in problems[0].message
    assert pf.has_errors(problems)
    with pytest.raises(ValueError):
        pf.preflight(db, "everything", tmp_path, cfg)


def _run(root, name, config, metrics=None, events=()):
    import json

    path = root / name
    (path / "checkpoints").mkdir(parents=True)
    write_json(path / "config.json", config)
    if metrics is not None:
        write_json(path / "metrics.json", metrics)
    (path / "log.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def test_runs_index_reads_loso_and_final_runs(tmp_path):
    scores = {"accuracy": 0.75, "uf1": 0.6, "uar": 0.7, "paper_f1": 0.65, "n": 8}
    base = {"database": {"name": "casme2", "protocol": "casme2-5", "subjects": ["a", "b", "c"]},
            "train_config": {"epochs": 5, "lr": 0.001, "batch_size": 8, "device": "cuda", "seed": 0},
            "model_config": {"image_size": 224, "num_frames": 16, "tau": 0.07, "lambdas": [0.07, 0.71, 0.22]},
            "created": "2026-11-30T10:00:00"}
    loso = _run(tmp_path, "20261130-100000-loso",
                {**base, "kind": "loso", "preset": {"name": "paper", "asked": "auto", "reason": "--device cuda"}},
                {"pooled": scores},
                [{"event": "run_start"}, {"event": "run_end", "status": "finished"}])
    for s in ("a", "b"):
        (loso / "folds" / s).mkdir(parents=True)
        write_json(loso / "folds" / s / "result.json", {})
    final = _run(tmp_path, "20261130-110000-final", {**base, "kind": "final"},
                 {"held_out": {**scores, "accuracy": 0.5}}, [{"event": "run_end", "status": "finished"}])
    (final / "checkpoints" / "final.pt").write_bytes(b"x")
    _run(tmp_path, "20261130-120000-final", {**base, "kind": "final"}, None, [{"event": "run_start"}])
    (tmp_path / "not-a-run").mkdir()

    runs = list_runs(tmp_path)
    assert [r.name for r in runs] == ["20261130-120000-final", "20261130-110000-final", "20261130-100000-loso"]
    crashed, done, ev = runs
    assert crashed.status == "incomplete" and crashed.scores == {} and crashed.checkpoint is None
    assert done.scores["accuracy"] == 0.5 and done.scope == "held-out" and done.checkpoint == final / "checkpoints/final.pt"
    assert (ev.kind, ev.status, ev.folds_done, ev.folds_total, ev.scope) == ("loso", "finished", 2, 3, "LOSO pooled")
    assert ev.scores == {k: scores[k] for k in ("accuracy", "uf1", "uar", "paper_f1")}
    assert ev.settings["lambdas"] == [0.07, 0.71, 0.22] and ev.settings["device"] == "cuda"
    assert ev.checkpoint is None  # a LOSO run's fold models are not offered for prediction
    assert ev.settings["preset"] == "paper" and "preset" not in done.settings  # recorded by the CLI since presets
    old = _run(tmp_path, "20261130-090000-final", {**base, "kind": "final", "model_config": {"use_wrst": False}}, None,
               [{"event": "run_start"}])
    assert read_run(old).settings["tendency_loss"] == "none"  # a run written before tendency_loss existed
    assert read_run(tmp_path / "missing").status == "incomplete" and list_runs(tmp_path / "none") == []
