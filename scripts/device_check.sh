#!/usr/bin/env bash
# One GPU, under 10 minutes: everything this project wants measured or checked on CUDA, in one run.
#
#   scripts/device_check.sh              # on a machine with one NVIDIA GPU
#   scripts/device_check.sh --dry-run    # print the commands only (no GPU, nothing runs)
#   scripts/device_check.sh --cpu-smoke  # the same pieces, tiny, on the CPU (proves the plumbing, measures nothing)
#
# Pieces (each under its own time limit, so one that hangs cannot eat the others' time; the limits add up to
# 470 s; the sweep (5.) runs beside them under its own 450 s; the expected total on an H200 is less):
#   1. the device: nvidia-smi, torch's view of CUDA
#   2. the CUDA tests (tests/train/test_cuda.py: AMP + channels_last steps, a Trainer epoch on the GPU whose
#      checkpoint predicts the same on the CPU) and the preset tests (on a GPU --preset auto must pick paper)
#   3. scripts/bench_cuda.py: AMP + channels_last vs fp32 clips/s (inference, training) and a synthetic LOSO's
#      wall time (README "Performance", the CUDA row)
#   4. a 2-fold LOSO on a synthetic database (demo recipe, 4 subjects, folds s01 s02) at 112 px with the paper
#      preset and with the cpu preset (each preset's own training settings): the two methods on the same folds
#   5. (started first, in the background, sharing the GPU) the fidelity sweep: scripts/bench_fidelity.py with
#      --device cuda, one job per (condition, seed) for the cpu preset and the candidate variants in
#      SWEEP_VARIANTS, plus the tendency x input x readout ablation on realistic and real_texture (seeds 0-2);
#      merged into fidelity.json / fidelity.md. Models are trained on the GPU only for throughput: same code,
#      same settings as on a CPU; step times in it are GPU step times.
# Output: $OUT if set, else /tmp/device_check: device_check.log (everything), results.jsonl (one JSON object per
# piece: name, exit status, wall seconds, and the piece's figures), fidelity.json, fidelity.md,
# fidelity_jobs.tar.gz (every job's JSON line and progress log).
# Environment: PYTHON (default .venv/bin/python, else python3), LOSO_EPOCHS (default: each preset's own), SKIP
# (piece names to skip, e.g. "device pytest_cuda"), SWEEP_FILTER (an extended regex on sweep job names; "none"
# runs no sweep), SWEEP_LIMIT, SWEEP_PARALLEL.
set -uo pipefail

MODE=gpu
case "${1:-}" in
  --dry-run) MODE=dry ;;
  --cpu-smoke) MODE=cpu ;;
  "") ;;
  *) echo "usage: scripts/device_check.sh [--dry-run|--cpu-smoke]" >&2; exit 2 ;;
esac

DEST=${OUT:-/tmp/device_check}
mkdir -p "$DEST"
LOG=$DEST/device_check.log
JSONL=$DEST/results.jsonl
: > "$LOG"
: > "$JSONL"
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
export CMNET_CACHE_DIR=$DEST/cache
export QT_QPA_PLATFORM=offscreen
START=$(date +%s)

log() { echo "[$(( $(date +%s) - START ))s] $*" | tee -a "$LOG"; }

# step NAME LIMIT_S CMD...: run CMD (or print it with --dry-run) with a time limit, log everything, and append
# {"piece", "rc", "wall_s"} to results.jsonl
step() {
  local name=$1 limit=$2
  shift 2
  if [[ " ${SKIP:-} " == *" $name "* ]]; then log "== $name: skipped (SKIP)"; return 0; fi
  log "== $name (limit ${limit}s): $*"
  if [ "$MODE" = dry ]; then
    echo "{\"piece\": \"$name\", \"dry_run\": true}" >> "$JSONL"
    return 0
  fi
  local t0 rc
  t0=$(date +%s.%N)
  timeout --kill-after=10 "$limit" "$@" >> "$LOG" 2>&1
  rc=$?
  "$PY" -c 'import json, sys; print(json.dumps({"piece": sys.argv[1], "rc": int(sys.argv[2]), "wall_s": round(float(sys.argv[4]) - float(sys.argv[3]), 1), "timed_out": int(sys.argv[2]) in (124, 137)}))' \
    "$name" "$rc" "$t0" "$(date +%s.%N)" >> "$JSONL"
  log "-- $name: exit $rc"
}

