"""Training CMNet on preprocessed clips: the paper's SGD recipe, resumable, cancellable, reporting via callbacks.

Recipe (Wei et al., AAAI 2023, "Implementation details"): SGD, momentum 0.9, weight decay 1e-4, learning rate
1e-3 halved every 50 epochs; loss Eq. 10 (`cmnet_core.losses.cmnet_loss`) with two contrastive views per frame
(`cmnet_core.model.augment.ContrastiveAugment`). Batch size and epoch count are not given in the paper.
``TrainConfig.optimizer="adam"`` swaps SGD for Adam (not in the paper; for small from-scratch models).

Reproducibility: the model is initialised from ``seed``; the sample order of epoch e comes from its own
generator seeded with (seed, e); the global RNG states (torch, CUDA, numpy, random) that drive augmentation,
dropout, negative sampling and prototype draws are saved in every checkpoint with the optimiser, scheduler and
AMP scaler states and the position inside the epoch. A run resumed from its last checkpoint therefore ends with
exactly the weights of an uninterrupted run with the same seed (on the same device and software).
"""
from __future__ import annotations

import datetime as _dt
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader

from .callbacks import Callback, Callbacks
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .dataset import ClipDataset, Sample
from .metrics import confusion_matrix, scores


def resolve_device(name: str = "auto") -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; otherwise ``torch.device(name)``.

    Raises ``ValueError`` when CUDA is asked for but not available.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(name)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {name!r} asked for but CUDA is not available here; use --device cpu or auto")
    return dev


def describe_device(device: torch.device) -> str:
    """The device as people read it: ``"cuda:0 (NVIDIA H200)"``, ``"cpu"`` (index resolved for plain ``cuda``)."""
    if device.type != "cuda":
        return str(device)
    index = torch.cuda.current_device() if device.index is None else device.index
    return f"cuda:{index} ({torch.cuda.get_device_name(index)})"


def seed_everything(seed: int) -> None:
    """Seed Python's `random`, numpy's global RNG and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _rng_state() -> dict:
    np_state = np.random.get_state()
    return {"torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "python": random.getstate(),
            "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]]}


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    random.setstate(state["python"])
    name, key, *rest = state["numpy"]
    np.random.set_state((name, key.numpy().astype(np.uint32), *rest))


def _written(path: Path, metadata: dict) -> dict:
    """``{"written": ISO time, "age_s": seconds since}`` of a checkpoint: its metadata ``date``, else the file's
    modification time."""
    try:
        when = _dt.datetime.fromisoformat(str(metadata["date"]))
        if when.tzinfo is None:
            when = when.astimezone()
    except (KeyError, ValueError):
        when = _dt.datetime.fromtimestamp(path.stat().st_mtime).astimezone()
    return {"written": when.isoformat(timespec="seconds"), "age_s": round(time.time() - when.timestamp(), 1)}


def _worker_leaves_stop_signals_to_the_parent(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: the worker ignores SIGTERM and SIGINT.

    A cluster's scheduler (SLURM's ``scancel``, pre-emption, the time limit's warning) and a terminal's Ctrl+C
    signal every process of the job, workers included; a worker killed by it would crash the fold ("DataLoader
    worker (pid …) is killed by signal: Terminated") before the training process could save its checkpoint. The
    training process handles the signal instead (`cmnet_core.train.options.CancelRequest`: stop after the current
    step, write ``last.pt``, exit `EXIT_CANCELLED`) and shuts its workers down itself; a worker whose parent dies
    exits on its own (PyTorch's worker watchdog)."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def epoch_order(labels: Sequence[int], epoch: int, seed: int, class_balanced: bool) -> list[int]:
    """Sample indices for epoch ``epoch`` (0-based), fixed by (seed, epoch) alone.

    Uniform: a permutation. Class-balanced: ``len(labels)`` draws with replacement, P(i) ∝ 1/count(label_i).
    """
    g = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))
    n = len(labels)
    if not class_balanced:
        return torch.randperm(n, generator=g).tolist()
    lab = torch.tensor(labels)
    counts = torch.bincount(lab).float()
    weights = 1.0 / counts[lab]
    return torch.multinomial(weights, n, replacement=True, generator=g).tolist()


@torch.no_grad()
def predict_samples(model: torch.nn.Module, samples: Sequence[Sample], device: torch.device,
                    batch_size: int = 8) -> np.ndarray:
    """Class probabilities (M, C) of ``samples`` (model put in eval mode; softmax of the logits)."""
    return predict_samples_with_intensity(model, samples, device, batch_size)[0]


def predict_samples_with_intensity(model: torch.nn.Module, samples: Sequence[Sample], device: torch.device,
                                   batch_size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities (M, C) and intensity clues k_n (M, N) of ``samples`` in one pass (model put in eval
    mode; softmax of the logits; k_n as `CMNetOutput.intensity`, unitless). Empty input: two (0, 0) arrays."""
    model.eval()
    loader = DataLoader(ClipDataset(samples), batch_size=batch_size, shuffle=False)
    probs, clues = [], []
    with torch.no_grad():
        for frames, _, apex in loader:
            out = model(frames.to(device), apex.to(device))
            probs.append(torch.softmax(out.logits.float(), dim=1).cpu())
            clues.append(out.intensity.float().cpu())
    if not probs:
        return np.zeros((0, 0)), np.zeros((0, 0))
    return torch.cat(probs).numpy(), torch.cat(clues).numpy()


