#!/usr/bin/env bash
# Every device benchmark in one prepared run, from the repository root (see INSTALL.md first):
#   bash benchmarks/device/run_all.sh                          # the GPU machine: $OUT, 9 min
#   SIZES=wiring BUDGET=60 bash benchmarks/device/run_all.sh   # wiring check on a CPU
# Environment: OUT (results folder; default benchmarks/results/device), SIZES (gpu|wiring),
# BUDGET (seconds for all parts, default 540), PARTS (comma-separated subset), FRACTIONS
# (e.g. physics=0.3), RESUME (a lift_pixels checkpoint to continue), RUNS (PPO run folders),
# PYTHON (default python3), SITE (where install.sh put the wheels; default /tmp/site, used if
# it exists). Writes <part>_<device>.json per part and run_log.txt into $OUT.
set -uo pipefail
out=${OUT:-benchmarks/results/device}
mkdir -p "$out"
site=${SITE:-/tmp/site}
if [ -d "$site" ]; then export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"; fi
export PYTHONUNBUFFERED=1
args=(--sizes "${SIZES:-gpu}" --budget "${BUDGET:-540}" --out "$out")
[ -n "${PARTS:-}" ] && args+=(--parts "$PARTS")
[ -n "${FRACTIONS:-}" ] && args+=(--fractions "$FRACTIONS")
[ -n "${RESUME:-}" ] && args+=(--resume "$RESUME")
[ -n "${RUNS:-}" ] && args+=(--runs "$RUNS")
# The command as stored in every result (no folder names of this machine).
export RUN_ALL_COMMAND="SIZES=${SIZES:-gpu} BUDGET=${BUDGET:-540}${PARTS:+ PARTS=$PARTS}${FRACTIONS:+ FRACTIONS=$FRACTIONS}\
${RESUME:+ RESUME=$(basename "$RESUME")} bash benchmarks/device/run_all.sh"
{
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  # -P: the installed mjx_lerobot (tasks/ and assets/ mapped into the package) wins over the
  # checkout's, which lacks them; the checkout is still found for benchmarks/.
  "${PYTHON:-python3}" -P benchmarks/device/run_all.py "${args[@]}"
} 2>&1 | grep --line-buffered -av '^Svt\|moov atom' | tee "$out/run_log.txt"  # the video encoder's chatter
exit "${PIPESTATUS[0]}"
