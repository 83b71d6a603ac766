#!/usr/bin/env python
"""Fidelity benchmark: does CMNet learn the label and an intensity curve that follows the expression, on faces
it has never seen? Trains on synthetic identities, scores unseen identities, beside baselines that use no deep
model. Prints ONE JSON line; with ``--markdown FILE`` also writes the tables quoted by the README.

    .venv/bin/python scripts/bench_fidelity.py --markdown docs/fidelity.md   # everything (~35 min on 2 cores)
    .venv/bin/python scripts/bench_fidelity.py --conditions demo --no-ablation   # one condition

Conditions are the generator's recipes (`cmnet_core.data.synthetic.SYNTHETIC_RECIPES`, also
``cmnet make-synthetic --recipe``): ``demo`` (exaggerated motion), ``realistic`` (1.5-5 px at 224 px),
``hard`` (realistic plus head motion, blinks, flicker, noise), ``real_texture`` (real face photographs warped
by AU-shaped fields; train and test faces are different people). Per condition and model: accuracy, UF1 (macro F1),
per-clip Spearman ρ(k_n, true intensity) median and IQR, apex error |frame of argmax k_n − true apex| in source
frames (median) and in sampled positions, and the cross-clip calibration (Spearman over clips between the
clip-level intensity and the true amplitude). Baselines on the same clips: logistic regression on the 16×16
area-downsampled apex − onset difference (labels), the onset..offset midpoint and the frame-difference peak
(apex). Seeds are fixed; training identities (seed ``--train-seed``) and test identities (``--test-seed``) differ.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cmnet_core.data.synthetic import (SYNTHETIC_LABELS, SYNTHETIC_RECIPES, FaceIdentity,  # noqa: E402
                                       make_synthetic_clip, synthetic_clip_specs)
from cmnet_core.data.real_texture import real_texture_clip_specs, split_persons, texture_clips  # noqa: E402
from cmnet_core.model import CMNetConfig  # noqa: E402
from cmnet_core.preprocess.types import PreprocessSettings  # noqa: E402
from cmnet_core.train import fidelity as fid  # noqa: E402
from cmnet_core.train.config import AUGMENTS, PRESET_TRAINING, TrainConfig  # noqa: E402
from cmnet_core.train.dataset import preprocess_clips  # noqa: E402
from cmnet_core.train.metrics import confusion_matrix, scores  # noqa: E402
from cmnet_core.train.trainer import Trainer  # noqa: E402

RENDER_SIZE = 128


def condition_clips(recipe: str, n_subjects: int, clips_per_class: int, seed: int, part: str = "train"):
    """Synthetic clips of ``n_subjects`` identities under one recipe (rendered at 128 px). ``real_texture``
    draws ``part`` ("train" or "test") faces from disjoint people of the face bank (`split_persons`)."""
    r = SYNTHETIC_RECIPES[recipe]
    if r.generator == "real_texture":
        persons = dict(zip(("train", "test"), split_persons()))[part]
        return texture_clips(real_texture_clip_specs(n_subjects, clips_per_class, seed, persons), RENDER_SIZE,
                             distractors=r.distractors, amplitude_range=r.amplitude_range)
    specs = synthetic_clip_specs(n_subjects=n_subjects, clips_per_class=clips_per_class, seed=seed)
    return [make_synthetic_clip(sp["seed"], sp["label"], sp["subject"], name=sp["name"],
                                identity=FaceIdentity.random(sp["identity_seed"]), image_size=RENDER_SIZE,
                                distractors=r.distractors, amplitude_range=r.amplitude_range) for sp in specs]


def prepare(clips, image_size: int, num_frames: int):
    settings = PreprocessSettings(image_size=image_size, num_frames=num_frames, landmarks="hint")
    return preprocess_clips(clips, list(SYNTHETIC_LABELS), settings)


def train_model(cfg: CMNetConfig, tcfg: TrainConfig, samples):
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = Trainer(cfg, tcfg, list(SYNTHETIC_LABELS), tmp).fit(samples)
        return result.model, time.perf_counter() - t0, result.history


@torch.no_grad()
def model_outputs(model, samples, batch: int = 16):
    model.eval()
    probs, ks = [], []
    for i in range(0, len(samples), batch):
        part = samples[i:i + batch]
        frames = torch.stack([s.clip.to_tensor() for s in part])
        apex = torch.tensor([s.clip.apex_position for s in part])
        out = model(frames, apex)
        probs.append(torch.softmax(out.logits, 1).numpy())
        ks.append(out.intensity.numpy())
    return np.concatenate(probs), np.concatenate(ks)


def label_scores(labels, probs) -> dict:
    s = scores(confusion_matrix(labels, probs.argmax(1), len(SYNTHETIC_LABELS)))
    return {"accuracy": round(float(s["accuracy"]), 4), "uf1": round(float(s["uf1"]), 4)}


def quartiles(values) -> dict:
    q1, med, q3 = np.percentile(values, [25, 50, 75])
    return {"median": round(float(med), 4), "iqr": [round(float(q1), 4), round(float(q3), 4)]}


def intensity_report(ks, test, clips) -> dict:
    rho, err_frames, err_pos, change, amp = [], [], [], [], []
    for k, s, clip in zip(ks, test, clips):
        truth = fid.true_intensity_at(clip, s.clip.frame_map)
        rho.append(fid.intensity_spearman(k, truth))
        peak = int(np.argmax(k))
        err_frames.append(fid.apex_error_frames(peak, s.clip, clip.annotation.apex))
        err_pos.append(abs(peak - s.clip.apex_position))
        change.append(fid.apex_change(clip, s.clip, peak))
        amp.append(clip.true_amplitude_px)
    return {"rho": quartiles(rho), "apex_error_frames": quartiles(err_frames),
            "apex_error_positions_median": float(np.median(err_pos)),
            "calibration_spearman": round(float(fid.intensity_spearman(np.array(change), np.array(amp))), 4)}


def apex_baselines(test, clips, train) -> dict:
    """Apex errors of the guesses that use no model: the midpoint, the frame-difference peak, and the constant
    position that the training clips' apexes favour most (their median position; DESIGN.md §7's "position 7")."""
    constant = int(np.median([s.clip.apex_position for s in train]))
    out = {}
    for name, fn in (("midpoint", fid.midpoint_position), ("frame_difference", fid.frame_difference_apex),
                     ("constant", lambda _pre: constant)):
        frames = [fid.apex_error_frames(fn(s.clip), s.clip, c.annotation.apex) for s, c in zip(test, clips)]
        pos = [abs(fn(s.clip) - s.clip.apex_position) for s in test]
        out[name] = {"apex_error_frames_median": float(np.median(frames)),
                     "apex_error_positions_median": float(np.median(pos))}
    return out


def run_condition(recipe: str, args, variants: dict[str, CMNetConfig]) -> dict:
    t0 = time.perf_counter()
    train_clips = condition_clips(recipe, args.train_subjects, args.clips_per_class, args.train_seed)
    test_clips = condition_clips(recipe, args.test_subjects, args.clips_per_class, args.test_seed, "test")
    size = next(iter(variants.values())).image_size
    n = next(iter(variants.values())).num_frames
    train, test = prepare(train_clips, size, n), prepare(test_clips, size, n)
    y_test = [s.label for s in test]
    base = fid.DifferenceBaseline().fit([s.clip for s in train], [s.label for s in train])
    report = {"condition": recipe, "train_clips": len(train), "test_clips": len(test),
              "test_identities": args.test_subjects, "prepare_s": round(time.perf_counter() - t0, 1),
              "baseline_logreg": label_scores(y_test, base.predict_proba([s.clip for s in test], 4)),
              "apex_baselines": apex_baselines(test, test_clips, train), "models": {}}
    prepared = {(size, n): (train, test)}  # variants at another size or N get their own crops of the same clips
    for name, cfg in variants.items():
        key = (cfg.image_size, cfg.num_frames)
        if key not in prepared:
            prepared[key] = prepare(train_clips, *key), prepare(test_clips, *key)
        train, test = prepared[key]
        runs = []
        for seed in args.seeds:
            tcfg = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, optimizer="adam", lr=args.lr,
                               lr_step=10_000, seed=seed, device=args.device, amp=False,
                               augment=args.augment)
            model, secs, history = train_model(cfg, tcfg, train)
            probs, ks = model_outputs(model.cpu(), test)
            steps = len(history) * -(-len(train) // args.batch_size)
            runs.append({"seed": seed, "train_s": round(secs, 1), "step_s": round(secs / steps, 3),
                         "final_l_c": round(history[-1]["l_c"], 4), **label_scores(y_test, probs),
                         **intensity_report(ks, test, test_clips)})
            print(json.dumps({"progress": recipe, "model": name, **runs[-1]}), file=sys.stderr, flush=True)
        report["models"][name] = summarise_runs(runs)
    return report


def summarise_runs(runs: list[dict]) -> dict:
    """One model's seeds: the runs and their means (accuracy, UF1 with its standard deviation and range, apex
    error in frames, ρ median), so a seed's luck is visible (one seed moves UF1 by up to 6 points on real data)."""
    uf1 = np.array([r["uf1"] for r in runs])
    return {"runs": runs, "seeds": len(runs),
            "accuracy_mean": round(float(np.mean([r["accuracy"] for r in runs])), 4),
            "uf1_mean": round(float(uf1.mean()), 4), "uf1_sd": round(float(uf1.std(ddof=1)) if len(runs) > 1 else 0.0, 4),
            "uf1_range": [round(float(uf1.min()), 4), round(float(uf1.max()), 4)],
            "apex_error_frames_mean": round(float(np.mean([r["apex_error_frames"]["median"] for r in runs])), 3),
            "apex_error_positions_mean": round(float(np.mean([r["apex_error_positions_median"] for r in runs])), 3),
            "rho_median_mean": round(float(np.mean([r["rho"]["median"] for r in runs])), 4),
            "step_s_mean": round(float(np.mean([r["step_s"] for r in runs])), 3)}


