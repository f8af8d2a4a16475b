"""Every registered task on every backend that can simulate it: build a 2-instance env with a
3-step episode, reset, step it under jit with random actions past the episode's end, and check
that the auto-reset happened (step counter back to 0, final_obs kept), that no NaN or fault
appeared, and that the observation is what `registry.observation_spec` says.

impl="c" is in the fast tier (each env compiles in seconds on a CPU); impl="warp" and
impl="jax" are marked slow (their envs compile 2-4x longer on a CPU). A task whose scene MJX-JAX
cannot simulate is not skipped: `make` must refuse it with the one-line reason instead.
"""

from __future__ import annotations

import jax
import jax.numpy as jp
import numpy as np
import pytest

import mjx_lerobot
from mjx_lerobot.physics import warp_available
from mjx_lerobot.sim.registry import observation_spec
from mjx_lerobot.sim.scene import impl_unsupported

NUM_ENVS = 2
EPISODE_STEPS = 3
NUM_STEPS = 2 * EPISODE_STEPS + 1  # through two auto-resets

TASKS = mjx_lerobot.available_tasks()
needs_warp = pytest.mark.skipif(not warp_available(), reason="warp-lang is not installed (impl='warp')")
# Measured on a shared 2-core CPU (load ~10): c 7-16 s per task, warp 19-45 s, jax 20-60 s
# (MJX-JAX compile). Only impl="c" fits the fast tier.
# The fast tier steps one task of each scene family on impl="c"; the full suite steps them all.
FAST_TASKS = ("reach", "lift_cube", "pick_object")
IMPL_MARKS = {"c": (), "warp": (needs_warp, pytest.mark.slow), "jax": (pytest.mark.slow,)}


def _cases() -> list:
    cases = []
    for impl, marks in IMPL_MARKS.items():
        for task in TASKS:
            scene_file = mjx_lerobot.load_task(task).scene
            if impl_unsupported(scene_file, impl):
                case_marks = ()  # a refusal is instant: fast tier
            elif impl == "c" and task not in FAST_TASKS:
                case_marks = (pytest.mark.slow,)
            else:
                case_marks = marks
            cases.append(pytest.param(task, impl, False, marks=case_marks, id=f"{task}-{impl}"))
            if impl == "c" and not impl_unsupported(scene_file, impl):
                # Randomized, MuJoCo C steps one model per instance with its drawn fields: every
                # scene's own model (e.g. pairs that MJX-JAX's twin of it leaves out) must take them.
                cases.append(pytest.param(task, impl, True, marks=(pytest.mark.slow,), id=f"{task}-{impl}-randomized"))
    return cases


def _finite(tree) -> bool:
    return all(bool(np.isfinite(np.asarray(leaf)).all()) for leaf in jax.tree.leaves(tree))


def _check_obs(obs: dict, spec_shapes: dict, what: str) -> None:
    assert list(obs) == list(spec_shapes), f"{what}: obs keys {list(obs)} != spec {list(spec_shapes)}"
    for key, shape in spec_shapes.items():
        value = obs[key]
        assert value.shape == (NUM_ENVS, *shape), f"{what}: {key} has shape {value.shape}, spec {shape}"
        assert value.dtype == jp.float32, f"{what}: {key} is {value.dtype}, not float32"
    assert _finite(obs), f"{what}: NaN or inf in the observation"


@pytest.mark.parametrize("task, impl, randomize", _cases())
def test_task_steps_and_auto_resets(task, impl, randomize):
    scene_file = mjx_lerobot.load_task(task).scene
    reason = impl_unsupported(scene_file, impl)
    if reason:  # not a skip: the refusal is what this combination must do
        with pytest.raises(ValueError, match=f"impl='{impl}' cannot simulate {scene_file}"):
            mjx_lerobot.make(task, num_envs=NUM_ENVS, impl=impl, episode_steps=EPISODE_STEPS)
        return

    env = mjx_lerobot.make(task, num_envs=NUM_ENVS, impl=impl, episode_steps=EPISODE_STEPS, randomize=randomize)
    assert env.impl == impl and env.episode_steps == EPISODE_STEPS
    spec = env.obs_spec.shapes  # compared with registry.observation_spec at the end

    state = env.reset(jax.random.key(0))
    _check_obs(state.obs, spec, "reset")
    assert np.asarray(state.steps).tolist() == [0] * NUM_ENVS
    assert _finite(state.data.qpos)

    # Random actions over the whole range, stepped by the env's jitted step (auto-reset inside).
    keys = jax.random.split(jax.random.key(1), NUM_STEPS)
    ended = np.zeros(NUM_ENVS, int)
    for t in range(NUM_STEPS):
        action = jax.random.uniform(keys[t], (NUM_ENVS, 6), minval=-1.0, maxval=1.0)
        prev_steps = np.asarray(state.steps)
        prev = state
        state = env.step(state, action)
        what = f"step {t + 1}"
        _check_obs(state.obs, spec, what)
        assert _finite(state.data.qpos) and _finite(state.data.qvel), f"{what}: NaN in the physics state"
        assert np.asarray(state.fault).tolist() == [0] * NUM_ENVS, f"{what}: fault flags {state.fault}"
        assert _finite(state.reward) and _finite(state.metrics)
        done = np.asarray(state.done)
        steps = np.asarray(state.steps)
        assert not (np.asarray(state.terminated) & np.asarray(state.truncated)).any()
        for i in range(NUM_ENVS):
            if done[i]:  # auto-reset: a fresh episode, the terminal obs kept in final_obs
                assert steps[i] == 0, f"{what}: instance {i} ended but its step counter is {steps[i]}"
                assert prev_steps[i] + 1 <= EPISODE_STEPS
                ended[i] += 1
            else:
                assert steps[i] == prev_steps[i] + 1 < EPISODE_STEPS, f"{what}: instance {i} steps {steps[i]}"
                # Not finished: final_obs is still the one from the last episode end.
                for key in spec:
                    np.testing.assert_array_equal(state.final_obs[key][i], prev.final_obs[key][i])
        # Truncation comes exactly at the limit.
        np.testing.assert_array_equal(np.asarray(state.truncated), (prev_steps + 1 >= EPISODE_STEPS) & ~np.asarray(
            state.terminated))
    assert (ended >= NUM_STEPS // EPISODE_STEPS).all(), f"episodes ended per instance: {ended.tolist()}"

    # The env's observation is the one a policy config is built from before any env exists.
    assert dict(observation_spec(task).shapes) == dict(spec)
    assert list(observation_spec(task).shapes) == list(spec)
