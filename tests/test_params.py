"""A task's Params are traced: shared or per instance, carried by the state, used by every step
and auto-reset, changed without a recompile, and checked at the Python boundary."""

from __future__ import annotations

import jax
import jax.numpy as jp
import numpy as np
import pytest
from conftest import NUM_ENVS, hold_action

import mjx_lerobot

N = NUM_ENVS


def test_per_instance_params_decide_success_and_survive_auto_reset(c_env, c_state0):
    # lift_cube succeeds once the cube has been held `hold_steps` steps: with 0, at once.
    hold_steps = jp.array([0, 10, 0, 10], jp.int32)
    state = c_env.reset(jax.random.key(0), params=c_env.params.replace(hold_steps=hold_steps))
    np.testing.assert_array_equal(np.asarray(state.params.hold_steps), hold_steps)
    assert state.params.lift_height.shape == (N,)  # a field given once is shared by every instance
    state = c_env.step(state, hold_action(c_env, state))
    np.testing.assert_array_equal(np.asarray(state.success), [True, False, True, False])
    np.testing.assert_array_equal(np.asarray(state.steps), [0, 1, 0, 1])  # 0 and 2 ended and reset
    # The reset instances kept their own params, so their new episodes succeed at once again.
    np.testing.assert_array_equal(np.asarray(state.params.hold_steps), hold_steps)
    state = c_env.step(state, hold_action(c_env, state))
    np.testing.assert_array_equal(np.asarray(state.success), [True, False, True, False])


def test_changing_params_takes_effect_without_a_recompile(c_env, c_state0):
    def first_step_success(params):
        state = c_env.reset(jax.random.key(1), params=params)
        return np.asarray(c_env.step(state, hold_action(c_env, state)).success)

    assert not first_step_success(None).any()
    compiled = (c_env._reset._cache_size(), c_env._step._cache_size())
    # A mapping of the fields to change works as well as Params.replace; a Python int is cast.
    assert first_step_success({"hold_steps": 0}).all()
    assert not first_step_success(c_env.params.replace(hold_steps=jp.full(N, 5))).any()
    assert (c_env._reset._cache_size(), c_env._step._cache_size()) == compiled


@pytest.mark.slow
def test_rollout_takes_params():
    # On impl="c": it compiles in seconds on a CPU, where MJX-JAX takes a minute.
    env = mjx_lerobot.make("lift_cube", num_envs=N, impl="c")
    hold = lambda state, key: jp.asarray(mjx_lerobot.sim.scene.ctrl_to_action(env.scene, state.data.ctrl))
    _, traj = mjx_lerobot.rollout(env, hold, jax.random.key(2), 2, params={"hold_steps": jp.array([0, 0, 9, 9])})
    np.testing.assert_array_equal(np.asarray(traj["success"][0]), [True, True, False, False])
    with pytest.raises(ValueError, match="carries its own"):
        mjx_lerobot.rollout(env, hold, jax.random.key(2), 2, state=env.reset(jax.random.key(0)), params={})


def test_env_params_cannot_be_assigned(c_env):
    # Assigning once did nothing after the first step; now it says what to do instead.
    with pytest.raises(AttributeError, match="reset"):
        c_env.params = c_env.params.replace(hold_steps=0)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"hold_steps": jp.zeros(N + 1)}, ValueError, r"params.hold_steps: expected shape \(\) .* or \(4,\)"),
        ({"cube_xy_low": (0.1, 0.2, 0.3)}, ValueError, r"params.cube_xy_low: expected shape \(2,\)"),
        ({"lift_heigth": 0.1}, ValueError, "unknown params.*lift_height"),
        ({"lift_height": float("nan")}, ValueError, "non-finite"),
        ("lift_height=0.1", TypeError, "params must be a Params"),
    ],
)
def test_bad_params_get_a_clear_error(c_env, params, error, match):
    with pytest.raises(error, match=match):
        c_env.reset(jax.random.key(0), params=params)


@pytest.mark.slow
def test_gym_adapter_takes_params():
    env = mjx_lerobot.SO101VectorEnv(2, "reach", impl="c", params={"success_radius": [10.0, 0.0]})
    env.reset(seed=0)
    _, _, terminated, _, info = env.step(env.single_action_space.sample()[None].repeat(2, 0) * 0)
    np.testing.assert_array_equal(info["is_success"], [True, False])
    np.testing.assert_array_equal(terminated, [True, False])
    env.close()
