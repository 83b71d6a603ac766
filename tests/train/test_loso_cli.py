"""A whole LOSO of 3 folds on tiny synthetic clips through the CLI, merge, a fold run alone, the Predictor,
prediction from the CLI and fine-tuning with a held-out subject / label mismatch."""
import csv
import json
import shlex
import shutil

import numpy as np
import pytest
import torch

from cmnet_core.cli import main
from cmnet_core.data.database import open_database
from cmnet_core.data.synthetic_writer import write_synthetic_database
from cmnet_core.inference import Predictor
from cmnet_core.model import CMNetConfig
from cmnet_core.preprocess.types import PreprocessSettings
from cmnet_core.train.callbacks import Callback
from cmnet_core.train.checkpoint import load_checkpoint
from cmnet_core.train.loso import run_loso
from cmnet_core.train.options import EXIT_INCOMPLETE
from cmnet_core.train.trainer import TrainConfig
from cmnet_core.train.metrics import confusion_matrix, scores

TINY = ["--image-size", "32", "--frames", "4", "--epochs", "1", "--batch-size", "2", "--cache", "off",
        "--device", "cpu"]
#: The method's loss settings as flags (not the paper's values, so the test sees them arrive).
METHOD = ["--lambdas", "0.1", "0.6", "0.3", "--epsilon", "0.15", "--xi", "0.02", "--tau", "0.1",
          "--negative-sampling", "deterministic"]


@pytest.fixture(scope="module")
def loso_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("loso")
    db_root = base / "syn"
    write_synthetic_database(db_root, n_subjects=3, clips_per_class=1, image_size=40, labels=("happiness", "surprise"))
    run_dir = base / "run"
    return db_root, run_dir, base


