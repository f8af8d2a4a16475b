"""Shared fixtures. Every MJX-JAX compile costs 20-60 s on a small CPU, so the test files
share batched envs (and their first resets) for the whole session: one on MJX-JAX (the parity
tests), and one on impl="c" for the tests of the env machinery that works alike on every
backend (auto-reset, faults, params, bad input), which compiles and runs several times faster."""

from __future__ import annotations

import os

import jax
import numpy as np
import pytest

# Tests draw the arm from boxes unless a test names meshes itself: an installed mujoco-menagerie
# must not make the suite depend on a download (tests run offline).
os.environ.setdefault("MJX_LEROBOT_SO101_MESHES", "off")

import mjx_lerobot
from mjx_lerobot.sim.scene import ctrl_to_action

NUM_ENVS = 4


@pytest.fixture(scope="session")
def jax_env() -> mjx_lerobot.Env:
    """lift_cube on MJX-JAX, 4 instances, the task's own episode length."""
    return mjx_lerobot.make("lift_cube", num_envs=NUM_ENVS, impl="jax")


@pytest.fixture(scope="session")
def c_env() -> mjx_lerobot.Env:
    """lift_cube on MuJoCo C (impl="c"), 4 instances, the task's own episode length."""
    return mjx_lerobot.make("lift_cube", num_envs=NUM_ENVS, impl="c")


@pytest.fixture(scope="session")
def c_state0(c_env) -> mjx_lerobot.EnvState:
    return c_env.reset(jax.random.key(0))


def hold_action(env: mjx_lerobot.Env, state: mjx_lerobot.EnvState) -> np.ndarray:
    """The action that keeps every servo at its current target, as float32 numpy [N, 6]."""
    return np.array(ctrl_to_action(env.scene, state.data.ctrl), np.float32)  # writable copy
