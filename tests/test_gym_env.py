"""The Gymnasium adapter: what Gymnasium and LeRobot users rely on.

The envs here use impl="c" (MuJoCo C physics): each new env compiles in seconds on a CPU and
steps fastest there; what the adapter does is the same on every backend.
"""

from __future__ import annotations

import gymnasium as gym
import jax
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

import mjx_lerobot
from mjx_lerobot.lerobot.gym_env import SO101VectorEnv
from mjx_lerobot.lerobot.gym_ids import gym_id
from mjx_lerobot.lerobot.single_env import SO101Env
from mjx_lerobot.lerobot.units import JointUnits

LIFT = "gym_so101_mjx/LiftCube-v0"


def vec_env(num_envs: int = 4, **kwargs) -> SO101VectorEnv:
    kwargs = {"impl": "c", "max_episode_steps": 3, **kwargs}
    return gym.make_vec(LIFT, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs)


@pytest.fixture(scope="module")
def next_step_env():
    env = vec_env(4)
    yield env
    env.close()


def hold(env: SO101VectorEnv, obs: dict) -> np.ndarray:
    return obs["agent_pos"].copy()


def test_every_task_is_registered():
    for task in mjx_lerobot.available_tasks():
        spec = gym.spec(gym_id(task))
        assert spec.vector_entry_point is not None
    assert gym_id("lift_cube") == LIFT


def test_make_vec_is_one_batched_env_with_lerobot_observations(next_step_env):
    env = next_step_env
    assert isinstance(env, SO101VectorEnv)  # not a Sync/AsyncVectorEnv of single envs
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert obs["agent_pos"].dtype == np.float32 and obs["agent_pos"].shape == (4, 6)
    # cube_pos (3) + cube_quat (4) + target_pos (3)
    assert obs["environment_state"].shape == (4, 10)
    np.testing.assert_allclose(obs["agent_pos"], np.asarray(env.state.obs["joint_pos"]), atol=1e-6)
    np.testing.assert_allclose(obs["environment_state"][:, :3], np.asarray(env.state.obs["cube_pos"]), atol=1e-6)
    assert info["is_success"].dtype == bool and not info["is_success"].any()
    assert env.call("task_description") == ("Pick up the red cube and lift it.",) * 4
    assert env.call("task") == ("lift_cube",) * 4
    assert env.call("_max_episode_steps") == (3,) * 4
    assert env.metadata["render_fps"] == 30
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP


def test_next_step_autoreset(next_step_env):
    env = next_step_env
    obs, _ = env.reset(seed=1)
    for _ in range(3):
        last = obs
        obs, reward, terminated, truncated, info = env.step(hold(env, obs))
    # Step 3 hit the limit: a time-out, never a success; obs is the terminal one.
    assert truncated.all() and not terminated.any() and not info["is_success"].any()
    np.testing.assert_allclose(obs["agent_pos"], last["agent_pos"], atol=0.02)
    # The next step resets instead of stepping: zero reward, a fresh episode, action ignored.
    obs2, reward, terminated, truncated, info = env.step(np.zeros((4, 6), np.float32))
    assert (reward == 0).all() and not terminated.any() and not truncated.any()
    assert (np.asarray(env.state.steps) == 0).all()
    assert not np.allclose(obs2["environment_state"], obs["environment_state"])  # cube moved to a new start


def test_same_step_autoreset_reports_final_obs_and_info():
    env = vec_env(4, autoreset_mode=AutoresetMode.SAME_STEP)
    obs, _ = env.reset(seed=2)
    for step in range(3):
        prev = obs
        obs, reward, terminated, truncated, info = env.step(hold(env, obs))
        if step < 2:
            assert "final_obs" not in info
    assert truncated.all()
    assert info["_final_obs"].all() and info["_final_info"].all()
    assert not info["final_info"]["is_success"].any()  # time-out is not success
    final = info["final_obs"][0]
    np.testing.assert_allclose(final["agent_pos"], prev["agent_pos"][0], atol=0.02)
    # obs already belongs to the next episode: a new cube position.
    assert not np.allclose(obs["environment_state"][0, :3], final["environment_state"][:3])
    env.close()


def test_seeds_alone_decide_initial_states(next_step_env):
    env = next_step_env
    a, _ = env.reset(seed=10)
    for _ in range(2):
        env.step(hold(env, a))
    b, _ = env.reset(seed=10)  # same seeds after other resets and steps
    np.testing.assert_array_equal(a["environment_state"], b["environment_state"])
    c, _ = env.reset(seed=[13, 12, 11, 10])  # instance i got seed 10 + i above
    np.testing.assert_array_equal(c["environment_state"], a["environment_state"][::-1])
    small = vec_env(2)  # another batch size
    d, _ = small.reset(seed=[11, 99])
    np.testing.assert_array_equal(d["environment_state"][0], a["environment_state"][1])
    small.close()
    e, _ = env.reset()
    f, _ = env.reset()
    assert not np.allclose(e["environment_state"], f["environment_state"])


def test_partial_reset_with_mask(next_step_env):
    env = next_step_env
    a, _ = env.reset(seed=20)
    moved, *_ = env.step(hold(env, a))
    b, _ = env.reset(seed=[50, 50, 50, 50], options={"reset_mask": np.array([True, False, False, False])})
    np.testing.assert_array_equal(b["environment_state"][1:], moved["environment_state"][1:])
    assert not np.allclose(b["environment_state"][0], a["environment_state"][0])


