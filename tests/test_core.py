"""The batched env's contract on MJX-JAX: determinism, instance independence, auto-reset,
dtypes and rollout shapes. All tests share one 4-instance env (see conftest.py)."""

from __future__ import annotations

import jax
import jax.numpy as jp
import numpy as np
import pytest
from conftest import NUM_ENVS, hold_action

import mjx_lerobot
from mjx_lerobot.sim.scene import ctrl_to_action
from mjx_lerobot.sim.tabletop import CUBE_HALF

N = NUM_ENVS


def _np(tree):
    return jax.tree.map(np.asarray, tree)


@pytest.fixture(scope="module")
def action(c_env, c_state0) -> np.ndarray:
    """Move every joint a little away from its reset target (free space, no contact)."""
    return np.clip(hold_action(c_env, c_state0) + np.float32(0.05), -1, 1)


def test_same_key_same_trajectory(c_env, action):
    def run(seed):
        state = c_env.reset(jax.random.key(seed))
        start = np.asarray(state.data.qpos)
        for _ in range(3):
            state = c_env.step(state, action)
        return start, np.asarray(state.data.qpos)

    start1, end1 = run(7)
    start2, end2 = run(7)
    np.testing.assert_array_equal(start1, start2)
    np.testing.assert_array_equal(end1, end2)
    assert np.abs(end1 - start1).max() > 1e-3  # the arm did move
    start3, _ = run(8)
    assert not np.allclose(start1, start3)  # another key is another episode


def test_instances_start_differently(c_env, c_state0):
    obs = _np(c_state0.obs)
    cube = obs["cube_pos"]
    assert cube.shape == (N, 3)
    for i in range(N):
        for j in range(i + 1, N):
            assert np.abs(cube[i, :2] - cube[j, :2]).max() > 1e-4, (i, j, cube)
            assert not np.array_equal(obs["joint_pos"][i], obs["joint_pos"][j])
    # Inside lift_cube's spawn region, resting on the table.
    params = c_env.params
    assert (cube[:, :2] >= np.array(params.cube_xy_low) - 1e-6).all()
    assert (cube[:, :2] <= np.array(params.cube_xy_high) + 1e-6).all()
    np.testing.assert_allclose(cube[:, 2], CUBE_HALF, atol=1e-6)
    np.testing.assert_allclose(obs["target_pos"][:, 2], CUBE_HALF + params.lift_height, atol=1e-6)
    assert (np.asarray(c_state0.steps) == 0).all()
    assert not np.asarray(c_state0.done).any()


def test_instances_are_independent(c_env, c_state0, action):
    perturbed = action.copy()
    perturbed[0, :5] = np.clip(perturbed[0, :5] + 0.2, -1, 1)
    a, b = c_state0, c_state0
    for _ in range(3):
        a = c_env.step(a, action)
        b = c_env.step(b, perturbed)
    qa, qb = np.asarray(a.data.qpos), np.asarray(b.data.qpos)
    assert np.abs(qa[0, :6] - qb[0, :6]).max() > 1e-3
    np.testing.assert_array_equal(qa[1:], qb[1:])
    np.testing.assert_array_equal(np.asarray(a.data.qvel)[1:], np.asarray(b.data.qvel)[1:])
    for name in a.obs:
        np.testing.assert_array_equal(np.asarray(a.obs[name])[1:], np.asarray(b.obs[name])[1:], err_msg=name)


def _assert_fresh_episode(state, i, finished_obs):
    """Instance i of `state` is at the very start of a new episode."""
    obs = _np(state.obs)
    assert state.steps[i] == 0
    np.testing.assert_array_equal(obs["joint_vel"][i], 0.0)
    np.testing.assert_array_equal(np.asarray(state.data.qvel)[i], 0.0)  # physics reset too, not only obs
    np.testing.assert_array_equal(np.asarray(state.data.qpos)[i, :6], obs["joint_pos"][i])
    np.testing.assert_array_equal(np.asarray(state.data.ctrl)[i], obs["joint_pos"][i])
    np.testing.assert_allclose(obs["cube_pos"][i, 2], CUBE_HALF, atol=1e-6)
    assert np.abs(obs["cube_pos"][i, :2] - finished_obs["cube_pos"][i, :2]).max() > 1e-4
    assert state.info.held_steps[i] == 0


