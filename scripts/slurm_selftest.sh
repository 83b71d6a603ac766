#!/usr/bin/env bash
# Self-check of `cmnet loso --slurm` on a single-node SLURM (this machine), the whole path a cluster user takes:
# a tiny synthetic database, a local reference run, the folds submitted CPU-only as an array with the merge after
# them, one fold cancelled mid-epoch with scancel (clean stop: exit 3, mid-epoch last.pt), requeued (resumes), one
# merge, nothing left in squeue, and the table, per-class table and every fold's probabilities bit-identical to the
# local run. The run folder's name has a space (quoting). Prints one line per step with its seconds, a total and,
# last, one JSON line {"slurm_selftest": "ok"|"failed", ...}. Not part of the test suite.
#
# Needs slurm-wlm and munge (root: `apt-get install -y slurm-wlm munge`). When sinfo does not answer, it writes a
# one-node /etc/slurm/slurm.conf, starts munged, slurmctld and slurmd in the foreground as its own children and
# stops exactly those PIDs at the end.
#
#   scripts/slurm_selftest.sh [WORK_DIR]      # default /tmp/cmnet-slurm-selftest (removed first)
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
WORK=${1:-/tmp/cmnet-slurm-selftest}
PY=${PY:-$REPO/.venv/bin/python}
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
CMNET=("$PY" -m cmnet_core.cli)
T0=$(date +%s)
LAST=$T0
STARTED=()
FAILED=""