@pytest.mark.slow
def test_success_is_reported_when_the_expert_lifts_the_cube():
    env = vec_env(4, max_episode_steps=None, autoreset_mode=AutoresetMode.SAME_STEP)
    env.reset(seed=0)
    first_outcome = np.full(4, -1)  # -1 running, 0 failed or timed out, 1 succeeded
    for step in range(150):
        _, _, terminated, truncated, info = env.step(env.expert_action(step))
        if "final_info" in info:
            success = info["final_info"]["is_success"]
            # Success ends the episode (terminated); a time-out (truncated) never reports success.
            assert (success == (terminated & info["_final_info"])).all()
            newly = info["_final_info"] & (first_outcome < 0)
            first_outcome[newly] = success[newly]
        if (first_outcome >= 0).all():
            break
    assert (first_outcome == 1).all(), first_outcome
    env.close()


@pytest.mark.slow
def test_pixels_render_and_degrees():
    env = vec_env(2, obs_type="pixels_agent_pos", units="degrees", observation_height=96, observation_width=128)
    obs, _ = env.reset(seed=3)
    assert set(obs) == {"agent_pos", "pixels"} and set(obs["pixels"]) == {"front", "wrist"}
    assert obs["pixels"]["front"].shape == (2, 96, 128, 3) and obs["pixels"]["front"].dtype == np.uint8
    assert obs["pixels"]["front"].std() > 5  # an actual picture, not a blank buffer
    assert env.observation_space.contains(obs)
    # Degrees like LeRobot's SO-101 follower: arm joints from the mid-range zero, gripper 0-100.
    radians = np.asarray(env.state.obs["joint_pos"])
    np.testing.assert_allclose(obs["agent_pos"][:, :5], np.rad2deg(radians[:, :5]), atol=1e-3)
    assert ((obs["agent_pos"][:, 5] > 0) & (obs["agent_pos"][:, 5] < 100)).all()
    frames = env.call("render")
    assert len(frames) == 2
    assert np.stack(frames[:1]).shape == (1, 96, 128, 3)
    np.testing.assert_array_equal(env.render()[1], obs["pixels"]["front"][1])
    # Holding the degrees it reads keeps the arm still: actions and agent_pos share units.
    obs2, *_ = env.step(obs["agent_pos"])
    np.testing.assert_allclose(obs2["agent_pos"][:, :5], obs["agent_pos"][:, :5], atol=1.5)
    env.close()


def test_joint_units_follow_lerobot_so101_follower():
    low = np.array([-1.9, -1.7, -1.7, -1.6, -2.7, -0.174533], np.float32)
    high = np.array([1.9, 1.7, 1.7, 1.6, 2.8, 1.745329], np.float32)
    units = JointUnits("degrees", low, high, calibration={"wrist_roll": 10.0})
    rad = np.array([0.0, np.pi / 2, -np.pi / 4, 0.1, np.deg2rad(10.0), low[5]], np.float32)
    deg = units.from_radians(rad)
    np.testing.assert_allclose(deg[:5], [0.0, 90.0, -45.0, np.rad2deg(0.1), 0.0], atol=1e-4)
    assert deg[5] == pytest.approx(0.0, abs=1e-4)  # closed
    assert units.from_radians(high)[5] == pytest.approx(100.0, abs=1e-3)  # open
    np.testing.assert_allclose(units.to_radians(deg), rad, atol=1e-6)
    with pytest.raises(ValueError, match="calibration"):
        JointUnits("degrees", low, high, calibration={"elbow": 1.0})


def test_bad_input_gets_a_clear_error(next_step_env):
    env = next_step_env
    obs, _ = env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action shape: expected \(4, 6\)"):
        env.step(np.zeros((4, 5), np.float32))
    bad = hold(env, obs)
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"non-finite entries at \[instance, joint\] \[\[2, 1\]\]"):
        env.step(bad)
    with pytest.raises(ValueError, match="dtype"):
        env.step(np.zeros((4, 6), bool))
    with pytest.raises(ValueError, match="one seed per instance"):
        env.reset(seed=[1, 2])
    with pytest.raises(ValueError, match="obs_type"):
        SO101VectorEnv(1, "lift_cube", obs_type="rgb")
    with pytest.raises(ValueError, match="unknown task"):
        SO101VectorEnv(1, "StackCubes-v0")
    with pytest.raises(ValueError, match="unknown camera"):
        SO101VectorEnv(1, "lift_cube", obs_type="pixels", cameras="side")


def test_single_env_passes_gymnasium_check_env():
    env = SO101Env("lift_cube", impl="c", max_episode_steps=20)
    check_env(env, skip_render_check=False)
    obs, info = env.reset(seed=0)
    assert obs["agent_pos"].shape == (6,) and isinstance(info["is_success"], bool)
    obs, reward, terminated, truncated, info = env.step(obs["agent_pos"])
    assert isinstance(reward, float) and env.render().shape == (240, 320, 3)
    env.close()


@pytest.mark.slow
def test_close_frees_device_memory():
    def live_bytes() -> int:
        return sum(a.nbytes for a in jax.live_arrays())

    before = live_bytes()
    env = vec_env(64)
    obs, _ = env.reset(seed=0)
    env.step(hold(env, obs))
    assert live_bytes() > before
    env.close()
    assert live_bytes() <= before
    with pytest.raises(RuntimeError, match="closed"):
        env.reset()
