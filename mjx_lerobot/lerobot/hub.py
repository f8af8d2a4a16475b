"""LeRobot's env config -> the Gym adapter: what every task file's EnvHub `make_env` returns.

LeRobot's EnvHub loads a task file and calls `make_env(n_envs, use_async_envs, cfg=...)`; a
task file exports `make_env = hub_entry_point(TASK)`, which lands here. `lerobot_env.SO101MjxEnvConfig`
(the `so101_mjx` env type) builds the same env from its own fields.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from gymnasium.vector import AutoresetMode

from mjx_lerobot.lerobot.gym_env import SO101VectorEnv
from mjx_lerobot.sim.scene import CONTROL_HZ
from mjx_lerobot.sim.task import Task

#: Fields of a LeRobot EnvConfig (ours, or a HubEnvConfig subclass) that map onto our kwargs.
_CFG_FIELDS = (
    "obs_type",
    "impl",
    "units",
    "calibration",
    "cameras",
    "observation_height",
    "observation_width",
    "render_mode",
    "autoreset_mode",
    "renderer",
    "randomize",
)


def make_hub_env(task: str | Task, n_envs: int = 1, use_async_envs: bool = False, cfg: Any = None) -> SO101VectorEnv:
    """EnvHub's `make_env(n_envs, use_async_envs, cfg)` for a task: one batched VectorEnv.

    All instances step in this process in one call, so `use_async_envs` needs no workers and
    changes nothing. When LeRobot passes its env config as `cfg`, its `gym_kwargs` and the
    fields above (and `episode_length`, `use_degrees`) configure the env. Autoreset is
    SAME_STEP, as LeRobot's own envs use.
    """
    kwargs: dict[str, Any] = {"autoreset_mode": AutoresetMode.SAME_STEP}
    if cfg is not None:
        fps = getattr(cfg, "fps", CONTROL_HZ)
        if fps != CONTROL_HZ:
            raise ValueError(f"the SO-101 simulation runs at {CONTROL_HZ} Hz; cfg.fps={fps}")
        kwargs.update({k: getattr(cfg, k) for k in _CFG_FIELDS if getattr(cfg, k, None) is not None})
        if getattr(cfg, "episode_length", None):
            kwargs["max_episode_steps"] = cfg.episode_length
        if getattr(cfg, "use_degrees", None) is not None:
            kwargs["units"] = "degrees" if cfg.use_degrees else "radians"
        kwargs.update(getattr(cfg, "gym_kwargs", None) or {})
    return SO101VectorEnv(n_envs, task, **kwargs)


def hub_entry_point(task: Task) -> Callable[..., SO101VectorEnv]:
    """`make_env(n_envs=1, use_async_envs=False, cfg=None)` for `task`: the one line a task file
    ends with so that LeRobot's EnvHub can load it (`user/repo:tasks/<task>.py`)."""
    entry = functools.partial(make_hub_env, task)
    entry.__doc__ = f"EnvHub entry point of {task.name!r}: all n_envs instances as one batched VectorEnv."
    return entry
