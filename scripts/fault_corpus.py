#!/usr/bin/env python3
"""The fault corpus (issue 14): bad inputs and faults a user meets, built in a temp folder and run for real.

Every case builds its own inputs (corrupt and odd videos and frame folders, sheet variants, damaged
annotation stores, tampered checkpoints, a full disk, kill -9 during saves and training, an unreadable clip
folder) and runs the real command a user would run (``cmnet ...`` or ``cmnet-studio ... --screenshot`` under
``QT_QPA_PLATFORM=offscreen``) in a subprocess. A case passes when

* no uncaught traceback is printed and the process did not abort (exit status 134/-6 = SIGABRT),
* the message names the file (or row) and the case's own expectation holds (a hint, a note, a result),
* no byte of annotations or backups the user made is lost, and
* no partial file (``*.tmp``, a 0-byte result) is left behind.

Usage::

    .venv/bin/python scripts/fault_corpus.py            # all cases
    .venv/bin/python scripts/fault_corpus.py -k disk    # cases whose name contains "disk"
    .venv/bin/python scripts/fault_corpus.py --list

Prints one line per case (``PASS``/``FAIL``/``NOT RUN`` + what was seen), then ``N passed, N failed, N not run``
and one JSON line with the same counts and the failing case names. Exit status 1 when a case failed.

Needs: the project's .venv. Run as root for the full corpus: the disk-full cases mount a small tmpfs
(``mount -t tmpfs``) and the permission case runs ``cmnet`` as user ``nobody`` (``setpriv``); without root
those cases are reported as NOT RUN (never as passed).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PY = sys.executable
CLI = [PY, "-c", "import sys; from cmnet_core.cli import main; sys.exit(main())"]
APP = [PY, "-c", "import sys; from app.main import main; sys.exit(main())"]
TINY_TRAIN = ["--image-size", "16", "--frames", "4", "--epochs", "1", "--batch-size", "2", "--cache", "off",
              "--device", "cpu", "--backbone", "small", "--landmarks", "none"]
CSV_HEADER = "Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame,Action Units,Estimated Emotion\n"


class NotRun(Exception):
    """The case needs something this machine does not give (root for tmpfs/nobody); reported, never passed."""


class Failed(AssertionError):
    """The case's expectation does not hold; the message says what was seen."""


@dataclass
class Result:
    rc: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@dataclass
class Case:
    name: str
    group: str
    run: Callable[[Path], str]


CASES: list[Case] = []


def case(group: str):
    """Register ``fn(folder) -> detail`` as a corpus case named after the function."""
    def deco(fn):
        CASES.append(Case(fn.__name__, group, fn))
        return fn
    return deco


# ---- running and checking ----------------------------------------------------------------------------------
def env_for(folder: Path) -> dict:
    """A user environment inside ``folder``: own config/data dirs (QSettings, annotation stores), offscreen Qt."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(folder / "_config"),
               XDG_DATA_HOME=str(folder / "_data"), HOME=str(folder / "_home"), PYTHONPATH=str(ROOT),
               OMP_NUM_THREADS="1", PYTHONDONTWRITEBYTECODE="1")
    for d in ("_config", "_data", "_home"):
        (folder / d).mkdir(exist_ok=True)
    return env


def run(cmd: list[str], folder: Path, timeout: float = 300, user: str | None = None, **kw) -> Result:
    """Run ``cmd`` in ``folder``; optionally as ``user`` (root only, via setpriv)."""
    env = env_for(folder)
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user if user != 'nobody' else 'nogroup'}",
               "--clear-groups", *cmd]
    p = subprocess.run(cmd, cwd=folder, env=env, capture_output=True, text=True, timeout=timeout, **kw)
    return Result(p.returncode, p.stdout, p.stderr)


def cli(folder: Path, *args: str, **kw) -> Result:
    return run([*CLI, *map(str, args)], folder, **kw)


def app(folder: Path, path: Path, **kw) -> Result:
    return run([*APP, str(path), "--screenshot", str(folder / "_shot.png")], folder, **kw)


def expect(cond: bool, what: str, res: Result | None = None) -> None:
    if not cond:
        tail = "" if res is None else f" [rc {res.rc}; output: {first_lines(res.text, 4)}]"
        raise Failed(what + tail)


def first_lines(text: str, n: int = 1) -> str:
    if "Traceback (most recent" in text:   # show where it came from
        return " | ".join(ln.strip() for ln in text.splitlines()[-4:])[:600]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return " | ".join(lines[:n])[:400]


def no_crash(res: Result) -> None:
    """No traceback, no abort."""
    expect("Traceback (most recent call last)" not in res.text, "uncaught traceback", res)
    expect(res.rc not in (134, -6, -11, 139), f"aborted (exit status {res.rc})", res)


def clear_error(res: Result, names: str | Path, rc: tuple[int, ...] = (1, 2)) -> str:
    """A refusal: no crash, a non-zero status in ``rc``, the message names ``names``."""
    no_crash(res)
    expect(res.rc in rc, f"exit status {res.rc}, expected one of {rc}", res)
    expect(str(names) in res.text, f"message does not name {names}", res)
    return message_line(res, str(names))


def message_line(res: Result, needle: str) -> str:
    for ln in res.text.splitlines():
        if needle in ln:
            return ln.strip()[:300]
    return first_lines(res.text)


def fingerprint(paths) -> dict[str, str]:
    """sha256 of every existing file among ``paths`` (the bytes the user must not lose)."""
    return {str(p): hashlib.sha256(Path(p).read_bytes()).hexdigest() for p in paths if Path(p).is_file()}


def partial_files(folder: Path, since: float) -> list[str]:
    """Temporary files anywhere under ``folder`` and 0-byte results written after ``since`` (partial results);
    the case's own ``_config``/``_data``/``_home`` folders are not looked at."""
    found = []
    for p in folder.rglob("*"):
        if p.is_file() and not any(part.startswith("_") for part in p.relative_to(folder).parts):
            if p.name.endswith(".tmp") or ".tmp" in p.suffixes or (p.stat().st_size == 0 and p.stat().st_mtime > since
                                                                    and p.suffix in (".csv", ".json", ".pt", ".jsonl")):
                found.append(str(p.relative_to(folder)))
    return found


