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
    p.add_argument("--merge", metavar="RUN",
                   help="only pool the finished folds of run folder RUN (and of RUN/baseline with the comparison, "
                        "when RUN holds one; --with-baseline then checks that it does)")
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


#: ``cmnet loso`` options that do not define a run (which folds this invocation runs, where it writes, how it
#: reports, how fast it loads, the cluster submission): left out of the recorded command (`run_options`).
_NOT_RUN_OPTIONS = ("help", "db", "fold", "merge", "list_subjects", "run_dir", "runs", "name", "progress",
                    "cancel_file", "workers", "slurm", "gpus", "cpus", "mem", "time", "partition", "account", "qos",
                    "sbatch_arg", "dry_run", "func")
#: Options naming files or folders: recorded as absolute paths, so the command works from any folder.
_PATH_OPTIONS = ("sheet", "cache", "pretrained")


def run_options(args: argparse.Namespace) -> list[str]:
    """The options of this ``cmnet loso`` invocation that define the run, as command-line words in the parser's
    order (e.g. ``["--k-folds", "2", "--epochs", "1"]``): every option whose value differs from its default,
    except `_NOT_RUN_OPTIONS`; ``--sheet``, ``--cache`` and an existing ``--pretrained`` file made absolute.
    Every fold of a run and the SLURM batch script use these words (with ``--fold`` / ``--run-dir`` added)."""
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    loso = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices["loso"]
    words: list[str] = []
    for action in loso._actions:
        if not action.option_strings or action.dest in _NOT_RUN_OPTIONS:
            continue
        value = getattr(args, action.dest, action.default)
        if value is None or value == action.default:
            continue
        flag = action.option_strings[-1] if action.option_strings[-1].startswith("--") else action.option_strings[0]
        if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
            words.append(flag)
            continue
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if action.dest in _PATH_OPTIONS:
            values = [str(Path(v).absolute()) if v != "off" and (action.dest != "pretrained" or Path(v).exists())
                      else v for v in values]
        words += [flag, *map(str, values)]
    return words


def run_command(args: argparse.Namespace) -> dict:
    """config.json's ``command``: ``{"db": the database folder (absolute), "options": run_options(args)}``; a
    partial merge prints it back as the command that runs the missing folds (`missing_folds_commands`)."""
    return {"db": str(Path(args.db).absolute()), "options": run_options(args)}


def _merge(args) -> int:
    """``--merge RUN``: pool RUN's folds (and RUN/baseline's, with the comparison). With ``--with-baseline`` RUN
    must be a CMNet run holding a baseline run with finished folds (else refused, nothing written). Returns 0 when
    every fold (and every baseline fold) is there, `EXIT_INCOMPLETE` when some are missing: the partial table is
    written, marked partial, and the command that runs exactly the missing folds is printed."""
    from ..train.comparison import BASELINE_DIR, merge_with_baseline
    from ..train.loso import LosoError, check_loso_config, merge, model_kind
    from ..train.runs import read_json

    run_dir = Path(args.merge)
    if args.with_baseline:
        merge_cmd = f"cmnet loso --merge {run_dir}"
        if not (run_dir / "config.json").is_file():
            merge(run_dir)  # refused: not a run folder
        config = read_json(run_dir / "config.json", fix="restore it, or re-run the folds into a new run folder")
        check_loso_config(run_dir, config)
        if model_kind(config) == "baseline":
            raise LosoError(f"{run_dir} is a baseline run; --with-baseline is for a CMNet run with the baseline "
                            f"beside it ({run_dir}/{BASELINE_DIR}/); merge this run with {merge_cmd}")
        bdir = run_dir / BASELINE_DIR
        if not any(bdir.glob("folds/*/result.json")):
            raise LosoError(f"{run_dir} holds no finished baseline folds ({bdir}/folds/*/result.json), so there is "
                            f"nothing to compare; --merge does not train: run the baseline folds with cmnet loso DB "
                            f"--with-baseline --run-dir {run_dir} (same options as the CMNet folds), or merge "
                            f"without --with-baseline")
        merge(bdir)  # a damaged or foreign baseline/ is refused here, not skipped
    summary, comparison = merge_with_baseline(run_dir)
    _report(args, summary, run_dir, comparison)
    opt.say(args, f"written: {run_dir}/metrics.json, metrics.csv, per_class.csv")
    missing = list(summary["folds_missing"])
    if comparison is not None:
        missing += [f"baseline:{f}" for f in summary["folds"] if f not in comparison["folds"]["baseline"]
                    and f not in summary["folds_missing"]]
    if missing:
        from ..train.loso import missing_folds_commands

        config = read_json(run_dir / "config.json")
        commands = missing_folds_commands(run_dir, config, [m.removeprefix("baseline:") for m in missing])
        print(f"cmnet loso: PARTIAL result: {len(missing)} fold(s) missing ({', '.join(missing)}); the tables are "
              f"marked partial. Run the missing folds, then merge again:\n  " + "\n  ".join(commands)
              + f"\n(exit status {opt.EXIT_INCOMPLETE}: incomplete)", file=sys.stderr)
        return opt.EXIT_INCOMPLETE
    return 0


