"""Quaternion and rotation maths on (w, x, y, z) unit quaternions, MuJoCo's convention.

One home for it: forward kinematics, cameras, randomization and the tasks' observations all
read from here. Functions broadcast over leading axes unless they say otherwise. (`sim/ik.py`
keeps a scalar copy on purpose: the IK runs on unpacked scalars for speed.)
"""

from __future__ import annotations

import jax
import jax.numpy as jp

IDENTITY = (1.0, 0.0, 0.0, 0.0)


def quat_mul(a: jax.Array, b: jax.Array) -> jax.Array:
    """Hamilton product of quaternions (..., 4)."""
    aw, ax, ay, az = a[..., 0], a[..., 1], a[..., 2], a[..., 3]
    bw, bx, by, bz = b[..., 0], b[..., 1], b[..., 2], b[..., 3]
    return jp.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def quat_to_mat(q: jax.Array) -> jax.Array:
    """Unit quaternion(s) (..., 4) -> rotation matrices (..., 3, 3)."""
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    rows = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ]
    return jp.stack([jp.stack(row, axis=-1) for row in rows], axis=-2)


def normalize(q: jax.Array) -> jax.Array:
    """One quaternion (4,) scaled to unit length; the identity for a zero quaternion."""
    norm = jp.linalg.norm(q)
    return jp.where(norm > 0, q / jp.where(norm > 0, norm, 1.0), jp.array(IDENTITY))


def unit(q: jax.Array) -> jax.Array:
    """Quaternion(s) (..., 4) scaled to unit length (none may be zero)."""
    return q / jp.linalg.norm(q, axis=-1, keepdims=True)


def axis_angle(axis: jax.Array, angle: jax.Array) -> jax.Array:
    """Quaternion (4,) of a rotation by `angle` about the unit `axis` (3,)."""
    return jp.concatenate([jp.cos(angle / 2)[None], jp.sin(angle / 2) * axis])


def rotvec_to_quat(rotvec: jax.Array) -> jax.Array:
    """Rotation vector (3,), axis times angle -> unit quaternion (4,)."""
    angle = jp.linalg.norm(rotvec)
    return axis_angle(rotvec / jp.maximum(angle, 1e-12), angle)


def yaw_quat(yaw: jax.Array) -> jax.Array:
    """Quaternion (4,) of a rotation by `yaw` about the world z axis."""
    return jp.array([jp.cos(yaw / 2), 0.0, 0.0, jp.sin(yaw / 2)])


def rotate(v: jax.Array, q: jax.Array) -> jax.Array:
    """Vector(s) v (..., 3) rotated by unit quaternion(s) q (..., 4), elementwise (no dot
    products: on XLA's CPU backend every small matmul is a separate call, and they add up)."""
    w, u = q[..., :1], q[..., 1:]
    t = 2.0 * jp.cross(u, v)
    return v + w * t + jp.cross(u, t)


def mat_to_quat(mat: jax.Array) -> jax.Array:
    """Rotation matrix (3, 3) -> unit quaternion (4,), sign fixed so w >= 0."""
    m = mat
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    candidates = jp.stack(
        [
            jp.array([1.0 + trace, m[2, 1] - m[1, 2], m[0, 2] - m[2, 0], m[1, 0] - m[0, 1]]),
            jp.array([m[2, 1] - m[1, 2], 1.0 + m[0, 0] - m[1, 1] - m[2, 2], m[0, 1] + m[1, 0], m[0, 2] + m[2, 0]]),
            jp.array([m[0, 2] - m[2, 0], m[0, 1] + m[1, 0], 1.0 - m[0, 0] + m[1, 1] - m[2, 2], m[1, 2] + m[2, 1]]),
            jp.array([m[1, 0] - m[0, 1], m[0, 2] + m[2, 0], m[1, 2] + m[2, 1], 1.0 - m[0, 0] - m[1, 1] + m[2, 2]]),
        ]
    )
    # The numerically largest of the four standard formulas.
    best = jp.argmax(jp.array([trace, m[0, 0], m[1, 1], m[2, 2]]))
    q = candidates[best]
    q = q / jp.linalg.norm(q)
    return q * jp.where(q[0] < 0, -1.0, 1.0)
