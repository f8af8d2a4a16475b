"""reach: bring the gripperframe (between the fingertips) to a random target in the air.

The batched counterpart of the seed env's ExampleReachTask.

Observation  joint_pos (6), joint_vel (6), ee_pos (3), ee_quat (4), target_pos (3)
Action       6 joint position targets in [-1, 1] over the joint ranges (LeRobot order)
Reward       1 - tanh(distance / 10 cm), plus a bonus inside the success radius
Success      gripperframe within `success_radius` of the target
Termination  success; truncation after 90 steps (3 s)
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


@struct.dataclass
class Params:
    target_low: tuple = (0.14, -0.15, 0.03)  # m, box the target is drawn from
    target_high: tuple = (0.30, 0.15, 0.08)
    arm_noise: float = 0.1  # rad, uniform noise on the start pose
    success_radius: float = 0.02  # m
    reach_scale: float = 1.0
    bonus_scale: float = 1.0


@struct.dataclass
class Info:
    target: jax.Array  # (3,) target position


def reset(scene: Scene, params: Params, key: jax.Array, data: mjx.Data) -> tuple[mjx.Data, Info]:
    arm_key, target_key = jax.random.split(key)
    data = tabletop.reset_arm(scene, data, arm_key, params.arm_noise)
    target = jax.random.uniform(
        target_key, (3,), minval=jp.asarray(params.target_low), maxval=jp.asarray(params.target_high)
    )
    data = tabletop.place_target(scene, data, target)
    return data, Info(target=target)


def distance(scene: Scene, data: mjx.Data, info: Info) -> jax.Array:
    return jp.linalg.norm(ee_pose(scene, data)[0] - info.target)


def observe(scene: Scene, params: Params, data: mjx.Data, info: Info) -> dict[str, jax.Array]:
    return tabletop.arm_obs(scene, data) | {"target_pos": info.target}


def reward(scene: Scene, params: Params, data: mjx.Data, info: Info, action: jax.Array) -> dict[str, jax.Array]:
    return {
        "reach": params.reach_scale * tabletop.tanh_reach(distance(scene, data, info)),
        "bonus": params.bonus_scale * success(scene, params, data, info),
    }


def success(scene: Scene, params: Params, data: mjx.Data, info: Info) -> jax.Array:
    return distance(scene, data, info) < params.success_radius


def make_expert(scene: Scene, params: Params, variation: float = 0.0):
    """Straight line from the start pose to the target in 1 s, fingers pointing down."""
    track = expert.make_tracker(scene, variation)

    def policy_one(state, key):
        target = state.info.target
        yaw = jp.arctan2(target[1], target[0] - expert.PAN_AXIS_X)  # jaws across the arm's plane
        times = jp.array([0.0, 30.0])
        pos = jp.stack([tabletop.READY_EE, target])
        # Only the timing varies: the start is where the arm is, the end is the target.
        return track(state, times, pos, jp.full(2, yaw), jp.full(2, 0.3))

    return expert.batched(policy_one)


TASK = Task.from_module(globals(), name="reach", scene="scene_reach.xml", episode_steps=90,
                        instruction="Move the gripper to the green target.",
                        camera_geom_groups=(0, 2, 4),  # cameras see the target marker
                        randomized_parts=Parts(objects=()),  # the arm alone: no objects to vary
                        train_defaults=dict(total_steps=20_000_000, init_log_std=-1.0))
make_env = hub_entry_point(TASK)  # LeRobot's EnvHub calls make_env(n_envs, use_async_envs, cfg)