# ---- inputs ------------------------------------------------------------------------------------------------
def face_frames(n: int, size: int = 64, seed: int = 0) -> list[np.ndarray]:
    """``n`` RGB frames (size, size, 3) uint8 of a moving blob (enough for the readers; no real face)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(60, 200, (size, size, 3), dtype=np.uint8)
    frames = []
    for i in range(n):
        f = base.copy()
        c = size // 2 + int(4 * np.sin(i / 3))
        f[c - 6:c + 6, c - 6:c + 6] = 255
        frames.append(f)
    return frames


def write_video(path: Path, n: int = 24, size: int = 64, fps: float = 30.0) -> Path:
    import cv2
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (size, size))
    for f in face_frames(n, size):
        w.write(f[:, :, ::-1])
    w.release()
    if not path.exists() or path.stat().st_size == 0:
        raise RuntimeError(f"OpenCV could not write the fixture video {path}")
    return path


def write_folder(path: Path, n: int, size: int = 64, numbers=None, sizes=None) -> Path:
    import cv2
    path.mkdir(parents=True)
    numbers = list(numbers) if numbers is not None else list(range(1, n + 1))
    for k, (num, f) in enumerate(zip(numbers, face_frames(len(numbers), size))):
        if sizes is not None:
            f = cv2.resize(f, (sizes[k], sizes[k]))
        cv2.imwrite(str(path / f"img{num:04d}.png"), f[:, :, ::-1])
    return path


_DB_CACHE: dict[str, Path] = {}
_SCRATCH: list[Path] = []   # shared inputs built once, removed at the end


def synthetic_db(folder: Path, name: str = "db", subjects: int = 2, clips_per_class: int = 1) -> Path:
    """A tiny synthetic database (built once per shape, copied into the case's folder)."""
    from cmnet_core.data.synthetic_writer import write_synthetic_database
    key = f"{subjects}-{clips_per_class}"
    if key not in _DB_CACHE:
        _SCRATCH.append(Path(tempfile.mkdtemp(prefix="corpus-db-")))
        src = _SCRATCH[-1] / "db"
        write_synthetic_database(src, n_subjects=subjects, clips_per_class=clips_per_class, image_size=32,
                                 labels=("happiness", "surprise"))
        _DB_CACHE[key] = src
    dst = folder / name
    shutil.copytree(_DB_CACHE[key], dst)
    return dst


_CKPT: dict[str, Path] = {}


def tiny_checkpoint(folder: Path) -> Path:
    """A real checkpoint trained for one epoch on a tiny synthetic database (built once)."""
    if "ckpt" not in _CKPT:
        work = Path(tempfile.mkdtemp(prefix="corpus-ckpt-"))
        _SCRATCH.append(work)
        db = synthetic_db(work)
        res = cli(work, "train", db, *TINY_TRAIN, "--runs", work / "runs", "--name", "tiny", "--progress", "jsonl")
        found = sorted((work / "runs").rglob("final.pt"))
        if res.rc != 0 or not found:
            raise RuntimeError(f"could not train the corpus checkpoint: {first_lines(res.text, 6)}")
        _CKPT["ckpt"] = found[0]
        _CKPT["run"] = found[0].parents[1]
    dst = folder / "model.pt"
    shutil.copy(_CKPT["ckpt"], dst)
    return dst


def bad_weight_files(folder: Path) -> dict[str, Path]:
    """Tampered checkpoint/weight files: random bytes, empty, truncated, a code-running pickle, other layout."""
    import torch

    class Boom:
        def __reduce__(self):
            return (print, ("pwned",))

    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    files["random"] = folder / "random.pt"
    files["random"].write_bytes(bytes(range(256)) * 40)
    files["empty"] = folder / "empty.pt"
    files["empty"].write_bytes(b"")
    good = folder / "_good.pt"
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, good)
    files["truncated"] = folder / "truncated.pt"
    files["truncated"].write_bytes(good.read_bytes()[:300])
    files["pickle"] = folder / "evil.pt"
    with open(files["pickle"], "wb") as fh:
        pickle.dump({"conv1.weight": Boom()}, fh, protocol=2)
    files["other_layout"] = folder / "wrong_arch.pt"
    torch.save({"layer.weight": torch.zeros(2, 2)}, files["other_layout"])
    good.unlink()
    return files


