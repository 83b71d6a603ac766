"""``cmnet loso DB [--k-folds K] [--fold F ...] [--model cmnet|baseline] [--with-baseline] | --merge RUN``:
leave-one-subject-out (or subject-grouped k-fold) evaluation of CMNet (or of the difference baseline, or of both on
the same folds) on a database."""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from ..train import options as opt
from ..train.callbacks import JsonlPrinter
from ..train.runs import RunFolder


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``loso`` on the ``cmnet`` subparsers."""
    p = subparsers.add_parser(
        "loso", help="leave-one-subject-out training and evaluation",
        description="One fold per subject: train on the other subjects, test on this one (or, with --k-folds K, K "
                    "folds grouped by subject). Pooled accuracy, UF1, "
                    "UAR and the paper's F1 plus fold-averaged figures go to <run>/metrics.json and metrics.csv. "
                    "Folds can run alone (--fold, with a shared --run-dir) and be merged later (--merge). "
                    f"Exit status {opt.EXIT_CANCELLED} = cancelled (run the same command again to resume); "
                    f"--merge: {opt.EXIT_INCOMPLETE} = folds missing (partial table, marked; the command for the "
                    "missing folds is printed). --slurm submits the folds to a SLURM cluster.",
        epilog="Fold models: by default a fold keeps its predictions, probabilities, scores and the test clips' "
               "intensity clues (<run>/folds/<fold>/result.json; all clips in <run>/intensity.csv) and removes its "
               "checkpoints when it ends, so a run stays small (a ResNet-18 CMNet is ~99 MB per fold). "
               "--keep-fold-models keeps each fold's model as <run>/folds/<fold>/checkpoints/final.pt in float16 "
               "(<fold> = the test subject, or fold1.. with --k-folds). Fold models measure the method; for one "
               "model to keep, trained on every subject, use cmnet train.")
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
    p.add_argument("--keep-fold-models", action="store_true",
                   help="keep each fold's model (folds/<fold>/checkpoints/final.pt, float16, about half the size of "
                        "a cmnet train model); default: keep predictions, scores and intensity clues only")
    opt.add_database_arguments(p)
    opt.add_model_kind_arguments(p)
    opt.add_model_arguments(p)
    opt.add_train_arguments(p, oracle=True)
    opt.add_run_arguments(p)
    add_slurm_arguments(p)
    p.set_defaults(func=run)
    return p


def add_slurm_arguments(p: argparse.ArgumentParser) -> None:
    """``--slurm`` and the resources of its fold tasks (`cmnet_core.train.slurm`)."""
    g = p.add_argument_group("cluster (SLURM): --slurm submits the folds as a job array and one merge job after "
                             "them; batch scripts written to RUN/slurm/ (README 'Running on a SLURM cluster')")
    g.add_argument("--slurm", action="store_true",
                   help="check everything, write RUN/slurm/folds.sbatch and merge.sbatch and submit them with sbatch "
                        "instead of training here (needs --run-dir or makes a new run folder)")
    g.add_argument("--gpus", type=int, default=0, metavar="N", help="GPUs per fold task (default 0: CPU only, no --gres)")
    g.add_argument("--cpus", type=int, default=4, metavar="N",
                   help="CPUs per fold task (default 4; the fold's DataLoader workers default to this)")
    g.add_argument("--mem", default="16G", metavar="M", help="memory per fold task, e.g. 4G (default 16G)")
    g.add_argument("--time", default="08:00:00", metavar="T",
                   help="time limit per fold task (default 08:00:00); SLURM warns the fold 120 s before it (SIGTERM: "
                        "mid-epoch checkpoint, exit 3, resumable)")
    g.add_argument("--partition", help="SLURM partition (default: the cluster's)")
    g.add_argument("--account", help="SLURM account (default: yours)")
    g.add_argument("--qos", help="SLURM quality of service")
    g.add_argument("--sbatch-arg", action="append", default=[], metavar="ARG",
                   help="one more sbatch option for the fold tasks, written with '=' (e.g. "
                        "--sbatch-arg=--constraint=avx2); repeat for more")
    g.add_argument("--dry-run", action="store_true",
                   help="with --slurm: print the batch scripts and sbatch commands, write and submit nothing")


def fold_checkpoints(run_dir: Path) -> dict[str, str]:
    """Fold name (the test subject in LOSO) → ``folds/<fold>/checkpoints/final.pt`` (finished folds only)."""
    return {f.path.name: str(f.final_checkpoint) for f in RunFolder(run_dir).fold_folders()
            if f.final_checkpoint.exists()}


def fold_baselines(run_dir: Path) -> dict[str, str]:
    """Fold name → its fitted baseline ``folds/<fold>/baseline.json`` (finished folds only)."""
    return {f.path.name: str(f.baseline_model) for f in RunFolder(run_dir).fold_folders() if f.baseline_model.exists()}


def _report(args, summary, run_dir: Path, comparison: dict | None = None) -> None:
    from ..train.comparison import comparison_table
    from ..train.loso import summary_table

    baseline = summary.get("model_kind") == "baseline"
    fold, its = ("<fold>", "its test subjects") if summary.get("split") == "k-fold" else ("<subject>", "its subject")
    checkpoints = fold_baselines(run_dir) if baseline else fold_checkpoints(run_dir)
    if args.progress == "jsonl":
        JsonlPrinter(sys.stdout).on_summary({
            "model_kind": summary.get("model_kind", "cmnet"), "pooled": summary["pooled"],
            "fold_averaged": summary["fold_averaged"], "complete": summary["complete"],
            "fold_checkpoints": checkpoints, **({"comparison": comparison["rows"]} if comparison else {})})
    opt.say(args, summary_table(summary))
    example = next(iter(checkpoints.values()), "-")
    if baseline:
        opt.say(args, f"fold baselines ({len(checkpoints)}): {Path(run_dir) / 'folds' / fold}/baseline.json "
                      f"(JSON, DifferenceBaseline.load), each fitted without {its} (e.g. {example})")
    elif checkpoints:
        opt.say(args, f"fold checkpoints ({len(checkpoints)}, float16): "
                      f"{Path(run_dir) / 'folds' / fold / 'checkpoints'}/final.pt, each trained without {its} "
                      f"(e.g. {example})")
    else:
        opt.say(args, f"fold models not kept (--keep-fold-models keeps them); each fold's predictions and intensity "
                      f"clues: {Path(run_dir) / 'folds' / fold / 'result.json'}; all test clips' k_n: "
                      f"{RunFolder(run_dir).intensity_csv}")
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
    from ..train.comparison import BASELINE_DIR
    from ..train.loso import merge_with_baseline
    from ..train.loso import LosoError, check_loso_config, merge, model_kind
    from ..train.runs import read_json

    run_dir = Path(args.merge)
    if args.with_baseline:
        merge_cmd = f"cmnet loso --merge {run_dir}"
        if not RunFolder(run_dir).config.is_file():
            merge(run_dir)  # refused: not a run folder
        config = read_json(RunFolder(run_dir).config, fix="restore it, or re-run the folds into a new run folder")
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

        config = read_json(RunFolder(run_dir).config)
        commands = missing_folds_commands(run_dir, config, [m.removeprefix("baseline:") for m in missing])
        print(f"cmnet loso: PARTIAL result: {len(missing)} fold(s) missing ({', '.join(missing)}); the tables are "
              f"marked partial. Run the missing folds, then merge again:\n  " + "\n  ".join(commands)
              + f"\n(exit status {opt.EXIT_INCOMPLETE}: incomplete)", file=sys.stderr)
        return opt.EXIT_INCOMPLETE
    return 0


def _slurm(args, db, folds: dict, mc, tc, settings) -> int:
    """``--slurm``: check, write the batch scripts, submit (or print them with ``--dry-run``); 0 submitted or
    printed. Checked before anything is written or queued (`LosoError` otherwise): the run folder
    (`check_run_dir`) and its existing config.json against these options (`precheck_run`, naming each differing
    option), the requested folds, the database and sheet readable, the resources against the cluster's nodes
    (`check_resources`). The fold list comes from the database opened with these same options."""
    import os
    import shutil

    from ..train import slurm
    from ..train.loso import LosoError, check_run_dir, precheck_run
    from ..train.runs import new_run_dir

    for path, what in ((Path(args.db), "database folder"), (Path(args.sheet) if args.sheet else None, "sheet")):
        if path is not None and not os.access(path, os.R_OK | (os.X_OK if path.is_dir() else 0)):
            raise LosoError(f"the {what} {path} is not readable by you; the fold tasks could not read it either")
    res = slurm.SlurmResources(gpus=args.gpus, cpus=args.cpus, mem=args.mem, time=args.time,
                               partition=args.partition, account=args.account, qos=args.qos,
                               extra=list(args.sbatch_arg))
    if res.gpus < 0 or res.cpus < 1:
        raise LosoError("--gpus must be 0 or more and --cpus 1 or more")
    slurm.mem_mb(res.mem)  # ValueError naming --mem
    if res.gpus and str(tc.device) == "cpu":
        raise LosoError(f"--gpus {res.gpus} with --device cpu: the folds would not use the GPUs; leave one out")
    if args.run_dir:
        run_dir = Path(args.run_dir).absolute()
    else:
        split = f"kfold{args.k_folds}" if args.k_folds else "loso"
        name = args.name or (f"{split}-{db.name}" if args.model == "cmnet" else f"{split}-baseline-{db.name}")
        run_dir = new_run_dir(args.runs, name, create=False).absolute()
    check_run_dir(run_dir, db.root)
    precheck_run(run_dir, db.subjects(), mc, tc, settings, args.k_folds,
                 {"preset": args.preset_choice, "command": run_command(args)}, args.model, args.with_baseline)
    if not args.dry_run and shutil.which("sbatch") is None:
        raise LosoError("sbatch not found: --slurm submits from a SLURM login node (add --dry-run to see the batch "
                        "scripts here)")
    slurm.check_resources(res)
    names = list(folds)
    array = ",".join(str(names.index(f)) for f in args.fold) if args.fold else None
    cache = None if args.cache else os.environ.get("CMNET_CACHE_DIR") or str(run_dir / "cache")
    fold_text = slurm.fold_script(run_dir, str(Path(args.db).absolute()), run_options(args), names, res, cache)
    merge_text = slurm.merge_script(run_dir, res, args.with_baseline)
    if args.dry_run:
        paths = {n: run_dir / "slurm" / n for n in ("folds.txt", "folds.sbatch", "merge.sbatch")}
        folds_cmd, merge_cmd = slurm.submit_commands(paths, array)
        print(f"# dry run: nothing written or submitted. {len(names)} folds: {' '.join(names)}")
        print(f"# ==> {paths['folds.sbatch']}\n{fold_text}\n# ==> {paths['merge.sbatch']}\n{merge_text}")
        print(f"# would run:\n{shlex.join(folds_cmd)}\n{shlex.join(merge_cmd)}")
        return 0
    paths = slurm.write_scripts(run_dir, names, fold_text, merge_text)
    folds_job, merge_job = slurm.submit(paths, array)
    opt.say(args, f"run folder: {run_dir}\n{len(names)} folds: {' '.join(names)}\nbatch scripts: "
                  f"{paths['folds.sbatch']}, {paths['merge.sbatch']}\nsubmitted the folds as array job {folds_job} "
                  f"and the merge as job {merge_job} (afterany)\nwatch: squeue -j {folds_job},{merge_job}; logs: "
                  f"{run_dir / 'slurm'}/fold-{folds_job}_<task>.out; cancel: scancel {folds_job} {merge_job}\n"
                  f"results: {run_dir}/metrics.json, metrics.csv (cmnet loso --merge {shlex.quote(str(run_dir))} "
                  "any time; exit 4 = folds missing)")
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
        if args.slurm:
            return _slurm(args, db, folds, mc, tc, settings)
        if args.run_dir:
            run_dir = Path(args.run_dir)
            check_run_dir(run_dir, db.root)
            existed = run_dir.exists()
            RunFolder(run_dir).checkpoints.mkdir(parents=True, exist_ok=True)
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
                           with_baseline=args.with_baseline, k_folds=args.k_folds,
                           keep_fold_models=args.keep_fold_models)
    except (BackboneWeightsError, DatabaseError, LosoError, CheckpointError, PreprocessError, ClipError, ValueError,
            OSError) as exc:
        _remove_if_new(run_dir, existed)
        print(f"cmnet loso: {exc}", file=sys.stderr)
        return 2
    if summary is None:
        import os

        task = (f"{os.environ['SLURM_ARRAY_JOB_ID']}_{os.environ.get('SLURM_ARRAY_TASK_ID', '')}"
                if os.environ.get("SLURM_ARRAY_JOB_ID") else os.environ.get("SLURM_JOB_ID"))
        opt.say(args, f"cancelled; run the same command with --run-dir {shlex.quote(str(run_dir))} to resume"
                + (f" (in SLURM: scontrol requeue {task})" if task else ""))
        return opt.EXIT_CANCELLED
    _report(args, summary, run_dir, summary.get("comparison"))
    return 0