def test_truncation_and_auto_reset_of_all_instances(c_env, c_state0, action):
    limit = c_env.episode_steps
    near_end = c_state0.replace(steps=jp.full((N,), limit - 2, jp.int32))
    s1 = c_env.step(near_end, action)
    assert (np.asarray(s1.steps) == limit - 1).all()
    assert not np.asarray(s1.truncated).any() and not np.asarray(s1.terminated).any()
    # final_obs only changes when an episode ends.
    jax.tree.map(np.testing.assert_array_equal, _np(s1.final_obs), _np(c_state0.final_obs))

    s2 = c_env.step(s1, action)
    # The same physics step with no step limit in sight: what the finished episodes ended on.
    ended = _np(c_env.step(s1.replace(steps=jp.zeros((N,), jp.int32)), action).obs)

    assert np.asarray(s2.truncated).all()
    assert not np.asarray(s2.terminated).any()
    assert (np.asarray(s2.steps) == 0).all()
    for name in ended:
        np.testing.assert_allclose(np.asarray(s2.final_obs[name]), ended[name], rtol=0, atol=1e-6, err_msg=name)
        assert np.asarray(s2.obs[name]).dtype == np.float32
    assert np.abs(ended["joint_vel"]).max() > 1e-3  # the finished episodes were moving
    for i in range(N):
        _assert_fresh_episode(s2, i, ended)
    old_keys = np.asarray(jax.random.key_data(s1.key))
    new_keys = np.asarray(jax.random.key_data(s2.key))
    assert not (old_keys == new_keys).all(axis=-1).any()  # each instance drew a new key

    # The new episodes run normally.
    s3 = c_env.step(s2, hold_action(c_env, s2))
    assert (np.asarray(s3.steps) == 1).all()
    assert not np.asarray(s3.done).any()


def test_auto_reset_touches_only_finished_instances(c_env, c_state0, action):
    limit = c_env.episode_steps
    state = c_state0.replace(steps=c_state0.steps.at[0].set(limit - 1))
    nxt = c_env.step(state, action)
    ref = c_env.step(c_state0, action)  # the same step with nobody finishing

    np.testing.assert_array_equal(np.asarray(nxt.steps), [0, 1, 1, 1])
    np.testing.assert_array_equal(np.asarray(nxt.truncated), [True, False, False, False])
    assert not np.asarray(nxt.terminated).any()

    # Instances 1..3 continue exactly from their previous state.
    for field in ("qpos", "qvel", "ctrl"):
        got, want = np.asarray(getattr(nxt.data, field)), np.asarray(getattr(ref.data, field))
        np.testing.assert_array_equal(got[1:], want[1:], err_msg=field)
    for name in ref.obs:
        np.testing.assert_array_equal(np.asarray(nxt.obs[name])[1:], np.asarray(ref.obs[name])[1:], err_msg=name)
        # final_obs: instance 0 holds its finished episode, the others are untouched.
        np.testing.assert_allclose(np.asarray(nxt.final_obs[name])[0], np.asarray(ref.obs[name])[0], atol=1e-6)
        np.testing.assert_array_equal(
            np.asarray(nxt.final_obs[name])[1:], np.asarray(c_state0.final_obs[name])[1:], err_msg=name
        )
    # Instance 0 started over.
    _assert_fresh_episode(nxt, 0, _np(ref.obs))
    assert np.abs(np.asarray(nxt.data.qpos)[0] - np.asarray(ref.data.qpos)[0]).max() > 1e-3

    # One more step: the reset instance counts from 1, the others keep going.
    nxt2 = c_env.step(nxt, action)
    ref2 = c_env.step(ref, action)
    np.testing.assert_array_equal(np.asarray(nxt2.steps), [1, 2, 2, 2])
    np.testing.assert_array_equal(np.asarray(nxt2.data.qpos)[1:], np.asarray(ref2.data.qpos)[1:])


