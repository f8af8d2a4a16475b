"""place_in_bin: put the red cube into the open blue bin.

The bin (8 x 8 cm inside, 3 cm walls) stands somewhere else on the table each episode.

Observation  joint_pos (6), joint_vel (6), ee_pos (3), ee_quat (4), cube_pos (3),
             cube_quat (4), target_pos (3: the bin's centre at cube height)
Action       6 joint position targets in [-1, 1] over the joint ranges (LeRobot order)
Reward       reach the cube + carry it over the bin + in-the-bin-and-released bonus
Success      cube resting on the bin's floor, inside its walls, jaws open
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

BIN_INNER_HALF = 0.04  # m, half the bin's inside width (scene_bin.xml)
BIN_WALL_HEIGHT = 0.03  # m


@struct.dataclass
class Params:
    cube_xy_low: tuple = (0.16, -0.12)  # m, cube spawn region
    cube_xy_high: tuple = (0.26, -0.02)
    bin_xy_low: tuple = (0.17, 0.07)  # m, bin centre region (the other side of the table)
    bin_xy_high: tuple = (0.24, 0.12)
    cube_yaw_range: float = jp.pi / 4
    arm_noise: float = 0.05  # rad
    reach_scale: float = 0.5
    carry_scale: float = 2.0
    bonus_scale: float = 4.0


@struct.dataclass
class Info:
    cube_start: jax.Array  # (3,)
    bin_centre: jax.Array  # (3,) the bin's centre on the table, z at the cube's resting height


def reset(scene: Scene, params: Params, key: jax.Array, data: mjx.Data) -> tuple[mjx.Data, Info]:
    arm_key, xy_key, yaw_key, bin_key = jax.random.split(key, 4)
    data = tabletop.reset_arm(scene, data, arm_key, params.arm_noise)
    xy = tabletop.sample_xy(xy_key, params.cube_xy_low, params.cube_xy_high)
    yaw = jax.random.uniform(yaw_key, minval=-params.cube_yaw_range, maxval=params.cube_yaw_range)
    data = tabletop.place_cube(scene, data, xy, yaw)
    bin_xy = tabletop.sample_xy(bin_key, params.bin_xy_low, params.bin_xy_high)
    mocap_pos = data.mocap_pos.at[scene.mocap("bin")].set(jp.concatenate([bin_xy, jp.zeros(1)]))
    data = data.replace(mocap_pos=mocap_pos)
    half = jp.array([tabletop.CUBE_HALF])
    bin_centre = jp.concatenate([bin_xy, half])
    data = tabletop.place_target(scene, data, bin_centre)
    return data, Info(cube_start=jp.concatenate([xy, half]), bin_centre=bin_centre)


def observe(scene: Scene, params: Params, data: mjx.Data, info: Info) -> dict[str, jax.Array]:
    return tabletop.arm_obs(scene, data) | tabletop.cube_obs(scene, data, info.bin_centre)


def in_bin(cube_pos: jax.Array, bin_centre: jax.Array) -> jax.Array:
    """The cube's footprint inside the walls and the cube down on the floor."""
    inside = (jp.abs(cube_pos[:2] - bin_centre[:2]) < BIN_INNER_HALF - tabletop.CUBE_HALF).all()
    return inside & (cube_pos[2] < tabletop.CUBE_HALF + 0.005)


def reward(scene: Scene, params: Params, data: mjx.Data, info: Info, action: jax.Array) -> dict[str, jax.Array]:
    cube_pos, _ = tabletop.cube_pose(scene, data)
    ee_pos, _ = ee_pose(scene, data)
    return {
        "reach": params.reach_scale * tabletop.tanh_reach(jp.linalg.norm(cube_pos - ee_pos)),
        "carry": params.carry_scale * tabletop.tanh_reach(jp.linalg.norm(cube_pos[:2] - info.bin_centre[:2])),
        "bonus": params.bonus_scale * success(scene, params, data, info),
    }


failure = tabletop.cube_fell_off  # the cube left the table


def success(scene: Scene, params: Params, data: mjx.Data, info: Info) -> jax.Array:
    cube_pos, _ = tabletop.cube_pose(scene, data)
    released = tabletop.gripper_gap_closed(scene, data) > 0.3
    return in_bin(cube_pos, info.bin_centre) & released


def make_expert(scene: Scene, params: Params, variation: float = 0.0):
    """pick_place's grasp and carry; over the bin it opens 6 cm up, the fingertips above the
    walls, and the cube drops 2.5 cm to the floor."""
    track = expert.make_tracker(scene, variation)

    def policy_one(state, key):
        yaw, grasp = expert.grasp_approach(scene, state.data, state.info.cube_start)
        return track(state, *expert.place_plan(yaw, grasp, state.info.bin_centre, release_z=0.06))

    return expert.batched(policy_one)


TASK = Task.from_module(globals(), name="place_in_bin", scene="scene_bin.xml", episode_steps=240,
                        instruction="Put the red cube in the blue bin.")
make_env = hub_entry_point(TASK)  # LeRobot's EnvHub calls make_env(n_envs, use_async_envs, cfg)