def test_loso_three_folds(loso_run, capsys):
    db_root, run_dir, _ = loso_run
    rc = main(["loso", str(db_root), *TINY, *METHOD, "--run-dir", str(run_dir), "--progress", "jsonl", "--oracle"])
    captured = capsys.readouterr()
    out = captured.out
    assert rc == 0
    # --preset auto on --device cpu: the cpu preset, said on stderr (jsonl mode) and recorded with the run
    assert "preset: cpu (auto: the default on any device; here --device cpu), changed: " in captured.err
    preset = json.loads((run_dir / "config.json").read_text())["preset"]
    assert {k: preset[k] for k in ("name", "asked", "reason")} == {"name": "cpu", "asked": "auto",
                                                                  "reason": "the default on any device; here --device cpu"}
    # the method flags of this run differ from the preset, and the record says which
    assert {"epsilon", "lambdas", "negative_sampling", "tau", "xi"} <= set(preset["changed"])
    assert json.loads((run_dir / "metrics.json").read_text())["preset"]["name"] == "cpu"
    events = [json.loads(line) for line in out.splitlines()]       # stdout carries only JSON lines
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run_start" and kinds.count("fold_start") == 3 and kinds.count("fold_end") == 3
    # the resolved device in run_start and every fold_start; preprocessing reported clip by clip before training
    assert events[0]["device"] == "cpu" and events[0]["clips"] == 6
    assert [e["device"] for e in events if e["event"] == "fold_start"] == ["cpu"] * 3
    pre = [e for e in events if e["event"] == "preprocess"]
    assert [(e["done"], e["total"]) for e in pre] == [(k, 6) for k in range(1, 7)]
    assert kinds.index("fold_start") == 7 and pre[0]["clip"].startswith("s01/")
    # the method flags land in the model config of config.json (and of every checkpoint)
    model_config = json.loads((run_dir / "config.json").read_text())["model_config"]
    assert (model_config["lambdas"], model_config["epsilon"], model_config["xi"], model_config["tau"],
            model_config["negative_sampling"]) == ([0.1, 0.6, 0.3], 0.15, 0.02, 0.1, "deterministic")
    # fold models are not kept by default: predictions, scores and the test clips' k_n stay, checkpoints go
    assert not list(run_dir.glob("folds/*/checkpoints")) and not list(run_dir.rglob("*.pt"))
    assert {"step", "epoch_start", "epoch_end", "checkpoint", "run_end", "summary"} <= set(kinds)
    assert next(e for e in events if e["event"] == "run_end")["status"] == "finished"
    summary_event = next(e for e in events if e["event"] == "summary")
    assert summary_event["fold_checkpoints"] == {}
    assert "fold models not kept (--keep-fold-models keeps them)" in captured.err

    for name in ("config.json", "log.jsonl", "metrics.json", "metrics.csv", "per_class.csv"):
        assert (run_dir / name).is_file(), name
    summary = json.loads((run_dir / "metrics.json").read_text())
    mats, y_true, y_pred = [], [], []
    for subject in ("s01", "s02", "s03"):
        res = json.loads((run_dir / "folds" / subject / "result.json").read_text())
        assert subject not in res["train_subjects"] and len(res["train_subjects"]) == 2   # LOSO: test never trained
        assert len(res["y_true"]) == 2 and np.allclose(np.sum(res["probabilities"], axis=1), 1.0, atol=1e-5)
        assert np.asarray(res["intensity"]).shape == (2, 4) and res["checkpoint"] is None
        y_true += res["y_true"]
        y_pred += res["y_pred"]
        mats.append(np.asarray(res["confusion_matrix"]))
    expected = scores(confusion_matrix(y_true, y_pred, 2))
    assert summary["pooled"] == pytest.approx(expected)
    assert summary["pooled"]["n"] == 6 and summary["complete"]
    assert summary["fold_averaged"]["accuracy"] == pytest.approx(np.mean([scores(m)["accuracy"] for m in mats]))
    assert "test subject" in summary["oracle"]["note"].lower() or "TEST SUBJECT" in summary["oracle"]["note"]
    assert summary["apex_sources"] == {"annotated": 6} and summary["database"]["name"] == "synthetic"
    assert summary["code_version"]
    rows = list(csv.reader(open(run_dir / "metrics.csv")))
    assert [r[0] for r in rows[1:5]] == ["fold", "fold", "fold", "pooled"]
    assert float(rows[4][3]) == pytest.approx(expected["accuracy"], abs=1e-6)
    assert rows[-1][0].startswith("ORACLE")
    log_events = [json.loads(line)["event"] for line in open(run_dir / "log.jsonl")]
    assert log_events.count("fold_end") == 3
    kn = list(csv.DictReader(open(run_dir / "intensity.csv")))
    assert len(kn) == 6 and list(kn[0])[:5] == ["fold", "clip", "true_label", "predicted_label", "k_1"]
    res = json.loads((run_dir / "folds" / "s02" / "result.json").read_text())
    row = next(r for r in kn if r["fold"] == "s02" and r["clip"] == res["test_clips"][1])
    assert [float(row[f"k_{i}"]) for i in range(1, 5)] == pytest.approx(res["intensity"][1], abs=1e-5)


@pytest.fixture(scope="module")
def kept_model(loso_run):
    """Fold s01 of the same database run alone with --keep-fold-models: its float16 final.pt."""
    db_root, _, base = loso_run
    run = base / "kept"
    assert main(["loso", str(db_root), *TINY, *METHOD, "--run-dir", str(run), "--fold", "s01",
                 "--keep-fold-models"]) == 0
    return run / "folds" / "s01" / "checkpoints" / "final.pt"


def test_keep_fold_models_in_half_precision(kept_model):
    run = kept_model.parents[3]
    assert sorted(p.name for p in kept_model.parent.iterdir()) == ["final.pt"]
    ckpt = load_checkpoint(kept_model)
    assert ckpt.metadata["weights_dtype"] == "float16"
    assert {v.dtype for v in ckpt.state_dict.values() if v.is_floating_point()} == {torch.float16}
    config = json.loads((run / "config.json").read_text())
    assert ckpt.metadata["model_config"] == config["model_config"]
    assert config["command"]["options"].count("--keep-fold-models") == 1  # every fold of the run keeps its model
    res = json.loads((run / "folds" / "s01" / "result.json").read_text())
    assert res["checkpoint"] == str(kept_model)
    predictor = Predictor.load(kept_model, device="cpu")
    assert next(predictor.model.parameters()).dtype == torch.float32


