"""Inverse kinematics for the 5-DoF SO-101 arm from analytic jacobians, in pure JAX.

The scripted experts ask for a gripperframe pose "here, pointing straight down, jaws closing
along this horizontal axis". Five joints reach that exactly (pan picks the vertical plane,
roll the jaw axis), so a few damped least-squares iterations from the current joint angles
converge.

Only the chain from the world to gripperframe matters, and it is fixed: its offsets are
constants here, read once from the MjModel (the nominal arm, whichever backend steps the
physics and whatever randomization does to masses). The jacobian is analytic: every arm
joint is a hinge, so turning joint k moves gripperframe by `axis_k x (p - anchor_k)` and
turns each column of its rotation by `axis_k x r_i`; the orientation error's derivative
follows from those. It equals `jax.jacfwd` of the error to float rounding
(tests/test_kinematics.py).

Why it is written on scalars: one instance's vectors are Python tuples of scalars, so under
`vmap` every component is one [N] array and each operation one pass over the batch. The same
arithmetic on (3,)-vectors vmaps into [N, 3] arrays, and XLA's CPU backend runs their
crosses, stacks and strided slices as many small loops: an order of magnitude slower for a
batched solve (benchmarks/ik.py measures the two forms and `jax.jacfwd` side by side).
"""

from __future__ import annotations

import jax
import jax.numpy as jp
import mujoco
import numpy as np

from mjx_lerobot.sim.scene import Scene

DOWN = jp.array([0.0, 0.0, -1.0])

Vec = tuple  # (x, y, z) scalars (per-instance; [N] arrays under vmap)


def down_pose(closing_yaw: jax.Array) -> jax.Array:
    """Rotation (3, 3) of gripperframe pointing down, jaws closing along `closing_yaw`.

    gripperframe's x axis points out of the fingertips and its z axis is the jaw closing axis.
    """
    z_axis = jp.array([jp.cos(closing_yaw), jp.sin(closing_yaw), 0.0])
    y_axis = jp.cross(z_axis, DOWN)
    return jp.stack([DOWN, y_axis, z_axis], axis=1)


# -- scalar vector algebra ----------------------------------------------------------------
def _add(a: Vec, b: Vec) -> Vec:
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


def _sub(a: Vec, b: Vec) -> Vec:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _scale(s, a: Vec) -> Vec:
    return (s * a[0], s * a[1], s * a[2])


def _dot(a: Vec, b: Vec):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _cross(a: Vec, b: Vec) -> Vec:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _quat_mul(a: tuple, b: tuple) -> tuple:
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return (
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    )


def _rotate(v: Vec, q: tuple) -> Vec:
    """v rotated by the unit quaternion q: v + 2w (u x v) + 2 u x (u x v)."""
    u = q[1:]
    t = _scale(2.0, _cross(u, v))
    return _add(_add(v, _scale(q[0], t)), _cross(u, t))


def _quat_columns(q: tuple) -> tuple[Vec, Vec, Vec]:
    """The rotation matrix of unit quaternion q as its three columns."""
    w, x, y, z = q
    return (
        (1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y)),
        (2 * (x * y - w * z), 1 - 2 * (x * x + z * z), 2 * (y * z + w * x)),
        (2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)),
    )


def _constant(values: np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in values)


def _solve_spd(a: list[list], b: list) -> list:
    """x with a x = b for a small symmetric positive definite a, by an unrolled Cholesky."""
    n = len(b)
    chol = [[None] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1):
            s = a[i][j] - sum(chol[i][k] * chol[j][k] for k in range(j))
            chol[i][j] = jp.sqrt(s) if i == j else s / chol[j][j]
    y = []
    for i in range(n):
        y.append((b[i] - sum(chol[i][k] * y[k] for k in range(i))) / chol[i][i])
    x = [None] * n
    for i in reversed(range(n)):
        x[i] = (y[i] - sum(chol[k][i] * x[k] for k in range(i + 1, n))) / chol[i][i]
    return x


