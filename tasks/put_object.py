"""put_object: put one named object on top of another, among distractors.

The four objects of pick_object (red cube, green cube, blue cylinder, yellow sphere) stand in
random slots; each episode's instruction names what to move and what to put it on ("Put the
blue cylinder on the red cube."): one of the six ordered pairs of the flat-topped three. The
sphere is always a distractor. Stacking anything else does not count.

Observation  joint_pos (6), joint_vel (6), ee_pos (3), ee_quat (4), object_pos (4x3),
             object_quat (4x4), instruction (6: one-hot over INSTRUCTIONS), target_pos (3:
             on top of the object to put it on)
Action       6 joint position targets in [-1, 1] over the joint ranges (LeRobot order)
Reward       reach the object to move + carry it onto the other + placed-and-released bonus
Success      the moved object resting on the named one (centred within `stack_radius`), that
             one still on the table, jaws open
Termination  success, or an object leaves the table; truncation after 240 steps (8 s)
"""

import itertools

import jax
import jax.numpy as jp
import numpy as np
from flax import struct
from mujoco import mjx

from mjx_lerobot.lerobot.hub import hub_entry_point
from mjx_lerobot.sim import expert, tabletop
from mjx_lerobot.sim.randomize import Parts
from mjx_lerobot.sim.scene import Scene, ee_pose
from mjx_lerobot.sim.task import Task

OBJECTS, ROUND = tabletop.OBJECTS, tabletop.ROUND  # scene_objects.xml's bodies; which are round
FLAT_TOPPED = (0, 1, 2)  # what can be stacked, and stacked on
PAIRS = np.array(list(itertools.permutations(FLAT_TOPPED, 2)))  # [6, 2]: (move, onto)
INSTRUCTIONS = tuple(
    f"Put the {OBJECTS[move].replace('_', ' ')} on the {OBJECTS[onto].replace('_', ' ')}." for move, onto in PAIRS
)
MOVE_ONTO = jp.asarray(PAIRS)  # the same, for indexing with a traced instruction


@struct.dataclass
class Params:
    slots: tuple = tabletop.OBJECT_SLOTS  # m, where objects may stand
    slot_jitter: float = 0.01  # m, +- around a slot
    yaw_range: float = jp.pi / 4  # rad, +- around the arm's facing direction
    arm_noise: float = 0.05  # rad
    stack_radius: float = 0.012  # m, centre offset still counted as stacked
    reach_scale: float = 0.5
    carry_scale: float = 2.0
    bonus_scale: float = 4.0


@struct.dataclass
class Info:
    instruction: jax.Array  # () int32: which (move, onto) pair the episode asks for
    object_start: jax.Array  # (4, 3) each object's position at reset


def reset(scene: Scene, params: Params, key: jax.Array, data: mjx.Data) -> tuple[mjx.Data, Info]:
    arm_key, objects_key, ask_key = jax.random.split(key, 3)
    data = tabletop.reset_arm(scene, data, arm_key, params.arm_noise)
    data, start = tabletop.scatter_objects(
        scene, data, objects_key, OBJECTS, params.slots, params.slot_jitter, params.yaw_range
    )
    asked = jax.random.randint(ask_key, (), 0, len(INSTRUCTIONS))
    on_top = start[MOVE_ONTO[asked, 1]] + jp.array([0.0, 0.0, 2 * tabletop.OBJECT_HALF])
    data = tabletop.place_target(scene, data, on_top)
    return data, Info(instruction=asked, object_start=start)


def asked_poses(scene: Scene, data: mjx.Data, info: Info) -> tuple[jax.Array, jax.Array]:
    """Positions (3,) of the object to move and of the one to put it on."""
    pos, _ = tabletop.object_poses(scene, data, OBJECTS)
    move, onto = MOVE_ONTO[info.instruction]
    return pos[move], pos[onto]


def observe(scene: Scene, params: Params, data: mjx.Data, info: Info) -> dict[str, jax.Array]:
    pos, quat = tabletop.object_poses(scene, data, OBJECTS)
    _, onto = asked_poses(scene, data, info)
    return tabletop.arm_obs(scene, data) | {
        "object_pos": pos,
        "object_quat": quat,
        "instruction": tabletop.one_hot(info.instruction, len(INSTRUCTIONS)),
        "target_pos": onto + jp.array([0.0, 0.0, 2 * tabletop.OBJECT_HALF]),
    }


def reward(scene: Scene, params: Params, data: mjx.Data, info: Info, action: jax.Array) -> dict[str, jax.Array]:
    move, onto = asked_poses(scene, data, info)
    ee_pos, _ = ee_pose(scene, data)
    on_top = onto + jp.array([0.0, 0.0, 2 * tabletop.OBJECT_HALF])
    return {
        "reach": params.reach_scale * tabletop.tanh_reach(jp.linalg.norm(move - ee_pos)),
        "carry": params.carry_scale * tabletop.tanh_reach(jp.linalg.norm(move - on_top)),
        "bonus": params.bonus_scale * success(scene, params, data, info),
    }


def failure(scene: Scene, params: Params, data: mjx.Data, info: Info) -> jax.Array:
    return tabletop.any_fell_off(scene, data, OBJECTS)


def success(scene: Scene, params: Params, data: mjx.Data, info: Info) -> jax.Array:
    move, onto = asked_poses(scene, data, info)
    return tabletop.stacked_and_released(scene, data, move, onto, params.stack_radius)


def make_expert(scene: Scene, params: Params, variation: float = 0.0):
    """stack_cube's pick and place, between the two objects the instruction names."""
    track = expert.make_tracker(scene, variation)

    def policy_one(state, key):
        move, onto = MOVE_ONTO[state.info.instruction]
        _, quat = tabletop.object_poses(scene, state.data, OBJECTS)
        start = state.info.object_start
        yaw, grasp = expert.grasp_approach(scene, state.data, start[move], quat[move], ROUND[move])
        release_z = expert.GRASP_Z + 2 * tabletop.OBJECT_HALF + 0.003
        return track(state, *expert.place_plan(yaw, grasp, start[onto], release_z))

    return expert.batched(policy_one)


TASK = Task.from_module(globals(), name="put_object", scene="scene_objects.xml", episode_steps=240,
                        instruction="Put the named object on the other named object.", instructions=INSTRUCTIONS,
                        randomized_parts=Parts(objects=OBJECTS))
make_env = hub_entry_point(TASK)  # LeRobot's EnvHub calls make_env(n_envs, use_async_envs, cfg)
