"""Qt-free parts: the command line of each mode, the method settings as CLI flags, the JSON-lines reader, the
progress model (position, ETA, preprocessing, device), the export of the app's annotations."""
from __future__ import annotations

import json

import pytest

from app.training.annotated import write_generic_csv
from app.training.progress import JsonlBuffer, RunProgress, format_eta
from app.training.request import TrainingRequest, method_defaults
from cmnet_core.model.config import CMNetConfig


def test_command_per_mode(tmp_path):
    run = tmp_path / "run"
    loso = TrainingRequest(db="/data/casme2", protocol="casme2-5", epochs=3, device="cuda:0").command(run, "py")
    assert loso[:4] == ["py", "-m", "cmnet_core.cli", "loso"]
    assert loso[4] == "/data/casme2"
    assert loso[loso.index("--epochs") + 1] == "3" and loso[loso.index("--device") + 1] == "cuda:0"
    assert loso[loso.index("--protocol") + 1] == "casme2-5"
    assert loso[-6:] == ["--run-dir", str(run), "--progress", "jsonl", "--cancel-file", str(run / "cancel.request")]
    fold = TrainingRequest(db="d", mode="fold", fold="sub05").cli_arguments(run)
    assert fold[:4] == ["loso", "d", "--fold", "sub05"]
    final = TrainingRequest(db="d", mode="final", holdout_subjects=["s2"], image_size=64).cli_arguments(run)
    assert final[:4] == ["train", "d", "--holdout-subject", "s2"]
    assert final[final.index("--image-size") + 1] == "64"
    tune = TrainingRequest(db="d", mode="finetune", checkpoint="m.pt", new_head=True,
                           method={**method_defaults(), "tau": 0.5}).command(run, "py")
    assert tune[3:8] == ["train", "d", "--from", "m.pt", "--new-head"]
    assert "--preset" not in tune and "--tau" not in tune  # the checkpoint's model settings are kept
    with pytest.raises(ValueError, match="unknown training mode"):
        TrainingRequest(db="d", mode="bogus")


def test_method_settings_are_plain_cli_flags(tmp_path):
    from cmnet_core.cli import build_parser
    from cmnet_core.train import options

    req = TrainingRequest(db="d", method={**method_defaults(), "tau": 0.2, "lambdas": (0.1, 0.5, 0.4),
                                          "negative_sampling": "random"})
    cmd = req.command(tmp_path, "py")
    assert cmd[:4] == ["py", "-m", "cmnet_core.cli", "loso"]
    i = cmd.index("--lambdas")
    assert cmd[i:i + 4] == ["--lambdas", "0.1", "0.5", "0.4"] and cmd[cmd.index("--tau") + 1] == "0.2"
    assert cmd[cmd.index("--epsilon") + 1] == "0.2" and cmd[cmd.index("--xi") + 1] == "0.01"
    args = build_parser().parse_args(cmd[3:])
    mc, tc, _ = options.configs(args, "synthetic")
    assert mc == req.model_config()  # what the CLI trains is what the dialog showed
    assert (mc.tau, mc.lambdas, mc.epsilon, mc.xi, mc.negative_sampling) == (0.2, (0.1, 0.5, 0.4), 0.2, 0.01,
                                                                            "random")
    assert mc.image_size == 32 and tc == req.train_config()  # auto on the CPU: the cpu preset and its training
    assert (tc.optimizer, tc.epochs) == ("adam", 20) and "--epochs" not in cmd  # None: the preset's, filled by the CLI
    plain = build_parser().parse_args(["loso", "d", "--device", "cpu"])  # no flags: the preset's values
    assert options.configs(plain, "synthetic")[0] == CMNetConfig.preset("cpu")


def test_presets_in_the_request(tmp_path):
    from app.training.request import PRESET_CHOICES, resolve_preset
    from cmnet_core.cli import build_parser
    from cmnet_core.train import options

    assert list(PRESET_CHOICES) == ["auto", "paper", "fast", "cpu"]
    assert PRESET_CHOICES["auto"].startswith("auto (cpu on any device; paper only on request)")
    assert (resolve_preset("auto", "cpu"), resolve_preset("auto", "cuda:0"), resolve_preset("fast", "cpu")) == \
        ("cpu", "cpu", "fast")
    for preset, device in (("auto", "cpu"), ("auto", "cuda:0"), ("paper", "cpu"), ("cpu", "cuda")):
        req = TrainingRequest(db="d", preset=preset, device=device, epochs=2,
                              method={"tendency_loss": "position", "input": "onset_diff"})
        cmd = req.cli_arguments(tmp_path)
        assert cmd[cmd.index("--preset") + 1] == preset
        assert cmd[cmd.index("--tendency-loss") + 1] == "position" and cmd[cmd.index("--input") + 1] == "onset_diff"
        args = build_parser().parse_args(cmd)
        mc, tc, _ = options.configs(args, "synthetic")
        assert args.preset_choice["name"] == req.resolved_preset()  # the dialog and the CLI resolve alike
        assert mc == req.model_config() and tc == req.train_config() and tc.epochs == 2
    assert method_defaults("cpu")["tendency_loss"] == "both" and method_defaults()["input"] == "frames"
    with pytest.raises(ValueError, match="unknown preset"):
        TrainingRequest(db="d", preset="gpu")


