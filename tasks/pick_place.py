"""pick_place: pick up the red cube and put it down on the green target.

Observation  joint_pos (6), joint_vel (6), ee_pos (3), ee_quat (4), cube_pos (3),
             cube_quat (4), target_pos (3)
Action       6 joint position targets in [-1, 1] over the joint ranges (LeRobot order)
Reward       reach the cube + carry it toward the target + placed-and-released bonus
Success      cube resting on the table within `success_radius` of the target, jaws open
Termination  success, or the cube leaves the table; truncation after 240 steps (8 s)
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
    cube_xy_low: tuple = (0.16, -0.12)  # m, cube spawn region
    cube_xy_high: tuple = (0.26, 0.0)
    target_xy_low: tuple = (0.16, 0.04)  # m, target region (the other side of the table)
    target_xy_high: tuple = (0.26, 0.14)
    cube_yaw_range: float = jp.pi / 4
    arm_noise: float = 0.05  # rad
    success_radius: float = 0.02  # m
    reach_scale: float = 0.5
    carry_scale: float = 2.0
    bonus_scale: float = 4.0


@struct.dataclass
class Info:
    cube_start: jax.Array  # (3,)
    target: jax.Array  # (3,) where the cube's centre should end up


def reset(scene: Scene, params: Params, key: jax.Array, data: mjx.Data) -> tuple[mjx.Data, Info]:
    arm_key, xy_key, yaw_key, target_key = jax.random.split(key, 4)
    data = tabletop.reset_arm(scene, data, arm_key, params.arm_noise)
    xy = tabletop.sample_xy(xy_key, params.cube_xy_low, params.cube_xy_high)
    yaw = jax.random.uniform(yaw_key, minval=-params.cube_yaw_range, maxval=params.cube_yaw_range)
    data = tabletop.place_cube(scene, data, xy, yaw)
    target_xy = tabletop.sample_xy(target_key, params.target_xy_low, params.target_xy_high)
    target = jp.concatenate([target_xy, jp.array([tabletop.CUBE_HALF])])
    data = tabletop.place_target(scene, data, target)
    cube_start = jp.concatenate([xy, jp.array([tabletop.CUBE_HALF])])
    return data, Info(cube_start=cube_start, target=target)


def observe(scene: Scene, params: Params, data: mjx.Data, info: Info) -> dict[str, jax.Array]:
    return tabletop.arm_obs(scene, data) | tabletop.cube_obs(scene, data, info.target)


def reward(scene: Scene, params: Params, data: mjx.Data, info: Info, action: jax.Array) -> dict[str, jax.Array]:
    cube_pos, _ = tabletop.cube_pose(scene, data)
    ee_pos, _ = ee_pose(scene, data)
    return {
        "reach": params.reach_scale * tabletop.tanh_reach(jp.linalg.norm(cube_pos - ee_pos)),
        "carry": params.carry_scale * tabletop.tanh_reach(jp.linalg.norm(cube_pos - info.target)),
        "bonus": params.bonus_scale * success(scene, params, data, info),
    }


failure = tabletop.cube_fell_off  # the cube left the table


def success(scene: Scene, params: Params, data: mjx.Data, info: Info) -> jax.Array:
    cube_pos, _ = tabletop.cube_pose(scene, data)
    placed = jp.linalg.norm(cube_pos[:2] - info.target[:2]) < params.success_radius
    resting = cube_pos[2] < tabletop.CUBE_HALF + 0.005
    released = tabletop.gripper_gap_closed(scene, data) > 0.3
    return placed & resting & released


def make_expert(scene: Scene, params: Params, variation: float = 0.0):
    """lift_cube's grasp, carry 6 cm above the table to the target, lower, open, back off."""
    track = expert.make_tracker(scene, variation)

    def policy_one(state, key):
        yaw, grasp = expert.grasp_approach(scene, state.data, state.info.cube_start)
        plan = expert.place_plan(yaw, grasp, state.info.target, release_z=expert.GRASP_Z + 0.003)
        return track(state, *plan)

    return expert.batched(policy_one)


TASK = Task.from_module(globals(), name="pick_place", scene="scene_cube.xml", episode_steps=240,
                        instruction="Pick up the red cube and place it on the green target.",
                        camera_geom_groups=(0, 1, 2),  # cameras see the goal pad
                        train_defaults=dict(total_steps=200_000_000, reward_scale=0.25, init_log_std=-1.2))
make_env = hub_entry_point(TASK)  # LeRobot's EnvHub calls make_env(n_envs, use_async_envs, cfg)
