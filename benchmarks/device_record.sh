#!/usr/bin/env bash
# benchmarks/record_speed.py on the GPU machine, run from the repository root with $OUT set:
#   bash benchmarks/device_record.sh
# Expects our packages and lerobot's dataset writer installed with `pip install --target
# /tmp/site` ($SITE names another folder): beyond the pixels set, lerobot==0.6.1 and what it
# and its dataset writer need that the machine lacks (it has torch, torchvision, pyarrow, pandas,
# huggingface-hub, opencv): datasets, dill, multiprocess, av, draccus, mergedeep, pyyaml-include,
# toml, termcolor (read from their Requires-Dist here; not yet tried there).
# NUM_ENVS and EPISODES override the batch and the episode count.
# Writes into $OUT: record_speed_<device>.json and record_log.txt.
set -uo pipefail
export PYTHONPATH=${SITE:-/tmp/site} PYTHONUNBUFFERED=1 MUJOCO_GL=egl
out=${OUT:-benchmarks/results}
mkdir -p "$out"
device=$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | tr ' ' '-' | tr 'A-Z' 'a-z')
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 || true
  # One run, side by side: GL before and now, then the batched renderer (what auto takes here).
  python3 -P benchmarks/record_speed.py --variants before,gl,batched --num-envs "${NUM_ENVS:-64}" \
    --episodes "${EPISODES:-128}" --out "$out/record_speed_${device}.json"
} 2>&1 | grep -av '^Svt\|moov atom' | tee "$out/record_log.txt"
exit "${PIPESTATUS[0]}"