class SmallDisk:
    """A tmpfs of ``size_kb`` mounted on ``path`` (root only), filled to leave ``free_kb`` when asked."""

    def __init__(self, path: Path, size_kb: int = 2048) -> None:
        if os.geteuid() != 0 or not shutil.which("mount"):
            raise NotRun("needs root to mount a small tmpfs")
        path.mkdir(parents=True, exist_ok=True)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(path)],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise NotRun(f"mount -t tmpfs failed: {p.stderr.strip()}")
        self.path = path

    def fill(self, free_kb: int = 0) -> None:
        """Write a filler file until about ``free_kb`` KiB stay free."""
        st = os.statvfs(self.path)
        free = st.f_bavail * st.f_frsize
        size = max(0, free - free_kb * 1024)
        with open(self.path / "_filler", "ab") as fh:
            while size > 0:
                chunk = min(size, 1 << 20)
                try:
                    fh.write(b"\0" * chunk)
                    fh.flush()
                except OSError:
                    break
                size -= chunk

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        subprocess.run(["umount", "-l", str(self.path)], capture_output=True)


def make_store(path: Path, n: int = 3, note: str = "coded by A") -> list:
    """Write an annotation store with ``n`` clips at ``path`` via the project's own saver; returns the records."""
    from cmnet_core.data.annotation_io import AnnotationRecord, save_store
    from cmnet_core.data.clip import Annotation
    recs = [AnnotationRecord(f"s{i}", f"clip{i}", Annotation(onset=1, apex=5 + i, offset=12, emotion="happiness",
                                                              notes=note)) for i in range(n)]
    save_store(path, recs, source="corpus")
    return recs


# ==== crashes ===============================================================================================
def _wrong_shape_store(folder: Path, clips) -> str:
    video = write_video(folder / "clip.mp4")
    store = folder / "clip.mp4.annotations.json"
    store.write_text(json.dumps({"format": "cmnet-studio-annotations", "version": 1, "clips": clips}))
    before = fingerprint([store])
    res = app(folder, video)
    line = clear_error(res, store.name, rc=(1,))
    expect(fingerprint([store]) == before, "the damaged store was changed (the user's bytes must stay)")
    return line


@case("crash")
def store_clips_is_a_number(folder: Path) -> str:
    return _wrong_shape_store(folder, 5)


@case("crash")
def store_clips_are_strings(folder: Path) -> str:
    return _wrong_shape_store(folder, ["abc"])


@case("crash")
def store_version_is_text(folder: Path) -> str:
    video = write_video(folder / "clip.mp4")
    store = folder / "clip.mp4.annotations.json"
    store.write_text(json.dumps({"format": "cmnet-studio-annotations", "version": "x", "clips": []}))
    return clear_error(app(folder, video), store.name, rc=(1,))


@case("crash")
def store_is_not_json(folder: Path) -> str:
    video = write_video(folder / "clip.mp4")
    store = folder / "clip.mp4.annotations.json"
    store.write_text('{"format": "cmnet-studio-annotations", "clips": [')
    before = fingerprint([store])
    line = clear_error(app(folder, video), store.name, rc=(1,))
    expect(fingerprint([store]) == before, "the damaged store was changed")
    return line


def _tampered(folder: Path, command: str, kind: str) -> str:
    db = synthetic_db(folder)
    bad = bad_weight_files(folder / "weights")[kind]
    runs = folder / "runs"
    flag = "--pretrained" if command != "predict" else None
    if command == "predict":
        res = cli(folder, "predict", bad, db, "--out", folder / "out", "--device", "cpu")
    else:
        res = cli(folder, command, db, *TINY_TRAIN[:-4], "--backbone", "resnet18", flag, bad, "--runs", runs)
    line = clear_error(res, bad, rc=(2,))
    expect("pwned" not in res.out, "the pickle payload ran")
    expect("weights_only=False" not in res.text, "PyTorch's weights_only=False advice was shown")
    expect(not runs.exists() or not any(runs.iterdir()), f"a run folder was left: {list(runs.glob('*'))}")
    expect(not (folder / "out").exists() or not any((folder / "out").iterdir()), "prediction files were written")
    return line


for _cmd in ("train", "predict"):
    for _kind in ("random", "empty", "truncated", "pickle", "other_layout"):
        if _cmd == "predict" and _kind == "other_layout":
            continue

        def _fn(folder: Path, _c=_cmd, _k=_kind) -> str:
            return _tampered(folder, _c, _k)

        _fn.__name__ = f"{_cmd}_with_{_kind}_checkpoint"
        case("crash")(_fn)


@case("crash")
def predict_out_names_an_existing_file(folder: Path) -> str:
    ckpt = tiny_checkpoint(folder)
    video = write_video(folder / "clip.mp4")
    out = folder / "results.csv"
    out.write_text("keep me\n")
    res = cli(folder, "predict", ckpt, video, "--out", out, "--device", "cpu", "--landmarks", "none")
    line = clear_error(res, out, rc=(2,))
    expect(out.read_text() == "keep me\n", "the existing file was changed")
    return line


@case("crash")
def evaluate_on_a_training_run(folder: Path) -> str:
    tiny_checkpoint(folder)
    run_dir = folder / "trainrun"
    shutil.copytree(_CKPT["run"], run_dir)
    return clear_error(cli(folder, "evaluate", run_dir), run_dir, rc=(2,))


@case("crash")
def evaluate_on_a_database_folder(folder: Path) -> str:
    db = synthetic_db(folder)
    return clear_error(cli(folder, "evaluate", db), db, rc=(2,))


