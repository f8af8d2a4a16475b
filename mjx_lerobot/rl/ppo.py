"""PPO on thousands of SO-101 instances: collection, advantages and updates in one jitted function.

    config = ppo.default_config("reach", num_envs=2048, total_steps=20_000_000)
    result = ppo.train(config)                 # TrainResult: params, normalizer, history
    ppo.evaluate(result, num_episodes=1000)    # first-episode success over seeded episodes
    ppo.save(result, "reach.msgpack")

One PPO update is `update` below, read top to bottom: `lax.scan` the batched env for
`unroll_length` control steps (auto-reset inside the env), compute GAE, then `update_epochs`
passes of minibatch Adam steps. `train` jits `lax.scan(update, ...)` over a chunk of updates
and only returns to Python between chunks, for the progress bar, checkpoints and the curve.

What the policy sees is what LeRobot sees, so a trained policy drives the Gymnasium adapter
unchanged (`gym_policy`):
- `obs="state"`: `agent_pos` (joint positions, radians) and `environment_state` (the task's
  objects and target). From the joints it also computes the gripperframe position by forward
  kinematics, and every `*_pos` entry relative to it: an MLP learns a grasp far faster from
  "cube minus gripper" than from joint angles alone.
- `obs="pixels"`: what a real SO-101 has, camera images (drawn inside the jitted step by the
  batched ray tracer, so they never leave the device) and its joints, plus the gripper
  position the joints imply. The actor is a small CNN per camera; the critic, which only
  training uses, still sees the state above (an asymmetric actor-critic: a value learned from
  the cube's pose is far less noisy than one learned from images, and costs nothing at
  deployment, where only the actor runs).

Actions are the env's own: absolute joint targets in [-1, 1], a diagonal Gaussian around the
actor's mean, clipped at the env boundary. Training does not end episodes on success (a
positive reward stream that success cuts short teaches the policy to avoid success);
evaluation does, as users and LeRobot's eval count it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flax.linen as nn
import flax.serialization
import jax
import jax.numpy as jp
import numpy as np
import optax
from flax import struct
from mujoco import mjx

from mjx_lerobot.sim import tabletop
from mjx_lerobot.sim.env import Env, instance_shapes, select_instances
from mjx_lerobot.sim.obs import AGENT_POS, ObsSpec
from mjx_lerobot.sim.registry import load_task
from mjx_lerobot.sim.scene import Scene, action_to_ctrl, build_scene, ctrl_to_action
from mjx_lerobot.sim.task import EnvState


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    """Everything a run depends on; `default_config` fills in per-task values."""

    task: str
    num_envs: int = 2048
    total_steps: int = 20_000_000  # env (control) steps over all instances
    impl: str = "auto"
    randomize: bool = False  # train on per-instance physics and looks (the task's default ranges)
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
    obs: str = "state"  # what the actor sees: "state" or "pixels" (cameras + joints; see above)
    cameras: tuple[str, ...] = ("front", "wrist")  # obs="pixels" only
    image_size: int = 64  # square images, pixels per side (obs="pixels" only)
    conv_channels: tuple[int, ...] = (32, 64, 64, 64)  # 3x3 stride-2 convolutions per camera
    init_log_std: float = -1.0  # std 0.37 of the [-1, 1] joint range at the start
    updates_per_chunk: int = 10  # updates per jitted call (one progress-bar tick)

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.unroll_length

    @property
    def num_updates(self) -> int:
        return max(1, math.ceil(self.total_steps / self.batch_size))


# Per-task values that differ from the defaults, found on the tasks here.
TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "reach": dict(total_steps=20_000_000, init_log_std=-1.0),
    "lift_cube": dict(total_steps=100_000_000, reward_scale=0.25, init_log_std=-1.2, entropy_coef=5e-4),
    "push_cube": dict(total_steps=100_000_000, reward_scale=0.25, init_log_std=-1.2),
    "pick_place": dict(total_steps=200_000_000, reward_scale=0.25, init_log_std=-1.2),
}


def default_config(task: str, **overrides: Any) -> PPOConfig:
    """The config for `task` (its defaults, then `overrides`), validated here, not in XLA."""
    load_task(task)  # a clear error for an unknown task
    fields = {f.name for f in dataclasses.fields(PPOConfig)}
    unknown = set(overrides) - fields
    if unknown:
        raise ValueError(f"unknown PPO config fields {sorted(unknown)}; known: {sorted(fields)}")
    config = PPOConfig(task=task, **(TASK_DEFAULTS.get(task, {}) | overrides))
    if config.num_envs < 1 or config.unroll_length < 1 or config.total_steps < 1:
        raise ValueError(f"num_envs, unroll_length and total_steps must be >= 1, got {config}")
    if config.batch_size % config.num_minibatches:
        raise ValueError(
            f"num_envs * unroll_length ({config.batch_size}) must divide into num_minibatches "
            f"({config.num_minibatches})"
        )
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
    return dataclasses.replace(config, hidden=tuple(config.hidden))


OBS_KINDS = ("state", "pixels")


# ---------------------------------------------------------------------------------------
# What the policy sees: LeRobot's agent_pos + environment_state, plus forward kinematics.


class Features:
    """agent_pos (6) + environment_state (k) -> the policy's input vector.

    Adds the gripperframe position (forward kinematics on MJX's XLA path, whatever backend
    the env runs) and each `*_pos` entry of the environment state minus it.
    """

    def __init__(self, task_name: str):
        task = load_task(task_name)
        self.scene = build_scene(task.scene, impl="jax", num_envs=1)
        self.spec = ObsSpec.from_shapes(instance_shapes(task, self.scene).obs)  # the adapter's layout
        self.env_state_dim = self.spec.env_state_dim
        self.pos_slices = tuple(span for key, span in self.spec.env_state_slices.items() if key.endswith("_pos"))
        self._template = mjx.make_data(self.scene.mjx_model)
        self.dim = 6 + self.env_state_dim + 3 * (1 + len(self.pos_slices))
        # What a real robot knows of itself: its joints and the gripper position they imply.
        ee = 6 + self.env_state_dim
        self.proprio_index = np.r_[0:6, ee : ee + 3]

    def from_obs(self, obs: dict[str, jax.Array]) -> jax.Array:
        """Task observation dict (batched [N, ...]) -> [N, dim]."""
        return self(obs[AGENT_POS], self.spec.environment_state(obs))

    def __call__(self, agent_pos: jax.Array, environment_state: jax.Array) -> jax.Array:
        ee = jax.vmap(self._gripper_pos)(agent_pos)
        rel = [environment_state[:, a:b] - ee for a, b in self.pos_slices]
        return jp.concatenate([agent_pos, environment_state, ee, *rel], axis=1).astype(jp.float32)

    def proprio(self, agent_pos: jax.Array) -> jax.Array:
        """[N, 6] joint positions -> [N, 9]: the `proprio_index` entries, from the joints alone."""
        return jp.concatenate([agent_pos, jax.vmap(self._gripper_pos)(agent_pos)], axis=1).astype(jp.float32)

    def _gripper_pos(self, joint_pos: jax.Array) -> jax.Array:
        data = self._template.replace(qpos=self._template.qpos.at[self.scene.arm_qpos].set(joint_pos))
        return self.scene.kinematics(self.scene.mjx_model, data).site_xpos[self.scene.ee_site]


def policy_inputs(config: PPOConfig, features: Features, obs: dict[str, Any]) -> dict[str, Any]:
    """The task's batched observation -> the network's inputs: `state` [N, dim] always (the
    critic's, and the state actor's); for obs="pixels" also the actor's `proprio` [N, 9] and
    `pixels` {camera: uint8 [N, H, W, 3]}. Images stay uint8 until the network, so a stored
    rollout holds a quarter of the bytes."""
    inputs = {"state": features.from_obs(obs)}
    if config.obs == "pixels":
        inputs["proprio"] = inputs["state"][:, features.proprio_index]
        inputs["pixels"] = {camera: obs["pixels"][camera] for camera in config.cameras}
    return inputs


@struct.dataclass
class Normalizer:
    """Running mean and variance of the policy inputs (Chan et al.'s parallel update)."""

    mean: jax.Array
    var: jax.Array
    count: jax.Array

    @classmethod
    def create(cls, dim: int) -> Normalizer:
        return cls(mean=jp.zeros(dim), var=jp.ones(dim), count=jp.float32(1e-4))

    def update(self, batch: jax.Array) -> Normalizer:
        batch = batch.reshape(-1, batch.shape[-1])
        b_mean, b_var, b_count = batch.mean(0), batch.var(0), batch.shape[0]
        total = self.count + b_count
        delta = b_mean - self.mean
        mean = self.mean + delta * b_count / total
        m2 = self.var * self.count + b_var * b_count + delta**2 * self.count * b_count / total
        return Normalizer(mean=mean, var=m2 / total, count=total)

    def __call__(self, x: jax.Array) -> jax.Array:
        return jp.clip((x - self.mean) / jp.sqrt(self.var + 1e-8), -10.0, 10.0)

    def inputs(self, inputs: dict[str, Any], features: Features) -> dict[str, Any]:
        """`policy_inputs` with `state` and `proprio` normalized (the network scales images)."""
        out = dict(inputs)
        if "state" in inputs:
            out["state"] = self(inputs["state"])
        if "proprio" in inputs:  # the same statistics as those entries of the state
            index = features.proprio_index
            out["proprio"] = Normalizer(self.mean[index], self.var[index], self.count)(inputs["proprio"])
        return out


# ---------------------------------------------------------------------------------------
# The networks: separate actor and critic, a state-independent log std. Both take the dict
# of `policy_inputs` and return (mean, log_std, value); `value` alone is a method of both.


class ActorCritic(nn.Module):
    """obs="state": actor and critic are MLPs of the same state vector."""

    hidden: tuple[int, ...]
    action_dim: int
    init_log_std: float
    action_bias: tuple[float, ...]  # the start pose: an untrained policy holds the arm still

    @nn.compact
    def __call__(self, inputs: dict[str, Any]) -> tuple[jax.Array, jax.Array, jax.Array]:
        x = inputs["state"]
        mean = mlp(x, self.hidden, self.action_dim, 0.01) + jp.asarray(self.action_bias)
        log_std = self.param("log_std", nn.initializers.constant(self.init_log_std), (self.action_dim,))
        value = mlp(x, self.hidden, 1, 1.0)[..., 0]
        return mean, jp.broadcast_to(log_std, mean.shape), value

    def actor(self, inputs: dict[str, Any]) -> jax.Array:
        return self(inputs)[0]

    def value(self, inputs: dict[str, Any]) -> jax.Array:
        return self(inputs)[2]


class PixelActorCritic(nn.Module):
    """obs="pixels": the actor sees each camera through its own CNN, plus the joints and the
    gripper position they imply; the critic sees the privileged state (training only)."""

    hidden: tuple[int, ...]
    action_dim: int
    init_log_std: float
    action_bias: tuple[float, ...]
    cameras: tuple[str, ...]
    conv_channels: tuple[int, ...]

    def setup(self):
        self.encoders = {camera: ImageEncoder(self.conv_channels) for camera in self.cameras}
        self.log_std = self.param("log_std", nn.initializers.constant(self.init_log_std), (self.action_dim,))
        self.actor_mlp = MLP(self.hidden, self.action_dim, 0.01)
        self.critic_mlp = MLP(self.hidden, 1, 1.0)

    def __call__(self, inputs: dict[str, Any]) -> tuple[jax.Array, jax.Array, jax.Array]:
        mean = self.actor(inputs)
        return mean, jp.broadcast_to(self.log_std, mean.shape), self.value(inputs)

    def actor(self, inputs: dict[str, Any]) -> jax.Array:
        """The mean action from `pixels` and `proprio` alone: all a deployed policy needs."""
        seen = [self.encoders[camera](inputs["pixels"][camera]) for camera in self.cameras]
        return self.actor_mlp(jp.concatenate([*seen, inputs["proprio"]], axis=-1)) + jp.asarray(self.action_bias)

    def value(self, inputs: dict[str, Any]) -> jax.Array:
        return self.critic_mlp(inputs["state"])[..., 0]


class ImageEncoder(nn.Module):
    """uint8 [N, H, W, 3] -> [N, 256]: 3x3 stride-2 convolutions, then a LayerNorm'd projection
    (bounded features keep the actor's first layer well scaled whatever the image)."""

    channels: tuple[int, ...]

    @nn.compact
    def __call__(self, image: jax.Array) -> jax.Array:
        h = image.astype(jp.float32) / 255.0 - 0.5  # on device, inside the jitted step
        for width in self.channels:
            h = nn.relu(nn.Conv(width, (3, 3), strides=2, kernel_init=nn.initializers.orthogonal(math.sqrt(2)))(h))
        h = nn.Dense(256, kernel_init=nn.initializers.orthogonal(1.0))(h.reshape(h.shape[0], -1))
        return jp.tanh(nn.LayerNorm()(h))


class MLP(nn.Module):
    hidden: tuple[int, ...]
    out: int
    out_scale: float

    @nn.compact
    def __call__(self, h: jax.Array) -> jax.Array:
        return mlp(h, self.hidden, self.out, self.out_scale)


def mlp(h: jax.Array, hidden: tuple[int, ...], out: int, out_scale: float) -> jax.Array:
    """Swish layers of `hidden` widths, then a linear output (inside a compact module)."""
    for width in hidden:
        h = nn.swish(nn.Dense(width, kernel_init=nn.initializers.orthogonal(math.sqrt(2)))(h))
    return nn.Dense(out, kernel_init=nn.initializers.orthogonal(out_scale))(h)


def make_network(config: PPOConfig, scene: Scene, features: Features) -> ActorCritic | PixelActorCritic:
    # Every task starts the arm at READY_QPOS: centring the untrained actor there keeps early
    # exploration around the workspace instead of flinging the arm to mid-range.
    start_pose = np.asarray(ctrl_to_action(scene, tabletop.READY_QPOS))
    common = dict(
        hidden=tuple(config.hidden),
        action_dim=6,
        init_log_std=config.init_log_std,
        action_bias=tuple(float(a) for a in start_pose),
    )
    if config.obs == "state":
        return ActorCritic(**common)
    return PixelActorCritic(
        **common,
        cameras=tuple(config.cameras),
        conv_channels=tuple(config.conv_channels),
    )


def example_inputs(config: PPOConfig, features: Features) -> dict[str, Any]:
    """One zero input of the right shapes, to initialize a network."""
    inputs: dict[str, Any] = {"state": jp.zeros((1, features.dim))}
    if config.obs == "pixels":
        inputs["proprio"] = jp.zeros((1, len(features.proprio_index)))
        size = (1, config.image_size, config.image_size, 3)
        inputs["pixels"] = {camera: jp.zeros(size, jp.uint8) for camera in config.cameras}
    return inputs


def gaussian_log_prob(x: jax.Array, mean: jax.Array, log_std: jax.Array) -> jax.Array:
    return jp.sum(-0.5 * ((x - mean) / jp.exp(log_std)) ** 2 - log_std - 0.5 * math.log(2 * math.pi), axis=-1)


# ---------------------------------------------------------------------------------------
# Training state and one update.


@struct.dataclass
class EpisodeStats:
    """Running per-instance sums, and the totals of episodes that ended during an update."""

    running_return: jax.Array  # [N]
    running_success: jax.Array  # [N] bool, succeeded at some step of the current episode
    ended: jax.Array  # () episodes that ended
    return_sum: jax.Array  # () their summed return
    success_sum: jax.Array  # () how many of them succeeded


@struct.dataclass
class Runner:
    params: Any
    opt_state: Any
    normalizer: Normalizer
    env_state: EnvState
    stats: EpisodeStats
    key: jax.Array


@dataclasses.dataclass
class TrainResult:
    """A trained policy: what `make_policy`, `gym_policy`, `evaluate` and `save` take."""

    config: PPOConfig
    params: Any
    normalizer: Normalizer
    history: dict[str, list[float]]


class Trainer:
    """Builds the env, network and the jitted `train_chunk` for one config."""

    def __init__(self, config: PPOConfig):
        self.config = config
        task = dataclasses.replace(load_task(config.task), terminate_on_success=False)
        self.env = make_env(config, task, config.num_envs, config.impl, config.randomize)
        self.features = Features(config.task)
        self.network = make_network(config, self.env.scene, self.features)
        self.optimizer = optax.chain(
            optax.clip_by_global_norm(config.max_grad_norm), optax.adam(config.learning_rate, eps=1e-5)
        )
        self.train_chunk = jax.jit(self._train_chunk)

    def init(self, seed: int) -> Runner:
        """The starting point: fresh network, optimizer, normalizer and env batch."""
        # Jitted like train_chunk, so its outputs are placed exactly as train_chunk's are:
        # otherwise the second chunk sees differently committed arrays and compiles again.
        return jax.jit(self._init)(jax.random.key(seed))

    def _init(self, key: jax.Array) -> Runner:
        key, net_key, env_key = jax.random.split(key, 3)
        params = self.network.init(net_key, example_inputs(self.config, self.features))
        n = self.config.num_envs
        stats = EpisodeStats(
            running_return=jp.zeros(n),
            running_success=jp.zeros(n, bool),
            ended=jp.float32(0),
            return_sum=jp.float32(0),
            success_sum=jp.float32(0),
        )
        env_state = self.env.reset_fn(env_key)
        normalizer = Normalizer.create(self.features.dim).update(self.features.from_obs(env_state.obs))
        return Runner(params, self.optimizer.init(params), normalizer, env_state, stats, key)

    def _train_chunk(self, runner: Runner) -> tuple[Runner, dict[str, jax.Array]]:
        return jax.lax.scan(lambda r, _: self.update(r), runner, None, length=self.config.updates_per_chunk)

    def update(self, runner: Runner) -> tuple[Runner, dict[str, jax.Array]]:
        """One PPO update: collect, advantages, `update_epochs` x `num_minibatches` Adam steps."""
        cfg, env, features, network = self.config, self.env, self.features, self.network
        inputs_of = functools.partial(policy_inputs, cfg, features)

        # 1. Collect unroll_length steps of every instance; the env auto-resets inside.
        def env_step(carry: tuple[EnvState, EpisodeStats, jax.Array], _):
            state, stats, key = carry
            key, act_key = jax.random.split(key)
            obs = inputs_of(state.obs)
            mean, log_std, value = network.apply(runner.params, runner.normalizer.inputs(obs, features))
            action = mean + jp.exp(log_std) * jax.random.normal(act_key, mean.shape)
            nxt = env.step_fn(state, jp.clip(action, -1.0, 1.0))
            done = nxt.terminated | nxt.truncated
            # After an episode end nxt.obs is the next episode's start; bootstrap from the
            # observation the episode ended on (kept in final_obs) instead. Only the critic
            # reads it, and the critic sees the state alone.
            end_obs = features.from_obs(select_instances(done, nxt.final_obs, nxt.obs))
            ep_return = stats.running_return + nxt.reward
            ep_success = stats.running_success | nxt.success
            stats = EpisodeStats(
                running_return=jp.where(done, 0.0, ep_return),
                running_success=ep_success & ~done,
                ended=stats.ended + done.sum(),
                return_sum=stats.return_sum + jp.where(done, ep_return, 0.0).sum(),
                success_sum=stats.success_sum + (ep_success & done).sum(),
            )
            step = dict(
                obs=obs,
                action=action,
                log_prob=gaussian_log_prob(action, mean, log_std),
                value=value,
                reward=nxt.reward * cfg.reward_scale,
                terminated=nxt.terminated,
                done=done,
                end_obs=end_obs,
            )
            return (nxt, stats, key), step

        key, rollout_key, shuffle_key = jax.random.split(runner.key, 3)
        zero = jp.float32(0)
        stats = runner.stats.replace(ended=zero, return_sum=zero, success_sum=zero)
        (env_state, stats, _), traj = jax.lax.scan(
            env_step, (runner.env_state, stats, rollout_key), None, length=cfg.unroll_length
        )

        # 2. Generalized advantage estimation, backwards in time. Truncation is not an end
        # of the task: the value of where the episode stopped is bootstrapped.
        end_value = network.apply(runner.params, {"state": runner.normalizer(traj["end_obs"])}, method="value")
        next_value = jp.where(traj["terminated"], 0.0, end_value)

        def gae_step(advantage: jax.Array, t: dict[str, jax.Array]):
            delta = t["reward"] + cfg.gamma * t["next_value"] - t["value"]
            advantage = delta + cfg.gamma * cfg.gae_lambda * (1.0 - t["done"]) * advantage
            return advantage, advantage

        gae_in = dict(reward=traj["reward"], next_value=next_value, value=traj["value"], done=traj["done"])
        _, advantages = jax.lax.scan(gae_step, jp.zeros(cfg.num_envs), gae_in, reverse=True)
        returns = advantages + traj["value"]

        # 3. Minibatch updates on the flattened [T * N] batch.
        batch = dict(
            obs=runner.normalizer.inputs(traj["obs"], features),
            action=traj["action"],
            log_prob=traj["log_prob"],
            advantage=advantages,
            returns=returns,
        )
        batch = jax.tree.map(lambda x: x.reshape((cfg.batch_size,) + x.shape[2:]), batch)

        def loss_fn(params: Any, mb: dict[str, jax.Array]):
            mean, log_std, value = network.apply(params, mb["obs"])
            ratio = jp.exp(gaussian_log_prob(mb["action"], mean, log_std) - mb["log_prob"])
            adv = (mb["advantage"] - mb["advantage"].mean()) / (mb["advantage"].std() + 1e-8)
            policy_loss = -jp.minimum(ratio * adv, jp.clip(ratio, 1 - cfg.clip_eps, 1 + cfg.clip_eps) * adv).mean()
            value_loss = 0.5 * ((value - mb["returns"]) ** 2).mean()
            entropy = jp.sum(log_std + 0.5 * math.log(2 * math.pi * math.e), axis=-1).mean()
            loss = policy_loss + cfg.value_coef * value_loss - cfg.entropy_coef * entropy
            return loss, dict(policy_loss=policy_loss, value_loss=value_loss, entropy=entropy)

        def minibatch_step(carry: tuple[Any, Any], mb: dict[str, jax.Array]):
            params, opt_state = carry
            grads, info = jax.grad(loss_fn, has_aux=True)(params, mb)
            updates, opt_state = self.optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), info

        def epoch(carry: tuple[Any, Any], epoch_key: jax.Array):
            order = jax.random.permutation(epoch_key, cfg.batch_size)
            minibatches = jax.tree.map(lambda x: x[order].reshape((cfg.num_minibatches, -1) + x.shape[1:]), batch)
            return jax.lax.scan(minibatch_step, carry, minibatches)

        (params, opt_state), losses = jax.lax.scan(
            epoch, (runner.params, runner.opt_state), jax.random.split(shuffle_key, cfg.update_epochs)
        )
        # Normalizer statistics follow the data, after the update that used the old ones.
        normalizer = runner.normalizer.update(traj["obs"]["state"])

        metrics = jax.tree.map(jp.mean, losses) | dict(
            episodes=stats.ended,
            return_sum=stats.return_sum,
            success_sum=stats.success_sum,
            reward=traj["reward"].mean() / cfg.reward_scale,
            action_std=jp.exp(params["params"]["log_std"]).mean(),
            faults=(env_state.fault != 0).sum(),
        )
        return Runner(params, opt_state, normalizer, env_state, stats, key), metrics


