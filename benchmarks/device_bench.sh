#!/usr/bin/env bash
# `mjx-lerobot bench` on a GPU machine. Run from the repository root with mjx_lerobot
# installed (python3 -P keeps the checkout off sys.path), the peer's packages installed in
# $PEER_SITE (its own target directory: it pins its own mujoco and dm-control) and $OUT set.
#   PEER_SITE=/tmp/peer bash benchmarks/device_bench.sh
set -uo pipefail
export PYTHONUNBUFFERED=1 MJX_LEROBOT_PEER_PYTHONPATH=${PEER_SITE:-/tmp/peer}
out=${OUT:-benchmarks/results}
python3 -P -m mjx_lerobot.cli bench --task lift_cube --num-envs 1,64,512,2048,8192,16384 --impl warp,jax --jax-num-envs 1024,8192 \
  --steps 60 --max-seconds "${MAX_SECONDS:-330}" --peer-python python3 --adapter-envs 1024 \
  --out "$out/bench_gpu.json" 2>&1 | tr '\r' '\n' | grep -v '^ *$' | grep -v 'bench: '
