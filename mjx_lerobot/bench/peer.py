"""The seed peer, LeRobotHackathonEnv on dm_control, timed in its own Python environment.

The peer pins its own mujoco and dm-control, so it cannot share our interpreter: its script,
`benchmarks/peer_bench.py` of the repository checkout, runs as a subprocess with the peer's
interpreter (set it up with `benchmarks/setup_peer.sh`) and prints one JSON line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

# A script of the checkout, not of the package: it imports the peer, which is no dependency of ours.
PEER_SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "peer_bench.py"
PEER_INSTALL = "bash benchmarks/setup_peer.sh (a .peer-venv with lerobothackathonenv and mujoco==3.17.0)"


def peer_best(peer: dict) -> float:
    """The peer's physics steps/s in its faster mode (one env, or AsyncVectorEnv)."""
    return max(peer["single"]["physics_steps_per_s"], peer["async_vector"]["physics_steps_per_s"])


def measure_peer(
    python: str, seconds: float, pythonpath: str | None = None, timeout: float = 300, script: Path = PEER_SCRIPT
) -> dict:
    """The seed peer in its own interpreter; a 'skipped' entry saying why (and how to install it,
    when it is not there) when it cannot run."""
    if not script.is_file():
        return {
            "skipped": f"peer: its script {script} is missing; the peer comparison runs from a checkout of the "
            "repository (benchmarks/peer_bench.py), not from an installed package"
        }
    exe = shutil.which(python) or (python if Path(python).exists() else None)
    if exe is None:
        return {"skipped": f"peer: not installed (no interpreter {python!r}; install it with {PEER_INSTALL})"}
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # never our packages: the peer pins its own mujoco and dm-control
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    # -P: keep the script's folder off the peer's sys.path.
    cmd = [exe, "-P", str(script), "--seconds", str(seconds)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as err:
        return {"skipped": f"peer failed to run: {err}"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        if "ModuleNotFoundError" in last:
            return {"skipped": f"peer: not installed ({last}; install it with {PEER_INSTALL})"}
        return {"skipped": f"peer exited {done.returncode}: {last}"}
    # The peer's libraries print their own chatter; the result is the last line.
    return json.loads(done.stdout.strip().splitlines()[-1])
