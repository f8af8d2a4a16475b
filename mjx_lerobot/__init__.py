"""mjx-lerobot: a batched SO-101 simulator on MuJoCo MJX, with LeRobot-compatible tasks."""

import os
import sys

# Headless offscreen rendering needs the GL backend chosen before mujoco is first imported.
if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
    os.environ.setdefault("MUJOCO_GL", "egl")

from mjx_lerobot.lerobot.gym_env import SO101VectorEnv
from mjx_lerobot.lerobot.gym_ids import gym_id, register_envs
from mjx_lerobot.lerobot.single_env import SO101Env  # noqa: E402
from mjx_lerobot.sim.env import Env
from mjx_lerobot.sim.registry import available_tasks, load_task, make  # noqa: E402
from mjx_lerobot.sim.rollout import rollout
from mjx_lerobot.sim.scene import CONTROL_HZ, JOINTS, Scene, build_scene, enable_compilation_cache  # noqa: E402
from mjx_lerobot.sim.task import FAULT_BAD_ACTION, FAULT_NAN_STATE, FAULT_OVERFLOW, EnvState, Task, seed_keys

# gym.make("gym_so101_mjx/LiftCube-v0") and gym.make_vec(...) work once this package is imported.
register_envs()

__all__ = [
    "CONTROL_HZ",
    "FAULT_BAD_ACTION",
    "FAULT_NAN_STATE",
    "FAULT_OVERFLOW",
    "JOINTS",
    "SO101Env",
    "SO101VectorEnv",
    "Env",
    "EnvState",
    "Scene",
    "Task",
    "available_tasks",
    "build_scene",
    "enable_compilation_cache",
    "gym_id",
    "load_task",
    "make",
    "rollout",
    "seed_keys",
]