if [ "$MODE" = cpu ]; then
  DEVICE=cpu; SIZE=32; FRAMES=8; FRAME_SIZE=48; SUBJECTS=3; PER_CLASS=1; EPOCHS_ARGS=(--epochs 1)
  BENCH=(scripts/bench_cuda.py --no-loso)  # prints "no CUDA" and exits 0
else
  DEVICE=cuda; SIZE=112; FRAMES=16; FRAME_SIZE=128; SUBJECTS=4; PER_CLASS=3; EPOCHS_ARGS=(--epochs 30)  # 100 (paper default) may not fit 150 s
  BENCH=(scripts/bench_cuda.py --epochs 3 --iters 10)
fi
[ -n "${LOSO_EPOCHS:-}" ] && EPOCHS_ARGS=(--epochs "$LOSO_EPOCHS")
log "device_check: mode $MODE, output $DEST, python $PY, git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"

# 5. the fidelity sweep, in the background (its own time limit), while pieces 1-4 run
SWEEP_DIR=$DEST/fidelity_jobs
SWEEP_LIMIT=${SWEEP_LIMIT:-450}
SWEEP_VARIANTS=(--variant ctx5 intensity_context=5 --variant ctx5pw3 intensity_context=5 position_weight=3
                --variant lin16 image_size=16 backbone=linear --variant w16 'small_widths=[16,32,64,64]'
                --variant s48 image_size=48)
if [ "$MODE" = cpu ]; then
  SWEEP_SIZE=(--train-subjects 2 --test-subjects 2 --clips-per-class 1 --epochs 1 --device cpu); SEEDS="0"; ABL_SEEDS="0"
else
  SWEEP_SIZE=(--device cuda); SEEDS="0 1 2 3 4"; ABL_SEEDS="0 1 2"
