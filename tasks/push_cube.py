"""push_cube: push the red cube across the table into the green target region.

Observation  joint_pos (6), joint_vel (6), ee_pos (3), ee_quat (4), cube_pos (3),
             cube_quat (4), target_pos (3)
Action       6 joint position targets in [-1, 1] over the joint ranges (LeRobot order)
Reward       gripper near the cube + cube near the target (dense), bonus on success
Success      cube centre within `success_radius` of the target, cube still on the table
Termination  success, or the cube leaves the table; truncation after 150 steps (5 s)
"""

import jax
import jax.numpy as jp
from flax import struct
from mujoco import mjx

from mjx_lerobot.lerobot.hub import hub_entry_point
from mjx_lerobot.sim import expert, tabletop
from mjx_lerobot.sim.scene import Scene, ee_pose
from mjx_lerobot.sim.task import Task


@struct.dataclass
class Params:
    cube_xy_low: tuple = (0.17, -0.08)  # m, cube spawn region
    cube_xy_high: tuple = (0.23, 0.08)
    push_min: float = 0.05  # m, target distance from the cube
    push_max: float = 0.08
    arm_noise: float = 0.05  # rad
    success_radius: float = 0.025  # m
    reach_scale: float = 0.5
    push_scale: float = 2.0
    bonus_scale: float = 2.0


@struct.dataclass
class Info:
    target: jax.Array  # (3,) target region centre, on the table
    cube_start: jax.Array  # (3,)


def reset(scene: Scene, params: Params, key: jax.Array, data: mjx.Data) -> tuple[mjx.Data, Info]:
    arm_key, xy_key, dir_key, dist_key = jax.random.split(key, 4)
    data = tabletop.reset_arm(scene, data, arm_key, params.arm_noise)
    xy = tabletop.sample_xy(xy_key, params.cube_xy_low, params.cube_xy_high)
    data = tabletop.place_cube(scene, data, xy, jp.float32(0.0))
    # Push forward (away from the base) within +-60 degrees, so the arm can get behind it.
    heading = jax.random.uniform(dir_key, minval=-jp.pi / 3, maxval=jp.pi / 3)
    dist = jax.random.uniform(dist_key, minval=params.push_min, maxval=params.push_max)
    target_xy = xy + dist * jp.array([jp.cos(heading), jp.sin(heading)])
    target = jp.concatenate([target_xy, jp.array([tabletop.CUBE_HALF])])
    data = tabletop.place_target(scene, data, target)
    cube_start = jp.concatenate([xy, jp.array([tabletop.CUBE_HALF])])
    return data, Info(target=target, cube_start=cube_start)


def cube_to_target(scene: Scene, data: mjx.Data, info: Info) -> jax.Array:
    cube_pos, _ = tabletop.cube_pose(scene, data)
    return jp.linalg.norm(cube_pos[:2] - info.target[:2])


def observe(scene: Scene, params: Params, data: mjx.Data, info: Info) -> dict[str, jax.Array]:
    return tabletop.arm_obs(scene, data) | tabletop.cube_obs(scene, data, info.target)


def reward(scene: Scene, params: Params, data: mjx.Data, info: Info, action: jax.Array) -> dict[str, jax.Array]:
    cube_pos, _ = tabletop.cube_pose(scene, data)
    ee_pos, _ = ee_pose(scene, data)
    return {
        "reach": params.reach_scale * tabletop.tanh_reach(jp.linalg.norm(cube_pos - ee_pos)),
        "push": params.push_scale * tabletop.tanh_reach(cube_to_target(scene, data, info), 0.05),
        "bonus": params.bonus_scale * success(scene, params, data, info),
    }


failure = tabletop.cube_fell_off  # the cube left the table


def success(scene: Scene, params: Params, data: mjx.Data, info: Info) -> jax.Array:
    cube_pos, _ = tabletop.cube_pose(scene, data)
    on_table = cube_pos[2] < tabletop.CUBE_HALF + 0.01
    return (cube_to_target(scene, data, info) < params.success_radius) & on_table


def make_expert(scene: Scene, params: Params, variation: float = 0.0):
    """Closed jaws behind the cube, low, then sweep through it to the target."""
    track = expert.make_tracker(scene, variation)

    def policy_one(state, key):
        cube, target = state.info.cube_start, state.info.target
        direction = (target - cube) / jp.linalg.norm(target - cube)
        # Jaws closed and across the push direction, so the fingers form a flat paddle.
        yaw = jp.arctan2(direction[1], direction[0]) + jp.pi / 2
        behind = cube - 0.035 * direction
        low = 0.028
        times = jp.array([0.0, 20.0, 35.0, 80.0, 95.0])
        pos = jp.stack(
            [
                behind.at[2].set(0.08),
                behind.at[2].set(0.08),
                behind.at[2].set(low),
                (target - 0.02 * direction).at[2].set(low),
                (target - 0.04 * direction).at[2].set(0.08),
            ]
        )
        # Closed loop across the push line: if the cube has slid sideways, follow it.
        cube_now, _ = tabletop.cube_pose(scene, state.data)
        drift = (cube_now - cube).at[2].set(0.0)
        pos = pos + drift - jp.dot(drift, direction) * direction
        grip = jp.full(5, expert.GRIP_CLOSED)
        free = jp.array([True, True, False, False, True])  # the approach height and the retreat
        return track(state, times, pos, jp.full(5, yaw), grip, free)

    return expert.batched(policy_one)


TASK = Task.from_module(globals(), name="push_cube", scene="scene_cube.xml", episode_steps=150,
                        instruction="Push the red cube onto the green target.",
                        camera_geom_groups=(0, 1, 2),  # cameras see the goal pad
                        train_defaults=dict(total_steps=100_000_000, reward_scale=0.25, init_log_std=-1.2))
make_env = hub_entry_point(TASK)  # LeRobot's EnvHub calls make_env(n_envs, use_async_envs, cfg)