def merge_lines(lines: list[dict]) -> dict:
    """Merge the JSON lines of several runs of this script (e.g. one per condition and seed, run in parallel)
    into one: per condition, the runs of each model are pooled and summarised again. The baselines of a
    condition must agree (same clips); raises ``ValueError`` when they differ or settings differ."""
    keys = ("preset", "overrides", "epochs")  # threads and device change the speed, not the method
    for line in lines[1:]:
        if any(line[k] != lines[0][k] for k in keys):
            raise ValueError(f"cannot merge runs with different settings ({', '.join(keys)})")
    by_cond: dict[str, dict] = {}
    for line in lines:
        for c in line["conditions"]:
            merged = by_cond.setdefault(c["condition"], {**c, "models": {}})
            if c["baseline_logreg"] != merged["baseline_logreg"]:
                raise ValueError(f"condition {c['condition']}: the runs were made on different clips")
            for name, m in c["models"].items():  # a seed run twice (e.g. by an ablation job too) counts once
                seen = {r["seed"] for r in merged["models"].setdefault(name, [])}
                merged["models"][name].extend(r for r in m["runs"] if r["seed"] not in seen)
    for c in by_cond.values():
        c["models"] = {name: summarise_runs(sorted(runs, key=lambda r: r["seed"])) for name, runs in c["models"].items()}
    seeds = sorted({s for line in lines for s in line["seeds"]})
    threads = sorted({line["threads"] for line in lines})
    devices = sorted({line.get("device") or "cpu" for line in lines})
    return {**{k: lines[0][k] for k in ("benchmark",) + keys}, "seeds": seeds,
            "threads": threads[0] if len(threads) == 1 else threads,
            "device": devices[0] if len(devices) == 1 else devices,
            "wall_s": round(sum(line["wall_s"] for line in lines), 1), "merged_from": len(lines),
            "conditions": list(by_cond.values())}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].strip(),
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--conditions", nargs="+", default=list(SYNTHETIC_RECIPES), choices=list(SYNTHETIC_RECIPES),
                   help="generator recipes to score (cmnet make-synthetic --recipe)")
    p.add_argument("--train-subjects", type=int, default=32, help="synthetic identities to train on")
    p.add_argument("--test-subjects", type=int, default=8, help="unseen identities to score")
    p.add_argument("--clips-per-class", type=int, default=2, help="clips per class and identity")
    p.add_argument("--train-seed", type=int, default=100, help="generator seed of the training clips")
    p.add_argument("--test-seed", type=int, default=200, help="generator seed of the test clips (other faces)")
    train_defaults = PRESET_TRAINING["cpu"]
    p.add_argument("--epochs", type=int, default=train_defaults["epochs"], help="training epochs")
    p.add_argument("--batch-size", type=int, default=train_defaults["batch_size"], help="clips per step")
    p.add_argument("--lr", type=float, default=train_defaults["lr"], help="Adam learning rate")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="training seeds (one model per seed)")
    p.add_argument("--preset", default="cpu", help="CMNetConfig preset of the main model")
    p.add_argument("--augment", default="clip", choices=AUGMENTS, help="training augmentation")
    p.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                   help="CMNetConfig overrides for the main model (JSON values), e.g. image_size=48")
    p.add_argument("--variant", nargs="+", action="append", default=[], metavar="NAME FIELD=VALUE",
                   help="an extra model on every condition: a name, then CMNetConfig overrides of the main model "
                        "(repeatable), e.g. --variant ctx5 intensity_context=5")
    p.add_argument("--ablation", nargs="+", default=["realistic"],
                   help="conditions of the tendency x input x readout ablation")
    p.add_argument("--no-ablation", action="store_true", help="main model only (no ablation variants)")
    p.add_argument("--markdown", help="also write the tables to this markdown file")
    p.add_argument("--threads", type=int, default=2, help="torch intra-op threads")
    p.add_argument("--device", default="cpu", help="training device (cpu, cuda); scoring runs on the CPU")
    p.add_argument("--merge", nargs="+", metavar="FILE",
                   help="only merge the JSON lines these earlier runs printed (e.g. one per condition and seed) "
                        "into one line (and --markdown)")
    args = p.parse_args(argv)
    if args.merge:
        lines = [json.loads(Path(f).read_text(encoding="utf-8").strip().splitlines()[-1]) for f in args.merge]
        line = merge_lines(lines)
        print(json.dumps(line))
        if args.markdown:
            Path(args.markdown).write_text(markdown(line), encoding="utf-8")
        return 0
    torch.set_num_threads(args.threads)
    overrides = parse_overrides(args.set)
    main_cfg = CMNetConfig.preset(args.preset, **overrides)
    extra = {f"{args.preset}+{v[0]}": main_cfg.replace(**parse_overrides(v[1:])) for v in args.variant}
    t0 = time.perf_counter()
    results = []
    for cond in args.conditions:
        variants = {f"{args.preset}": main_cfg, **extra}
        if cond in args.ablation and not args.no_ablation:
            for inp in ("onset_diff", "frames"):
                for tl in ("both", "position", "wrst", "none"):
                    key = f"{args.preset}:{inp}:{tl}"
                    if (inp, tl) != (main_cfg.input, main_cfg.tendency_loss):
                        variants[key] = main_cfg.replace(input=inp, tendency_loss=tl)
            for readout in ("last", "k_attention", "apex_attention"):
                if readout != main_cfg.readout:
                    variants[f"{args.preset}:readout={readout}"] = main_cfg.replace(readout=readout)
        results.append(run_condition(cond, args, variants))
    line = {"benchmark": "fidelity", "preset": args.preset, "overrides": overrides, "epochs": args.epochs,
            "seeds": args.seeds, "threads": args.threads, "device": args.device, "wall_s": round(time.perf_counter() - t0, 1),
            "conditions": results}
    print(json.dumps(line))
    if args.markdown:
        Path(args.markdown).write_text(markdown(line), encoding="utf-8")
    return 0


