"""The scripted lift_cube expert succeeds on (nearly) every instance, on both backends."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import mjx_lerobot

NUM_ENVS = 256
NUM_STEPS = 150  # one full episode (5 s)


@pytest.mark.parametrize("impl", ["jax", "warp"])
def test_lift_expert_success_rate(impl):
    env = mjx_lerobot.make("lift_cube", num_envs=NUM_ENVS, impl=impl)
    expert = env.task.expert(env.scene, env.params)
    _, traj = mjx_lerobot.rollout(env, expert, jax.random.key(0), NUM_STEPS)
    success = np.asarray(traj["success"]).any(axis=0)
    faults = np.bitwise_or.reduce(np.asarray(traj["fault"]), axis=None)
    print(f"\n[{impl}] lift_cube expert: success {success.mean():.3f} over {NUM_ENVS} instances, faults {faults}")
    assert faults == 0
    assert success.mean() >= 0.95
