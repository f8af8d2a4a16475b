"""PPO's configuration: `PPOConfig`, and `default_config`, which fills in the task's training
defaults and validates a config before anything is compiled."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from mjx_lerobot.sim.registry import load_task

OBS_KINDS = ("state", "pixels")


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    """Everything a run depends on; `default_config` fills in per-task values."""

    task: str
    num_envs: int = 2048
    total_steps: int = 20_000_000  # env (control) steps over all instances
    impl: str = "auto"
    randomize: bool = False  # train on per-instance physics and looks (the task's default ranges)
    # Under randomize (rl/domain.py): the critic sees the episode's draws; the actor its own
    # last `action_history` actions (None: 3 where the ranges delay the servos, else 0).
    privileged_critic: bool = True
    action_history: int | None = None
    curriculum: bool = False  # widen the ranges from nominal as training success holds
    # A chunk's training success rate that widens the ranges, by `curriculum_step` of the way
    # from nominal to full. At 0.4 and 0.1 lift_cube went from nominal to full in 10 chunks
    # (~0.4M steps) while its success fell from 90% to 60%: widen slower, and hold while it drops.
    curriculum_threshold: float = 0.6
    curriculum_step: float = 0.05
    # Weight of a temporal smoothness loss on the actor, |mean(s_t) - mean(s_t+1)|^2 summed over
    # joints within an episode (CAPS, Mysore et al. 2021): a policy that jumps between targets at
    # every step shakes a real arm and falls apart under servo delay. A loss term, so the task's
    # reward, and the exploration noise, stay as they are.
    smoothness: float = 0.0
    unroll_length: int = 16  # control steps collected per instance per update
    num_minibatches: int = 8
    update_epochs: int = 4
    learning_rate: float = 3e-4
    max_grad_norm: float = 1.0
    gamma: float = 0.97
    gae_lambda: float = 0.95
    clip_eps: float = 0.2
    entropy_coef: float = 1e-3
    value_coef: float = 0.5
    reward_scale: float = 1.0
    hidden: tuple[int, ...] = (256, 256, 256)
    obs: str = "state"  # what the actor sees: "state" or "pixels" (cameras + joints; see networks.py)
    cameras: tuple[str, ...] = ("front", "wrist")  # obs="pixels" only
    image_size: int = 64  # square images, pixels per side (obs="pixels" only)
    conv_channels: tuple[int, ...] = (32, 64, 64, 64)  # 3x3 stride-2 convolutions per camera
    init_log_std: float = -1.0  # std 0.37 of the [-1, 1] joint range at the start
    updates_per_chunk: int = 10  # updates per jitted call (one progress-bar tick)

    @property
    def batch_size(self) -> int:
        """Control steps collected per update, over all instances."""
        return self.num_envs * self.unroll_length

    @property
    def num_updates(self) -> int:
        """PPO updates that cover `total_steps` (at least one)."""
        return max(1, math.ceil(self.total_steps / self.batch_size))


def default_config(task: str, **overrides: Any) -> PPOConfig:
    """The config for `task` (a name or a task file), its `train_defaults` then `overrides`, validated."""
    defaults = load_task(task).train_defaults  # also a clear error for an unknown task
    fields = {f.name for f in dataclasses.fields(PPOConfig)}
    for where, values in (("overrides", overrides), (f"{task}'s train_defaults", defaults)):
        unknown = set(values) - fields
        if unknown:
            raise ValueError(f"unknown PPO config fields {sorted(unknown)} in {where}; known: {sorted(fields)}")
    config = PPOConfig(task=task, **(dict(defaults) | overrides))
    if config.num_envs < 1 or config.unroll_length < 1 or config.total_steps < 1:
        raise ValueError(f"num_envs, unroll_length and total_steps must be >= 1, got {config}")
    if config.batch_size % config.num_minibatches:
        raise ValueError(
            f"num_envs * unroll_length ({config.batch_size}) must divide into num_minibatches "
            f"({config.num_minibatches})"
        )
    if config.curriculum and not config.randomize:
        raise ValueError("curriculum widens the randomization ranges: it needs randomize=True")
    if not config.smoothness >= 0.0:
        raise ValueError(f"smoothness must be >= 0, got {config.smoothness}")
    if not 0.0 < config.curriculum_step <= 1.0:
        raise ValueError(f"curriculum_step must be in (0, 1], got {config.curriculum_step}")
    if config.obs not in OBS_KINDS:
        raise ValueError(f"obs must be one of {OBS_KINDS}, got {config.obs!r}")
    if config.obs == "pixels":
        if config.impl not in ("auto", "warp"):
            raise ValueError(f"obs='pixels' is drawn by MuJoCo Warp's ray tracer: use impl='warp', not {config.impl!r}")
        if isinstance(config.cameras, str) or not config.cameras:
            raise ValueError(f"cameras must be a non-empty list of camera names, got {config.cameras!r}")
        if not isinstance(config.image_size, int) or not 16 <= config.image_size <= 512:
            raise ValueError(f"image_size must be an integer in [16, 512], got {config.image_size!r}")
        config = dataclasses.replace(config, cameras=tuple(config.cameras), conv_channels=tuple(config.conv_channels))
    if config.action_history is None:  # resolved here, so a checkpoint records the number
        from mjx_lerobot.rl.domain import history_length

        ranges = load_task(task).ranges if config.randomize else None
        config = dataclasses.replace(config, action_history=history_length(config, ranges))
    return dataclasses.replace(config, hidden=tuple(config.hidden))