def test_merge_and_fold_alone(loso_run, capsys):
    db_root, run_dir, base = loso_run
    copy = base / "partial"
    shutil.copytree(run_dir, copy)
    shutil.rmtree(copy / "folds" / "s02")
    assert not (copy / "folds" / "s01" / "checkpoints").exists()
    capsys.readouterr()
    # a merge with a fold missing: its own exit status, the partial table marked, the command for the missing fold
    assert main(["loso", "--merge", str(copy)]) == EXIT_INCOMPLETE == 4
    captured = capsys.readouterr()
    # where the fold checkpoints are (the run's top-level checkpoints/ holds none)
    assert (f"fold models not kept (--keep-fold-models keeps them); each fold's predictions and intensity clues: "
            f"{copy / 'folds' / '<subject>' / 'result.json'}; all test clips' k_n: {copy / 'intensity.csv'}"
            ) in captured.out
    assert "PARTIAL (incomplete): 1 fold(s) missing: s02; the figures above pool 2 of 3 folds" in captured.out
    partial = json.loads((copy / "metrics.json").read_text())
    assert partial["folds_missing"] == ["s02"] and not partial["complete"] and partial["pooled"]["n"] == 4
    assert partial["partial"] and partial["partial_note"] == "PARTIAL: 2 of 3 folds; missing: s02"
    rows = list(csv.reader(open(copy / "metrics.csv")))
    assert [r[0] for r in rows[3:5]] == ["pooled (PARTIAL: 2 of 3 folds; missing: s02)",
                                         "fold_averaged (PARTIAL: 2 of 3 folds; missing: s02)"]
    command = partial["missing_folds_commands"][0]
    # the database and the options of the run (the --cache off path stays "off"; no --progress, --run-dir twice)
    # (options in the parser's order: the settings registry's field order, cmnet_core.train.config_fields)
    assert command == shlex.join(["cmnet", "loso", str(db_root), "--image-size", "32", "--frames", "4",
                                  "--cache", "off", "--tau", "0.1", "--negative-sampling", "deterministic",
                                  "--epsilon", "0.15", "--xi", "0.02", "--lambdas", "0.1", "0.6", "0.3",
                                  "--epochs", "1", "--batch-size", "2", "--device", "cpu", "--oracle",
                                  "--run-dir", str(copy), "--fold", "s02"])
    assert f"Run the missing folds, then merge again:\n  {command}\n(exit status 4: incomplete)" in captured.err
    # the printed command runs the missing fold alone into the same folder and gives the same result as within
    # the whole run (fixed seeds); the run is then complete and a merge exits 0
    words = shlex.split(command)
    assert words[:2] == ["cmnet", "loso"] and main(words[1:]) == 0
    again = json.loads((copy / "folds" / "s02" / "result.json").read_text())
    first = json.loads((run_dir / "folds" / "s02" / "result.json").read_text())
    assert again["y_pred"] == first["y_pred"] and np.allclose(again["probabilities"], first["probabilities"])
    done = json.loads((copy / "metrics.json").read_text())
    assert done["complete"] and not done["partial"] and "partial_note" not in done
    assert main(["loso", "--merge", str(copy)]) == 0
    assert [r[0] for r in csv.reader(open(copy / "metrics.csv"))][4:6] == ["pooled", "fold_averaged"]
    assert not list(copy.glob("*.tmp")) and not list(copy.glob(".*.tmp"))
    capsys.readouterr()
    assert main(["evaluate", str(copy)]) == 0                     # a run folder: the table again
    assert "POOLED (MEGC)" in capsys.readouterr().out
    # other settings in the same run folder are refused, naming each option with the run's value and the new one
    assert main(["loso", str(db_root), *TINY, *METHOD, "--seed", "5", "--run-dir", str(copy), "--fold", "s01"]) == 2
    assert "--oracle: true in the run, false now; --seed: 0 in the run, 5 now)" in capsys.readouterr().err
    assert main(["loso", str(db_root), *TINY, "--run-dir", str(copy), "--fold", "s01"]) == 2  # paper's λ, ε, ξ, τ
    err = capsys.readouterr().err
    assert "--epsilon: 0.15 in the run, 0.2 now" in err and "--lambdas: [0.1, 0.6, 0.3] in the run" in err
    # DataLoader workers change how fast a fold runs, not what it computes: not a difference
    assert main(["loso", str(db_root), *TINY, *METHOD, "--oracle", "--workers", "1", "--run-dir", str(copy),
                 "--fold", "s01"]) == 0
    assert main(["loso", str(db_root), *TINY, "--tau", "0", "--fold", "s01"]) == 2  # validated by CMNetConfig
    assert "tau" in capsys.readouterr().err


