"""pick_object: pick up the object the instruction names, among three others.

Four objects (red cube, green cube, blue cylinder, yellow sphere) stand in random slots on the
table; each episode's instruction names one of them ("Pick up the blue cylinder."). Lifting
any other object ends the episode as a failure: success is only for what was asked.

Observation  joint_pos (6), joint_vel (6), ee_pos (3), ee_quat (4), object_pos (4x3),
             object_quat (4x4), instruction (4: one-hot, in OBJECTS order), target_pos (3)
Action       6 joint position targets in [-1, 1] over the joint ranges (LeRobot order)
Reward       reach the named object + grasp it + lift it toward the target height
Success      the named object >= `lift_height` above its start, in the jaws, for `hold_steps`
Termination  success; failure when another object is lifted or any leaves the table;
             truncation after 150 steps (5 s)
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

OBJECTS, ROUND = tabletop.OBJECTS, tabletop.ROUND  # scene_objects.xml's bodies; which are round
INSTRUCTIONS = tuple(f"Pick up the {name.replace('_', ' ')}." for name in OBJECTS)


@struct.dataclass
class Params:
    slots: tuple = tabletop.OBJECT_SLOTS  # m, where objects may stand
    slot_jitter: float = 0.01  # m, +- around a slot
    yaw_range: float = jp.pi / 4  # rad, +- around the arm's facing direction
    arm_noise: float = 0.05  # rad
    lift_height: float = 0.05  # m above the start
    hold_steps: int = 10  # control steps the lift must hold
    held_radius: float = 0.03  # m, object centre to gripperframe for "in the jaws"
    reach_scale: float = 1.0
    grasp_scale: float = 1.0
    lift_scale: float = 4.0


@struct.dataclass
class Info:
    instruction: jax.Array  # () int32: which object the episode asks for (INSTRUCTIONS index)
    object_start: jax.Array  # (4, 3) each object's position at reset
    target: jax.Array  # (3,) where the named object should be lifted to
    held_steps: jax.Array  # () int32, consecutive control steps lifted and held


def reset(scene: Scene, params: Params, key: jax.Array, data: mjx.Data) -> tuple[mjx.Data, Info]:
    arm_key, objects_key, ask_key = jax.random.split(key, 3)
    data = tabletop.reset_arm(scene, data, arm_key, params.arm_noise)
    data, start = tabletop.scatter_objects(
        scene, data, objects_key, OBJECTS, params.slots, params.slot_jitter, params.yaw_range
    )
    asked = jax.random.randint(ask_key, (), 0, len(OBJECTS))
    target = start[asked] + jp.array([0.0, 0.0, params.lift_height])
    data = tabletop.place_target(scene, data, target)
    return data, Info(instruction=asked, object_start=start, target=target, held_steps=jp.int32(0))


def lifted(params: Params, info: Info, pos: jax.Array) -> jax.Array:
    """[4] bool: which objects are `lift_height` above where they started."""
    return pos[:, 2] >= info.object_start[:, 2] + params.lift_height


def update(scene: Scene, params: Params, data: mjx.Data, info: Info) -> Info:
    pos, _ = tabletop.object_poses(scene, data, OBJECTS)
    held = jp.linalg.norm(pos[info.instruction] - ee_pose(scene, data)[0]) < params.held_radius
    ok = lifted(params, info, pos)[info.instruction] & held
    return info.replace(held_steps=jp.where(ok, info.held_steps + 1, 0))


def observe(scene: Scene, params: Params, data: mjx.Data, info: Info) -> dict[str, jax.Array]:
    pos, quat = tabletop.object_poses(scene, data, OBJECTS)
    return tabletop.arm_obs(scene, data) | {
        "object_pos": pos,
        "object_quat": quat,
        "instruction": tabletop.one_hot(info.instruction, len(OBJECTS)),
        "target_pos": info.target,
    }


def reward(scene: Scene, params: Params, data: mjx.Data, info: Info, action: jax.Array) -> dict[str, jax.Array]:
    pos = tabletop.object_poses(scene, data, OBJECTS)[0][info.instruction]
    ee_pos, _ = ee_pose(scene, data)
    near = jp.linalg.norm(pos - ee_pos) < params.held_radius
    lift = jp.clip((pos[2] - info.object_start[info.instruction, 2]) / params.lift_height, 0.0, 1.0)
    return {
        "reach": params.reach_scale * tabletop.tanh_reach(jp.linalg.norm(pos - ee_pos)),
        "grasp": params.grasp_scale * near * (tabletop.gripper_gap_closed(scene, data) < 0.3),
        "lift": params.lift_scale * near * lift,
    }


def failure(scene: Scene, params: Params, data: mjx.Data, info: Info) -> jax.Array:
    pos, _ = tabletop.object_poses(scene, data, OBJECTS)
    other = jp.arange(len(OBJECTS)) != info.instruction
    wrong_pick = (lifted(params, info, pos) & other).any()
    return wrong_pick | tabletop.any_fell_off(scene, data, OBJECTS)


def success(scene: Scene, params: Params, data: mjx.Data, info: Info) -> jax.Array:
    return info.held_steps >= params.hold_steps


def make_expert(scene: Scene, params: Params, variation: float = 0.0):
    """lift_cube's grasp on the named object: across two faces of a cube, from the current
    jaw direction for a round one."""
    track = expert.make_tracker(scene, variation)

    def policy_one(state, key):
        asked = state.info.instruction
        _, quat = tabletop.object_poses(scene, state.data, OBJECTS)
        start = state.info.object_start[asked]
        yaw, grasp = expert.grasp_approach(scene, state.data, start, quat[asked], ROUND[asked])
        return track(state, *expert.lift_plan(yaw, grasp))

    return expert.batched(policy_one)


TASK = Task.from_module(globals(), name="pick_object", scene="scene_objects.xml", episode_steps=150,
                        instruction="Pick up the named object.", instructions=INSTRUCTIONS,
                        randomized_parts=Parts(objects=OBJECTS))
make_env = hub_entry_point(TASK)  # LeRobot's EnvHub calls make_env(n_envs, use_async_envs, cfg)
