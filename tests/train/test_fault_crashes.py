"""Issue 14 (crashes) on the CLI side: a tampered --pretrained file is refused before any work, ``evaluate`` on
a training run, an unreadable clip folder, and a full disk while writing predictions or checkpoints."""
import errno
import json
import pickle

import pytest
import torch

from cmnet_core.cli import main
from cmnet_core.data.synthetic_writer import write_synthetic_database

TINY = ["--image-size", "16", "--frames", "4", "--epochs", "1", "--batch-size", "2", "--cache", "off",
        "--device", "cpu"]


class Boom:
    """A pickled object whose unpickling would run code."""

    def __reduce__(self):
        return (print, ("pwned",))


@pytest.fixture(scope="module")
def tiny_db(tmp_path_factory):
    root = tmp_path_factory.mktemp("faults") / "syn"
    write_synthetic_database(root, n_subjects=2, clips_per_class=1, image_size=32, labels=("happiness", "surprise"))
    return root


def bad_weight_files(folder):
    folder.mkdir(parents=True, exist_ok=True)
    random = folder / "random.pth"
    random.write_bytes(bytes(range(256)) * 40)
    empty = folder / "empty.pth"
    empty.write_bytes(b"")
    good = folder / "good.pth"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, good)
    truncated = folder / "truncated.pth"
    truncated.write_bytes(good.read_bytes()[:300])
    evil = folder / "evil.pth"
    with open(evil, "wb") as fh:
        pickle.dump({"conv1.weight": Boom()}, fh, protocol=2)
    wrong = folder / "wrong_arch.pth"   # readable, but not a ResNet-18 state dict
    torch.save({"layer.weight": torch.zeros(2, 2)}, wrong)
    return [random, empty, truncated, evil, wrong]


@pytest.mark.parametrize("command", ["train", "loso"])
def test_tampered_pretrained_file_is_refused_before_any_work(tiny_db, tmp_path, capsys, command):
    runs = tmp_path / "runs"
    for bad in bad_weight_files(tmp_path / "weights"):
        rc = main([command, str(tiny_db), *TINY, "--backbone", "resnet18", "--pretrained", str(bad),
                   "--runs", str(runs), "--progress", "jsonl"])
        out, err = capsys.readouterr()
        assert rc == 2, (bad.name, err)
        assert str(bad) in err and "weights_only=False" not in err and "Traceback" not in err, err
        assert "pwned" not in out
        assert '"preprocess"' not in out and "run folder" not in err   # no work started
        assert not runs.exists() or not any(runs.iterdir()), list(runs.iterdir())


@pytest.fixture(scope="module")
def train_run(tiny_db, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("trainrun") / "run"
    rc = main(["train", str(tiny_db), *TINY, "--run-dir", str(run_dir), "--progress", "jsonl"])
    assert rc == 0
    return run_dir


def test_evaluate_on_a_training_run_says_what_to_do(train_run, capsys):
    rc = main(["evaluate", str(train_run)])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"{train_run} is a training run, not a LOSO run" in err
    assert "cmnet evaluate CKPT DB" in err and "KeyError" not in err and "Traceback" not in err


def test_evaluate_on_a_folder_with_a_damaged_config_is_refused(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text('{"kind": "loso"}')   # no database, no folds
    rc = main(["evaluate", str(run)])
    err = capsys.readouterr().err
    assert rc == 2 and str(run) in err and "Traceback" not in err


def deny_reading(monkeypatch, folder):
    """Make listing ``folder`` fail as it does for a non-root user without read permission (tests run as root,
    where chmod does not stop reads)."""
    from pathlib import Path

    real_iterdir = Path.iterdir

    def iterdir(self):
        if self == folder:
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)


@pytest.mark.parametrize("kind", ["synthetic", "generic"])
def test_unreadable_clip_folder_is_a_listed_skip(tiny_db, tmp_path, monkeypatch, kind):
    from cmnet_core.data.database import open_database

    blocked = tiny_db / "s02" / "surprise_01"
    sheet = None
    if kind == "generic":
        sheet = tmp_path / "lab.csv"
        sheet.write_text("clip,subject,emotion\n" + "".join(
            f"{s}/{c},{s},{c.split('_')[0]}\n" for s in ("s01", "s02") for c in ("happiness_01", "surprise_01")))
    deny_reading(monkeypatch, blocked)
    db = open_database(tiny_db, kind=kind, sheet=sheet)
    assert sorted((c.subject, c.name) for c in db.clips) == [("s01", "happiness_01"), ("s01", "surprise_01"),
                                                             ("s02", "happiness_01")]
    assert len(db.skips) == 1
    assert str(blocked) in db.skips[0].reason and "permission denied" in db.skips[0].reason.lower()
    assert "permissions" in db.skips[0].reason   # says what to do


def test_unreadable_clip_folder_in_a_sheet_database(tmp_path, monkeypatch):
    """The adapters built on `build_database` (CASME II, SAMM, CAS(ME)^3, SMIC) skip an unreadable folder too."""
    from cmnet_core.data.adapters.common import SheetRow, build_database
    from cmnet_core.data.protocols import as_is_protocol
    from PIL import Image
    import numpy as np

    rows = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        for i in range(3):
            Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / f"img{i + 1}.jpg")
        rows.append(SheetRow(where=f"row {len(rows) + 2}", subject="s1", name=name, folder=folder, onset=1, apex=2,
                             offset=3, emotion="happiness"))
    deny_reading(monkeypatch, tmp_path / "b")
    db = build_database("generic", tmp_path, None, as_is_protocol(["happiness"]), rows, [], 30.0)
    assert [c.name for c in db.clips] == ["a"]
    assert len(db.skips) == 1 and str(tmp_path / "b") in db.skips[0].reason