fi
sweep_jobs() {  # one line per job: its name, then bench_fidelity's arguments (variants are added to main jobs)
  local i=0  # names start with a rank, so the jobs that matter most start first
  for cond in hard real_texture realistic demo; do
    i=$((i + 1))
    for seed in $SEEDS; do echo "${i}_main_${cond}_$seed --conditions $cond --seeds $seed --no-ablation"; done
  done
  for cond in real_texture realistic; do
    i=$((i + 1))
    for seed in $ABL_SEEDS; do echo "${i}_ablation_${cond}_$seed --conditions $cond --seeds $seed --ablation $cond"; done
  done
}
SWEEP_PID=""
if [ "$MODE" != dry ]; then
  rm -rf "$SWEEP_DIR"; mkdir -p "$SWEEP_DIR/jobs"
  # every job is a small script with its arguments quoted once, so nothing re-parses them
  while read -r name rest; do
    extra=()
    [[ $name == *_main_* ]] && extra=("${SWEEP_VARIANTS[@]}")
    # shellcheck disable=SC2086
    printf '%q ' "$PY" scripts/bench_fidelity.py $rest "${SWEEP_SIZE[@]}" --threads 1 "${extra[@]}" \
      > "$SWEEP_DIR/jobs/$name.sh"
    printf '> %q 2> %q\necho "sweep job %s: exit $?"\n' "$SWEEP_DIR/$name.json" "$SWEEP_DIR/$name.log" "$name" \
      >> "$SWEEP_DIR/jobs/$name.sh"
  done < <(sweep_jobs | grep -E "${SWEEP_FILTER:-.}")
  (ls "$SWEEP_DIR"/jobs/*.sh 2>/dev/null | timeout --kill-after=10 "$SWEEP_LIMIT" xargs -r -P "${SWEEP_PARALLEL:-14}" -n 1 bash \
     >> "$LOG" 2>&1) &
  SWEEP_PID=$!
log "== fidelity sweep started in the background (limit ${SWEEP_LIMIT}s, $(sweep_jobs | wc -l) jobs)"
else
  log "== fidelity sweep (limit ${SWEEP_LIMIT}s): $(sweep_jobs | wc -l) jobs of scripts/bench_fidelity.py ${SWEEP_SIZE[*]}; main jobs add ${SWEEP_VARIANTS[*]}"
fi

# 1. the device
step device 30 bash -c "nvidia-smi || true; $PY -c 'import torch; print(\"torch\", torch.__version__, \"cuda\", torch.version.cuda, \"available\", torch.cuda.is_available(), [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())])'"

# 2. the CUDA tests and the preset tests
step pytest_cuda 100 "$PY" -m pytest -q -rs -p no:cacheprovider tests/train/test_cuda.py tests/train/test_presets_cli.py

# 3. bench_cuda.py (one JSON line: also copied into results.jsonl)
if [ "$MODE" = dry ]; then
  step bench_cuda 100 "$PY" "${BENCH[@]}"
else
  step bench_cuda 100 bash -c "'$PY' ${BENCH[*]} > '$DEST/bench_cuda.json'"
  [ -s "$DEST/bench_cuda.json" ] && tail -n 1 "$DEST/bench_cuda.json" | "$PY" -c 'import json, sys; print(json.dumps({"piece": "bench_cuda_result", **json.loads(sys.stdin.read())}))' >> "$JSONL"
fi

# 4. 2-fold LOSO, paper vs cpu preset, same synthetic folds
SYN=$DEST/synthetic
if [ "$MODE" != dry ]; then rm -rf "$SYN" "$DEST/loso-paper" "$DEST/loso-cpu"; fi
step make_synthetic 60 "$PY" -m cmnet_core.cli make-synthetic "$SYN" --subjects "$SUBJECTS" \
  --clips-per-class "$PER_CLASS" --size "$FRAME_SIZE" --recipe demo --seed 0
for PRESET in paper cpu; do
  LIMIT=$([ "$PRESET" = paper ] && echo 120 || echo 60)
  step "loso_$PRESET" "$LIMIT" "$PY" -m cmnet_core.cli loso "$SYN" --fold s01 s02 --preset "$PRESET" \
    --image-size "$SIZE" --frames "$FRAMES" --device "$DEVICE" ${EPOCHS_ARGS[@]+"${EPOCHS_ARGS[@]}"} \
    --run-dir "$DEST/loso-$PRESET" --progress jsonl
  if [ "$MODE" != dry ] && [ -f "$DEST/loso-$PRESET/metrics.json" ]; then
    "$PY" - "$DEST/loso-$PRESET/metrics.json" "$PRESET" >> "$JSONL" <<'PYEOF'
import json, sys
m = json.loads(open(sys.argv[1]).read())
tc, mc = m["train_config"], m["model_config"]
print(json.dumps({"piece": f"loso_{sys.argv[2]}_result", "preset": m.get("preset"), "folds_done": m["folds_done"],
                  "pooled": m["pooled"], "fold_averaged": m["fold_averaged"],
                  "epochs": tc["epochs"], "optimizer": tc["optimizer"], "image_size": mc["image_size"],
                  "backbone": mc["backbone"], "input": mc["input"], "tendency_loss": mc["tendency_loss"]}))
PYEOF
  fi
done

if [ -n "$SWEEP_PID" ]; then
  log "== waiting for the fidelity sweep"
  wait "$SWEEP_PID"
  ok=$(grep -l '"benchmark": "fidelity"' "$SWEEP_DIR"/*.json 2>/dev/null)
  log "fidelity sweep: $(echo "$ok" | grep -c . ) of $(sweep_jobs | wc -l) jobs finished"
  if [ -n "$ok" ]; then
    "$PY" scripts/bench_fidelity.py --merge $ok --markdown "$DEST/fidelity.md" > "$DEST/fidelity.json" 2>> "$LOG"
    echo "{\"piece\": \"fidelity_sweep\", \"rc\": $?, \"jobs_done\": $(echo "$ok" | grep -c .)}" >> "$JSONL"
  else
    echo '{"piece": "fidelity_sweep", "rc": 1, "jobs_done": 0}' >> "$JSONL"
  fi
  tar -czf "$DEST/fidelity_jobs.tar.gz" -C "$DEST" --exclude jobs fidelity_jobs && rm -rf "$SWEEP_DIR"
fi
if [ "$MODE" != dry ]; then  # at most 8 files come back from a device run: the LOSO folders travel as one tar
  tar -czf "$DEST/loso_runs.tar.gz" -C "$DEST" --exclude '*.pt' $(cd "$DEST" && ls -d loso-* 2>/dev/null) 2>/dev/null
  rm -rf "$DEST"/loso-* "$DEST/cache" "$SYN"
fi
log "device_check done in $(( $(date +%s) - START ))s: $LOG, $JSONL"
# exit status: the number of pieces that failed (0 = all ran)
FAILED=$(grep -c '"rc": [1-9]' "$JSONL" || true)
exit "$FAILED"
