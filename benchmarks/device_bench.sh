#!/usr/bin/env bash
# `mjx-lerobot bench` on the GPU machine, run from the repository root with $OUT set:
#   bash benchmarks/device_bench.sh
# Expects our packages installed with `pip install --target /tmp/site` and the seed peer's
# (lerobothackathonenv with its own mujoco and dm-control) with `pip install --target /tmp/peer`
# ($SITE and $PEER_SITE name other folders). NUM_ENVS, JAX_NUM_ENVS, STEPS, MAX_SECONDS
# and ADAPTER_ENVS override the sizes, the control steps per point, the time budget and the
# Gym adapter's batch.
# Writes into $OUT: bench_<device>.json (rewritten after every point, so a cut-off run keeps
# what it measured), bench_<device>.png and bench_log.txt.
set -uo pipefail
export PYTHONPATH=${SITE:-/tmp/site}:$PWD MJX_LEROBOT_PEER_PYTHONPATH=${PEER_SITE:-/tmp/peer} PYTHONUNBUFFERED=1
out=${OUT:-benchmarks/results}
mkdir -p "$out"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 || true
  # -P: the checkout's mjx_lerobot/ lacks tasks/ and assets/ (they are mapped in at install), so
  # the installed copy in /tmp/site must win over the current directory.
  python3 -P -m mjx_lerobot.apps.cli bench --task lift_cube --impl warp,jax \
    --num-envs "${NUM_ENVS:-1,64,512,2048,8192,16384}" --jax-num-envs "${JAX_NUM_ENVS:-512,8192}" \
    --steps "${STEPS:-100}" --max-seconds "${MAX_SECONDS:-400}" --adapter-envs "${ADAPTER_ENVS:-1024}" \
    --peer-python python3 \
    --no-progress --out "$out/" --note "${NOTE:-}"
} 2>&1 | tee "$out/bench_log.txt"
exit "${PIPESTATUS[0]}"