@case("crash")
def unreadable_clip_folder_is_a_listed_skip(folder: Path) -> str:
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        raise NotRun("needs root (to run cmnet as user nobody; root reads every folder)")
    db = synthetic_db(folder)
    locked = sorted(p for p in db.glob("*/*") if p.is_dir())[0]
    for p in [folder, *folder.rglob("*")]:
        if not p.name.startswith("_"):
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
    os.chmod(folder, 0o755)
    os.chmod(folder.parent, 0o711)   # the corpus's own temp folder (mkdtemp makes it 0700)
    os.chmod(locked, 0o000)
    for d in ("_config", "_data", "_home"):
        (folder / d).mkdir(exist_ok=True)
        os.chmod(folder / d, 0o777)
    try:
        res = cli(folder, "info", db, user="nobody")
    finally:
        os.chmod(locked, 0o755)
    no_crash(res)
    expect(res.rc == 0, f"the whole database was refused (exit status {res.rc})", res)
    expect(locked.name in res.text and "ermission" in res.text, "the unreadable clip is not listed with its reason",
           res)
    return message_line(res, "ermission")


# ==== disk full =============================================================================================
@case("disk")
def annotation_save_on_a_full_disk_keeps_store_and_backups(folder: Path) -> str:
    with SmallDisk(folder / "disk", 1024) as disk:
        store = disk.path / "cmnet-annotations.json"
        for k in range(4):      # a store with three real backups
            make_store(store, n=3 + k, note=f"version {k}")
        keep = [store, *sorted(disk.path.glob("cmnet-annotations.json.0*"))]
        before = fingerprint(keep)
        disk.fill(0)
        code = ("import sys; from cmnet_core.data.annotation_io import *; from cmnet_core.data.clip import Annotation\n"
                f"recs=[AnnotationRecord('s','c{{}}'.format(i),Annotation(notes='x'*5000)) for i in range(50)]\n"
                "for _ in range(4):\n"
                "    try:\n"
                f"        save_store({str(store)!r}, recs)\n"
                "    except OSError as e: print('ERR', e)\n")
        res = run([PY, "-c", code], folder)
        no_crash(res)
        expect(res.out.count("ERR") == 4 and "disk full" in res.out and str(store) in res.out,
               "a failed save did not say 'disk full at PATH'", res)
        expect(fingerprint(keep) == before, "a failed save changed the store or a backup")
        left = partial_files(disk.path, 0)
        expect(not left, f"partial files left: {left}")
        return f"4 failed saves; store + {len(keep) - 1} backups byte-identical; {first_lines(res.out)}"


@case("disk")
def predict_on_a_full_disk_keeps_the_previous_results(folder: Path) -> str:
    ckpt = tiny_checkpoint(folder)
    video = write_video(folder / "clip.mp4")
    with SmallDisk(folder / "disk", 512) as disk:
        out = disk.path / "out"
        first = cli(folder, "predict", ckpt, video, "--out", out, "--device", "cpu", "--landmarks", "none")
        expect(first.rc == 0, "the first prediction failed", first)
        before = fingerprint(out.glob("*"))
        t0 = time.time()
        disk.fill(0)
        res = cli(folder, "predict", ckpt, video, "--out", out, "--device", "cpu", "--landmarks", "none")
        line = clear_error(res, "disk full", rc=(2,))
        expect(fingerprint(out.glob("*")) == before, "the previous results were changed")
        left = partial_files(disk.path, t0)
        expect(not left, f"partial files left: {left}")
        return line


@case("disk")
def train_on_a_full_disk_leaves_no_partial_checkpoint(folder: Path) -> str:
    db = synthetic_db(folder)
    with SmallDisk(folder / "disk", 4096) as disk:
        t0 = time.time()
        disk.fill(24)
        res = cli(folder, "train", db, *TINY_TRAIN, "--runs", disk.path / "runs")
        line = clear_error(res, "disk full", rc=(1, 2))
        left = partial_files(disk.path, t0)
        expect(not left, f"partial files left: {left}")
        return line


def _preprocess_full(folder: Path, *cache_args) -> str:
    video = write_video(folder / "clip.mp4", n=24)
    with SmallDisk(folder / "disk", 1024) as disk:
        t0 = time.time()
        disk.fill(60)
        res = cli(folder, "preprocess", video, "--out", disk.path / "pp", "--size", "64", "--landmarks", "none",
                  *[a if a != "CACHE" else disk.path / "cache" for a in cache_args])
        line = clear_error(res, "disk full", rc=(1, 2))
        left = partial_files(disk.path, t0) + [str(p) for p in disk.path.rglob(".*partial*")]
        half = [p for p in (disk.path / "pp").glob("*") if p.is_dir() and not (p / "preprocess.json").exists()] \
            if (disk.path / "pp").exists() else []
        expect(not left and not half, f"partial output left: {left or half}")
        return line


@case("disk")
def preprocess_cache_on_a_full_disk(folder: Path) -> str:
    return _preprocess_full(folder, "--cache", "CACHE")


@case("disk")
def preprocess_output_on_a_full_disk_leaves_no_half_written_clip(folder: Path) -> str:
    return _preprocess_full(folder, "--no-cache")


@case("disk")
def make_synthetic_on_a_full_disk_says_so(folder: Path) -> str:
    with SmallDisk(folder / "disk", 512) as disk:
        res = cli(folder, "make-synthetic", disk.path / "syn", "--subjects", "2", "--clips-per-class", "2",
                  "--size", "64")
        line = clear_error(res, disk.path / "syn", rc=(2,))
        expect(not any(disk.path.glob(".*partial*")) and not (disk.path / "syn").exists(), "a partial tree was left")
        return line


