"""``cmnet train DB``: a final CMNet on all clips of a database, or fine-tuning ``--from CKPT`` on a lab's clips."""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from ..train import options as opt
from ..train.callbacks import JsonlPrinter
from ..train.runs import RunFolder


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``train`` on the ``cmnet`` subparsers."""
    p = subparsers.add_parser(
        "train", help="train a final model, or fine-tune a checkpoint on your own clips",
        description="Train CMNet on every clip of DB (a model to keep; for an evaluation use cmnet loso), or "
                    "fine-tune --from a checkpoint (its model and preprocessing settings are used). Hold out "
                    "subjects or a fraction of clips for an honest figure. Writes <run>/checkpoints/final.pt, "
                    f"config.json, log.jsonl, metrics.json/csv. Exit status {opt.EXIT_CANCELLED} = cancelled "
                    "(run again with --run-dir to resume).")
    p.add_argument("db", help="database root folder (any adapter, e.g. the generic adapter for your own clips)")
    p.add_argument("--from", dest="init", metavar="CKPT", help="fine-tune this checkpoint (\"demo\": the shipped synthetic demo model)")
    p.add_argument("--new-head", action="store_true",
                   help="with --from: re-initialise the classifier so the label set may differ")
    p.add_argument("--holdout-subject", nargs="+", default=[], metavar="SUBJECT",
                   help="subjects kept out of training and scored at the end")
    p.add_argument("--holdout-fraction", type=float, default=0.0,
                   help="fraction of each class's clips kept out and scored (for a single-subject lab)")
    opt.add_database_arguments(p)
    opt.add_model_arguments(p)
    opt.add_train_arguments(p)
    opt.add_run_arguments(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Train; 0 done, 2 bad input, `EXIT_CANCELLED` cancelled.

    A refused run (e.g. a checkpoint whose labels differ, a device that is not available) removes the run folder
    when this command created it and nothing was trained in it (no checkpoint); a folder that existed before is
    never removed."""
    from ..data.clip import ClipError
    from ..model.backbones import BackboneWeightsError, check_pretrained
    from ..data.database import DatabaseError
    from ..model import CMNetConfig
    from ..preprocess.errors import PreprocessError
    from ..preprocess.types import PreprocessSettings
    from ..demo import resolve_checkpoint
    from ..train.checkpoint import CheckpointError, load_checkpoint
    from ..train.final import train_final
    from ..train.runs import new_run_dir

    run_dir, existed = None, True
    try:
        db = opt.open_db(args)
        if not db.clips:
            raise DatabaseError(db.no_clips_message())
        init = load_checkpoint(resolve_checkpoint(args.init)) if args.init else None   # "demo" as in predict
        init_model = CMNetConfig.from_dict(init.metadata["model_config"]) if init else None
        if init and args.backbone and args.backbone != init_model.backbone:
            raise ValueError(f"--backbone {args.backbone}: the checkpoint {args.init} has a {init_model.backbone} "
                             "backbone (its weights fit no other); leave --backbone out when fine-tuning")
        mc, tc, settings = opt.configs(args, db.name, init_model)
        if init:
            # the checkpoint's model; loss settings given as flags replace its own (they change no weight shape)
            mc = init_model.replace(**opt.method_overrides(args))
            landmarks = settings.landmarks if args.landmarks else init.metadata["preprocess"]["landmarks"]
            settings = replace(PreprocessSettings(**init.metadata["preprocess"]), landmarks=landmarks)
        # the backbone weights are checked before any preprocessing or run folder (a bad file fails at once)
        check_pretrained(mc.backbone, mc.pretrained, mc.small_widths, mc.image_size)
        if args.run_dir:
            run_dir = Path(args.run_dir)
            existed = run_dir.exists()
            RunFolder(run_dir).checkpoints.mkdir(parents=True, exist_ok=True)
        else:
            existed = False
            run_dir = new_run_dir(args.runs, args.name or f"{'finetune' if init else 'train'}-{db.name}")
        opt.say(args, opt.preset_line(args.preset_choice))
        opt.say(args, f"run folder: {run_dir}")
        result = train_final(db, run_dir, mc, tc, settings, init=init, new_head=args.new_head,
                             holdout_subjects=args.holdout_subject, holdout_fraction=args.holdout_fraction,
                             callbacks=opt.callbacks(args, run_dir), cache=opt.make_cache(args),
                             extra={"preset": args.preset_choice})
    except (BackboneWeightsError, DatabaseError, CheckpointError, PreprocessError, ClipError, ValueError,
            OSError) as exc:
        if run_dir is not None and not existed and run_dir.is_dir() and not any(run_dir.rglob("*.pt")):
            import shutil

            shutil.rmtree(run_dir, ignore_errors=True)
        print(f"cmnet train: {exc}", file=sys.stderr)
        return 2
    if result is None:
        opt.say(args, f"cancelled; run the same command with --run-dir {run_dir} to resume")
        return opt.EXIT_CANCELLED
    if args.progress == "jsonl":
        JsonlPrinter(sys.stdout).on_summary({"checkpoint": result["checkpoint"], "held_out": result["held_out"]})
    opt.say(args, f"checkpoint: {result['checkpoint']}")
    if result["held_out"]:
        h = result["held_out"]
        opt.say(args, f"held out ({h['n']} clips): accuracy {100 * h['accuracy']:.2f} %, UF1 {100 * h['uf1']:.2f}, "
                      f"UAR {100 * h['uar']:.2f}, paper F1 {100 * h['paper_f1']:.2f}")
    return 0
