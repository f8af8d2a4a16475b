"""Inverse kinematics for the 5-DoF SO-101 arm from MJX jacobians, in pure JAX.

The scripted experts ask for a gripperframe pose "here, pointing straight down, jaws closing
along this horizontal axis". Five joints reach that exactly (pan picks the vertical plane,
roll the jaw axis), so a few damped least-squares iterations from the current joint angles
converge. Kinematics always run on an MJX-JAX model (it is differentiable, and only the arm
chain matters), whichever backend steps the physics.
"""

from __future__ import annotations

import jax
import jax.numpy as jp
from mujoco import mjx

from mjx_lerobot.scene import Scene

DOWN = jp.array([0.0, 0.0, -1.0])


def down_pose(closing_yaw: jax.Array) -> jax.Array:
    """Rotation (3, 3) of gripperframe pointing down, jaws closing along `closing_yaw`.

    gripperframe's x axis points out of the fingertips and its z axis is the jaw closing axis.
    """
    z_axis = jp.array([jp.cos(closing_yaw), jp.sin(closing_yaw), 0.0])
    y_axis = jp.cross(z_axis, DOWN)
    return jp.stack([DOWN, y_axis, z_axis], axis=1)


class ArmIK:
    """Damped least-squares IK for gripperframe over the five arm joints."""

    def __init__(self, scene: Scene, iterations: int = 6, damping: float = 1e-3, rot_weight: float = 0.05):
        self.scene = scene
        self.model = scene.mjx_model if scene.impl == "jax" else mjx.put_model(scene.mj_model, impl="jax")
        self.data = mjx.make_data(self.model)
        self.iterations = iterations
        self.damping = damping
        # Metres per radian: a 1 rad error weighs like 5 cm, so position wins but
        # orientation is still held.
        self.rot_weight = rot_weight

    def fk(self, arm_q: jax.Array) -> tuple[jax.Array, jax.Array]:
        """gripperframe (pos (3,), rot (3, 3)) for the five arm joint angles (5,)."""
        qpos = self.data.qpos.at[self.scene.arm_qpos[:5]].set(arm_q)
        d = mjx.kinematics(self.model, self.data.replace(qpos=qpos))
        site = self.scene.ee_site
        return d.site_xpos[site], d.site_xmat[site].reshape(3, 3)

    def error(self, arm_q: jax.Array, pos: jax.Array, rot: jax.Array) -> jax.Array:
        p, r = self.fk(arm_q)
        rot_err = 0.5 * jp.sum(jp.cross(r, rot, axis=0), axis=1)
        return jp.concatenate([pos - p, self.rot_weight * rot_err])

    def solve(self, arm_q: jax.Array, pos: jax.Array, rot: jax.Array) -> jax.Array:
        """Joint angles (5,) putting gripperframe at `pos` with rotation `rot`, from `arm_q`."""
        low = jp.asarray(self.scene.ctrl_low[:5])
        high = jp.asarray(self.scene.ctrl_high[:5])

        def body(_, q):
            err = self.error(q, pos, rot)
            jac = -jax.jacfwd(self.error)(q, pos, rot)  # d(fk)/dq, [6, 5]
            jjt = jac @ jac.T + self.damping * jp.eye(6)
            dq = jac.T @ jp.linalg.solve(jjt, err)
            return jp.clip(q + dq, low, high)

        return jax.lax.fori_loop(0, self.iterations, body, arm_q)
