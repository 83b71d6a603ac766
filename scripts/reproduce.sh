#!/usr/bin/env bash
# Reproduce the paper's Table 1 row for one database: preprocessing + LOSO at the paper preset on a GPU, then a
# markdown table of this run's figures beside the paper's.
#
# Usage (from the repository root):
#   scripts/reproduce.sh DB_ROOT [SHEET] [extra cmnet loso options...]
# e.g.
#   scripts/reproduce.sh /data/CASME2/Cropped /data/CASME2/CASME2-coding-20140508.xlsx
#   scripts/reproduce.sh /data/SAMM --workers 4
#
# Protocol (DESIGN.md §5, honest): one fold per subject, model after a FIXED number of epochs (--selection fixed,
# the preset's epochs unless EPOCHS is set), no oracle (no epoch chosen on the test subject), seed fixed.
# The paper gives neither the batch size nor the number of epochs, nor its backbone initialisation; its numbers
# most likely used pretrained backbones (DESIGN.md §7): PRETRAINED=imagenet uses torchvision's weights if present.
#
# Environment (all optional):
#   PRESET     CMNet preset (default paper; "cpu" or "fast" to prove the plumbing on a CPU)
#   DEVICE     torch device (default cuda; cpu works with a small PRESET)
#   EPOCHS     epochs (default: the preset's, 100 for paper)      BATCH  clips per step (default: the preset's)
#   SEED       seed (default 0)                                    PRETRAINED  none|imagenet|FILE (default none)
#   RUN_DIR    run folder (default runs/reproduce-<db folder>-<preset>); an existing one resumes
#   CMNET      the cmnet command (default .venv/bin/cmnet, else `python -m cmnet_core.cli`)
# Writes RUN_DIR/{config.json,metrics.json,metrics.csv,...} (cmnet loso), RUN_DIR/reproduce.log and
# RUN_DIR/reproduce.md (the comparison table; also printed).
set -euo pipefail

usage="usage: scripts/reproduce.sh DB_ROOT [SHEET] [extra cmnet loso options]"
DB=${1:?$usage}
shift
SHEET=""
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then SHEET=$1; shift; fi

PRESET=${PRESET:-paper}
DEVICE=${DEVICE:-cuda}
SEED=${SEED:-0}
PRETRAINED=${PRETRAINED:-none}
RUN_DIR=${RUN_DIR:-runs/reproduce-$(basename "$DB")-$PRESET}
if [ -z "${CMNET:-}" ]; then
  if [ -x .venv/bin/cmnet ]; then CMNET=.venv/bin/cmnet; else CMNET="${PYTHON:-python3} -m cmnet_core.cli"; fi
fi
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
export CMNET_CACHE_DIR=${CMNET_CACHE_DIR:-$RUN_DIR/cache}

DBARGS=()
[ -n "$SHEET" ] && DBARGS+=(--sheet "$SHEET")
TRAIN=(--preset "$PRESET" --device "$DEVICE" --seed "$SEED" --pretrained "$PRETRAINED" --selection fixed)
[ -n "${EPOCHS:-}" ] && TRAIN+=(--epochs "$EPOCHS")
[ -n "${BATCH:-}" ] && TRAIN+=(--batch-size "$BATCH")

mkdir -p "$RUN_DIR"
LOG=$RUN_DIR/reproduce.log
echo "reproduce: $DB ${SHEET:+(sheet $SHEET) }preset $PRESET on $DEVICE -> $RUN_DIR" | tee "$LOG"

# 1. what the database holds (clips per class and subject, skipped rows with reasons)
$CMNET info "$DB" ${DBARGS[@]+"${DBARGS[@]}"} 2>&1 | tee -a "$LOG"

# 2. preprocessing and 3. LOSO: `cmnet loso` preprocesses every clip first (face alignment, N = 16, apex; cached in
#    $CMNET_CACHE_DIR, so a resumed run does not repeat it) with exactly the settings the model is trained with,
#    then runs one fold per subject; an interrupted run resumes from the same command.
$CMNET loso "$DB" ${DBARGS[@]+"${DBARGS[@]}"} "${TRAIN[@]}" --run-dir "$RUN_DIR" "$@" 2>&1 | tee -a "$LOG"

# 4. the table beside the paper's Table 1
"$PY" - "$RUN_DIR" <<'PYEOF' | tee "$RUN_DIR/reproduce.md"
import json, sys
from pathlib import Path

run = Path(sys.argv[1])
m = json.loads((run / "metrics.json").read_text())
PAPER = {  # Wei et al., AAAI 2023, Table 1 (LOSO): accuracy %, F1 %
    "casme2": ("CASME II (5 classes)", 78.05, 73.99),
    "samm": ("SAMM (5 classes)", 78.68, 77.19),
    "smic": ("SMIC-HS (3 classes)", 79.27, 80.11),
}
db = m["database"]["name"]
name, p_acc, p_f1 = PAPER.get(db, (f"{db} (not in the paper's Table 1)", None, None))
pre, tc, mc = m.get("preset") or {}, m["train_config"], m["model_config"]
pc = lambda v: "–" if v is None else f"{100 * v:.2f}"
num = lambda v: "–" if v is None else f"{v:.2f}"
pool, fav = m["pooled"], m["fold_averaged"]
print(f"## {name}: LOSO, this run vs. the paper\n")
print(f"Run `{run}`: preset **{pre.get('name', '?')}** ({pre.get('reason', 'not recorded')}), "
      f"{mc['image_size']} px, N = {mc['num_frames']}, backbone {mc['backbone']} ({mc['pretrained']}), "
      f"input {mc['input']}, tendency {mc['tendency_loss']}, readout {mc.get('readout', 'last')}, "
      f"augment {tc.get('augment', 'none')}, {tc['optimizer']} lr {tc['lr']:g}, "
      f"{tc['epochs']} epochs (fixed; selection {m['selection']}), batch {tc['batch_size']}, seed {tc['seed']}; "
      f"protocol {m['protocol']}, {pool['n']} clips, {m['folds_done']} folds"
      f"{'' if m['complete'] else ' (INCOMPLETE: ' + ', '.join(m['folds_missing']) + ' missing)'}; "
      f"apex {m['apex_sources']}.\n")
print("| figures in % | accuracy | F1 (paper's: 2PR/(P+R) of macro P, R) | UF1 | UAR |")
print("| --- | --- | --- | --- | --- |")
print(f"| paper, Table 1 | {num(p_acc)} | {num(p_f1)} | – | – |")
print(f"| this run, fold-averaged (the paper's protocol) | {pc(fav.get('accuracy'))} | {pc(fav.get('paper_f1'))} "
      f"| {pc(fav.get('uf1'))} | {pc(fav.get('uar'))} |")
print(f"| this run, pooled over folds (MEGC) | {pc(pool.get('accuracy'))} | {pc(pool.get('paper_f1'))} "
      f"| {pc(pool.get('uf1'))} | {pc(pool.get('uar'))} |")
if p_acc is not None:
    print(f"\nDifference to the paper (fold-averaged): accuracy {100 * fav['accuracy'] - p_acc:+.2f}, "
          f"F1 {100 * fav['paper_f1'] - p_f1:+.2f} points.")
print("\nHonest protocol: fixed epochs, no model selection on the test subject (no oracle). "
      "The paper does not say how it selected its model.")
PYEOF
echo "written: $RUN_DIR/reproduce.md, $LOG"
