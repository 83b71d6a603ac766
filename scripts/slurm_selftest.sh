#!/usr/bin/env bash
# Self-check of scripts/slurm_loso.sh on a single-node SLURM (this machine): a tiny synthetic database, 2 folds
# grouped by subject, CMNet (1 epoch, 16 px) with the baseline beside it, fold tasks as an array job and the
# merge job after them. Needs slurm-wlm and munge (root: `apt-get install -y slurm-wlm munge`); starts munged,
# slurmctld and slurmd with a one-node configuration if sinfo does not answer. Prints the merge job's
# comparison table and, last, one JSON line: {"slurm_selftest": "ok"|"failed", ...}. Not part of the test suite.
#
#   scripts/slurm_selftest.sh [WORK_DIR]      # default /tmp/cmnet-slurm-selftest (removed first)
set -uo pipefail
cd "$(dirname "$0")/.."
WORK=${1:-/tmp/cmnet-slurm-selftest}
CMNET=${CMNET:-.venv/bin/cmnet}

if ! sinfo >/dev/null 2>&1; then
  command -v slurmctld >/dev/null || { echo "slurm-wlm is not installed (apt-get install -y slurm-wlm munge)" >&2; exit 2; }
  host=$(hostname)
  mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
  [ -f /etc/munge/munge.key ] || dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
  chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null
  chmod 400 /etc/munge/munge.key
  pgrep munged >/dev/null || su munge -s /bin/sh -c /usr/sbin/munged
  mem=$(free -m | awk '/Mem/{print int($2 * 0.8)}')
  cat > /etc/slurm/slurm.conf <<CONF
ClusterName=local
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
ReturnToService=2
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=$host CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  slurmctld && slurmd && sleep 3
fi

rm -rf "$WORK" && mkdir -p "$WORK"
"$CMNET" make-synthetic "$WORK/db" --subjects 4 --clips-per-class 2 --size 64 > /dev/null
start=$(date +%s)
FOLD_GRES= FOLD_CPUS=1 FOLD_MEM=3G FOLD_TIME=00:20:00 scripts/slurm_loso.sh "$WORK/db" "$WORK/run" \
  --k-folds 2 --with-baseline --epochs 1 --image-size 16 --frames 8 || exit 1
for _ in $(seq 1 120); do  # wait up to 10 min for the array and the merge to leave the queue
  [ -z "$(squeue -h -n cmnet-loso,cmnet-loso-merge 2>/dev/null)" ] && break
  sleep 5
done
cat "$WORK"/run/slurm/merge-*.out 2>/dev/null | tail -12
status=failed
[ -f "$WORK/run/metrics.json" ] && [ -f "$WORK/run/comparison.json" ] && status=ok
echo "{\"slurm_selftest\": \"$status\", \"folds\": $(ls -d "$WORK"/run/folds/*/ 2>/dev/null | wc -l), \"baseline_folds\": $(ls -d "$WORK"/run/baseline/folds/*/ 2>/dev/null | wc -l), \"wall_s\": $(( $(date +%s) - start ))}"
[ "$status" = ok ]
