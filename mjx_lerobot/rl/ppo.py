"""PPO on thousands of SO-101 instances, state or pixels, written in JAX: the public entry point.

    config = ppo.default_config("reach", num_envs=2048, total_steps=20_000_000)
    result = ppo.train(config)                 # TrainResult: params, normalizer, history
    ppo.evaluate(result, num_episodes=1000)    # first-episode success over seeded episodes
    ppo.save(result, "reach.msgpack")

Where each piece lives (this module re-exports them all):
- `config.py`: `PPOConfig` and `default_config` (the task's `train_defaults`, then overrides).
- `networks.py`: what the policy sees (`Features`, `policy_inputs`, `Normalizer`) and the
  actor-critic networks, for obs="state" and obs="pixels".
- `train.py`: how PPO updates (`Trainer.update`), `train` and `run` (`mjx-lerobot train`).
- `policy.py`: a trained policy in a JAX rollout (`make_policy`), through the Gymnasium
  adapter (`gym_policy`, `gym_env_kwargs`), `evaluate` and `policy_video`.
- `checkpoint.py`: `TrainResult`, `save`, `load` and the learning curve (`plot_history`).
"""

from mjx_lerobot.rl.checkpoint import TrainResult, load, plot_history, save
from mjx_lerobot.rl.config import OBS_KINDS, PPOConfig, default_config
from mjx_lerobot.rl.networks import (
    MLP,
    ActorCritic,
    Features,
    ImageEncoder,
    Normalizer,
    PixelActorCritic,
    example_inputs,
    gaussian_log_prob,
    make_network,
    mlp,
    policy_inputs,
)
from mjx_lerobot.rl.policy import _actor as _actor  # private: tests read the bare actor here
from mjx_lerobot.rl.policy import evaluate, gym_env_kwargs, gym_policy, make_env, make_policy, policy_video
from mjx_lerobot.rl.train import EpisodeStats, Runner, Trainer, minutes_to, run, train

__all__ = [
    "MLP",
    "OBS_KINDS",
    "ActorCritic",
    "EpisodeStats",
    "Features",
    "ImageEncoder",
    "Normalizer",
    "PPOConfig",
    "PixelActorCritic",
    "Runner",
    "TrainResult",
    "Trainer",
    "default_config",
    "evaluate",
    "example_inputs",
    "gaussian_log_prob",
    "gym_env_kwargs",
    "gym_policy",
    "load",
    "make_env",
    "make_network",
    "make_policy",
    "minutes_to",
    "mlp",
    "plot_history",
    "policy_inputs",
    "policy_video",
    "run",
    "save",
    "train",
]