# ==== data loss =============================================================================================
@case("data-loss")
def save_keeps_a_shared_file_mode(folder: Path) -> str:
    store = folder / "cmnet-annotations.json"
    make_store(store)
    os.chmod(store, 0o664)
    make_store(store, n=4)
    mode = oct(store.stat().st_mode & 0o777)
    expect(mode == "0o664", f"mode after save is {mode}, was 0o664")
    return f"mode kept: {mode}"


def _killed_writes(folder: Path, what: str, times: int) -> str:
    """Kill -9 a process that saves (or autosaves) in a loop, ``times`` times; every file left must load."""
    from app.workspace.annotations import AnnotationStore
    from cmnet_core.data.annotation_io import TEMP_MIN_AGE_S, autosave_path, load_store, recoverable_temp_files
    store = folder / "cmnet-annotations.json"
    make_store(store)
    fn = "save_store" if what == "save" else "write_autosave"
    code = ("import sys; from cmnet_core.data.annotation_io import *; from cmnet_core.data.clip import Annotation\n"
            "i=0\n"
            "while True:\n"
            "    i+=1\n"
            "    recs=[AnnotationRecord('s','c{}'.format(k),Annotation(onset=1,apex=2,offset=3,notes='n'*(2000+i))) "
            "for k in range(200)]\n"
            f"    {fn}({str(store)!r}, recs)\n"
            "    if i == 1: print('ready', flush=True)\n")
    rng = random.Random(14)
    recovered = 0
    for _ in range(times):
        p = subprocess.Popen([PY, "-c", code], cwd=folder, env=env_for(folder), stdout=subprocess.PIPE, text=True)
        p.stdout.readline()
        time.sleep(rng.uniform(0.0, 0.25))
        p.send_signal(signal.SIGKILL)
        p.wait()
        p.stdout.close()
        load_store(store)  # raises when damaged
        for b in store.parent.glob(store.name + ".0*"):
            expect(b.stat().st_size > 0, f"backup {b.name} is empty after kill -9")
            load_store(b)
        if what == "autosave" and autosave_path(store).exists():
            load_store(autosave_path(store))
        s = AnnotationStore(store)
        s.load()
        recovered += 1
    # the user reopens later: temporaries of killed saves are then old enough to be told from a running save's
    killed = sorted(store.parent.glob(".*.tmp"))
    old = time.time() - TEMP_MIN_AGE_S - 1
    for p in killed:
        os.utime(p, (old, old))
    offered = recoverable_temp_files(store)
    s = AnnotationStore(store)
    s.load()
    left = sorted(store.parent.glob(".*.tmp"))
    expect(set(left) <= set(offered), f"{len(left)} temporary files left that hold nothing to recover: "
                                      f"{[p.name for p in left if p not in offered][:3]}")
    return (f"kill -9 {times}x during {what}: store, backups and autosave valid {recovered}/{times}; "
            f"{len(killed)} temporaries of killed saves -> {len(left)} left on reopening (offered for recovery)")


@case("data-loss")
def kill_during_save_20_times(folder: Path) -> str:
    return _killed_writes(folder, "save", 20)


@case("data-loss")
def kill_during_autosave_20_times(folder: Path) -> str:
    return _killed_writes(folder, "autosave", 20)


@case("data-loss")
def newer_temp_of_a_killed_save_is_offered(folder: Path) -> str:
    from app.workspace.annotations import AnnotationStore
    from cmnet_core.data.annotation_io import AnnotationRecord, dumps_store
    from cmnet_core.data.clip import Annotation
    store = folder / "cmnet-annotations.json"
    make_store(store)
    tmp = folder / ".cmnet-annotations.json.killed.tmp"
    tmp.write_text(dumps_store([AnnotationRecord("s9", "new", Annotation(onset=2, apex=3, offset=4))]))
    future = time.time() + 5
    os.utime(tmp, (future, future))
    s = AnnotationStore(store)
    s.load()
    offered = s.recoverable()
    expect(offered is not None and Path(offered) == tmp, f"the newer temp was not offered (got {offered})")
    return f"offered for recovery: {tmp.name}"


@case("data-loss")
def garbage_autosave_is_reported_and_kept(folder: Path) -> str:
    from app.workspace.annotations import AnnotationStore
    from cmnet_core.data.annotation_io import autosave_path, bad_autosave_path
    store = folder / "cmnet-annotations.json"
    make_store(store)
    auto = autosave_path(store)
    auto.write_text("{ not json")
    future = time.time() + 5
    os.utime(auto, (future, future))
    s = AnnotationStore(store)
    s.load()
    s.recoverable()
    notes = s.take_notices()
    expect(any(bad_autosave_path(store).name in n for n in notes), f"no notice naming the kept copy: {notes}")
    expect(bad_autosave_path(store).read_text() == "{ not json", "the garbage autosave was not kept")
    return notes[0][:200]


@case("data-loss")
def garbage_store_message_is_true_about_backups(folder: Path) -> str:
    video = write_video(folder / "clip.mp4")
    store = folder / "clip.mp4.annotations.json"
    store.write_text("{ garbage")
    res = app(folder, video)
    no_crash(res)
    expect("no backup .001 exists yet" in res.text, "the message does not say that no .001 backup exists", res)
    return message_line(res, store.name)