@dataclass
class FitResult:
    """What `Trainer.fit` returns.

    status : ``"finished"`` or ``"cancelled"`` (resume by calling ``fit`` again with the same folder).
    model : the selected CMNet in eval mode (None when cancelled).
    selected_epoch : 1-based epoch of the selected weights.
    history : per-epoch dicts (mean losses, lr, validation scores, oracle test scores).
    oracle_probs : per-epoch test probabilities (E, M, C) when ``oracle`` was on and test samples were given.
    final_path : the checkpoint of the selected model (``final.pt``).
    steps : optimiser steps taken over the whole fit (resumed runs included).
    train_s : wall time of those steps in seconds (loading, augmentation, forward, backward, optimiser; not the
        per-epoch evaluation or checkpoint writing), summed over resumed sessions.
    """

    status: str
    model: torch.nn.Module | None = None
    selected_epoch: int = 0
    history: list[dict] = field(default_factory=list)
    oracle_probs: np.ndarray | None = None
    final_path: Path | None = None
    steps: int = 0
    train_s: float = 0.0

    @property
    def step_s(self) -> float | None:
        """Mean wall time of one optimiser step in seconds (``train_s / steps``); None before any step."""
        return self.train_s / self.steps if self.steps else None


class Trainer:
    """Trains one CMNet (one LOSO fold, a final model, or a fine-tuning run) into a checkpoint folder.

    Parameters
    ----------
    model_cfg : CMNetConfig
    train_cfg : TrainConfig
    labels : class names, index = class id.
    ckpt_dir : folder for ``last.pt`` (every epoch and on cancel, with the full training state), ``best.pt``
        (validation selection) and ``final.pt`` (the selected model). A folder holding ``last.pt`` resumes.
    metadata : extra checkpoint metadata (preprocess settings dict, database, protocol, apex source, ...).
    callbacks : a `Callback` (or `Callbacks`) receiving epoch/step/checkpoint events and asked ``should_cancel``;
        ``on_resume`` when `fit` continues from ``last.pt`` (where, and when that checkpoint was written).
    """

    def __init__(self, model_cfg, train_cfg: TrainConfig, labels: Sequence[str], ckpt_dir: str | Path,
                 metadata: dict | None = None, callbacks: Callback | None = None):
        self.model_cfg = model_cfg
        self.cfg = train_cfg
        self.labels = list(labels)
        self.ckpt_dir = Path(ckpt_dir)
        self.metadata = dict(metadata or {})
        self.cb = callbacks if callbacks is not None else Callbacks()
        self.device = resolve_device(train_cfg.device)
        self.use_amp = bool(train_cfg.amp and self.device.type == "cuda")

    # ---- pieces ---------------------------------------------------------------------------------
    def build_model(self):
        """A freshly initialised CMNet (seeded), on the device; channels-last on CUDA."""
        from cmnet_core.model import CMNet

        seed_everything(self.cfg.seed)
        model = CMNet(self.model_cfg, len(self.labels)).to(self.device)
        if self.device.type == "cuda":
            model = model.to(memory_format=torch.channels_last)
        return model

    def build_optimizer(self, model) -> "torch.optim.Optimizer":
        """The optimiser named by ``TrainConfig.optimizer``: ``"sgd"`` (paper: momentum, weight decay) or
        ``"adam"`` (``torch.optim.Adam`` with ``lr`` and ``weight_decay``; not in the paper)."""
        if self.cfg.optimizer == "adam":
            return torch.optim.Adam(model.parameters(), lr=self.cfg.lr, weight_decay=self.cfg.weight_decay)
        return torch.optim.SGD(model.parameters(), lr=self.cfg.lr, momentum=self.cfg.momentum,
                               weight_decay=self.cfg.weight_decay)

    def _meta(self, extra: dict) -> dict:
        return {**self.metadata, "labels": self.labels, "image_size": self.model_cfg.image_size,
                "num_frames": self.model_cfg.num_frames, "model_config": self.model_cfg.to_dict(),
                "train_config": self.cfg.to_dict(), "seed": self.cfg.seed,
                "preprocess": self.metadata.get("preprocess", {}), **extra}

    def _score(self, model, samples: Sequence[Sample]) -> tuple[dict, np.ndarray]:
        probs = predict_samples(model, samples, self.device, self.cfg.batch_size)
        cm = confusion_matrix([s.label for s in samples], probs.argmax(1), len(self.labels))
        return scores(cm), probs

    # ---- training ---------------------------------------------------------------------------------
    def fit(self, train: Sequence[Sample], val: Sequence[Sample] = (), test: Sequence[Sample] = (),
            init_state: dict | None = None) -> FitResult:
        """Train on ``train``; select by ``val`` when ``selection="val"``; score ``test`` per epoch when ``oracle``.

        init_state : weights to start from (fine-tuning); parameters it lacks (e.g. a new classifier head) keep
            their fresh initialisation; ignored when resuming from ``last.pt``.
        Returns a `FitResult`. Raises `CheckpointError` when ``ckpt_dir`` holds a run with other settings or
        samples, or another process is training in it now (``.fit.lock``: two runs in one folder would both write
        ``last.pt``; the lock goes with its process, so a killed run resumes), ``ValueError`` for an empty training
        set or ``selection="val"`` without validation samples.
        """
        from filelock import FileLock, Timeout

        self.ckpt_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(self.ckpt_dir / ".fit.lock"))
        try:
            lock.acquire(timeout=0)
        except Timeout as exc:
            raise CheckpointError(f"{self.ckpt_dir.parent} is in use: another cmnet process is training in this run "
                                  "folder now. Wait for it to finish (or cancel it), then run the same command to "
                                  "resume; or use a new run folder") from exc
        try:
            return self._fit(train, val, test, init_state)
        finally:
            lock.release()
            Path(lock.lock_file).unlink(missing_ok=True)   # leave the run folder as it was

    def _fit(self, train: Sequence[Sample], val: Sequence[Sample], test: Sequence[Sample],
             init_state: dict | None) -> FitResult:
        """`fit` with the run folder's lock held."""
        from cmnet_core.losses import cmnet_loss
        from cmnet_core.model.augment import ContrastiveAugment, clip_augment

        if not train:
            raise ValueError("no training samples")
        if self.cfg.selection == "val" and not val:
            raise ValueError("selection='val' needs validation samples (subjects held out from training)")
        final_path = self.ckpt_dir / "final.pt"
        # what a resumed run must share with the interrupted one (epochs may grow; device/workers may change)
        recipe = {k: v for k, v in self.cfg.to_dict().items() if k not in ("epochs", "device", "num_workers")}
        identity = {"train_config": recipe, "model_config": self.model_cfg.to_dict(),
                    "labels": self.labels, "train_samples": [f"{s.subject}/{s.name}" for s in train]}
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        else:
            torch.set_flush_denormal(True)  # denormal floats slow CPU LSTM training ~5x (ENVIRONMENT.md)

        model = self.build_model()
        if init_state is not None:
            try:
                unexpected = model.load_state_dict(init_state, strict=False).unexpected_keys
            except RuntimeError as exc:  # shape mismatch
                raise CheckpointError(f"the starting weights do not fit this model: {exc}") from exc
            if unexpected:
                raise CheckpointError(f"the starting weights hold keys this model lacks: {unexpected[:5]}")
        opt = self.build_optimizer(model)
        sched = torch.optim.lr_scheduler.StepLR(opt, step_size=self.cfg.lr_step, gamma=self.cfg.lr_gamma)
        scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp)
        augment = ContrastiveAugment(self.model_cfg)
        st = {"epoch": 0, "step": 0, "sums": {}, "history": [], "best": None, "oracle": [], "steps_done": 0,
              "train_s": 0.0}

        last = self.ckpt_dir / "last.pt"
        resumed: dict | None = None
        if last.exists():
            try:
                ck = load_checkpoint(last, map_location="cpu")  # RNG states must stay CPU tensors
            except CheckpointError as exc:   # a damaged resume file cannot be "re-saved": say how to go on
                raise CheckpointError(f"{exc}. This is the run's resume checkpoint: delete {last} to start this run "
                                      "over (the finished folds and files stay), or use a new run folder") from exc
            ts = ck.train_state or {}
            if ts.get("identity") != identity:
                raise CheckpointError(f"{last} belongs to a run with other settings or samples; use a new run "
                                      "folder (or delete it to start over)")
            model.load_state_dict(ck.state_dict)
            opt.load_state_dict(ts["optimizer"])
            sched.load_state_dict(ts["scheduler"])
            scaler.load_state_dict(ts["scaler"])
            st = {k: ts.get(k, v) for k, v in st.items()}  # steps_done/train_s: absent before they were counted
            _set_rng_state(ts["rng"])
            if final_path.exists() and st["epoch"] >= self.cfg.epochs:
                return self._finished(model, st, final_path, write=False)
            resumed = _written(last, ck.metadata)

        def save_last():
            ts = {"identity": identity, "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                  "scaler": scaler.state_dict(), "rng": _rng_state(), **st}
            path = save_checkpoint(last, model.state_dict(), self._meta({"epoch": st["epoch"]}), train_state=ts)
            self.cb.on_checkpoint(path)

        dataset = ClipDataset(train)
        labels = dataset.labels
        n_steps = (len(train) + self.cfg.batch_size - 1) // self.cfg.batch_size
        if resumed is not None:
            fold = {"fold": self.metadata["fold"]} if self.metadata.get("fold") else {}
            self.cb.on_resume({"checkpoint": last, "epoch": st["epoch"] + 1, "epochs": self.cfg.epochs,
                               "step": st["step"], "steps": n_steps, **resumed, **fold})
        while st["epoch"] < self.cfg.epochs:
            epoch = st["epoch"]
            order = epoch_order(labels, epoch, self.cfg.seed, self.cfg.class_balanced)
            batches = [order[i:i + self.cfg.batch_size] for i in range(0, len(order), self.cfg.batch_size)]
            loader = DataLoader(dataset, batch_sampler=batches[st["step"]:], num_workers=self.cfg.num_workers,
                                pin_memory=self.device.type == "cuda", generator=torch.Generator(),
                                worker_init_fn=_worker_leaves_stop_signals_to_the_parent)
            self.cb.on_epoch_start(epoch + 1, self.cfg.epochs, n_steps)
            model.train()
            mark = time.perf_counter()
            for frames, y, apex in loader:
                frames = frames.to(self.device, non_blocking=True)
                y, apex = y.to(self.device), apex.to(self.device)
                if self.cfg.augment == "clip":
                    frames = clip_augment(frames)
                views = augment(frames) if self.model_cfg.use_id else None
                with torch.autocast(device_type=self.device.type, dtype=torch.float16, enabled=self.use_amp):
                    out = model(frames, apex, views=views)
                    terms = cmnet_loss(out, y, self.model_cfg)
                opt.zero_grad(set_to_none=True)
                scaler.scale(terms.total).backward()
                scaler.step(opt)
                scaler.update()
                losses = terms.as_floats()
                st["step"] += 1
                st["steps_done"] += 1
                st["train_s"] += time.perf_counter() - mark
                for k, v in losses.items():
                    st["sums"][k] = st["sums"].get(k, 0.0) + v * len(y)
                self.cb.on_step(st["step"], n_steps, losses)
                if self.cb.should_cancel():
                    save_last()
                    return FitResult("cancelled", history=list(st["history"]))
                mark = time.perf_counter()
            metrics = {k: v / len(train) for k, v in st["sums"].items()}
            metrics["lr"] = opt.param_groups[0]["lr"]
            sched.step()
            metrics.update(self._epoch_eval(model, val, test, st))
            st["epoch"], st["step"], st["sums"] = epoch + 1, 0, {}
            metrics["epoch"] = st["epoch"]
            st["history"].append(metrics)
            save_last()
            self.cb.on_epoch_end(st["epoch"], metrics)
            if self.cb.should_cancel() and st["epoch"] < self.cfg.epochs:
                return FitResult("cancelled", history=list(st["history"]))
        return self._finished(model, st, final_path)

    def _epoch_eval(self, model, val, test, st) -> dict:
        """Validation scores (and best-so-far bookkeeping) and oracle test scores after one epoch."""
        out = {}
        if self.cfg.selection == "val":
            s, _ = self._score(model, val)
            out.update({f"val_{k}": s[k] for k in ("accuracy", "uf1", "uar")})
            key = s[self.cfg.select_metric]
            if st["best"] is None or key > st["best"]["score"]:
                st["best"] = {"epoch": st["epoch"] + 1, "score": key}
                save_checkpoint(self.ckpt_dir / "best.pt", model.state_dict(),
                                self._meta({"epoch": st["epoch"] + 1}))
        if self.cfg.oracle and test:
            s, probs = self._score(model, test)
            out.update({f"oracle_test_{k}": s[k] for k in ("accuracy", "uf1", "uar")})
            st["oracle"].append(torch.from_numpy(probs))
        return out

    def _finished(self, model, st, final_path: Path, write: bool = True) -> FitResult:
        selected = self.cfg.epochs
        if self.cfg.selection == "val":
            best = load_checkpoint(self.ckpt_dir / "best.pt")
            model.load_state_dict(best.state_dict)
            selected = st["best"]["epoch"]
        if write:
            meta = self._meta({"epoch": selected, "selection": self.cfg.selection,
                               "history": st["history"]})
            save_checkpoint(final_path, model.state_dict(), meta)
            self.cb.on_checkpoint(final_path)
        model.eval()
        oracle = torch.stack(st["oracle"]).numpy() if st["oracle"] else None
        return FitResult("finished", model=model, selected_epoch=selected, history=list(st["history"]),
                         oracle_probs=oracle, final_path=final_path, steps=st["steps_done"],
                         train_s=st["train_s"])
