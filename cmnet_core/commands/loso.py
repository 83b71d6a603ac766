"""``cmnet loso DB [--k-folds K] [--fold F ...] [--model cmnet|baseline] [--with-baseline] | --merge RUN``:
leave-one-subject-out (or subject-grouped k-fold) evaluation of CMNet (or of the difference baseline, or of both on
the same folds) on a database."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..train import options as opt


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``loso`` on the ``cmnet`` subparsers."""
    p = subparsers.add_parser(
        "loso", help="leave-one-subject-out training and evaluation",
        description="One fold per subject: train on the other subjects, test on this one (or, with --k-folds K, K "
                    "folds grouped by subject). Pooled accuracy, UF1, "
                    "UAR and the paper's F1 plus fold-averaged figures go to <run>/metrics.json and metrics.csv. "
                    "Folds can run alone (--fold, with a shared --run-dir) and be merged later (--merge). "
                    f"Exit status {opt.EXIT_CANCELLED} = cancelled (run the same command again to resume).",
        epilog="Checkpoints: one per fold, <run>/folds/<fold>/checkpoints/final.pt (<fold> = the test subject, or "
               "fold1.. with --k-folds), the model trained without that fold's subjects (printed at the end; the "
               "run's top-level checkpoints/ folder stays empty). They "
               "measure the method; for one model to keep, trained on every subject, use cmnet train.")
    p.add_argument("db", nargs="?", help="database root folder (e.g. a tree written by cmnet make-synthetic)")
    p.add_argument("--fold", nargs="+", metavar="FOLD",
                   help="run only these folds: test subjects (LOSO) or fold names fold1.. (--k-folds)")
    p.add_argument("--k-folds", type=int, metavar="K",
                   help="K folds grouped by subject instead of one per subject: subjects sorted by name in natural "
                        "order (s2 before s10), fold i (fold1..foldK) tests the subjects whose 0-based rank r has "
                        "r mod K = i-1; 2 <= K <= subjects (default: LOSO)")
    p.add_argument("--merge", metavar="RUN", help="only pool the finished folds of run folder RUN")
    p.add_argument("--list-subjects", action="store_true",
                   help="print the fold names (the subjects in LOSO; fold1..foldK with --k-folds), one per line, "
                        "and exit (for job arrays)")
    opt.add_database_arguments(p)
    opt.add_model_kind_arguments(p)
    opt.add_model_arguments(p)
    opt.add_train_arguments(p, oracle=True)
    opt.add_run_arguments(p)
    p.set_defaults(func=run)
    return p


def fold_checkpoints(run_dir: Path) -> dict[str, str]:
    """Fold name (the test subject in LOSO) → ``folds/<fold>/checkpoints/final.pt`` (finished folds only)."""
    return {p.parents[1].name: str(p) for p in sorted(Path(run_dir).glob("folds/*/checkpoints/final.pt"))}


def fold_baselines(run_dir: Path) -> dict[str, str]:
    """Fold name → its fitted baseline ``folds/<fold>/baseline.json`` (finished folds only)."""
    return {p.parent.name: str(p) for p in sorted(Path(run_dir).glob("folds/*/baseline.json"))}


def _report(args, summary, run_dir: Path, comparison: dict | None = None) -> None:
    from ..train.comparison import comparison_table
    from ..train.loso import summary_table

    baseline = summary.get("model_kind") == "baseline"
    fold, its = ("<fold>", "its test subjects") if summary.get("split") == "k-fold" else ("<subject>", "its subject")
    checkpoints = fold_baselines(run_dir) if baseline else fold_checkpoints(run_dir)
    if args.progress == "jsonl":
        print(json.dumps({"event": "summary", "model_kind": summary.get("model_kind", "cmnet"),
                          "pooled": summary["pooled"], "fold_averaged": summary["fold_averaged"],
                          "complete": summary["complete"], "fold_checkpoints": checkpoints,
                          **({"comparison": comparison["rows"]} if comparison else {})}), flush=True)
    opt.say(args, summary_table(summary))
    example = next(iter(checkpoints.values()), "-")
    if baseline:
        opt.say(args, f"fold baselines ({len(checkpoints)}): {Path(run_dir) / 'folds' / fold}/baseline.json "
                      f"(JSON, DifferenceBaseline.load), each fitted without {its} (e.g. {example})")
    else:
        opt.say(args, f"fold checkpoints ({len(checkpoints)}): {Path(run_dir) / 'folds' / fold / 'checkpoints'}"
                      f"/final.pt, each trained without {its} (e.g. {example})")
    if comparison:
        opt.say(args, comparison_table(comparison))
        opt.say(args, f"comparison written: {Path(run_dir) / 'comparison.json'}, comparison.csv")


def run(args: argparse.Namespace) -> int:
    """Run the folds (or merge); 0 done, 2 bad input, `EXIT_CANCELLED` cancelled."""
    from ..data.clip import ClipError
    from ..model.backbones import BackboneWeightsError, check_pretrained
    from ..data.database import DatabaseError
    from ..preprocess.errors import PreprocessError
    from ..train.checkpoint import CheckpointError
    from ..train.comparison import merge_with_baseline
    from ..train.loso import LosoError, run_folds, run_loso
    from ..train.runs import new_run_dir

    try:
        if args.merge:
            summary, comparison = merge_with_baseline(args.merge)
            _report(args, summary, Path(args.merge), comparison)
            opt.say(args, f"written: {args.merge}/metrics.json, metrics.csv, per_class.csv")
            return 0
        if not args.db:
            print("cmnet loso: give a database folder (or --merge RUN)", file=sys.stderr)
            return 2
        db = opt.open_db(args)
        _, folds = run_folds(db.subjects(), args.k_folds)  # LosoError for a bad K, before any work
        if args.list_subjects:
            print("\n".join(folds))
            return 0
        if args.with_baseline and args.model == "baseline":
            print("cmnet loso: --with-baseline runs the baseline beside CMNet; with --model baseline leave it out",
                  file=sys.stderr)
            return 2
        mc, tc, settings = opt.configs(args, db.name)
        # the backbone weights are checked before any preprocessing or run folder (a bad file fails at once)
        check_pretrained(mc.backbone, mc.pretrained, mc.small_widths, mc.image_size)
        if args.run_dir:
            run_dir = Path(args.run_dir)
            (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        else:
            split = f"kfold{args.k_folds}" if args.k_folds else "loso"
            default = f"{split}-{db.name}" if args.model == "cmnet" else f"{split}-baseline-{db.name}"
            run_dir = new_run_dir(args.runs, args.name or default)
        opt.say(args, opt.preset_line(args.preset_choice))
        if args.model == "baseline":
            opt.say(args, f"model: baseline (logistic regression on the apex - onset difference at 16x16); the preset "
                          f"only sets preprocessing: {settings.image_size} px, N = {settings.num_frames}")
        opt.say(args, f"run folder: {run_dir}")
        summary = run_loso(db, run_dir, mc, tc, settings, folds=args.fold, callbacks=opt.callbacks(args, run_dir),
                           cache=opt.make_cache(args), extra={"preset": args.preset_choice}, model=args.model,
                           with_baseline=args.with_baseline, k_folds=args.k_folds)
    except (BackboneWeightsError, DatabaseError, LosoError, CheckpointError, PreprocessError, ClipError, ValueError,
            OSError) as exc:
        print(f"cmnet loso: {exc}", file=sys.stderr)
        return 2
    if summary is None:
        opt.say(args, f"cancelled; run the same command with --run-dir {run_dir} to resume")
        return opt.EXIT_CANCELLED
    _report(args, summary, run_dir, summary.get("comparison"))
    return 0