# ==== silent or wrong acceptance ============================================================================
def _predict_note(folder: Path, path: Path, needle: str) -> str:
    """Predict ``path``; the clip's notes (predictions.json provenance, predictions.csv, output) must say
    ``needle``."""
    ckpt = tiny_checkpoint(folder)
    res = cli(folder, "predict", ckpt, path, "--out", folder / "out", "--device", "cpu", "--landmarks", "none")
    no_crash(res)
    expect(res.rc == 0, f"exit status {res.rc}", res)
    clips = json.loads((folder / "out" / "predictions.json").read_text())["clips"]
    notes = [n for c in clips for n in c["provenance"]["notes"]]
    hit = [n for n in notes if needle in n.lower()]
    expect(bool(hit), f"no note mentioning {needle!r}; notes: {notes}")
    expect(hit[0] in (folder / "out" / "predictions.csv").read_text(), "the note is missing from predictions.csv")
    expect(f"note: {hit[0]}" in res.text, "the note is not printed", res)
    return hit[0]


@case("silent")
def one_frame_video_is_noted(folder: Path) -> str:
    return _predict_note(folder, write_video(folder / "one.mp4", n=1), "only 1 source frame")


@case("silent")
def still_image_is_noted(folder: Path) -> str:
    import cv2
    img = folder / "face.png"
    cv2.imwrite(str(img), face_frames(1)[0])
    return _predict_note(folder, img, "only 1 source frame")


@case("silent")
def two_frame_folder_is_noted(folder: Path) -> str:
    return _predict_note(folder, write_folder(folder / "two", 2), "only 2 source frames")


@case("silent")
def mixed_size_folder_is_noted(folder: Path) -> str:
    return _predict_note(folder, write_folder(folder / "mixed", 12, sizes=[64] * 6 + [80] * 6), "size")


@case("silent")
def folder_with_a_gap_is_noted(folder: Path) -> str:
    return _predict_note(folder, write_folder(folder / "gap", 12, numbers=[*range(1, 7), *range(20, 26)]), "gap")


@case("silent")
def empty_folder_is_refused(folder: Path) -> str:
    (folder / "empty").mkdir()
    ckpt = tiny_checkpoint(folder)
    res = cli(folder, "predict", ckpt, folder / "empty", "--out", folder / "out", "--device", "cpu")
    return clear_error(res, "empty", rc=(1, 2))


@case("silent")
def zero_byte_video_is_refused(folder: Path) -> str:
    bad = folder / "zero.mp4"
    bad.write_bytes(b"")
    ckpt = tiny_checkpoint(folder)
    return clear_error(cli(folder, "predict", ckpt, bad, "--out", folder / "out", "--device", "cpu"), bad.name)


@case("silent")
def text_file_named_mp4_is_refused(folder: Path) -> str:
    bad = folder / "notes.mp4"
    bad.write_text("this is not a video\n" * 50)
    ckpt = tiny_checkpoint(folder)
    return clear_error(cli(folder, "predict", ckpt, bad, "--out", folder / "out", "--device", "cpu"), bad.name)


@case("silent")
def truncated_video_is_refused_or_noted(folder: Path) -> str:
    good = write_video(folder / "good.mp4", n=40)
    bad = folder / "cut.mp4"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    ckpt = tiny_checkpoint(folder)
    res = cli(folder, "predict", ckpt, bad, "--out", folder / "out", "--device", "cpu", "--landmarks", "none")
    no_crash(res)
    expect(bad.name in res.text or (folder / "out" / "predictions.json").exists(), "no word about the file", res)
    return message_line(res, bad.name)


@case("silent")
def missing_path_is_refused(folder: Path) -> str:
    ckpt = tiny_checkpoint(folder)
    gone = folder / "nowhere.mp4"
    return clear_error(cli(folder, "predict", ckpt, gone, "--out", folder / "out", "--device", "cpu"), gone.name,
                       rc=(2,))


def _casme2_tree(folder: Path, sheet_text: str, sheet_name: str) -> Path:
    root = folder / "CASME2_RAW_selected"
    clip = root / "sub01" / "EP02_01f"
    write_folder(clip, 12, numbers=range(46, 58))
    (root / sheet_name).write_bytes(sheet_text.encode("utf-8-sig"))
    return root


@case("silent")
def casme2_csv_sheet_with_bom_and_semicolons(folder: Path) -> str:
    sheet = CSV_HEADER.replace(",", ";") + "01;EP02_01f;46;50;57;12;happiness\n"
    root = _casme2_tree(folder, sheet, "CASME2-coding-20140508.csv")
    res = cli(folder, "info", root, "--kind", "casme2")
    no_crash(res)
    expect(res.rc == 0 and "1 clips" in res.text and "happiness 1" in res.text and "no header row" not in res.text,
           "the sheet's row was not read", res)
    return message_line(res, "sheet")


@case("silent")
def samm_sheet_given_as_casme2_hints_wrong_sheet(folder: Path) -> str:
    samm = ("Subject,Filename,Inducement Code,Onset Frame,Apex Frame,Offset Frame,Duration,Type,Action Units,"
            "Notes,Objective Classes,Estimated Emotion\n006,006_1_2,1,5562,5588,5632,71,Micro - 1/2,R12,,1,Happiness\n")
    root = _casme2_tree(folder, samm, "CASME2-coding-20140508.csv")
    res = cli(folder, "train", root, "--kind", "casme2", *TINY_TRAIN, "--runs", folder / "runs")
    no_crash(res)
    expect(res.rc != 0, "training a database with 0 usable clips exited 0", res)
    expect("sheet" in res.text.lower() and ("samm" in res.text.lower() or "wrong" in res.text.lower()),
           "no wrong-sheet hint", res)
    return message_line(res, "sheet")


