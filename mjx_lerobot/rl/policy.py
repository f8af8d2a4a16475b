"""Using a trained policy: in a JAX rollout (`make_policy`), through the Gymnasium adapter
(`gym_policy`), evaluated over seeded episodes (`evaluate`), and filmed (`policy_video`).

Evaluation ends episodes on success, as users and LeRobot's eval count it (training does not).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jp
import numpy as np

from mjx_lerobot.rl.checkpoint import TrainResult
from mjx_lerobot.rl.config import PPOConfig
from mjx_lerobot.rl.domain import action_history
from mjx_lerobot.rl.networks import Features, make_network, policy_inputs
from mjx_lerobot.sim.env import Env
from mjx_lerobot.sim.obs import AGENT_POS
from mjx_lerobot.sim.randomize import nominal_ranges
from mjx_lerobot.sim.registry import load_task
from mjx_lerobot.sim.scene import action_to_ctrl
from mjx_lerobot.sim.task import EnvState


def make_env(config: PPOConfig, task: Any, num_envs: int, impl: str = "auto", randomize: Any = False) -> Env:
    """The env a policy of `config` acts in: with its cameras at its image size for obs="pixels",
    and with the delay line its action history is read from (nominal ranges where
    `randomize` is False: the same model, through the same code path as any shift)."""
    cameras = dict(cameras=config.cameras, image_size=config.image_size) if config.obs == "pixels" else {}
    if config.action_history and randomize is False:
        randomize = nominal_ranges()
    return Env(task, num_envs=num_envs, impl=impl, randomize=randomize, **cameras)


def _actor(result: TrainResult) -> tuple[Features, Callable[[dict[str, Any]], jax.Array]]:
    """The deterministic actor: `policy_inputs`-style dict (unnormalized) -> action in [-1, 1]."""
    features = Features(result.config.task)
    network = make_network(result.config, features.scene, features)

    def act(inputs: dict[str, Any]) -> jax.Array:
        mean = network.apply(result.params, result.normalizer.inputs(inputs, features), method="actor")
        return jp.clip(mean, -1.0, 1.0)

    return features, act


def make_policy(result: TrainResult) -> Callable[[EnvState, jax.Array], jax.Array]:
    """The deterministic policy (the actor's mean) as `policy(state, key) -> action`, for
    `mjx_lerobot.sim.rollout.rollout` and anything else that steps an `Env` (for obs="pixels", an
    env with the policy's cameras and image size: `make_env`)."""
    features, act = _actor(result)
    config = result.config
    k = config.action_history or 0

    def policy(state: EnvState, key: jax.Array) -> jax.Array:
        history = {"history": action_history(features.scene, state, k)} if k else {}
        if config.obs == "pixels":
            missing = set(config.cameras) - set(state.obs.get("pixels", {}))
            if missing:
                raise ValueError(
                    f"this policy sees cameras {list(config.cameras)}; the env renders none of "
                    f"{sorted(missing)}: make it with ppo.make_env(result.config, ...)"
                )
            # The actor reads images and joints only: no privileged state is computed for it.
            return act({"proprio": features.proprio(state.obs[AGENT_POS]), "pixels": state.obs["pixels"]} | history)
        return act(policy_inputs(config, features, state.obs) | history)

    return policy


def gym_policy(result: TrainResult) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    """numpy obs dict -> numpy action (joint targets in radians, the adapter's default units).

    For obs="state": `SO101VectorEnv(obs_type="environment_state_agent_pos")`.
    For obs="pixels": `SO101VectorEnv(obs_type="pixels_agent_pos", cameras=config.cameras,
    observation_height=config.image_size, observation_width=config.image_size,
    renderer="batched")`: the ray tracer it was trained on (`gym_env_kwargs` gives these).
    """
    features, act = _actor(result)
    config, scene = result.config, features.scene
    if config.action_history:
        raise ValueError(
            f"this policy reads its last {config.action_history} actions from the env's state: run it "
            "in JAX rollouts (ppo.make_policy with ppo.make_env), not through the Gym adapter"
        )
    pixels = config.obs == "pixels"
    needs = {"agent_pos", "pixels"} if pixels else {"agent_pos", "environment_state"}
    obs_type = "pixels_agent_pos" if pixels else "environment_state_agent_pos"

    @jax.jit
    def policy(obs: dict[str, Any]) -> jax.Array:
        if pixels:
            inputs = {"proprio": features.proprio(obs["agent_pos"]), "pixels": obs["pixels"]}
        else:
            inputs = {"state": features(obs["agent_pos"], obs["environment_state"])}
        return action_to_ctrl(scene, act(inputs))

    def run(obs: dict[str, Any]) -> np.ndarray:
        missing = needs - set(obs)
        if missing:
            raise ValueError(f"the policy needs obs_type={obs_type!r}; missing {sorted(missing)}")
        agent_pos = np.asarray(obs["agent_pos"], np.float32)
        if agent_pos.ndim == 1:  # one instance (SO101Env)
            return run(jax.tree.map(lambda x: np.asarray(x)[None], {k: obs[k] for k in needs}))[0]
        batch = {"agent_pos": agent_pos}
        if pixels:
            batch["pixels"] = _checked_images(config, obs["pixels"], len(agent_pos))
        else:
            env_state = np.asarray(obs["environment_state"], np.float32)
            if env_state.shape[-1] != features.env_state_dim:
                raise ValueError(
                    f"environment_state has {env_state.shape[-1]} entries; this policy was trained on "
                    f"{config.task!r} ({features.env_state_dim})"
                )
            batch["environment_state"] = env_state
        return np.asarray(policy(batch))

    return run


def gym_env_kwargs(config: PPOConfig) -> dict[str, Any]:
    """`SO101VectorEnv` keyword arguments that give a policy of `config` what it was trained on."""
    if config.obs == "state":
        return dict(obs_type="environment_state_agent_pos")
    size = config.image_size
    return dict(
        obs_type="pixels_agent_pos",
        cameras=config.cameras,
        observation_height=size,
        observation_width=size,
        renderer="batched",
        impl="warp",
    )


def _checked_images(config: PPOConfig, images: Any, batch: int) -> dict[str, np.ndarray]:
    """The policy's cameras from a Gym `pixels` dict, each uint8 [batch, size, size, 3]."""
    if not isinstance(images, dict) or set(config.cameras) - set(images):
        got = sorted(images) if isinstance(images, dict) else type(images).__name__
        raise ValueError(f"pixels must hold cameras {list(config.cameras)}, got {got}")
    want = (batch, config.image_size, config.image_size, 3)
    out = {}
    for camera in config.cameras:
        image = np.asarray(images[camera])
        if image.shape != want or image.dtype != np.uint8:
            raise ValueError(
                f"pixels[{camera!r}] is {image.dtype} {image.shape}; this policy sees uint8 {want} "
                f"(SO101VectorEnv(**ppo.gym_env_kwargs(result.config)) renders that)"
            )
        out[camera] = image
    return out


def evaluate(
    result: TrainResult,
    num_episodes: int = 1000,
    impl: str = "auto",
    seed: int = 0,
    randomize: Any = False,
) -> dict:
    """First-episode success of the deterministic policy over `num_episodes` seeded episodes of
    the task as users run it (ending on success), all in one batch. `randomize`: False (the
    nominal model), True (the default ranges) or ranges of one's own (e.g. held-out shifts)."""
    from mjx_lerobot.sim.expert import first_episode_success
    from mjx_lerobot.sim.rollout import timed_rollout

    env = make_env(result.config, load_task(result.config.task), num_episodes, impl, randomize)
    timed = timed_rollout(env, make_policy(result), jax.random.key(seed), env.episode_steps)
    traj = timed.traj
    success = first_episode_success(traj)
    done = np.asarray(traj["terminated"]) | np.asarray(traj["truncated"])
    first_end = done.argmax(axis=0)
    return {
        "task": result.config.task,
        "impl": env.impl,
        "episodes": num_episodes,
        "seed": seed,
        "randomize": randomize if isinstance(randomize, bool) else "custom",
        "success_rate": float(success.mean()),
        "successes": int(success.sum()),
        "mean_steps_to_end": float(first_end[done.any(axis=0)].mean() + 1) if done.any() else math.nan,
        "instances_with_faults": int((np.asarray(traj["fault"]) != 0).any(axis=0).sum()),
        "compile_s": round(timed.compile_s, 1),
        "run_s": round(timed.run_s, 1),
    }


def policy_video(result: TrainResult, path: str | Path, seed: int = 0, renderer: str = "auto") -> Path:
    """One seeded episode of the deterministic policy, front and wrist cameras, to an mp4
    (drawn by `renderer`, see `render.episode_frames`)."""
    from mjx_lerobot.sim.render import episode_video, video_geom_groups
    from mjx_lerobot.sim.rollout import rollout

    env = make_env(result.config, load_task(result.config.task), 1)
    _, traj = rollout(env, make_policy(result), jax.random.key(seed), env.episode_steps)
    qpos, mocap = traj["qpos"][:, 0], traj["mocap_pos"][:, 0]
    groups = video_geom_groups(env.task)
    fps = round(1 / env.ctrl_dt)
    return episode_video(env.scene, qpos, mocap, path, fps, geom_groups=groups, renderer=renderer)
