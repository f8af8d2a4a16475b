"""lift_cube: grasp the red cube and lift it at least 5 cm, then hold it there.

Observation  joint_pos (6), joint_vel (6), ee_pos (3), ee_quat (4), cube_pos (3),
             cube_quat (4), target_pos (3: the cube's start lifted by `lift_height`)
Action       6 joint position targets in [-1, 1] over the joint ranges (LeRobot order)
Reward       reach the cube + grasp it + lift it toward the target height
Success      cube >= `lift_height` above where it started, held in the jaws, for `hold_steps`
Termination  success, or the cube falls off the table; truncation after 150 steps (5 s)
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
    cube_xy_low: tuple = (0.16, -0.10)  # m, cube spawn region on the table
    cube_xy_high: tuple = (0.26, 0.10)
    cube_yaw_range: float = jp.pi / 4  # rad, +- around the arm's facing direction
    arm_noise: float = 0.05  # rad, uniform noise on the start pose
    lift_height: float = 0.05  # m above the start
    hold_steps: int = 10  # control steps the lift must hold (1/3 s)
    held_radius: float = 0.03  # m, cube centre to gripperframe for "in the jaws"
    reach_scale: float = 1.0
    grasp_scale: float = 1.0
    lift_scale: float = 4.0


@struct.dataclass
class Info:
    cube_start: jax.Array  # (3,) cube position at reset
    target: jax.Array  # (3,) where a lifted cube should be
    held_steps: jax.Array  # () int32, consecutive control steps lifted and held


def reset(scene: Scene, params: Params, key: jax.Array, data: mjx.Data) -> tuple[mjx.Data, Info]:
    arm_key, xy_key, yaw_key = jax.random.split(key, 3)
    data = tabletop.reset_arm(scene, data, arm_key, params.arm_noise)
    xy = tabletop.sample_xy(xy_key, params.cube_xy_low, params.cube_xy_high)
    yaw = jax.random.uniform(yaw_key, minval=-params.cube_yaw_range, maxval=params.cube_yaw_range)
    data = tabletop.place_cube(scene, data, xy, yaw)
    cube_start = jp.concatenate([xy, jp.array([tabletop.CUBE_HALF])])
    target = cube_start + jp.array([0.0, 0.0, params.lift_height])
    data = tabletop.place_target(scene, data, target)
    return data, Info(cube_start=cube_start, target=target, held_steps=jp.int32(0))


def lifted_and_held(scene: Scene, params: Params, data: mjx.Data, info: Info) -> jax.Array:
    cube_pos, _ = tabletop.cube_pose(scene, data)
    ee_pos, _ = ee_pose(scene, data)
    lifted = cube_pos[2] >= info.cube_start[2] + params.lift_height
    held = jp.linalg.norm(cube_pos - ee_pos) < params.held_radius
    return lifted & held


def update(scene: Scene, params: Params, data: mjx.Data, info: Info) -> Info:
    ok = lifted_and_held(scene, params, data, info)
    return info.replace(held_steps=jp.where(ok, info.held_steps + 1, 0))


def observe(scene: Scene, params: Params, data: mjx.Data, info: Info) -> dict[str, jax.Array]:
    return tabletop.arm_obs(scene, data) | tabletop.cube_obs(scene, data, info.target)


def reward(scene: Scene, params: Params, data: mjx.Data, info: Info, action: jax.Array) -> dict[str, jax.Array]:
    cube_pos, _ = tabletop.cube_pose(scene, data)
    ee_pos, _ = ee_pose(scene, data)
    near = jp.linalg.norm(cube_pos - ee_pos) < params.held_radius
    lift = jp.clip((cube_pos[2] - info.cube_start[2]) / params.lift_height, 0.0, 1.0)
    return {
        "reach": params.reach_scale * tabletop.tanh_reach(jp.linalg.norm(cube_pos - ee_pos)),
        "grasp": params.grasp_scale * near * (tabletop.gripper_gap_closed(scene, data) < 0.3),
        "lift": params.lift_scale * near * lift,
    }


failure = tabletop.cube_fell_off  # the cube left the table


def success(scene: Scene, params: Params, data: mjx.Data, info: Info) -> jax.Array:
    return info.held_steps >= params.hold_steps


def make_expert(scene: Scene, params: Params, variation: float = 0.0):
    """Top-down grasp: hover, descend around the cube, close, lift 8 cm, hold."""
    track = expert.make_tracker(scene, variation)

    def policy_one(state, key):
        yaw, grasp = expert.grasp_approach(scene, state.data, state.info.cube_start)
        return track(state, *expert.lift_plan(yaw, grasp))

    return expert.batched(policy_one)


TASK = Task.from_module(globals(), name="lift_cube", scene="scene_cube.xml", episode_steps=150,
                        instruction="Pick up the red cube and lift it.",
                        train_defaults=dict(
                            total_steps=100_000_000, reward_scale=0.25, init_log_std=-1.2, entropy_coef=5e-4))
make_env = hub_entry_point(TASK)  # LeRobot's EnvHub calls make_env(n_envs, use_async_envs, cfg)