@case("silent")
def generic_clip_column_only_opens_unlabelled(folder: Path) -> str:
    root = folder / "mine"
    write_folder(root / "a", 12)
    write_folder(root / "b", 12)
    (root / "clips.csv").write_text("clip\na\nb\n")
    res = cli(folder, "info", root)
    no_crash(res)
    expect(res.rc == 0 and "unlabelled" in res.text.lower(), "unlabelled clips not listed", res)
    shot = app(folder, root)
    no_crash(shot)
    expect(shot.rc == 0, "the app refused the unlabelled database", shot)
    tr = cli(folder, "train", root, *TINY_TRAIN, "--runs", folder / "runs")
    no_crash(tr)
    expect(tr.rc != 0 and "label" in tr.text.lower(), "training did not list the unlabelled reason", tr)
    return message_line(res, "nlabelled")


@case("silent")
def train_with_zero_usable_clips_does_not_blame_holdout(folder: Path) -> str:
    root = folder / "mine"
    write_folder(root / "a", 12)
    (root / "clips.csv").write_text("clip\na\n")
    res = cli(folder, "train", root, *TINY_TRAIN, "--runs", folder / "runs")
    no_crash(res)
    expect(res.rc != 0, "exit status 0", res)
    expect("holding out" not in res.text, "blames a hold-out that was not asked for", res)
    return first_lines(res.err or res.out)


@case("silent")
def sheet_row_with_text_apex_is_named(folder: Path) -> str:
    sheet = CSV_HEADER + "01,EP02_01f,46,peak,57,12,happiness\n"
    root = _casme2_tree(folder, sheet, "CASME2-coding-20140508.csv")
    res = cli(folder, "info", root, "--kind", "casme2")
    no_crash(res)
    expect("peak" in res.text or "row 2" in res.text.lower() or "ApexFrame" in res.text, "the bad row is not named",
           res)
    return message_line(res, "peak") if "peak" in res.text else first_lines(res.text)