def _remove_if_new(run_dir: Path | None, existed: bool) -> None:
    """Remove the run folder of a refused run when this command created it and nothing was trained in it."""
    import shutil

    from ..train.loso import run_created_nothing

    if run_dir is not None and not existed and run_dir.is_dir() and run_created_nothing(run_dir):
        shutil.rmtree(run_dir, ignore_errors=True)


def run(args: argparse.Namespace) -> int:
    """Run the folds (or merge); 0 done, 2 bad input, `EXIT_CANCELLED` cancelled.

    Before anything is written: the database, the split and fold names, the backbone weights and the run folder
    (`check_run_dir`: not the database folder, not another tool's or a ``cmnet train`` run's folder, no damaged
    run file). A run refused later (e.g. by `run_loso`'s checks) removes the run folder when this command created
    it and no fold trained anything; a folder that existed before is never removed. CMNet folds whose training
    clips hold one class are printed as a warning before training."""
    from ..data.clip import ClipError
    from ..model.backbones import BackboneWeightsError, check_pretrained
    from ..data.database import DatabaseError
    from ..preprocess.errors import PreprocessError
    from ..train.checkpoint import CheckpointError
    from ..train.loso import LosoError, check_run_dir, one_class_folds, one_class_message, run_folds, run_loso
    from ..train.runs import new_run_dir

    run_dir, existed = None, True
    try:
        if args.merge:
            return _merge(args)
        if not args.db:
            print("cmnet loso: give a database folder (or --merge RUN)", file=sys.stderr)
            return 2
        db = opt.open_db(args)
        if not db.clips:
            raise DatabaseError(db.no_clips_message())
        split, folds = run_folds(db.subjects(), args.k_folds)  # LosoError for a bad K, before any work
        if args.list_subjects:
            print("\n".join(folds))
            return 0
        if args.with_baseline and args.model == "baseline":
            print("cmnet loso: --with-baseline runs the baseline beside CMNet; with --model baseline leave it out",
                  file=sys.stderr)
            return 2
        unknown = [f for f in args.fold or [] if f not in folds]
        if unknown:
            what = "subject(s)" if split == "loso" else "fold(s)"
            raise LosoError(f"unknown {what} {', '.join(unknown)}; the {split} split has {', '.join(folds)}")
        mc, tc, settings = opt.configs(args, db.name)
        # the backbone weights are checked before any preprocessing or run folder (a bad file fails at once)
        check_pretrained(mc.backbone, mc.pretrained, mc.small_widths, mc.image_size)
        if args.model == "cmnet" and not args.with_baseline:  # the baseline's case is refused by run_loso
            val = tc.val_subjects if tc.selection == "val" else 0
            for name, (tests, classes) in one_class_folds(db.clips, folds, args.fold or list(folds), val,
                                                          tc.seed).items():
                print("WARNING: " + one_class_message(name, tests, classes, "a model trained on one class predicts "
                                                      "that class for every clip, so this fold measures nothing"),
                      file=sys.stderr)
        if args.run_dir:
            run_dir = Path(args.run_dir)
            check_run_dir(run_dir, db.root)
            existed = run_dir.exists()
            (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
        else:
            existed = False
            split = f"kfold{args.k_folds}" if args.k_folds else "loso"
            default = f"{split}-{db.name}" if args.model == "cmnet" else f"{split}-baseline-{db.name}"
            run_dir = new_run_dir(args.runs, args.name or default)
        opt.say(args, opt.preset_line(args.preset_choice))
        if args.model == "baseline":
            opt.say(args, f"model: baseline (logistic regression on the apex - onset difference at 16x16); the preset "
                          f"only sets preprocessing: {settings.image_size} px, N = {settings.num_frames}")
        opt.say(args, f"run folder: {run_dir}")
        summary = run_loso(db, run_dir, mc, tc, settings, folds=args.fold, callbacks=opt.callbacks(args, run_dir),
                           cache=opt.make_cache(args), extra={"preset": args.preset_choice, "command": run_command(args)}, model=args.model,
                           with_baseline=args.with_baseline, k_folds=args.k_folds)
    except (BackboneWeightsError, DatabaseError, LosoError, CheckpointError, PreprocessError, ClipError, ValueError,
            OSError) as exc:
        _remove_if_new(run_dir, existed)
        print(f"cmnet loso: {exc}", file=sys.stderr)
        return 2
    if summary is None:
        opt.say(args, f"cancelled; run the same command with --run-dir {run_dir} to resume")
        return opt.EXIT_CANCELLED
    _report(args, summary, run_dir, summary.get("comparison"))
    return 0
