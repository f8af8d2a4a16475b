"""What the policy sees and the networks that see it.

What the policy sees is what LeRobot sees, so a trained policy drives the Gymnasium adapter
unchanged (`policy.gym_policy`):
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
"""

from __future__ import annotations

import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jp
import numpy as np
from flax import struct
from mujoco import mjx

from mjx_lerobot.rl.config import PPOConfig
from mjx_lerobot.sim import tabletop
from mjx_lerobot.sim.env import instance_shapes
from mjx_lerobot.sim.obs import AGENT_POS, ObsSpec
from mjx_lerobot.sim.registry import load_task
from mjx_lerobot.sim.scene import Scene, build_scene, ctrl_to_action


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
        """No data yet: zero mean, unit variance."""
        return cls(mean=jp.zeros(dim), var=jp.ones(dim), count=jp.float32(1e-4))

    def update(self, batch: jax.Array) -> Normalizer:
        """The statistics with `batch` ([..., dim]) merged in."""
        batch = batch.reshape(-1, batch.shape[-1])
        b_mean, b_var, b_count = batch.mean(0), batch.var(0), batch.shape[0]
        total = self.count + b_count
        delta = b_mean - self.mean
        mean = self.mean + delta * b_count / total
        m2 = self.var * self.count + b_var * b_count + delta**2 * self.count * b_count / total
        return Normalizer(mean=mean, var=m2 / total, count=total)

    def __call__(self, x: jax.Array) -> jax.Array:
        """`x` standardized, clipped to [-10, 10]."""
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
    privileged_dim: int = 0  # the episode's draws the critic reads (0: none; without them, no value)

    @nn.compact
    def __call__(self, inputs: dict[str, Any]) -> tuple[jax.Array, jax.Array, jax.Array]:
        seen = actor_view(inputs, [inputs["state"]])
        mean = mlp(seen, self.hidden, self.action_dim, 0.01) + jp.asarray(self.action_bias)
        log_std = self.param("log_std", nn.initializers.constant(self.init_log_std), (self.action_dim,))
        if self.privileged_dim and "privileged" not in inputs:  # the actor alone: a deployed policy
            return mean, jp.broadcast_to(log_std, mean.shape), jp.zeros(mean.shape[:-1])
        value = mlp(critic_view(inputs, seen), self.hidden, 1, 1.0)[..., 0]
        return mean, jp.broadcast_to(log_std, mean.shape), value

    def actor(self, inputs: dict[str, Any]) -> jax.Array:
        """The mean action."""
        return self(inputs)[0]

    def value(self, inputs: dict[str, Any]) -> jax.Array:
        """The critic's value."""
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

    def setup(self) -> None:
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
        return self.actor_mlp(actor_view(inputs, [*seen, inputs["proprio"]])) + jp.asarray(self.action_bias)

    def value(self, inputs: dict[str, Any]) -> jax.Array:
        """The critic's value, from the privileged `state` (and the draws, where given)."""
        return self.critic_mlp(critic_view(inputs, actor_view(inputs, [inputs["state"]])))[..., 0]


def actor_view(inputs: dict[str, Any], parts: list[jax.Array]) -> jax.Array:
    """`parts` and, where given, the actor's own last actions (`history`)."""
    return jp.concatenate([*parts, inputs["history"]] if "history" in inputs else parts, axis=-1)


def critic_view(inputs: dict[str, Any], seen: jax.Array) -> jax.Array:
    """What the critic reads: `seen` and, under randomization, the episode's draws (`privileged`)."""
    return jp.concatenate([seen, inputs["privileged"]], axis=-1) if "privileged" in inputs else seen


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
    """`mlp` as a module, for `setup`-style networks."""

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
    """The actor-critic for `config.obs`, its actor's mean starting at the arm's start pose."""
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
        return ActorCritic(**common, privileged_dim=privileged_dim(config, scene))
    return PixelActorCritic(
        **common,
        cameras=tuple(config.cameras),
        conv_channels=tuple(config.conv_channels),
    )


def privileged_dim(config: PPOConfig, scene: Scene) -> int:
    """How many drawn values the critic of `config` reads (0 without a privileged critic)."""
    if not (config.randomize and config.privileged_critic):
        return 0
    from mjx_lerobot.sim.targets import Targets

    return len(Targets.from_scene(scene, load_task(config.task).randomized_parts).value_names())


def example_inputs(config: PPOConfig, features: Features, history: int = 0, privileged: int = 0) -> dict[str, Any]:
    """One zero input of the right shapes, to initialize a network (`history` actions for the
    actor, `privileged` draws for the critic)."""
    inputs: dict[str, Any] = {"state": jp.zeros((1, features.dim))}
    if history:
        inputs["history"] = jp.zeros((1, 6 * history))
    if privileged:
        inputs["privileged"] = jp.zeros((1, privileged))
    if config.obs == "pixels":
        inputs["proprio"] = jp.zeros((1, len(features.proprio_index)))
        size = (1, config.image_size, config.image_size, 3)
        inputs["pixels"] = {camera: jp.zeros(size, jp.uint8) for camera in config.cameras}
    return inputs


def gaussian_log_prob(x: jax.Array, mean: jax.Array, log_std: jax.Array) -> jax.Array:
    """Log density of `x` under a diagonal Gaussian, summed over the last axis."""
    return jp.sum(-0.5 * ((x - mean) / jp.exp(log_std)) ** 2 - log_std - 0.5 * math.log(2 * math.pi), axis=-1)
