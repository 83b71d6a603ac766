#!/usr/bin/env bash
# LOSO on a SLURM cluster: a thin example around `cmnet loso DB --slurm`, which does the work: it lists the folds
# with your options, checks the run folder and the resources, writes RUN/slurm/folds.sbatch (one fold per array
# task) and RUN/slurm/merge.sbatch (the merge, afterany) and submits them. Read, edit and resubmit those scripts
# as you like; README "Running on a SLURM cluster" explains cancel, resume, merge and the exit statuses.
#
# Usage (on the login node, from the repository root):
#   scripts/slurm_loso.sh DB_ROOT RUN_DIR [cmnet loso options and --slurm resources...]
# e.g. a CPU-only cluster:
#   scripts/slurm_loso.sh /data/CASME2_RAW runs/casme2-cpu --preset cpu --with-baseline --cpus 4 --mem 8G --time 04:00:00
# a GPU partition:
#   scripts/slurm_loso.sh /data/CASME2_RAW runs/casme2-paper --preset paper --epochs 100 --batch-size 16 \
#       --gpus 1 --cpus 8 --mem 32G --time 08:00:00 --partition gpu --account mylab
# Add --dry-run to print the batch scripts without submitting anything.
set -euo pipefail

DB=${1:?usage: slurm_loso.sh DB_ROOT RUN_DIR [cmnet loso options]}
RUN_DIR=${2:?usage: slurm_loso.sh DB_ROOT RUN_DIR [cmnet loso options]}
shift 2
CMNET=${CMNET:-.venv/bin/cmnet}
exec "$CMNET" loso "$DB" --run-dir "$RUN_DIR" --slurm "$@"