def test_predictor_and_cli_predict(loso_run, kept_model, tmp_path):
    db_root, run_dir, _ = loso_run
    ckpt = kept_model
    pred_obj = Predictor.load(ckpt, device="auto")
    assert str(pred_obj.device) == "cpu" and pred_obj.labels == ["happiness", "surprise"]
    clip = open_database(db_root).clips[0]
    seen = []
    p = pred_obj.predict(clip, progress=lambda f, m: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert p.probabilities.shape == (2,) and p.probabilities.sum() == pytest.approx(1.0, abs=1e-6)
    for arr in (p.intensity, p.proto_mean, p.proto_sigma, p.frame_map):
        assert arr.shape == (4,)
    on, off = clip.span()
    assert on <= p.frame_map[0] and p.frame_map[-1] <= off and np.all(np.diff(p.frame_map) > 0)
    assert 0 <= p.apex_position < 4 and p.proto_mean[p.apex_position] == pytest.approx(1.0)
    assert np.all((p.intensity > 0) & (p.intensity < 1)) and np.all(p.proto_sigma > 0)
    assert p.provenance["device"] == "cpu" and p.provenance["preprocess_backend"] == "hint"
    rows = p.table()
    assert len(rows) == 4 and rows[1]["time_s"] == pytest.approx((p.frame_map[1] - clip.frame_numbers[0]) / clip.fps)
    p.write_csv(tmp_path / "one.csv")
    lines = [r for r in open(tmp_path / "one.csv") if not r.startswith("#")]
    assert lines[0].strip().split(",")[:5] == ["position", "frame", "time_s", "time_source", "intensity"]
    assert len(lines) == 5
    json.dumps(p.to_dict())

    # cmnet evaluate CKPT DB: the metrics agree with its own predictions.csv, and the cost is recorded
    ev = tmp_path / "ev"
    assert main(["evaluate", str(ckpt), str(db_root), "--out", str(ev), "--device", "cpu"]) == 0
    metrics = json.loads((ev / "metrics.json").read_text())
    rows = list(csv.DictReader(open(ev / "predictions.csv")))
    assert len(rows) == metrics["timing"]["clips"] == 6 and metrics["scores"]["n"] == 6
    assert metrics["scores"]["accuracy"] == pytest.approx(np.mean([r["true"] == r["predicted"] for r in rows]))
    assert 0 < metrics["timing"]["per_clip_s"] <= metrics["timing"]["wall_s"] and metrics["timing"]["device"] == "cpu"

    out = tmp_path / "pred"
    assert main(["predict", str(ckpt), str(db_root), "--out", str(out), "--device", "cpu"]) == 0
    summary = list(csv.DictReader(open(out / "predictions.csv")))
    assert len(summary) == 6 and all(r["status"] == "done" and float(r["seconds"]) > 0 for r in summary)
    assert all(abs(float(r["p_happiness"]) + float(r["p_surprise"]) - 1) < 1e-5 for r in summary)


def test_finetune_new_labels_and_mismatch(kept_model, tmp_path, capsys):
    ckpt = kept_model
    lab = tmp_path / "lab"
    write_synthetic_database(lab, n_subjects=2, clips_per_class=1, image_size=40, labels=("disgust", "repression"))
    assert main(["evaluate", str(ckpt), str(lab), "--out", str(tmp_path / "ev")]) == 2
    assert "predicts ['happiness', 'surprise']" in capsys.readouterr().err
    assert main(["train", str(lab), "--from", str(ckpt), "--epochs", "1", "--cache", "off"]) == 2
    assert "--new-head" in capsys.readouterr().err
    ft = tmp_path / "ft"
    assert main(["train", str(lab), "--from", str(ckpt), "--new-head", "--holdout-subject", "s02", "--epochs", "1",
                 "--cache", "off", "--device", "cpu", "--run-dir", str(ft), "--tau", "0.3"]) == 0
    assert f"checkpoint: {ft / 'checkpoints' / 'final.pt'}\n" in capsys.readouterr().out
    tuned_config = json.loads((ft / "config.json").read_text())["model_config"]
    assert tuned_config["tau"] == 0.3 and tuned_config["lambdas"] == [0.1, 0.6, 0.3]  # flag over the checkpoint's
    result = json.loads((ft / "metrics.json").read_text())
    assert result["held_out"]["n"] == 2 and result["held_out_clips"] == ["s02/disgust_01", "s02/repression_01"]
    tuned = Predictor.load(ft / "checkpoints" / "final.pt")
    assert tuned.labels == ["disgust", "repression"]
    assert tuned.metadata["fine_tuned_from"] == str(ckpt) and tuned.metadata["metrics"]["held_out"]["n"] == 2
    assert tuned.metadata["image_size"] == 32 and tuned.metadata["num_frames"] == 4


class CancelAfterClips(Callback):
    """Records run/preprocess events and asks to cancel once ``clips`` clips were preprocessed."""

    def __init__(self, clips):
        self.clips, self.events = clips, []

    def on_run_start(self, info):
        self.events.append(("run_start", info["device"], info["clips"]))

    def on_preprocess(self, done, total, clip):
        self.events.append(("preprocess", done, total))

    def on_fold_start(self, fold, info):
        self.events.append(("fold_start", fold))

    def on_run_end(self, summary):
        self.events.append(("run_end", summary["status"]))

    def should_cancel(self):
        return sum(e[0] == "preprocess" for e in self.events) >= self.clips


def test_cancel_while_preprocessing(loso_run, tmp_path, capsys):
    db_root, _, _ = loso_run
    db = open_database(db_root)
    mc = CMNetConfig.preset("fast", image_size=32, num_frames=4, backbone="small", small_widths=(8, 8, 16, 16))
    settings = PreprocessSettings(image_size=32, num_frames=4, landmarks="hint")
    cb = CancelAfterClips(2)
    assert run_loso(db, tmp_path / "run", mc, TrainConfig(epochs=1, device="cpu"), settings, callbacks=cb) is None
    assert cb.events == [("run_start", "cpu", 6), ("preprocess", 1, 6), ("preprocess", 2, 6), ("run_end", "cancelled")]
    assert not (tmp_path / "run" / "config.json").exists()  # nothing trained, nothing recorded as the run's settings
    # the CLI: a cancel file that already exists stops before the first clip, resumably (exit status 3)
    stop = tmp_path / "stop"
    stop.touch()
    for command in ("loso", "train"):
        run = tmp_path / command
        assert main([command, str(db_root), *TINY, "--run-dir", str(run), "--progress", "jsonl",
                     "--cancel-file", str(stop)]) == 3
        events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert [e["event"] for e in events] == ["run_start", "run_end"] and events[1]["status"] == "cancelled"
        assert events[0]["device"] == "cpu" and not (run / "config.json").exists()