def test_dtypes(c_env, c_state0, action):
    stepped = c_env.step(c_state0, action)
    for state in (c_state0, stepped):
        assert set(state.obs) == {"joint_pos", "joint_vel", "ee_pos", "ee_quat", "cube_pos", "cube_quat", "target_pos"}
        for tree in (state.obs, state.final_obs):
            for name, value in tree.items():
                assert value.dtype == jp.float32, (name, value.dtype)
                assert value.shape[0] == N
        assert state.reward.dtype == jp.float32 and state.reward.shape == (N,)
        assert state.steps.dtype == jp.int32
        assert state.fault.dtype == jp.int32
        for flag in (state.terminated, state.truncated, state.success):
            assert flag.dtype == jp.bool_ and flag.shape == (N,)
    # Unit quaternions.
    np.testing.assert_allclose(np.linalg.norm(np.asarray(stepped.obs["ee_quat"]), axis=-1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_rollout_shapes_and_matches_step(c_env, c_state0):
    scene = c_env.scene
    offset = jp.array([0.05, -0.05, 0.05, -0.05, 0.05, -0.05], jp.float32)

    def policy(state, key):  # a little further from the current servo target each step
        return jp.clip(ctrl_to_action(scene, state.data.ctrl) + offset, -1.0, 1.0)

    T = 4
    final, traj = mjx_lerobot.rollout(c_env, policy, jax.random.key(1), T, state=c_state0)
    assert set(traj) >= {"obs", "action", "reward", "terminated", "truncated", "success", "fault"}
    for name, value in traj["obs"].items():
        assert value.shape == (T, N) + c_state0.obs[name].shape[1:], name
    assert traj["action"].shape == (T, N, 6)
    for name in ("reward", "terminated", "truncated", "success", "fault"):
        assert traj[name].shape == (T, N), name
    if "qpos" in traj:
        assert traj["qpos"].shape == (T, N, c_env.scene.mj_model.nq)
    # obs are the observations the actions were chosen from: the first is the start state's.
    for name in traj["obs"]:
        np.testing.assert_array_equal(np.asarray(traj["obs"][name][0]), np.asarray(c_state0.obs[name]))
    np.testing.assert_array_equal(np.asarray(final.steps), T)

    # The same policy stepped by hand gives the same trajectory.
    state = c_state0
    for t in range(T):
        act = np.asarray(policy(state, None))
        np.testing.assert_allclose(np.asarray(traj["action"][t]), act, atol=1e-6)
        state = c_env.step(state, act)
    np.testing.assert_allclose(np.asarray(final.data.qpos), np.asarray(state.data.qpos), atol=1e-5)
    np.testing.assert_allclose(np.asarray(final.obs["ee_pos"]), np.asarray(state.obs["ee_pos"]), atol=1e-5)


def test_nan_physics_is_flagged_and_reset(c_env, c_state0, action):
    """An instance whose physics blows up is flagged, never reports NaN, and starts afresh."""
    broken = c_state0.replace(data=c_state0.data.replace(qvel=c_state0.data.qvel.at[2].set(jax.numpy.nan)))
    nxt = c_env.step(broken, action)
    fault = np.asarray(nxt.fault)
    assert fault[2] & mjx_lerobot.FAULT_NAN_STATE
    assert not (fault[[0, 1, 3]] & mjx_lerobot.FAULT_NAN_STATE).any()
    assert bool(nxt.terminated[2]) and not bool(nxt.success[2])
    assert int(nxt.steps[2]) == 0  # auto-reset on the same step
    for tree in (nxt.obs, nxt.final_obs, nxt.data.qpos, nxt.data.qvel, nxt.reward, nxt.metrics):
        for leaf in jax.tree.leaves(tree):
            assert np.isfinite(np.asarray(leaf)).all()
