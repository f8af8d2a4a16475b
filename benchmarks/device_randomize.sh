#!/usr/bin/env bash
# Domain randomization on a GPU machine, run from the repository root with $OUT set and our
# packages installed (see device_bench.sh): its throughput cost at 1,024 and 8,192 instances,
# then the robustness benchmark (PPO on lift_cube with and without randomization, same budget,
# evaluated on the nominal model and on held-out shifted models).
#   bash benchmarks/device_randomize.sh            # STEPS overrides PPO's env steps per run
set -uo pipefail
export PYTHONPATH=${SITE:-/tmp/site}:$PWD PYTHONUNBUFFERED=1
out=${OUT:-benchmarks/results}
mkdir -p "$out"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 || true
  python3 -P benchmarks/backends.py --impls warp --num-envs 1024,8192 --steps 100 --randomize both \
    --out "$out/backends_randomize.json"
  python3 -P benchmarks/robustness.py --task lift_cube --impl warp --num-envs 8192 \
    --steps "${STEPS:-60_000_000}" --runs "$out/runs" --out "$out/robustness_lift_cube.json"
} 2>&1 | tr '\r' '\n' | grep -v '^ *$' | awk 'NR % 10 == 1 || !/it\/s|step\/s|steps\/s/' | tee "$out/randomize_log.txt"
exit "${PIPESTATUS[0]}"
