#!/usr/bin/env bash
# benchmarks/pixels.py on the GPU machine, run from the repository root with $OUT set:
#   bash benchmarks/device_pixels.sh
# Expects our packages installed with `pip install --target /tmp/site` ($SITE names another
# folder). NUM_ENVS and SIZES override the instance counts and the image sizes.
# Writes into $OUT: pixels_<device>.json and pixels_log.txt.
set -uo pipefail
export PYTHONPATH=${SITE:-/tmp/site} PYTHONUNBUFFERED=1
out=${OUT:-benchmarks/results}
mkdir -p "$out"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 || true
  # -P: the installed copy (with tasks/ and assets/ mapped in) must win over the checkout.
  python3 -P benchmarks/pixels.py --num-envs "${NUM_ENVS:-1,64,1024,4096,16384}" \
    --sizes "${SIZES:-64,128,224}" --steps "${STEPS:-20}" --adapter-envs "${ADAPTER_ENVS:-1024}" \
    --out "$out/pixels_$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1 | tr ' ' '-' | tr 'A-Z' 'a-z').json"
} 2>&1 | tee "$out/pixels_log.txt"
exit "${PIPESTATUS[0]}"
