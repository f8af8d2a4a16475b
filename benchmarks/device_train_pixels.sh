#!/usr/bin/env bash
# Pixel policies on a GPU machine (issue targets: reach from pixels >= 95% in <= 5 min; lift_cube
# from pixels with randomization >= 80% in <= 15 min and >= 70% on the held-out shifts), run from
# the repository root with $OUT set and our packages installed (see device_bench.sh):
#   bash benchmarks/device_train_pixels.sh reach       # ~6 min: train, then 1,000 seeded episodes
#   bash benchmarks/device_train_pixels.sh lift_cube   # ~20 min: needs a budget beyond one call
# NUM_ENVS, MINUTES and SIZE override the batch, the wall-time cap and the image side. Writes
# $OUT/<task>_pixels/{checkpoint.msgpack,curve.png,summary.json} (reach) or the robustness JSON
# and run directories (lift_cube), and a log. The checkpoint is rewritten after every chunk.
set -uo pipefail
export PYTHONPATH=${SITE:-/tmp/site} PYTHONUNBUFFERED=1
task=${1:?task: reach or lift_cube}
out=${OUT:-runs}
size=${SIZE:-64}
mkdir -p "$out"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 || true
  if [ "$task" = reach ]; then
    python3 -P -m mjx_lerobot.apps.cli train --task reach --obs pixels --cameras front,wrist --image-size "$size" \
      --num-envs "${NUM_ENVS:-1024}" --steps 1_000_000_000 --impl warp --max-minutes "${MINUTES:-5}" \
      --out "$out/reach_pixels" --eval-episodes 1000
  else
    python3 -P benchmarks/robustness.py --task "$task" --obs pixels --cameras front,wrist --image-size "$size" \
      --train randomized --impl warp --num-envs "${NUM_ENVS:-2048}" --steps 1_000_000_000 \
      --max-minutes "${MINUTES:-15}" --runs "$out/runs" --out "$out/robustness_${task}_pixels.json"
  fi
} 2>&1 | tr '\r' '\n' | grep -v '^ *$' | awk 'NR % 10 == 1 || !/it\/s|step\/s|steps\/s/' | tee "$out/train_pixels_${task}_log.txt"
exit "${PIPESTATUS[0]}"