def train(
    config: PPOConfig,
    seed: int = 0,
    progress: bool = True,
    out_dir: str | Path | None = None,
    max_minutes: float | None = None,
    log: Callable[[dict], None] | None = None,
) -> TrainResult:
    """Train `config`; checkpoint, history and learning curve go to `out_dir` after every chunk.

    Stops early, with what it has, after `max_minutes`. `history` holds one row per chunk:
    env steps, wall seconds (compile included), mean return and success rate of the episodes
    that ended in that chunk, env steps/s.
    """
    from tqdm.auto import tqdm

    t_start = time.perf_counter()
    trainer = Trainer(config)
    runner = trainer.init(seed)
    history: dict[str, list[float]] = {k: [] for k in ("env_steps", "wall_s", "episode_return", "success_rate")}
    history["steps_per_s"] = []
    chunks = math.ceil(config.num_updates / config.updates_per_chunk)
    steps_per_chunk = config.batch_size * config.updates_per_chunk
    result = TrainResult(config, runner.params, runner.normalizer, history)
    bar = tqdm(total=chunks * steps_per_chunk, unit="step", unit_scale=True, disable=not progress, desc=config.task)
    last_return = math.nan
    for chunk in range(chunks):
        t0 = time.perf_counter()
        runner, metrics = trainer.train_chunk(runner)
        metrics = jax.device_get(metrics)
        chunk_s = time.perf_counter() - t0
        episodes = float(metrics["episodes"].sum())
        if episodes:
            last_return = float(metrics["return_sum"].sum() / episodes)
        row = dict(
            env_steps=(chunk + 1) * steps_per_chunk,
            wall_s=time.perf_counter() - t_start,
            episode_return=last_return,
            success_rate=float(metrics["success_sum"].sum() / episodes) if episodes else math.nan,
            steps_per_s=steps_per_chunk / chunk_s,
        )
        for k, v in row.items():
            history[k].append(v)
        bar.update(steps_per_chunk)
        bar.set_postfix(
            ret=f"{row['episode_return']:.1f}",
            success=f"{row['success_rate']:.0%}",
            sps=f"{row['steps_per_s']:,.0f}",
            std=f"{float(metrics['action_std'][-1]):.2f}",
        )
        if log is not None:
            log(row | dict(action_std=float(metrics["action_std"][-1]), faults=int(metrics["faults"].max())))
        result = TrainResult(config, runner.params, runner.normalizer, history)
        if out_dir is not None:
            save(result, Path(out_dir) / "checkpoint.msgpack")
        if max_minutes is not None and time.perf_counter() - t_start > 60 * max_minutes:
            bar.write(f"stopping after {row['wall_s'] / 60:.1f} min (--max-minutes {max_minutes})")
            break
    bar.close()
    if out_dir is not None:
        plot_history(history, Path(out_dir) / "curve.png", title=config.task)
    return result


