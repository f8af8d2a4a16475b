"""The scripted lift_cube expert succeeds on (nearly) every instance, on both backends, and
under domain randomization (the default ranges)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import mjx_lerobot
from mjx_lerobot.sim.expert import first_episode_success

# Slow tier: expert success rates over hundreds of instances.
pytestmark = pytest.mark.slow

NUM_STEPS = 150  # one full episode (5 s): every instance's first episode ends within it


# impl="c" 256 instances, with their own randomized physics and looks (one MuJoCo model per
# instance) and unrandomized; Warp 64 randomized ones (on a CPU Warp steps ~8x slower than c, and
# its 1,000-episode rates are `mjx-lerobot experts --impl warp`'s). MJX-JAX's grasp and lift are
# checked against MuJoCo C in test_mujoco_parity.py (its expert rates would cost minutes of CI).
@pytest.mark.parametrize("impl, randomize, num_envs", [("warp", True, 64), ("c", False, 256), ("c", True, 256)])
def test_lift_expert_success_rate(impl, randomize, num_envs):
    env = mjx_lerobot.make("lift_cube", num_envs=num_envs, impl=impl, randomize=randomize)
    assert env.episode_steps == NUM_STEPS  # otherwise a first episode could be cut short
    expert = env.task.expert(env.scene, env.params)
    _, traj = mjx_lerobot.rollout(env, expert, jax.random.key(0), NUM_STEPS)
    # Only each instance's first episode counts: the rollout auto-resets, so `success` at any
    # step would also count a retry after an early failure (and one that never ended fails).
    success = first_episode_success(traj)
    faults = np.bitwise_or.reduce(np.asarray(traj["fault"]), axis=None)
    print(
        f"\n[{impl}, randomize={randomize}] lift_cube expert: first-episode success {int(success.sum())}/{num_envs} "
        f"({success.mean():.3f}), faults {faults}"
    )
    assert faults == 0
    assert success.mean() >= 0.95