def fill_the_disk(monkeypatch, when=lambda path: True):
    """Every write the safe writer makes (to a path for which ``when`` holds) gets half its data onto the disk,
    then fails with ENOSPC, as a full disk does."""
    from cmnet_core import safe_write

    real = safe_write._write_all

    def write_all(fh, data, path):
        if not when(path):
            return real(fh, data, path)
        fh.write(data[: len(data) // 2])
        fh.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safe_write, "_write_all", write_all)


def leftovers(folder):
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp"))


def test_save_checkpoint_on_a_full_disk_names_path_and_space_and_leaves_no_tmp(tmp_path, monkeypatch):
    from cmnet_core.safe_write import DiskFullError
    from cmnet_core.train.checkpoint import load_checkpoint, save_checkpoint

    meta = {"labels": ["a", "b"], "image_size": 16, "num_frames": 4, "preprocess": {}, "model_config": {}}
    path = tmp_path / "checkpoints" / "last.pt"
    save_checkpoint(path, {"w": torch.ones(3)}, meta)           # a previous good checkpoint
    fill_the_disk(monkeypatch)
    with pytest.raises(DiskFullError) as err:
        save_checkpoint(path, {"w": torch.zeros(1000)}, meta)
    assert isinstance(err.value, OSError) and err.value.errno == errno.ENOSPC
    assert str(err.value).startswith(f"disk full at {path} (") and " MB free)" in str(err.value)
    assert leftovers(tmp_path) == []
    monkeypatch.undo()
    assert torch.equal(load_checkpoint(path).state_dict["w"], torch.ones(3))   # the previous file is kept


@pytest.fixture(scope="module")
def tiny_ckpt(tmp_path_factory):
    from cmnet_core.model import CMNet, CMNetConfig
    from cmnet_core.preprocess.types import PreprocessSettings
    from cmnet_core.train.checkpoint import save_checkpoint

    torch.manual_seed(0)
    cfg = CMNetConfig.preset("fast", image_size=16, num_frames=4, backbone="small", small_widths=(8, 8, 16, 16))
    settings = PreprocessSettings(image_size=16, num_frames=4, landmarks="none", apex_mode="midpoint")
    meta = {"labels": ["negative", "positive"], "image_size": 16, "num_frames": 4,
            "preprocess": settings.to_dict(), "model_config": cfg.to_dict()}
    return save_checkpoint(tmp_path_factory.mktemp("ckpt") / "final.pt", CMNet(cfg, 2).state_dict(), meta)


@pytest.mark.parametrize("full_at", ["predictions.csv", "predictions.json", "clip.csv"])
def test_predict_on_a_full_disk_keeps_the_previous_files(tiny_ckpt, tiny_db, tmp_path, monkeypatch, capsys,
                                                          full_at):
    out = tmp_path / "out"
    clip = tiny_db / "s01" / "happiness_01"
    args = ["predict", str(tiny_ckpt), str(clip), "--out", str(out), "--device", "cpu"]
    assert main(args) == 0
    capsys.readouterr()
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    target = out / ("s01_happiness_01.csv" if full_at == "clip.csv" else full_at)   # a clip of its database
    assert target.name in before
    fill_the_disk(monkeypatch, when=lambda path: path == target)
    rc = main(args)
    err = capsys.readouterr().err
    assert rc == 2
    assert f"disk full at {target} (" in err and " MB free)" in err and "Traceback" not in err
    assert leftovers(out) == []
    assert target.read_bytes() == before[target.name]                   # the previous good file is kept
    assert {p.name for p in out.iterdir()} == set(before)


def test_train_on_a_full_disk_says_so_and_leaves_no_partial_checkpoint(tiny_db, tmp_path, monkeypatch, capsys):
    run_dir = tmp_path / "run"
    fill_the_disk(monkeypatch, when=lambda path: path.name == "last.pt")
    rc = main(["train", str(tiny_db), *TINY, "--run-dir", str(run_dir), "--progress", "jsonl"])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"cmnet train: disk full at {run_dir / 'checkpoints' / 'last.pt'} (" in err and "MB free" in err
    assert "Traceback" not in err and "unexpected pos" not in err
    assert leftovers(run_dir) == [] and not (run_dir / "checkpoints" / "last.pt").exists()


def test_safe_writer_keeps_the_file_mode(tmp_path):
    import os
    import stat

    from cmnet_core.safe_write import write_text_atomically

    mask = os.umask(0o022)
    try:
        new = write_text_atomically(tmp_path / "new.csv", "a\n")
        assert stat.S_IMODE(new.stat().st_mode) == 0o644          # not mkstemp's 0600
        shared = tmp_path / "shared.csv"
        shared.write_text("old\n")
        shared.chmod(0o664)
        write_text_atomically(shared, "new\n")
        assert stat.S_IMODE(shared.stat().st_mode) == 0o664 and shared.read_text() == "new\n"
    finally:
        os.umask(mask)
