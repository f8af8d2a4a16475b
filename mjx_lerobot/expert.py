"""Scripted experts: timed Cartesian waypoints, tracked with IK, batched in pure JAX.

A task's expert lists waypoints for one instance (gripperframe position, jaw yaw, gripper
target, arrival time in control steps); `track` interpolates between them at the instance's
current step and turns the pose into joint targets with `ArmIK`. The result is an ordinary
policy `(state, key) -> action` over the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jp

from mjx_lerobot.core import EnvState
from mjx_lerobot.ik import ArmIK, down_pose
from mjx_lerobot.scene import Scene, ctrl_to_action
from mjx_lerobot.tabletop import cube_pose, cube_yaw

GRIP_OPEN = 1.0  # rad: jaws ~7.5 cm apart, wide enough to straddle the cube with margin
PAN_AXIS_X = 0.0388  # m: the shoulder pan axis sits here on the x axis
JAW_CLEARANCE = 0.01  # m: approach offset that keeps the fixed jaw off the cube
GRIP_CLOSED = -0.17  # rad: the servo's closed end; on a cube it squeezes at its torque limit


def closing_yaw(cube_quat: jax.Array, current_yaw: jax.Array) -> jax.Array:
    """Jaw closing direction across two opposite cube faces, nearest to `current_yaw`.

    A cube looks the same every 90 degrees. Choosing the face pair nearest to where the jaws
    already close keeps the wrist roll small and, recomputed every step, never flips.
    """
    face = cube_yaw(cube_quat)
    return current_yaw + jp.remainder(face - current_yaw + jp.pi / 4, jp.pi / 2) - jp.pi / 4


def jaw_yaw(scene: Scene, data) -> jax.Array:
    """Current jaw closing direction (yaw of gripperframe's z axis) in the world."""
    z_axis = data.site_xmat[scene.ee_site].reshape(3, 3)[:, 2]
    return jp.arctan2(z_axis[1], z_axis[0])


def grasp_approach(scene: Scene, data, cube: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(jaw yaw, gripperframe xy-position) for a top-down grasp of the cube at `cube`.

    The fixed jaw's pad sits exactly one half-cube from gripperframe, so the approach is
    shifted JAW_CLEARANCE toward the moving jaw: the fixed jaw clears the cube on the way
    down and the closing jaw slides the cube home against it.
    """
    yaw = closing_yaw(cube_pose(scene, data)[1], jaw_yaw(scene, data))
    return yaw, cube - JAW_CLEARANCE * jp.array([jp.cos(yaw), jp.sin(yaw), 0.0])


def interpolate(step: jax.Array, times: jax.Array, values: jax.Array) -> jax.Array:
    """Piecewise-linear value at `step` through `values` [K, ...] reached at `times` [K]."""
    idx = jp.clip(jp.searchsorted(times, step, side="right"), 1, times.shape[0] - 1)
    t0, t1 = times[idx - 1], times[idx]
    alpha = jp.clip((step - t0) / jp.maximum(t1 - t0, 1e-6), 0.0, 1.0)
    return values[idx - 1] + alpha * (values[idx] - values[idx - 1])


def make_tracker(scene: Scene) -> Callable:
    """track(state_one, times, pos, yaw, grip) -> action (6,) for one instance."""
    ik = ArmIK(scene)

    def track(state: EnvState, times: jax.Array, pos: jax.Array, yaw: jax.Array, grip: jax.Array) -> jax.Array:
        step = state.steps.astype(jp.float32)
        target_pos = interpolate(step, times, pos)
        target_yaw = interpolate(step, times, yaw)
        target_grip = interpolate(step, times, grip)
        # Warm start from the current servo targets: they move little between steps.
        arm_q = ik.solve(state.data.ctrl[:5], target_pos, down_pose(target_yaw))
        ctrl = jp.concatenate([arm_q, target_grip[None]])
        return ctrl_to_action(scene, ctrl)

    return track


def batched(policy_one: Callable) -> Callable:
    """Lift a one-instance policy(state, key) to the batch."""

    def policy(state: EnvState, key: jax.Array) -> jax.Array:
        keys = jax.random.split(key, state.steps.shape[0])
        return jax.vmap(policy_one)(state, keys)

    return policy
