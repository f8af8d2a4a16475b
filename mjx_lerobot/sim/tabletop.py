"""Pieces every tabletop task shares: arm reset, object placement, common observations.

Objects are free bodies named in the scene ("cube", "red_cube", "blue_cylinder"...), all
25 mm across, so each rests with its centre OBJECT_HALF above the table.
"""

from __future__ import annotations

import jax
import jax.numpy as jp
from mujoco import mjx

from mjx_lerobot.rotations import mat_to_quat, yaw_quat
from mjx_lerobot.sim.scene import Scene, ee_pose

CUBE_HALF = 0.0125  # the scene's cube is 25 mm
OBJECT_HALF = CUBE_HALF  # every object (cube, cylinder, sphere) is 25 mm across
#: Where every task starts: gripper 8 cm above the table, pointing down, jaws open a little.
READY_QPOS = jp.array([0.0, -0.32, 0.37, 1.52, 0.05, 0.3], jp.float32)
READY_EE = jp.array([0.2, 0.0, 0.08], jp.float32)  # gripperframe at READY_QPOS
#: The free bodies of scene_objects.xml (pick_object, put_object), and which are round: grasped
#: from any side, not across two faces.
OBJECTS = ("red_cube", "green_cube", "blue_cylinder", "yellow_sphere")
ROUND = jp.array([False, False, True, True])
#: m, where they may stand: 9 cm apart, so the open jaws (7.5 cm) reach past no neighbour.
OBJECT_SLOTS = ((0.16, -0.09), (0.16, 0.0), (0.16, 0.09), (0.25, -0.09), (0.25, 0.0), (0.25, 0.09))


def reset_arm(scene: Scene, data: mjx.Data, key: jax.Array, noise: float = 0.05) -> mjx.Data:
    """Arm at READY_QPOS plus uniform joint noise (rad), at rest, servo targets = pose."""
    arm_q = READY_QPOS + jax.random.uniform(key, (6,), minval=-noise, maxval=noise)
    arm_q = jp.clip(arm_q, scene.ctrl_low, scene.ctrl_high)
    qpos = data.qpos.at[scene.arm_qpos].set(arm_q)
    return data.replace(qpos=qpos, qvel=jp.zeros_like(data.qvel), ctrl=arm_q)


def sample_xy(key: jax.Array, low: jax.Array, high: jax.Array) -> jax.Array:
    return jax.random.uniform(key, (2,), minval=jp.asarray(low), maxval=jp.asarray(high))


def place_object(scene: Scene, data: mjx.Data, body: str, xy: jax.Array, yaw: jax.Array) -> mjx.Data:
    """Object `body` resting on the table at `xy`, rotated by `yaw` about the vertical."""
    adr = scene.free_qpos(body)
    pose = jp.concatenate([xy, jp.array([OBJECT_HALF]), yaw_quat(yaw)])
    return data.replace(qpos=data.qpos.at[adr : adr + 7].set(pose))


def place_cube(scene: Scene, data: mjx.Data, xy: jax.Array, yaw: jax.Array) -> mjx.Data:
    """The cube (body "cube") resting on the table at `xy` rotated by `yaw`."""
    return place_object(scene, data, "cube", xy, yaw)


def place_target(scene: Scene, data: mjx.Data, pos: jax.Array) -> mjx.Data:
    """Move the target marker (a mocap body: no physics effect)."""
    return data.replace(mocap_pos=data.mocap_pos.at[scene.mocap("target")].set(pos))


def object_pose(scene: Scene, data: mjx.Data, body: str) -> tuple[jax.Array, jax.Array]:
    """(position (3,), quaternion (4,)) of free body `body`."""
    adr = scene.free_qpos(body)
    return data.qpos[adr : adr + 3], data.qpos[adr + 3 : adr + 7]


def object_poses(scene: Scene, data: mjx.Data, bodies: tuple[str, ...]) -> tuple[jax.Array, jax.Array]:
    """Positions [K, 3] and quaternions [K, 4] of `bodies`: index them with a traced id."""
    poses = [object_pose(scene, data, body) for body in bodies]
    return jp.stack([p for p, _ in poses]), jp.stack([q for _, q in poses])


def cube_pose(scene: Scene, data: mjx.Data) -> tuple[jax.Array, jax.Array]:
    return object_pose(scene, data, "cube")


def cube_yaw(quat: jax.Array) -> jax.Array:
    w, x, y, z = quat
    return jp.arctan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


def cube_fell_off(scene: Scene, params, data: mjx.Data, info) -> jax.Array:
    """Failure predicate shared by the cube tasks: the cube left the table."""
    return cube_pose(scene, data)[0][2] < -0.05


def any_fell_off(scene: Scene, data: mjx.Data, bodies: tuple[str, ...]) -> jax.Array:
    """True when any of `bodies` left the table."""
    return (object_poses(scene, data, bodies)[0][:, 2] < -0.05).any()


def scatter_objects(
    scene: Scene, data: mjx.Data, key: jax.Array, bodies: tuple[str, ...], slots: jax.Array, jitter: float,
    yaw_range: float,
) -> tuple[mjx.Data, jax.Array]:
    """`bodies` resting on the table in distinct random `slots` [S, 2] (each moved by up to
    `jitter` m in x and y, turned by up to +-`yaw_range`); returns the data and their
    positions [K, 3]. Slots far enough apart keep objects apart."""
    order_key, jitter_key, yaw_key = jax.random.split(key, 3)
    count = len(bodies)
    chosen = jax.random.permutation(order_key, slots.shape[0])[:count]
    xy = slots[chosen] + jax.random.uniform(jitter_key, (count, 2), minval=-jitter, maxval=jitter)
    yaw = jax.random.uniform(yaw_key, (count,), minval=-yaw_range, maxval=yaw_range)
    for i, body in enumerate(bodies):
        data = place_object(scene, data, body, xy[i], yaw[i])
    return data, jp.concatenate([xy, jp.full((count, 1), OBJECT_HALF)], axis=1)


def one_hot(index: jax.Array, size: int) -> jax.Array:
    """float32 [size] with a 1 at `index`: a language instruction as a policy input."""
    return jax.nn.one_hot(index, size, dtype=jp.float32)


def stacked_and_released(scene: Scene, data: mjx.Data, top: jax.Array, base: jax.Array, radius: float) -> jax.Array:
    """The object at `top` sits on the one at `base` (both 25 mm: centred within `radius` m,
    one object height above it, within 5 mm), `base` still stands on the table, and the jaws
    are open (so the arm is not holding it there)."""
    centred = jp.linalg.norm(top[:2] - base[:2]) < radius
    stacked = jp.abs(top[2] - base[2] - 2 * OBJECT_HALF) < 0.005
    base_down = base[2] < OBJECT_HALF + 0.005
    released = gripper_gap_closed(scene, data) > 0.3
    return centred & stacked & base_down & released


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
