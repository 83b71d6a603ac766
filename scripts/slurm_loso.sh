#!/usr/bin/env bash
# LOSO on a SLURM cluster: one fold per array task, then a merge job that waits for all of them (afterok).
#
# Usage (on the login node, from the repository root):
#   scripts/slurm_loso.sh DB_ROOT RUN_DIR [extra cmnet loso options...]
# e.g.
#   scripts/slurm_loso.sh /data/CASME2_RAW runs/casme2-paper --preset paper --epochs 100 --batch-size 16
#
# Subject-grouped k folds: add --k-folds K to the options; the tasks are then the folds fold1..foldK.
#
# Every task runs `cmnet loso DB --fold <its fold> --run-dir RUN_DIR` with the same options, so all folds share
# one config.json (a task with other options is refused) and one preprocessing cache. A task that is pre-empted or
# times out resumes from its fold's last.pt when resubmitted (`scontrol requeue` or sbatch again).
# Resources per fold task come from the environment (defaults in brackets): FOLD_GRES [gpu:1; empty = no GPU],
# FOLD_CPUS [8], FOLD_MEM [32G], FOLD_TIME [08:00:00]; e.g. a CPU-only cluster with the cpu preset:
#   FOLD_GRES= FOLD_CPUS=2 FOLD_MEM=4G scripts/slurm_loso.sh DB RUN --preset cpu --with-baseline
# Add partition/account options for your cluster to the sbatch calls below.
set -euo pipefail

DB=${1:?usage: slurm_loso.sh DB_ROOT RUN_DIR [cmnet loso options]}
RUN_DIR=${2:?usage: slurm_loso.sh DB_ROOT RUN_DIR [cmnet loso options]}
shift 2
CMNET=${CMNET:-.venv/bin/cmnet}
export CMNET_CACHE_DIR=${CMNET_CACHE_DIR:-$RUN_DIR/cache}

mkdir -p "$RUN_DIR/slurm"
# The folds (the subjects in LOSO, fold1..foldK with --k-folds K), from the database and the same options.
mapfile -t SUBJECTS < <("$CMNET" loso "$DB" "$@" --list-subjects)
N=${#SUBJECTS[@]}
[ "$N" -gt 0 ] || { echo "no subjects found in $DB" >&2; exit 1; }
printf '%s\n' "${SUBJECTS[@]}" > "$RUN_DIR/slurm/subjects.txt"
echo "$N folds: ${SUBJECTS[*]}"

GRES=()
FOLD_GRES=${FOLD_GRES-gpu:1}
[ -n "$FOLD_GRES" ] && GRES=(--gres="$FOLD_GRES")
FOLDS_JOB=$(sbatch --parsable \
  --job-name=cmnet-loso \
  --array=0-$((N - 1)) \
  "${GRES[@]}" --cpus-per-task="${FOLD_CPUS:-8}" --mem="${FOLD_MEM:-32G}" --time="${FOLD_TIME:-08:00:00}" \
  --output="$RUN_DIR/slurm/fold-%a-%A.out" \
  --wrap="set -e; S=\$(sed -n \"\$((SLURM_ARRAY_TASK_ID + 1))p\" '$RUN_DIR/slurm/subjects.txt'); \
          $CMNET loso '$DB' --fold \"\$S\" --run-dir '$RUN_DIR' --progress jsonl --workers 4 $*")

# The merge pools the baseline too when the folds ran it (--with-baseline); it trains nothing.
MERGE_OPTS=""
for opt in "$@"; do [ "$opt" = "--with-baseline" ] && MERGE_OPTS="--with-baseline"; done

MERGE_JOB=$(sbatch --parsable \
  --job-name=cmnet-loso-merge \
  --dependency=afterok:"$FOLDS_JOB" \
  --cpus-per-task=1 --mem=2G --time=00:10:00 \
  --output="$RUN_DIR/slurm/merge-%j.out" \
  --wrap="$CMNET loso --merge '$RUN_DIR' $MERGE_OPTS")

echo "submitted folds as array job $FOLDS_JOB and the merge as job $MERGE_JOB"
echo "results: $RUN_DIR/metrics.json, metrics.csv, per_class.csv (folds: $RUN_DIR/folds/<fold>/result.json)"