@case("silent")
def train_resumed_after_kill_says_so(folder: Path) -> str:
    db = synthetic_db(folder, subjects=2, clips_per_class=2)
    run_dir = folder / "runs" / "killed"
    long_train = [a if a != "1" else "40" for a in TINY_TRAIN]   # --epochs 40: still training at the kill
    args = ["train", db, *long_train, "--run-dir", run_dir, "--progress", "jsonl"]
    p = subprocess.Popen([*CLI, *map(str, args)], cwd=folder, env=env_for(folder), stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    deadline = time.time() + 240
    while time.time() < deadline and not list(run_dir.rglob("last.pt")):
        time.sleep(0.2)
    time.sleep(0.5)
    p.kill()
    p.wait()
    p.stdout.close()
    expect(bool(list(run_dir.rglob("last.pt"))), "no last.pt appeared before the kill")
    res = cli(folder, *args)   # the same command again: it resumes and finishes
    no_crash(res)
    expect(res.rc == 0, "the resumed run did not finish", res)
    said = [ln for ln in res.err.splitlines() if ln.startswith("resuming ") and " from epoch " in ln]
    expect(bool(said), "no 'resuming … from epoch N' line", res)
    expect('"event": "resume"' in (run_dir / "log.jsonl").read_text(), "no resume event in log.jsonl")
    return said[0]


# ==== earlier reports (public bug reports of annotation tools) ===========================================
def _two_subjects_sharing_a_clip_name(folder: Path) -> Path:
    """A CASME II-layout tree: sub01 and sub02 both have EP02_01f (CASME II shares 53 clip names)."""
    root = folder / "CASME2_RAW_selected"
    for subj in ("sub01", "sub02"):
        write_folder(root / subj / "EP02_01f", 12, numbers=range(46, 58))
    (root / "CASME2-coding-20140508.csv").write_text(
        CSV_HEADER + "01,EP02_01f,46,50,57,12,happiness\n02,EP02_01f,46,52,57,4,disgust\n")
    return root


@case("earlier")
def csv_import_subject_01_lands_on_sub01(folder: Path) -> str:
    from app.workspace.opening import open_path
    from cmnet_core.data.annotation_io import read_csv_annotations
    from cmnet_core.data.annotation_match import match_records
    root = _two_subjects_sharing_a_clip_name(folder)
    clips, _db, _ = open_path(root)
    sheet = folder / "coded.csv"
    sheet.write_text(CSV_HEADER + "01,EP02_01f,47,51,56,12,happiness\n03,EP02_01f,46,49,55,4,disgust\n"
                     "02,EP02_01f,48,53,57,4,disgust\n")
    m = match_records(read_csv_annotations(sheet).records, [(c.subject, c.name) for c in clips])
    got = {key: rec.annotation.apex for rec, key in m.matched}
    expect(got == {("sub01", "EP02_01f"): 51, ("sub02", "EP02_01f"): 53}, f"rows landed on {got}")
    expect(len(m.unmatched) == 1 and m.unmatched[0].row == 3, f"row 3 (subject 03) not reported: {m.unmatched}")
    text = m.summary(sheet.name)
    expect("Imported 2 of 3 rows" in text and "2 clip(s)" in text and "row 3" in text, f"summary: {text}")
    return text.replace("\n", " | ")


@case("earlier")
def csv_import_without_emotion_column_keeps_it(folder: Path) -> str:
    from cmnet_core.data.annotation_io import merge_imported, read_csv_annotations
    from cmnet_core.data.clip import Annotation
    sheet = folder / "marks.csv"
    sheet.write_text("Subject,Filename,OnsetFrame,ApexFrame,OffsetFrame\n01,EP02_01f,47,51,56\n")
    imp = read_csv_annotations(sheet)
    current = Annotation(onset=46, apex=50, offset=57, emotion="happiness", aus="12", notes="checked by B")
    new = merge_imported(current, imp.records[0].annotation, imp.fields)
    expect((new.onset, new.apex, new.offset) == (47, 51, 56), f"marks not imported: {new}")
    expect((new.emotion, new.aus, new.notes) == ("happiness", "12", "checked by B"),
           f"fields without a column were changed: {new}")
    return f"imported columns {sorted(imp.fields)}; emotion/AUs/notes kept"


@case("earlier")
def read_only_database_moved_keeps_its_annotations(folder: Path) -> str:
    from app.workspace.annotations import open_store
    from app.workspace.opening import open_path
    from cmnet_core.data.clip import Annotation
    db = synthetic_db(folder)
    data = folder / "_appdata"

    def opened(path):
        clips, database, _ = open_path(path)
        o = open_store(path, clips, database, data)
        o.store.load()
        return o, clips

    def read_only(root, on):
        for d, _, _ in os.walk(root):
            os.chmod(d, 0o555 if on else 0o755)

    read_only(db, True)
    try:
        o, clips = opened(db)
        o.store.set(clips[0], Annotation(onset=2, apex=6, offset=11, emotion="happiness", notes="moved?"))
        o.store.save()
        moved = folder / "remounted"
        db.rename(moved)
        again, clips2 = opened(moved)
        ann = again.store.annotation_for(next(c for c in clips2 if (c.subject, c.name) ==
                                              (clips[0].subject, clips[0].name)))
    finally:
        read_only(moved if moved.exists() else db, False)
    expect(ann.notes == "moved?" and ann.apex == 6, f"annotations lost after the move: {ann}")
    expect(str(db) in again.notice, f"no word about the earlier location: {again.notice!r}")
    return again.notice[:200]


@case("earlier")
def frame_folder_of_a_database_shares_its_store(folder: Path) -> str:
    from app.workspace.annotations import open_store
    from app.workspace.opening import open_path
    db = synthetic_db(folder)
    data = folder / "_appdata"
    clips, database, _ = open_path(db)
    whole = open_store(db, clips, database, data)
    clip = clips[0]
    lone_clips, lone_db, _ = open_path(clip.path)
    lone = open_store(clip.path, lone_clips, lone_db, data)
    expect(lone.store.path == whole.store.path, f"two annotation files for one clip: {lone.store.path} and "
                                                f"{whole.store.path}")
    return f"{clip.path.name} opened alone uses {whole.store.path.name} of {db.name}"


@case("earlier")
def hung_run_shows_time_and_a_hint(folder: Path) -> str:
    from app.training.progress import FIRST_EVENT_HINT_S, RunProgress, waiting_text
    log = folder / "stderr.log"
    log.write_text("loading face detector\n")
    early = waiting_text(RunProgress(), 70.0, log, "loading face detector")
    late = waiting_text(RunProgress(), FIRST_EVENT_HINT_S + 30, log, "loading face detector")
    expect(early is not None and "1 min 10 s" in early, f"no elapsed time: {early!r}")
    expect(late is not None and str(log) in late and "ancel" in late, f"no hint naming stderr.log: {late!r}")
    return late.replace("\n", " | ")[:250]


# ==== main ==================================================================================================
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-k", default="", help="run only cases whose name contains this text")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder (its path is printed)")
    args = ap.parse_args(argv)
    chosen = [c for c in CASES if args.k in c.name]
    if args.list:
        for c in chosen:
            print(f"{c.group:10s} {c.name}")
        print(f"{len(chosen)} cases")
        return 0
    top = Path(tempfile.mkdtemp(prefix="fault-corpus-"))
    counts = {"passed": 0, "failed": 0, "not_run": 0}
    failed: list[str] = []
    t0 = time.time()
    for c in chosen:
        folder = top / c.name
        folder.mkdir()
        t = time.time()
        try:
            detail = c.run(folder)
            if c.group != "data-loss":   # those cases leave (and check) temporaries of killed saves on purpose
                left = partial_files(folder, float("inf"))
                expect(not left, f"partial files left behind: {left[:3]}")
            status, counts["passed"] = "PASS", counts["passed"] + 1
        except NotRun as exc:
            status, detail, counts["not_run"] = "NOT RUN", str(exc), counts["not_run"] + 1
        except Exception as exc:  # noqa: BLE001 - a case that breaks is a failed case, reported with its reason
            status, detail = "FAIL", f"{type(exc).__name__}: {exc}"
            counts["failed"] += 1
            failed.append(c.name)
        print(f"{status:7s} {c.group:9s} {c.name:55s} {time.time() - t:5.1f}s  {detail}", flush=True)
    print(f"{counts['passed']} passed, {counts['failed']} failed, {counts['not_run']} not run "
          f"({len(chosen)} cases, {time.time() - t0:.0f} s)")
    print(json.dumps({"fault_corpus": {**counts, "cases": len(chosen), "wall_s": round(time.time() - t0, 1),
                                        "failed_cases": failed}}))
    if not args.keep:
        shutil.rmtree(top, ignore_errors=True)
        for p in _SCRATCH:
            shutil.rmtree(p, ignore_errors=True)
    else:
        print(f"kept: {top}")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
