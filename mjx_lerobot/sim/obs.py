"""What an observation holds, in one place: the task's named arrays and LeRobot's view of them.

A task's `observe` returns a dict of named arrays. LeRobot reads two vectors from it:

    agent_pos          joint_pos (6): the arm's joint positions -> observation.state
    environment_state  every entry that is not the arm's (ARM_OBS), concatenated in the obs
                       dict's order -> observation.environment_state

`ObsSpec` computes that split once, from shapes alone; `Env.obs_spec` holds the env's own, and
`registry.observation_spec(task)` gives it before any env exists (an EnvConfig needs it then).
The adapter, recording, PPO and the LeRobot config all read it from here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jp
import numpy as np

#: Task observations that describe the arm; every other entry is environment state.
ARM_OBS = ("joint_pos", "joint_vel", "ee_pos", "ee_quat")
#: The observation LeRobot calls agent_pos (observation.state).
AGENT_POS = "joint_pos"
#: Camera images ({camera: [N, H, W, ...]}), drawn by the env beside the task's observations.
IMAGE_OBS = ("pixels", "depth")


@dataclasses.dataclass(frozen=True)
class ObsSpec:
    """One instance's task observations: names and shapes, in the obs dict's order."""

    shapes: Mapping[str, tuple[int, ...]]

    @classmethod
    def from_shapes(cls, obs: Mapping[str, Any]) -> ObsSpec:
        """From one instance's obs dict of arrays or `jax.ShapeDtypeStruct`s."""
        return cls({key: tuple(value.shape) for key, value in obs.items() if key not in IMAGE_OBS})

    @property
    def env_keys(self) -> tuple[str, ...]:
        """The entries that make up environment_state, in order."""
        return tuple(key for key in self.shapes if key not in ARM_OBS)

    @property
    def env_state_sizes(self) -> tuple[int, ...]:
        return tuple(int(np.prod(self.shapes[key])) for key in self.env_keys)

    @property
    def env_state_dim(self) -> int:
        return sum(self.env_state_sizes)

    @property
    def env_state_names(self) -> list[str]:
        """One name per environment_state entry: 'cube_pos.0', 'cube_pos.1', ..."""
        sizes = zip(self.env_keys, self.env_state_sizes, strict=True)
        return [f"{key}.{i}" for key, size in sizes for i in range(size)]

    @property
    def env_state_slices(self) -> dict[str, tuple[int, int]]:
        """Where each entry sits in environment_state: key -> (start, stop)."""
        stops = np.cumsum(self.env_state_sizes)
        starts = stops - np.asarray(self.env_state_sizes)
        return {key: (int(a), int(b)) for key, a, b in zip(self.env_keys, starts, stops, strict=True)}

    def environment_state(self, obs: Mapping[str, jax.Array]) -> jax.Array:
        """Batched obs dict [N, ...] -> environment_state [N, env_state_dim] float32."""
        n = obs[AGENT_POS].shape[0]
        parts = [obs[key].reshape(n, -1) for key in self.env_keys]
        return jp.concatenate(parts, axis=1).astype(jp.float32)