def parse_overrides(items) -> dict:
    """``["image_size=48", "backbone=linear", "small_widths=[16,32,64,64]"]`` -> CMNetConfig overrides (JSON
    values, bare words as strings, lists as tuples)."""
    out = {}
    for item in items:
        key, value = item.split("=", 1)
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return {k: tuple(v) if isinstance(v, list) else v for k, v in out.items()}


def markdown(line: dict) -> str:
    """The benchmark's tables as markdown (written by ``--markdown``)."""
    out = [f"# Fidelity benchmark (`scripts/bench_fidelity.py`)\n",
           f"Preset `{line['preset']}` {line['overrides'] or ''}, {line['epochs']} epochs, seeds {line['seeds']}, "
           f"{line['threads']} threads, device {line.get('device') or 'cpu'}, wall {line['wall_s']:.0f} s. "
           "Unseen identities only.\n", "## Summary: the main model (mean over seeds) against the baselines\n",
           "| condition | baseline UF1 | model UF1 mean ± sd [min, max] | apex error k_n (frames, mean of "
           "medians) | midpoint | constant position | frame difference | ρ median (mean) | step s |",
           "|---|---|---|---|---|---|---|---|---|"]
    for c in line["conditions"]:
        m = c["models"][line["preset"]]
        ab = c["apex_baselines"]
        out.append(f"| {c['condition']} | {c['baseline_logreg']['uf1']:.3f} | {m['uf1_mean']:.3f} ± {m['uf1_sd']:.3f} "
                   f"[{m['uf1_range'][0]:.3f}, {m['uf1_range'][1]:.3f}] | {m['apex_error_frames_mean']:.2f} | "
                   f"{ab['midpoint']['apex_error_frames_median']:.1f} | {ab['constant']['apex_error_frames_median']:.1f} | "
                   f"{ab['frame_difference']['apex_error_frames_median']:.1f} | {m['rho_median_mean']:.3f} | "
                   f"{m['step_s_mean']:.3f} |")
    conds = [c["condition"] for c in line["conditions"]]
    out += ["", "## Every model (mean over seeds): UF1 ± sd / apex error of the k_n peak, frames\n",
            "| model | " + " | ".join(conds) + " |", "|---|" + "---|" * len(conds)]
    names = list(dict.fromkeys(n for c in line["conditions"] for n in c["models"]))
    for name in names:
        cells = []
        for c in line["conditions"]:
            m = c["models"].get(name)
            cells.append("—" if m is None else f"{m['uf1_mean']:.3f} ± {m['uf1_sd']:.3f} / {m['apex_error_frames_mean']:.1f}"
                         f" ({m['seeds']} seeds)")
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    out.append("| baseline (logistic regression) UF1 / midpoint apex error | " + " | ".join(
        f"{c['baseline_logreg']['uf1']:.3f} / {c['apex_baselines']['midpoint']['apex_error_frames_median']:.1f}"
        for c in line["conditions"]) + " |")
    out += ["", "## Every run\n",
           "| condition | model | acc | UF1 | ρ(k_n, truth) median [IQR] | apex error, frames (median) | "
           "calibration ρ over clips | train s |", "|---|---|---|---|---|---|---|---|"]
    for c in line["conditions"]:
        b = c["baseline_logreg"]
        out.append(f"| {c['condition']} | logistic regression, apex − onset 16×16 | {b['accuracy']:.3f} | "
                   f"{b['uf1']:.3f} | — | — | — | — |")
        for name, ab in c["apex_baselines"].items():
            out.append(f"| {c['condition']} | apex baseline: {name} | — | — | — | "
                       f"{ab['apex_error_frames_median']:.1f} | — | — |")
        for name, m in c["models"].items():
            for r in m["runs"]:
                out.append(f"| {c['condition']} | {name} (seed {r['seed']}) | {r['accuracy']:.3f} | {r['uf1']:.3f} | "
                           f"{r['rho']['median']:.3f} [{r['rho']['iqr'][0]:.2f}, {r['rho']['iqr'][1]:.2f}] | "
                           f"{r['apex_error_frames']['median']:.1f} | {r['calibration_spearman']:.3f} | "
                           f"{r['train_s']:.0f} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
