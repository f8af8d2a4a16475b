#!/usr/bin/env bash
# Install carried wheels on a bare GPU machine (no network) and check the result:
#   bash benchmarks/device/install.sh [WHEEL_DIR ...]      # default: .whl
# SITE: the install target (default /tmp/site; run_all.sh puts it on PYTHONPATH).
# WARP_WHEEL: warp-lang's wheel file name, when it came in parts (part-aa, part-ab, ...) in a
# WHEEL_DIR: the parts are joined into it first (see INSTALL.md).
# ALLOW_CPU=1: do not fail when JAX sees no GPU (a wiring check on a CPU).
# Exit 0: mjx_lerobot imports and JAX runs on the GPU; 1: the install failed; 2: no GPU.
set -uo pipefail
site=${SITE:-/tmp/site}
python=${PYTHON:-python3}
dirs=("$@")
[ ${#dirs[@]} -eq 0 ] && dirs=(.whl)
wheels=()
for dir in "${dirs[@]}"; do
  [ -d "$dir" ] || { echo "install.sh: no wheel folder $dir" >&2; exit 1; }
  if [ -n "${WARP_WHEEL:-}" ] && compgen -G "$dir/part-*" >/dev/null; then
    cat "$dir"/part-* > "$dir/$WARP_WHEEL" && rm -f "$dir"/part-*
  fi
  for w in "$dir"/*.whl; do [ -e "$w" ] && wheels+=("$w"); done
done
[ ${#wheels[@]} -gt 0 ] || { echo "install.sh: no .whl files in ${dirs[*]}" >&2; exit 1; }
echo "installing ${#wheels[@]} wheels into $site"
"$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" \
  "${wheels[@]}" || { echo "install.sh: pip install failed" >&2; exit 1; }
# -P: the installed mjx_lerobot (with tasks/ and assets/) must win over a checkout in the cwd.
PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}" "$python" -P - <<'PY'
import importlib
import os
import sys

missing = []
for name in ("mujoco", "mujoco.mjx", "warp", "gymnasium", "mjx_lerobot", "lerobot"):
    try:
        module = importlib.import_module(name)
        print(f"ok   {name} {getattr(module, '__version__', '')}")
    except Exception as err:  # lerobot is optional: only the record part needs it
        print(f"{'warn' if name == 'lerobot' else 'FAIL'} {name}: {type(err).__name__}: {err}")
        missing += [] if name == "lerobot" else [name]
if missing:
    sys.exit(1)
import jax

import mjx_lerobot  # noqa: F401
from mjx_lerobot.report import device_tag

devices = jax.devices()
print(f"jax {jax.__version__}: {devices} -> results named *_{device_tag()}.json")
if devices[0].platform != "gpu":
    print("=" * 72)
    print(f"JAX RUNS ON THE {devices[0].platform.upper()}, NOT A GPU: every figure would be a CPU figure.")
    print("=" * 72)
    sys.exit(0 if os.environ.get("ALLOW_CPU") == "1" else 2)
PY