class ArmIK:
    """Damped least-squares IK for gripperframe over the five arm joints."""

    def __init__(self, scene: Scene, iterations: int = 6, damping: float = 1e-3, rot_weight: float = 0.05):
        self.scene = scene
        mj_model = scene.mj_model
        site = scene.ee_site
        arm_index = {int(adr): k for k, adr in enumerate(scene.arm_qpos[:5])}
        body, chain = int(mj_model.site_bodyid[site]), []
        while body != 0:
            chain.append(body)
            body = int(mj_model.body_parentid[body])
        # Per body from the world out: its offset from the parent, and its hinges as
        # (arm joint index, anchor in the body, axis, reference angle qpos0).
        self._links = []
        for body in reversed(chain):
            hinges = []
            for j in range(mj_model.body_jntadr[body], mj_model.body_jntadr[body] + mj_model.body_jntnum[body]):
                adr = int(mj_model.jnt_qposadr[j])
                if mj_model.jnt_type[j] != mujoco.mjtJoint.mjJNT_HINGE or adr not in arm_index:
                    raise ValueError(f"ArmIK: joint {j} on the way to gripperframe is not one of the five arm hinges")
                axis = _constant(mj_model.jnt_axis[j])
                hinges.append((arm_index[adr], _constant(mj_model.jnt_pos[j]), axis, float(mj_model.qpos0[adr])))
            self._links.append((_constant(mj_model.body_pos[body]), _constant(mj_model.body_quat[body]), hinges))
        if sorted(k for *_, hinges in self._links for k, *_ in hinges) != list(range(5)):
            raise ValueError("ArmIK: gripperframe does not hang from the five arm joints")
        self._site = (_constant(mj_model.site_pos[site]), _constant(mj_model.site_quat[site]))
        self.iterations = iterations
        self.damping = damping
        # Metres per radian: a 1 rad error weighs like 5 cm, so position wins but
        # orientation is still held.
        self.rot_weight = rot_weight

    # -- on scalars ---------------------------------------------------------------------------
    def _chain(self, arm_q: list) -> tuple[Vec, tuple[Vec, Vec, Vec], list[Vec], list[Vec]]:
        """gripperframe position and rotation columns, and each arm joint's world anchor and
        axis, for the five joint angles (what MuJoCo's mj_kinematics computes, on this chain)."""
        zero = jp.zeros_like(arm_q[0])
        pos, quat = (zero, zero, zero), (zero + 1.0, zero, zero, zero)
        anchors, axes = [None] * 5, [None] * 5
        for body_pos, body_quat, hinges in self._links:
            pos, quat = _add(pos, _rotate(body_pos, quat)), _quat_mul(quat, body_quat)
            for k, joint_pos, joint_axis, ref in hinges:
                anchors[k], axes[k] = _add(_rotate(joint_pos, quat), pos), _rotate(joint_axis, quat)
                half = 0.5 * (arm_q[k] - ref)
                quat = _quat_mul(quat, (jp.cos(half), *_scale(jp.sin(half), joint_axis)))
                pos = _sub(anchors[k], _rotate(joint_pos, quat))  # rotation about the anchor
        site_pos, site_quat = self._site
        return _add(pos, _rotate(site_pos, quat)), _quat_columns(_quat_mul(quat, site_quat)), anchors, axes

    def _error_and_jacobian(self, arm_q: list, pos: Vec, rot: tuple[Vec, Vec, Vec]) -> tuple[list, list[list]]:
        """The pose error (6 scalars) and its jacobian (6 x 5 scalars, rows of d error / d q)."""
        p, r, anchors, axes = self._chain(arm_q)
        w = self.rot_weight
        # rot_err = 1/2 sum_i r_i x t_i (columns of the current and target rotations).
        rot_err = _scale(0.5, _add(_add(_cross(r[0], rot[0]), _cross(r[1], rot[1])), _cross(r[2], rot[2])))
        error = [*_sub(pos, p), *_scale(w, rot_err)]
        trace = _dot(r[0], rot[0]) + _dot(r[1], rot[1]) + _dot(r[2], rot[2])  # tr(R^T T)
        columns = []
        for a, anchor in zip(axes, anchors, strict=True):
            dp = _cross(a, _sub(p, anchor))
            # d/dq of 1/2 sum_i r_i x t_i with dr_i = a x r_i is 1/2 (R T^T a - a tr(R^T T)).
            t_a = (_dot(rot[0], a), _dot(rot[1], a), _dot(rot[2], a))  # T^T a
            r_t_a = _add(_add(_scale(t_a[0], r[0]), _scale(t_a[1], r[1])), _scale(t_a[2], r[2]))
            drot = _scale(0.5, _sub(r_t_a, _scale(trace, a)))
            columns.append([-dp[0], -dp[1], -dp[2], *_scale(w, drot)])
        return error, [[column[row] for column in columns] for row in range(6)]

    # -- on arrays ----------------------------------------------------------------------------
    @staticmethod
    def _unpack(arm_q: jax.Array, pos: jax.Array, rot: jax.Array) -> tuple[list, Vec, tuple[Vec, Vec, Vec]]:
        columns = tuple((rot[0, i], rot[1, i], rot[2, i]) for i in range(3))
        return [arm_q[k] for k in range(5)], (pos[0], pos[1], pos[2]), columns

    def fk(self, arm_q: jax.Array) -> tuple[jax.Array, jax.Array]:
        """gripperframe (pos (3,), rot (3, 3)) for the five arm joint angles (5,)."""
        p, r, _, _ = self._chain([arm_q[k] for k in range(5)])
        return jp.stack(p), jp.stack([jp.stack(column) for column in r], axis=1)

    def error(self, arm_q: jax.Array, pos: jax.Array, rot: jax.Array) -> jax.Array:
        return self.error_and_jacobian(arm_q, pos, rot)[0]

    def error_and_jacobian(self, arm_q: jax.Array, pos: jax.Array, rot: jax.Array) -> tuple[jax.Array, jax.Array]:
        """The pose error (6,) at `arm_q` and its derivative d(error)/d(arm_q) (6, 5)."""
        error, jac = self._error_and_jacobian(*self._unpack(arm_q, pos, rot))
        return jp.stack(error), jp.stack([jp.stack(row) for row in jac])

    def solve(self, arm_q: jax.Array, pos: jax.Array, rot: jax.Array) -> jax.Array:
        """Joint angles (5,) putting gripperframe at `pos` with rotation `rot`, from `arm_q`."""
        q, pos, rot = self._unpack(arm_q, pos, rot)
        low, high = self.scene.ctrl_low, self.scene.ctrl_high

        def iteration(_, q: tuple) -> tuple:
            error, jac = self._error_and_jacobian(q, pos, rot)
            # Damped least squares dq = (J^T J + d I)^-1 J^T e, J = d fk / dq = -d error / dq
            # (the same step as J^T (J J^T + d I)^-1 e, on a 5 x 5 system).
            jtj = [[sum(jac[r][k] * jac[r][m] for r in range(6)) + self.damping * (k == m) for m in range(5)]
                   for k in range(5)]
            jte = [-sum(jac[r][k] * error[r] for r in range(6)) for k in range(5)]
            dq = _solve_spd(jtj, jte)
            return tuple(jp.clip(q[k] + dq[k], float(low[k]), float(high[k])) for k in range(5))

        return jp.stack(jax.lax.fori_loop(0, self.iterations, iteration, tuple(q)))
