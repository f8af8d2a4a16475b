"""Teleoperation and the viewer, driven by scripted fakes: no hardware, no display.

A fake SO-101 leader arm replays the readings a real one would give (degrees, gripper 0-100)
while it demonstrates pick_object; the episode lands in a LeRobotDataset with its own
instruction, replays exactly, and a Ctrl-C in the next episode keeps what was finished. A
fake keyboard's end-effector deltas move the gripper where they say. A fake viewer window
shows the states the jitted env steps through."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal

import imageio.v3 as iio
import jax
import mujoco
import numpy as np
import pytest

import mjx_lerobot
from mjx_lerobot.apps.teleop import EE_STEP, Teleop, TeleopConfig, teleop
from mjx_lerobot.apps.viewer import NEXT_KEY, view
from mjx_lerobot.lerobot.gym_env import SO101VectorEnv
from mjx_lerobot.lerobot.units import MOTOR_NAMES, JointUnits
from mjx_lerobot.sim.expert import expert_policy

pytest.importorskip("lerobot.datasets.lerobot_dataset", reason="recording needs the lerobot extra")
from lerobot.datasets.lerobot_dataset import LeRobotDataset  # noqa: E402

from mjx_lerobot.lerobot.record import replay  # noqa: E402


class FakeLeader:
    """An SO-101 leader arm (LeRobot's `get_action()`: '<joint>.pos' degrees, gripper 0-100)
    playing back `readings`, then holding the last one; Ctrl-C after `interrupt_after` calls."""

    def __init__(self, readings: np.ndarray, interrupt_after: int | None = None):
        self.readings, self.calls, self.interrupt_after = readings, 0, interrupt_after

    def get_action(self) -> dict[str, float]:
        reading = self.readings[min(self.calls, len(self.readings) - 1)]
        self.calls += 1
        if self.calls == self.interrupt_after:
            os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C in the terminal does
        return {name: float(value) for name, value in zip(MOTOR_NAMES, reading, strict=True)}


def expert_readings(task: str, seed: int) -> np.ndarray:
    """What a person's leader arm would read while doing what the expert does, seed `seed`."""
    env = SO101VectorEnv(1, task, impl="c", units="degrees", obs_type="agent_pos", autoreset_mode="Disabled",
                         render_mode=None)
    env.reset(seed=[seed])
    readings = []
    for _ in range(env._max_episode_steps):
        readings.append(env.expert_action()[0])
        _, _, terminated, truncated, _ = env.step(readings[-1][None])
        if terminated[0] or truncated[0]:
            break
    env.close()
    return np.stack(readings)


@pytest.mark.slow
def test_leader_arm_teleop_records_a_replayable_episode_and_survives_ctrl_c(tmp_path):
    task, root = "pick_object", tmp_path / "teleop"
    readings = expert_readings(task, seed=0)
    # Episode 1 (seed 0) is the demonstration; 10 steps into episode 2, Ctrl-C.
    leader = FakeLeader(readings, interrupt_after=len(readings) + 10)
    cfg = TeleopConfig(task=task, device="so101_leader", root=str(root), episodes=3, impl="c", seed=0,
                       viewer=False, realtime=False)
    result = teleop(cfg, device=leader, log=lambda msg: None)
    assert result["episodes_written"] == 1 and result["successes"] == 1 and result["episodes_dropped"] == 1

    dataset = LeRobotDataset("local/so101_mjx_pick_object", root=root)
    assert dataset.num_episodes == 1 and dataset.num_frames == len(readings)
    env = mjx_lerobot.make(task, num_envs=1, impl="c")
    asked = int(env.instruction_ids(env.reset_instances(mjx_lerobot.sim.task.seed_keys([0])))[0])
    assert dataset[0]["task"] == env.task.instructions[asked]  # the episode's own instruction
    # The leader's readings are the recorded actions (LeRobot's follower units), as on a real arm.
    actions = np.stack([np.asarray(dataset[i]["action"]) for i in range(dataset.num_frames)])
    np.testing.assert_allclose(actions, readings, atol=1e-3)
    replayed = replay(root, 0)
    assert replayed["max_qpos_deviation"] == 0.0 and replayed["replayed_success"]

    # --resume: the next demonstration comes after both seeds the first run handed out (0, and
    # 1 for the episode Ctrl-C dropped), and lands beside the first.
    resumed = dataclasses.replace(cfg, episodes=2, resume=True)
    result = teleop(resumed, device=FakeLeader(expert_readings(task, seed=2)), log=lambda msg: None)
    assert result["episodes_written"] == 1 and result["successes"] == 1
    dataset = LeRobotDataset("local/so101_mjx_pick_object", root=root)
    seeds = np.asarray(dataset.hf_dataset.with_format("numpy")["sim.seed"]).ravel()
    assert dataset.num_episodes == 2 and set(seeds) == {0, 2}
    assert replay(root, 1)["max_qpos_deviation"] == 0.0


@pytest.mark.slow
def test_keyboard_deltas_move_the_gripper_where_they_say():
    env = mjx_lerobot.make("reach", num_envs=1, impl="c")
    driver = Teleop(env, JointUnits("degrees", env.scene.ctrl_low, env.scene.ctrl_high))
    state = driver.reset(seed=0)
    start = np.asarray(state.obs["ee_pos"][0])
    grip0 = float(state.data.ctrl[0, 5])
    # LeRobot's KeyboardEndEffectorTeleop: 10 steps down while closing the jaws, 10 forward,
    # then nothing while the servos catch up.
    for t in range(35):
        down, forward = float(t < 10), float(10 <= t < 20)
        reading = {"delta_x": forward, "delta_y": 0.0, "delta_z": -down, "gripper": 0 if t < 5 else 1}
        state, _ = driver.step(state, driver.action(state, reading))
    moved = np.asarray(state.obs["ee_pos"][0]) - start
    np.testing.assert_allclose(moved, [10 * EE_STEP, 0.0, -10 * EE_STEP], atol=0.006)
    assert float(state.data.ctrl[0, 5]) < grip0 - 0.3  # the jaws were told to close
    with pytest.raises(ValueError, match="neither the leader arm"):
        driver.action(state, {"x": 1.0})
    with pytest.raises(ValueError, match="non-finite"):
        driver.action(state, dict.fromkeys(MOTOR_NAMES, float("nan")))


class FakeViewer:
    """mujoco.viewer.launch_passive's handle, for `frames` syncs; presses ] at the third."""

    def __init__(self, frames: int):
        self.frames, self.shown, self.closed = frames, [], False
        self.opt = mujoco.MjvOption()

    def __call__(self, model, data, key_callback=None):
        self.data, self.key_callback = data, key_callback
        return self

    def is_running(self) -> bool:
        return len(self.shown) < self.frames

    def lock(self):
        return contextlib.nullcontext()

    def sync(self) -> None:
        self.shown.append(self.data.qpos.copy())
        if len(self.shown) == 3:
            self.key_callback(NEXT_KEY)

    def close(self) -> None:
        self.closed = True


@pytest.mark.slow
def test_viewer_shows_the_jitted_env_and_switches_instances(tmp_path):
    fake = FakeViewer(frames=12)
    result = view("reach", "expert", instances=2, impl="c", realtime=False, launch=fake, log=lambda msg: None)
    assert result["steps"] == 12 and fake.closed and fake.opt.geomgroup[4]
    env = mjx_lerobot.make("reach", num_envs=2, impl="c")
    start = np.asarray(env.reset(jax.random.key(0)).data.qpos)
    np.testing.assert_allclose(fake.shown[0], start[0], atol=1e-6)  # instance 0's reset first
    arm = env.scene.arm_qpos
    assert np.abs(fake.shown[2][arm] - fake.shown[0][arm]).max() > 1e-3  # the expert moves the arm
    # After ], the window shows instance 1: its state after the same 3 expert steps.
    expert = expert_policy(env)
    state = env.reset(jax.random.key(0))
    for _ in range(3):
        state = env.step(state, expert(state, jax.random.key(0)))
    qpos = np.asarray(state.data.qpos)
    np.testing.assert_allclose(fake.shown[3], qpos[1], atol=1e-5)
    assert np.abs(qpos[1] - qpos[0]).max() > 1e-3  # which is not instance 0

    video = view("reach", "hold", impl="c", steps=6, video=str(tmp_path / "v.mp4"), log=lambda msg: None)
    assert iio.imread(video["video"]).shape[0] == 6
