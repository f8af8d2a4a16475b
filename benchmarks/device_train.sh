#!/usr/bin/env bash
# PPO time-to-target on a GPU machine: one task, a wall-time cap (compile included), then the
# final policy evaluated on 1000 seeded episodes. Run from the repository root with
# mjx_lerobot installed (not importable from the checkout: -P keeps the source tree off
# sys.path) and $OUT set; writes $OUT/<task>/{checkpoint.msgpack,curve.png,summary.json}.
#   bash benchmarks/device_train.sh reach 4096 2.5
#   bash benchmarks/device_train.sh lift_cube 8192 7
set -uo pipefail
export PYTHONUNBUFFERED=1
task=${1:?task}
num_envs=${2:-4096}
minutes=${3:-5}
out=${OUT:-runs}
# The progress bar redraws with carriage returns; keep every 10th redraw for the log.
python3 -P -m mjx_lerobot.apps.cli train --task "$task" --num-envs "$num_envs" --steps 1_000_000_000 --impl warp \
  --max-minutes "$minutes" --out "$out/$task" --eval-episodes 1000 2>&1 |
  tr '\r' '\n' | grep -v '^ *$' | awk 'NR % 10 == 1 || !/it\/s|step\/s|steps\/s/'