def run(
    config: PPOConfig,
    seed: int = 0,
    out_dir: str | Path | None = None,
    max_minutes: float | None = None,
    eval_episodes: int = 1000,
    progress: bool = True,
) -> dict:
    """`mjx-lerobot train`: train, evaluate on `eval_episodes` seeded episodes the training never
    saw, and write checkpoint.msgpack, curve.png and summary.json to `out_dir`; returns the summary."""
    from mjx_lerobot.report import machine_info

    out = Path(out_dir or f"runs/{config.task}")
    result = train(config, seed=seed, out_dir=out, max_minutes=max_minutes, progress=progress)
    history = result.history
    summary = machine_info() | {
        "task": config.task,
        "config": dataclasses.asdict(config),
        "seed": seed,
        "env_steps": history["env_steps"][-1],
        "train_wall_s": round(history["wall_s"][-1], 1),
        "final_train_return": history["episode_return"][-1],
        "final_train_success_rate": history["success_rate"][-1],
        # Wall time (compile included) until the training episodes first reached each rate.
        "minutes_to_train_success": {f"{rate:.0%}": minutes_to(history, rate) for rate in (0.5, 0.8, 0.95)},
        "checkpoint": str(out / "checkpoint.msgpack"),
        "curve": str(out / "curve.png"),
    }
    if eval_episodes:
        summary["eval"] = evaluate(result, num_episodes=eval_episodes, impl=config.impl, seed=10_000 + seed)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def minutes_to(history: dict[str, list[float]], success_rate: float) -> float | None:
    """Wall minutes until the training episodes first reached `success_rate` (None: never)."""
    for wall_s, rate in zip(history["wall_s"], history["success_rate"], strict=True):
        if rate >= success_rate:
            return round(wall_s / 60, 2)
    return None


