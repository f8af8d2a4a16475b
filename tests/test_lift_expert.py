"""The scripted lift_cube expert succeeds on (nearly) every instance, on both backends."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import mjx_lerobot
from mjx_lerobot.expert import first_episode_success

NUM_ENVS = 256
NUM_STEPS = 150  # one full episode (5 s): every instance's first episode ends within it


@pytest.mark.parametrize("impl", ["jax", "warp"])
def test_lift_expert_success_rate(impl):
    env = mjx_lerobot.make("lift_cube", num_envs=NUM_ENVS, impl=impl)
    assert env.episode_steps == NUM_STEPS  # otherwise a first episode could be cut short
    expert = env.task.expert(env.scene, env.params)
    _, traj = mjx_lerobot.rollout(env, expert, jax.random.key(0), NUM_STEPS)
    # Only each instance's first episode counts: the rollout auto-resets, so `success` at any
    # step would also count a retry after an early failure (and one that never ended fails).
    success = first_episode_success(traj)
    faults = np.bitwise_or.reduce(np.asarray(traj["fault"]), axis=None)
    print(
        f"\n[{impl}] lift_cube expert: first-episode success {int(success.sum())}/{NUM_ENVS} "
        f"({success.mean():.3f}), faults {faults}"
    )
    assert faults == 0
    assert success.mean() >= 0.95
