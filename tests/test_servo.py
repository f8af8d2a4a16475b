"""The STS3215 model: the MJCF holds what the published figures give, the physics reaches them
(a long move's top speed is the no-load speed, a saturated servo gives its stall torque), and
the firmware's part reaches every backend's servos (whole encoder steps, a dead zone)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import jax
import numpy as np
import pytest

import mjx_lerobot
from mjx_lerobot.sim import servo
from mjx_lerobot.sim.scene import action_to_ctrl, ctrl_to_action

BENCH = Path(__file__).parents[1] / "benchmarks" / "servo.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("servo_bench", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_mjcf_holds_the_published_figures(bench):
    m = bench.model()
    for name in bench.JOINTS:
        low, high = m.actuator_forcerange[m.actuator(name).id]
        assert high == pytest.approx(servo.SERVO.force_limit(name), abs=1e-4) and low == -high
        assert m.dof_damping[m.joint(name).dofadr[0]] == pytest.approx(servo.SERVO.damping, abs=1e-4)
    assert servo.SERVO.no_load_speed == pytest.approx(math.radians(60) / 0.192)
    assert servo.SERVO.step == pytest.approx(2 * math.pi / 4096)


def test_a_long_move_tops_out_at_the_no_load_speed_and_a_saturated_servo_at_its_stall_torque(bench):
    m = bench.model()
    for joint in (0, 4):  # shoulder_pan and wrist_roll: no gravity load on their axes
        response = bench.step_response(m, joint, math.radians(120), 1.0)
        assert response["top_speed_rad_s"] == pytest.approx(servo.SERVO.no_load_speed, rel=0.03)
        assert response["peak_force_nm"] == pytest.approx(servo.SERVO.stall_torque, rel=1e-4)


def test_a_loaded_arm_sags_under_its_servos_but_holds(bench):
    loaded, unloaded = bench.sag(bench.LOAD_KG), bench.sag(0.0)
    assert 0 < unloaded["drop_mm"] < loaded["drop_mm"] < 5.0
    assert abs(loaded["torque_nm"]["shoulder_lift"]) < servo.SERVO.stall_torque  # it can hold 200 g out there


@pytest.mark.slow  # compiles an env
def test_targets_reach_the_servos_as_whole_encoder_steps_and_the_dead_zone_holds():
    env = mjx_lerobot.make("reach", num_envs=1, impl="c")
    state = env.reset(jax.random.key(0))
    present = np.asarray(state.data.qpos[0, env.scene.arm_qpos])
    far = np.asarray(ctrl_to_action(env.scene, present + 0.2)).astype(np.float32)[None]
    moved = env.step(state, far)
    ctrl = np.asarray(moved.data.ctrl[0, :6], np.float64)
    steps = ctrl / servo.SERVO.step
    np.testing.assert_allclose(steps, np.round(steps), atol=1e-3)
    np.testing.assert_allclose(ctrl, np.asarray(action_to_ctrl(env.scene, far[0])), atol=servo.SERVO.step)

    # A target half a step from where the servo is: inside the dead zone, it is not driven.
    present = np.asarray(moved.data.qpos[0, env.scene.arm_qpos])
    near = np.asarray(ctrl_to_action(env.scene, present + 0.5 * servo.SERVO.step)).astype(np.float32)[None]
    held = env.step(moved, near)
    np.testing.assert_allclose(np.asarray(held.data.ctrl[0, :6]), present, atol=1e-6)


def test_firmware_is_pure_and_elementwise():
    target = np.array([0.1, -0.3, 0.0, 1.0, 2.0, -0.1])
    position = target + np.array([0.0, 0.0005, 0.3, -0.3, 0.0, 0.01])
    out = np.asarray(servo.firmware(target, position))
    step = servo.SERVO.step
    assert out[1] == pytest.approx(position[1]) and out[0] == pytest.approx(position[0])  # within the dead zone
    assert out[2] == pytest.approx(round(target[2] / step) * step)
    assert out[3] == pytest.approx(round(target[3] / step) * step)