# ---------------------------------------------------------------------------------------
# Using a trained policy: in a JAX rollout, through the Gym adapter, evaluated, saved.


def make_env(config: PPOConfig, task: Any, num_envs: int, impl: str = "auto", randomize: Any = False) -> Env:
    """The env a policy of `config` acts in: with its cameras at its image size for obs="pixels"."""
    cameras = dict(cameras=config.cameras, image_size=config.image_size) if config.obs == "pixels" else {}
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

    def policy(state: EnvState, key: jax.Array) -> jax.Array:
        if config.obs == "pixels":
            missing = set(config.cameras) - set(state.obs.get("pixels", {}))
            if missing:
                raise ValueError(
                    f"this policy sees cameras {list(config.cameras)}; the env renders none of "
                    f"{sorted(missing)}: make it with ppo.make_env(result.config, ...)"
                )
            # The actor reads images and joints only: no privileged state is computed for it.
            return act({"proprio": features.proprio(state.obs[AGENT_POS]), "pixels": state.obs["pixels"]})
        return act(policy_inputs(config, features, state.obs))

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


def save(result: TrainResult, path: str | Path) -> Path:
    """Write params, normalizer, config and history to one msgpack file (atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {
        "format": "mjx_lerobot.rl.ppo/1",
        "config": json.dumps(dataclasses.asdict(result.config)),
        "history": json.dumps(result.history),
        "params": jax.device_get(result.params),
        "normalizer": jax.device_get(dataclasses.asdict(result.normalizer)),
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(flax.serialization.msgpack_serialize(blob))
    tmp.replace(path)  # a crash mid-write never leaves a half checkpoint
    return path


def load(path: str | Path) -> TrainResult:
    """Read a checkpoint written by `save` (or `mjx-lerobot train`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        blob = flax.serialization.msgpack_restore(path.read_bytes())
    except Exception as err:  # msgpack's own errors for any other file: say what it is not
        raise ValueError(f"{path} is not an mjx_lerobot PPO checkpoint ({type(err).__name__})") from err
    if not isinstance(blob, dict) or blob.get("format") != "mjx_lerobot.rl.ppo/1":
        raise ValueError(f"{path} is not an mjx_lerobot PPO checkpoint")
    # JSON made the tuples lists; checkpoints from before a field existed take its default.
    config = {k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(blob["config"]).items()}
    return TrainResult(
        config=PPOConfig(**config),
        params=jax.tree.map(jp.asarray, blob["params"]),
        normalizer=Normalizer(**{k: jp.asarray(v) for k, v in blob["normalizer"].items()}),
        history=json.loads(blob["history"]),
    )


def plot_history(history: dict[str, list[float]], path: str | Path | None = None, title: str = ""):
    """Learning curve: episode return and success rate against env steps (and wall time)."""
    import matplotlib

    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.asarray(history["env_steps"], float)
    fig, (ax_ret, ax_succ) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax_ret.plot(steps, history["episode_return"])
    ax_ret.set(xlabel="env steps", ylabel="episode return", title=f"{title} return".strip())
    ax_succ.plot(steps, 100 * np.asarray(history["success_rate"], float))
    ax_succ.set(xlabel="env steps", ylabel="success %", ylim=(-2, 102), title=f"{title} success".strip())
    if history["wall_s"]:
        fig.suptitle(f"{steps[-1]:,.0f} env steps in {history['wall_s'][-1] / 60:.1f} min", fontsize=9)
    for ax in (ax_ret, ax_succ):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig
