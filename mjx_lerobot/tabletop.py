"""Pieces every tabletop task shares: arm reset, cube placement, common observations."""

from __future__ import annotations

import jax
import jax.numpy as jp
from mujoco import mjx

from mjx_lerobot.scene import Scene, ee_pose, mat_to_quat, yaw_quat

CUBE_HALF = 0.0125  # the scene's cube is 25 mm
#: Where every task starts: gripper 8 cm above the table, pointing down, jaws open a little.
READY_QPOS = jp.array([0.0, -0.32, 0.37, 1.52, 0.05, 0.3], jp.float32)
READY_EE = jp.array([0.2, 0.0, 0.08], jp.float32)  # gripperframe at READY_QPOS


def reset_arm(scene: Scene, data: mjx.Data, key: jax.Array, noise: float = 0.05) -> mjx.Data:
    """Arm at READY_QPOS plus uniform joint noise (rad), at rest, servo targets = pose."""
    arm_q = READY_QPOS + jax.random.uniform(key, (6,), minval=-noise, maxval=noise)
    arm_q = jp.clip(arm_q, scene.ctrl_low, scene.ctrl_high)
    qpos = data.qpos.at[scene.arm_qpos].set(arm_q)
    return data.replace(qpos=qpos, qvel=jp.zeros_like(data.qvel), ctrl=arm_q)


def sample_xy(key: jax.Array, low: jax.Array, high: jax.Array) -> jax.Array:
    return jax.random.uniform(key, (2,), minval=jp.asarray(low), maxval=jp.asarray(high))


def place_cube(scene: Scene, data: mjx.Data, xy: jax.Array, yaw: jax.Array) -> mjx.Data:
    """Cube resting on the table at `xy` rotated by `yaw`."""
    adr = scene.free_qpos("cube")
    pose = jp.concatenate([xy, jp.array([CUBE_HALF]), yaw_quat(yaw)])
    return data.replace(qpos=data.qpos.at[adr : adr + 7].set(pose))


def place_target(scene: Scene, data: mjx.Data, pos: jax.Array) -> mjx.Data:
    """Move the target marker (a mocap body: no physics effect)."""
    return data.replace(mocap_pos=data.mocap_pos.at[scene.mocap("target")].set(pos))


def cube_pose(scene: Scene, data: mjx.Data) -> tuple[jax.Array, jax.Array]:
    adr = scene.free_qpos("cube")
    return data.qpos[adr : adr + 3], data.qpos[adr + 3 : adr + 7]


def cube_yaw(quat: jax.Array) -> jax.Array:
    w, x, y, z = quat
    return jp.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


def cube_fell_off(scene: Scene, params, data: mjx.Data, info) -> jax.Array:
    """Failure predicate shared by the cube tasks: the cube left the table."""
    return cube_pose(scene, data)[0][2] < -0.05


def arm_obs(scene: Scene, data: mjx.Data) -> dict[str, jax.Array]:
    """Joint positions and velocities (LeRobot order) and the gripperframe pose."""
    pos, rot = ee_pose(scene, data)
    return {
        "joint_pos": data.qpos[scene.arm_qpos],
        "joint_vel": data.qvel[scene.arm_qvel],
        "ee_pos": pos,
        "ee_quat": mat_to_quat(rot),
    }


def cube_obs(scene: Scene, data: mjx.Data, target: jax.Array) -> dict[str, jax.Array]:
    pos, quat = cube_pose(scene, data)
    return {"cube_pos": pos, "cube_quat": quat, "target_pos": target}


def gripper_gap_closed(scene: Scene, data: mjx.Data) -> jax.Array:
    """Gripper angle (rad); about 0.11 when holding the 25 mm cube, below ~0 when empty."""
    return data.qpos[scene.arm_qpos[5]]


def tanh_reach(distance: jax.Array, scale: float = 0.1) -> jax.Array:
    """Dense shaping in [0, 1]: 1 at distance 0, ~0.24 at `scale`."""
    return 1.0 - jp.tanh(distance / scale)
