"""stack_cube: put the red cube on top of the green cube.

Observation  joint_pos (6), joint_vel (6), ee_pos (3), ee_quat (4), cube_pos (3),
             cube_quat (4), target_pos (3: on top of the green cube), base_pos (3), base_quat (4)
Action       6 joint position targets in [-1, 1] over the joint ranges (LeRobot order)
Reward       reach the red cube + carry it over the green one + stacked-and-released bonus
Success      red cube resting on the green one (centred within `stack_radius`), the green one
             still on the table, jaws open
Termination  success, or a cube leaves the table; truncation after 240 steps (8 s)
"""

import jax
import jax.numpy as jp
from flax import struct
from mujoco import mjx

from mjx_lerobot.lerobot.hub import hub_entry_point
from mjx_lerobot.sim import expert, tabletop
from mjx_lerobot.sim.randomize import Parts
from mjx_lerobot.sim.scene import Scene, ee_pose
from mjx_lerobot.sim.task import Task

BASE = "green_cube"  # the cube to stack on; the one to move is the scene's "cube"


@struct.dataclass
class Params:
    cube_xy_low: tuple = (0.16, -0.12)  # m, red cube spawn region
    cube_xy_high: tuple = (0.26, -0.01)
    base_xy_low: tuple = (0.16, 0.04)  # m, green cube spawn region (the other side)
    base_xy_high: tuple = (0.26, 0.13)
    yaw_range: float = jp.pi / 4  # rad, both cubes
    arm_noise: float = 0.05  # rad
    stack_radius: float = 0.012  # m, centre offset still counted as stacked
    reach_scale: float = 0.5
    carry_scale: float = 2.0
    bonus_scale: float = 4.0


@struct.dataclass
class Info:
    cube_start: jax.Array  # (3,)
    base_start: jax.Array  # (3,)


def reset(scene: Scene, params: Params, key: jax.Array, data: mjx.Data) -> tuple[mjx.Data, Info]:
    arm_key, cube_key, base_key, yaw_key = jax.random.split(key, 4)
    data = tabletop.reset_arm(scene, data, arm_key, params.arm_noise)
    cube_xy = tabletop.sample_xy(cube_key, params.cube_xy_low, params.cube_xy_high)
    base_xy = tabletop.sample_xy(base_key, params.base_xy_low, params.base_xy_high)
    yaw = jax.random.uniform(yaw_key, (2,), minval=-params.yaw_range, maxval=params.yaw_range)
    data = tabletop.place_object(scene, data, "cube", cube_xy, yaw[0])
    data = tabletop.place_object(scene, data, BASE, base_xy, yaw[1])
    half = jp.array([tabletop.CUBE_HALF])
    info = Info(cube_start=jp.concatenate([cube_xy, half]), base_start=jp.concatenate([base_xy, half]))
    return data, info


def on_top_of_base(scene: Scene, data: mjx.Data) -> jax.Array:
    """(3,) where the red cube's centre sits when stacked: one cube height above the green one."""
    base, _ = tabletop.object_pose(scene, data, BASE)
    return base + jp.array([0.0, 0.0, 2 * tabletop.CUBE_HALF])


def observe(scene: Scene, params: Params, data: mjx.Data, info: Info) -> dict[str, jax.Array]:
    base_pos, base_quat = tabletop.object_pose(scene, data, BASE)
    return (
        tabletop.arm_obs(scene, data)
        | tabletop.cube_obs(scene, data, on_top_of_base(scene, data))
        | {"base_pos": base_pos, "base_quat": base_quat}
    )


def reward(scene: Scene, params: Params, data: mjx.Data, info: Info, action: jax.Array) -> dict[str, jax.Array]:
    cube_pos, _ = tabletop.cube_pose(scene, data)
    ee_pos, _ = ee_pose(scene, data)
    return {
        "reach": params.reach_scale * tabletop.tanh_reach(jp.linalg.norm(cube_pos - ee_pos)),
        "carry": params.carry_scale * tabletop.tanh_reach(jp.linalg.norm(cube_pos - on_top_of_base(scene, data))),
        "bonus": params.bonus_scale * success(scene, params, data, info),
    }


def failure(scene: Scene, params: Params, data: mjx.Data, info: Info) -> jax.Array:
    return tabletop.any_fell_off(scene, data, ("cube", BASE))


def success(scene: Scene, params: Params, data: mjx.Data, info: Info) -> jax.Array:
    cube_pos, _ = tabletop.cube_pose(scene, data)
    base_pos, _ = tabletop.object_pose(scene, data, BASE)
    return tabletop.stacked_and_released(scene, data, cube_pos, base_pos, params.stack_radius)


def make_expert(scene: Scene, params: Params, variation: float = 0.0):
    """pick_place's grasp and carry, released one cube height up, over the green cube."""
    track = expert.make_tracker(scene, variation)

    def policy_one(state, key):
        yaw, grasp = expert.grasp_approach(scene, state.data, state.info.cube_start)
        release_z = expert.GRASP_Z + 2 * tabletop.CUBE_HALF + 0.003
        # Aim the cube, not the hand: where the jaws hold it drifts by millimetres, and the
        # green cube's top leaves half an edge of margin.
        base_pos, _ = tabletop.object_pose(scene, state.data, BASE)
        place = base_pos + expert.in_hand_offset(scene, state.data)
        return track(state, *expert.place_plan(yaw, grasp, place, release_z))

    return expert.batched(policy_one)


TASK = Task.from_module(globals(), name="stack_cube", scene="scene_stack.xml", episode_steps=240,
                        instruction="Stack the red cube on the green cube.",
                        randomized_parts=Parts(objects=("cube", "green_cube")))
make_env = hub_entry_point(TASK)  # LeRobot's EnvHub calls make_env(n_envs, use_async_envs, cfg)