step() {  # step NAME ok|FAILED [detail]
  local now; now=$(date +%s)
  printf '%-44s %-6s %4ss  %s\n' "$1" "$2" "$((now - LAST))" "${3:-}"
  LAST=$now
  [ "$2" = ok ] || FAILED="${FAILED:+$FAILED, }$1"
}
stop_daemons() {  # the daemons this script started, by PID, in reverse order; SIGKILL after 20 s
  local i pid
  for ((i = ${#STARTED[@]} - 1; i >= 0; i--)); do
    pid=${STARTED[i]}
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  done
}
trap stop_daemons EXIT

if ! timeout 10 sinfo >/dev/null 2>&1; then
  command -v slurmctld >/dev/null || { echo "slurm-wlm is not installed (apt-get install -y slurm-wlm munge)" >&2; exit 2; }
  host=$(hostname -s)
  SPOOL=/var/spool/cmnet-selftest
  mkdir -p /etc/slurm "$SPOOL/ctld" "$SPOOL/d" /var/log/slurm /run/munge /var/lib/munge /var/log/munge
  [ -f /etc/munge/munge.key ] || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
  chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null
  chmod 400 /etc/munge/munge.key
  mem=$(free -m | awk '/Mem/{print int($2 * 0.5)}')
  cat > /etc/slurm/slurm.conf <<CONF
ClusterName=cmnetselftest
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/d
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
KillWait=30
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$host CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  DLOG=/var/log/slurm/cmnet-selftest-daemons.log
  setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged -F >>"$DLOG" 2>&1 & STARTED+=($!)
  sleep 1
  /usr/sbin/slurmctld -D -c >>"$DLOG" 2>&1 & STARTED+=($!)
  sleep 2
  /usr/sbin/slurmd -D >>"$DLOG" 2>&1 & STARTED+=($!)
  for _ in $(seq 1 30); do timeout 3 sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 1; done
  timeout 3 sinfo -h -o %T 2>/dev/null | grep -q idle && step "start munged, slurmctld, slurmd" ok "pids ${STARTED[*]}" \
    || { step "start munged, slurmctld, slurmd" FAILED "see $DLOG"; exit 1; }
else
  step "SLURM answers already" ok "$(sinfo -h -o '%P %c CPUs %m MB' | head -1)"
fi

rm -rf "$WORK" && mkdir -p "$WORK"
"$PY" -c "from cmnet_core.data.synthetic import write_synthetic_database as w; w('$WORK/db', n_subjects=3, clips_per_class=6, image_size=32, labels=('happiness', 'surprise'))" \
  && step "synthetic database (3 subjects, 24 clips)" ok || step "synthetic database" FAILED
OPTS=(--image-size 32 --frames 8 --epochs 3 --batch-size 1 --device cpu --with-baseline)
RUN="$WORK/run dir"
"${CMNET[@]}" loso "$WORK/db" "${OPTS[@]}" --run-dir "$WORK/local" --progress jsonl > "$WORK/local.log" 2>&1 \
  && step "local reference run (cmnet loso, 3 folds)" ok || step "local reference run" FAILED "$WORK/local.log"

out=$("${CMNET[@]}" loso "$WORK/db" "${OPTS[@]}" --slurm --cpus 1 --mem 1G --time 00:20:00 --run-dir "$RUN" 2>&1)
ARRAY=$(sed -n 's/.*array job \([0-9]*\) and the merge as job \([0-9]*\).*/\1/p' <<<"$out")
MERGE=$(sed -n 's/.*array job \([0-9]*\) and the merge as job \([0-9]*\).*/\2/p' <<<"$out")
[ -n "$ARRAY" ] && ! grep -q -- "--gres" "$RUN/slurm/folds.sbatch" \
  && step "submit CPU-only (cmnet loso --slurm)" ok "array $ARRAY, merge $MERGE (afterany)" \
  || { step "submit CPU-only" FAILED "$out"; exit 1; }

# cancel task 1 once it is mid-epoch (a step of epoch 1 logged after its epoch_start)
LOG1="$RUN/slurm/fold-${ARRAY}_1.out"
for _ in $(seq 1 600); do
  [ -f "$LOG1" ] && grep -q '"event": "step", "time": [0-9.]*, "step": [2-9]' "$LOG1" && break
  sleep 0.2
done
scancel "${ARRAY}_1"
for _ in $(seq 1 120); do squeue -h -j "${ARRAY}_1" -o %T 2>/dev/null | grep -q . || break; sleep 1; done
FOLD1=$(sed -n 2p "$RUN/slurm/folds.txt")
mid=$("$PY" -c "
import torch, sys
ts = torch.load(sys.argv[1], map_location='cpu', weights_only=False)['train_state']
print(f\"epoch {ts['epoch']} step {ts['step']}\" if 0 < ts['step'] else 'epoch end')" \
  "$RUN/folds/$FOLD1/checkpoints/last.pt" 2>/dev/null)
grep -q "cancelled; run the same command" "$LOG1" && [[ "$mid" == epoch* ]] && ! grep -q "killed by signal" "$LOG1" \
  && step "scancel ${ARRAY}_1 mid-epoch: clean stop" ok "fold $FOLD1, last.pt at $mid" \
  || step "scancel ${ARRAY}_1 mid-epoch: clean stop" FAILED "last.pt: ${mid:-none}; $(tail -3 "$LOG1")"

scontrol requeue "${ARRAY}_1" && step "scontrol requeue ${ARRAY}_1" ok || step "scontrol requeue ${ARRAY}_1" FAILED
for _ in $(seq 1 600); do
  [ -z "$(squeue -h -j "$ARRAY,$MERGE" -o %i 2>/dev/null)" ] && [ -z "$(squeue -h -n cmnet-loso-merge -o %i)" ] && break
  sleep 1
done
grep -q "resuming" "$LOG1" && [ -f "$RUN/folds/$FOLD1/result.json" ] \
  && step "requeued fold resumed and finished" ok "$(grep -c '== attempt' "$LOG1") attempts in one log" \
  || step "requeued fold resumed and finished" FAILED "$(tail -3 "$LOG1")"
left=$(squeue -h -o "%i %j %T %r" 2>/dev/null)
[ -z "$left" ] && step "nothing left in squeue" ok || step "nothing left in squeue" FAILED "$left"
merges=$(ls "$RUN"/slurm/merge-*.out 2>/dev/null | wc -l)
cmp=$("$PY" - "$WORK/local" "$RUN" <<'PY'
import json, sys
from pathlib import Path
a, b = Path(sys.argv[1]), Path(sys.argv[2])
m = json.loads((b / "metrics.json").read_text())
bad = [] if m["complete"] and not m["partial"] else ["metrics.json partial"]
for name in ("per_class.csv", "baseline/per_class.csv", "comparison.csv"):
    if (a / name).read_text() != (b / name).read_text():
        bad.append(name)
rows = lambda p: [r.split(",")[:7] for r in (p / "metrics.csv").read_text().splitlines()]
if rows(a) != rows(b):
    bad.append("metrics.csv")
for f in sorted((a / "folds").iterdir()):
    x, y = (json.loads((d / "folds" / f.name / "result.json").read_text()) for d in (a, b))
    if (x["probabilities"], x["y_pred"]) != (y["probabilities"], y["y_pred"]):
        bad.append(f"folds/{f.name}")
print("identical" if not bad else "differ: " + ", ".join(bad))
PY
)
[ "$cmp" = identical ] && step "one merged table, bit-identical to local" ok "$merges merge log(s); pooled $(sed -n 's/^pooled,,\([0-9]*\),\([0-9.]*\),.*/n \1 accuracy \2/p' "$RUN/metrics.csv")" \
  || step "one merged table, bit-identical to local" FAILED "$cmp"
tail -4 "$RUN"/slurm/merge-*.out 2>/dev/null | sed 's/^/    /'

status=ok; [ -n "$FAILED" ] && status=failed
echo "total $(( $(date +%s) - T0 ))s"
echo "{\"slurm_selftest\": \"$status\", \"failed\": \"$FAILED\", \"array\": \"$ARRAY\", \"wall_s\": $(( $(date +%s) - T0 ))}"
[ "$status" = ok ]
