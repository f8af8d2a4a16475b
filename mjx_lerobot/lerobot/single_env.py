"""One SO-101 instance as a `gymnasium.Env`: the batched adapter with num_envs=1, unbatched."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode

from mjx_lerobot.lerobot.gym_env import SO101VectorEnv
from mjx_lerobot.sim.scene import CONTROL_HZ
from mjx_lerobot.sim.task import Task


class SO101Env(gym.Env):
    """One SO-101 instance as a `gymnasium.Env` (the VectorEnv with num_envs=1, unbatched).

    No auto-reset: call reset() after an episode ends, as Gymnasium expects of a single env.
    Takes the same keyword arguments as SO101VectorEnv.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": CONTROL_HZ}

    def __init__(self, task: str | Task = "lift_cube", render_mode: str | None = "rgb_array", **kwargs: Any):
        self.vector_env = SO101VectorEnv(
            1, task, render_mode=render_mode, autoreset_mode=AutoresetMode.DISABLED, **kwargs
        )
        self.render_mode = render_mode
        self.observation_space = self.vector_env.single_observation_space
        self.action_space = self.vector_env.single_action_space

    task = property(lambda self: self.vector_env.task)
    task_description = property(lambda self: self.vector_env.task_descriptions[0])
    _max_episode_steps = property(lambda self: self.vector_env._max_episode_steps)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)  # seeds self.np_random, which draws the seed when none is given
        if seed is None:
            seed = int(self.np_random.integers(0, 2**63))
        obs, info = self.vector_env.reset(seed=[seed], options=options)
        return _first(obs), _first(info)

    def step(self, action: np.ndarray):
        action = np.asarray(action)
        if action.shape != (6,):
            raise ValueError(f"action shape: expected (6,), got {action.shape}")
        obs, reward, terminated, truncated, info = self.vector_env.step(action[None])
        return _first(obs), float(reward[0]), bool(terminated[0]), bool(truncated[0]), _first(info)

    def render(self) -> np.ndarray | None:
        frames = self.vector_env.render()
        return None if frames is None else frames[0]

    def close(self) -> None:
        self.vector_env.close()


def _first(tree: Any) -> Any:
    """Instance 0 of a batched obs/info dict (dropping Gymnasium's `_key` masks)."""
    if isinstance(tree, dict):
        return {k: _first(v) for k, v in tree.items() if not k.startswith("_")}
    if isinstance(tree, np.ndarray):
        value = tree[0]
        return value.item() if value.ndim == 0 and tree.dtype != object else value
    return tree