def test_jsonl_buffer_keeps_partial_lines():
    buf = JsonlBuffer()
    line = json.dumps({"event": "step", "step": 1, "steps": 2, "losses": {"total": 1.5}}).encode()
    events, other = buf.feed(line[:10])
    assert events == [] and other == []
    events, other = buf.feed(line[10:] + b"\nnot json\n" + b'{"event": "run_')
    assert [e["step"] for e in events] == [1] and other == ["not json"]
    events, _ = buf.feed(b'end", "status": "finished"}\n')
    assert events == [{"event": "run_end", "status": "finished"}]


def _events(folds=("s1", "s2"), epochs=2, steps=3, dt=2.0):
    t, out = 100.0, [{"event": "run_start", "folds": list(folds), "run_dir": "r"}]
    for f in folds:
        out.append({"event": "fold_start", "fold": f})
        for e in range(1, epochs + 1):
            out.append({"event": "epoch_start", "epoch": e, "epochs": epochs, "steps": steps})
            for s in range(1, steps + 1):
                t += dt
                out.append({"event": "step", "step": s, "steps": steps, "time": t,
                            "losses": {"total": 1.0 / t, "l_id": 5.0, "l_wrst": 0.01, "l_c": 1.2}})
        out.append({"event": "fold_end", "fold": f, "metrics": {"accuracy": 0.5, "uf1": 0.4, "uar": 0.5, "n": 4}})
    return out


def test_progress_position_eta_and_fold_metrics():
    events = _events()
    p = RunProgress()
    for ev in events[:10]:  # run_start, fold s1, epoch 1 (3 steps), epoch 2 (3 steps) → 6 of 12 steps
        p.update(ev)
    assert (p.fold, p.epoch, p.step) == ("s1", 2, 3)
    assert p.total_steps() == 12 and p.done_steps() == 6 and p.fraction() == 0.5
    assert p.eta_seconds() == pytest.approx(6 * 2.0)  # 6 steps left at 2 s per step
    assert [x for x, _ in p.losses["l_id"]] == [1, 2, 3, 4, 5, 6]
    for ev in events[10:]:
        p.update(ev)
    assert p.fraction() == 1.0 and set(p.fold_metrics) == {"s1", "s2"}
    p.update({"event": "run_end", "status": "cancelled"})
    assert p.status == "cancelled" and p.eta_seconds() is None
    assert format_eta(3725) == "ETA 1 h 02 min" and format_eta(65) == "ETA 1 min 05 s" and format_eta(None) == "ETA —"


def test_annotated_clips_become_a_generic_database(tmp_path, synth_root):
    from cmnet_core.data.clip import Annotation
    from cmnet_core.data.database import open_database

    db = open_database(synth_root)
    pairs = [(c, c.annotation) for c in db.clips]
    pairs[0] = (db.clips[0], Annotation())  # not annotated: left out
    bad = db.clips[1].annotation
    pairs[1] = (db.clips[1], Annotation(onset=bad.offset, apex=bad.apex, offset=bad.onset, emotion="happiness"))
    folder = write_generic_csv(pairs, tmp_path / "src")
    generic = open_database(folder)
    assert generic.name == "generic" and len(generic.clips) == len(db.clips) - 2
    by_key = {(c.subject, c.path): c for c in generic.clips}
    for clip in db.clips[2:]:
        got = by_key[(clip.subject, clip.path.resolve())]
        assert (got.subject, got.onset, got.apex, got.offset, got.label) == (
            clip.subject, clip.onset, clip.apex, clip.offset, clip.label)
    with pytest.raises(ValueError, match="annotate"):
        write_generic_csv([(db.clips[0], Annotation())], tmp_path / "none")


def test_progress_preprocessing_and_reported_device():
    p = RunProgress()
    assert p.device == "" and not p.preprocessing()
    p.update({"event": "run_start", "folds": ["s1", "s2"], "run_dir": "r", "device": "cuda:0 (NVIDIA H200)"})
    assert p.device == "cuda:0 (NVIDIA H200)" and not p.preprocessing()
    for k in (1, 2, 3):
        p.update({"event": "preprocess", "done": k, "total": 24, "clip": f"s1/c{k}"})
    assert p.preprocessing() and p.preprocessed == (3, 24, "s1/c3") and p.fraction() == 0.0
    p.update({"event": "fold_start", "fold": "s1", "device": "cuda:1 (NVIDIA H200)"})
    p.update({"event": "epoch_start", "epoch": 1, "epochs": 1, "steps": 2})
    assert not p.preprocessing() and p.device == "cuda:1 (NVIDIA H200)"
    p.update({"event": "fold_start", "fold": "s2"})  # an event without a device keeps the last one
    assert p.device == "cuda:1 (NVIDIA H200)"
