"""Tasks as pure functions, batched: the state, the task contract, and the batched env.

A task file (see `tasks/`) defines one instance's behaviour as pure functions over an MJX
state and exports them as `TASK = Task(...)`. `Env` turns that into `num_envs` instances
stepping in one jitted call, with auto-reset, truncation and fault flags done once here.

    env = mjx_lerobot.make("lift_cube", num_envs=1024)
    state = env.reset(jax.random.key(0))        # EnvState, every leaf batched [N, ...]
    state = env.step(state, actions)            # actions: [N, 6] float32 in [-1, 1]
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jp
import numpy as np
from flax import struct
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P
from mujoco import mjx

from mjx_lerobot.scene import Scene, action_to_ctrl, build_scene, resolve_impl

ACTION_DIM = 6

# Bits of EnvState.fault, so one instance's trouble is visible instead of silently wrong.
FAULT_NAN_STATE = 1  # physics produced NaN/inf: the instance is terminated and auto-reset
FAULT_OVERFLOW = 2  # contact or constraint buffer overflowed (Warp): results are unreliable
FAULT_BAD_ACTION = 4  # a non-finite action entry: that joint kept its previous target


@struct.dataclass
class EnvState:
    """Everything about a batch of instances. Leaves are [N, ...] once batched."""

    data: mjx.Data  # physics state
    obs: dict[str, jax.Array]  # observation dict, float32
    reward: jax.Array  # () float32, reward of the last step
    terminated: jax.Array  # () bool, success or failure ended the episode
    truncated: jax.Array  # () bool, episode hit its step limit
    success: jax.Array  # () bool, success predicate after the last step
    steps: jax.Array  # () int32, control steps since the episode began
    key: jax.Array  # () PRNG key owned by the instance
    info: Any  # task's own typed info (target, counters...)
    metrics: dict[str, jax.Array]  # named reward terms of the last step
    final_obs: dict[str, jax.Array]  # obs at the last episode end, before auto-reset
    fault: jax.Array  # () int32 bitmask of FAULT_* of the last step

    @property
    def done(self) -> jax.Array:
        return self.terminated | self.truncated


@dataclasses.dataclass(frozen=True)
class Task:
    """One task's pure functions (one instance each; `Env` batches them).

    reset(scene, params, key, data) -> (data, info)     set qpos/ctrl/mocap; no physics yet
    observe(scene, params, data, info) -> obs dict
    reward(scene, params, data, info, action) -> dict of weighted reward terms
    success(scene, params, data, info) -> bool
    failure(scene, params, data, info) -> bool          terminates the episode
    update(scene, params, data, info) -> info           after physics, before the others
    """

    name: str
    scene: str  # MJCF file in assets/
    episode_steps: int  # control steps before truncation
    instruction: str  # language instruction, e.g. for LeRobot's `task` feature
    params: Any  # frozen dataclass of traced parameters
    reset: Callable
    observe: Callable
    reward: Callable
    success: Callable
    failure: Callable = lambda scene, params, data, info: jp.array(False)
    update: Callable = lambda scene, params, data, info: info
    expert: Callable | None = None  # make_expert(scene, params) -> policy(state, key) -> action
    terminate_on_success: bool = True


def check_action(action: Any, num_envs: int) -> None:
    """Raise a ValueError naming expected vs got, before anything is traced."""
    shape = getattr(action, "shape", None)
    dtype = getattr(action, "dtype", None)
    if shape is None or dtype is None:
        raise ValueError(f"action must be an array of shape ({num_envs}, {ACTION_DIM}), got {type(action).__name__}")
    if tuple(shape) != (num_envs, ACTION_DIM):
        raise ValueError(f"action shape: expected ({num_envs}, {ACTION_DIM}), got {tuple(shape)}")
    if not np.issubdtype(np.dtype(dtype), np.floating):
        raise ValueError(f"action dtype: expected a float dtype (float32), got {np.dtype(dtype)}")
    if isinstance(action, np.ndarray) and not np.isfinite(action).all():
        bad = np.argwhere(~np.isfinite(action))[:5].tolist()
        raise ValueError(f"action has non-finite entries at [instance, joint] {bad}")


class Env:
    """`num_envs` instances of a task, stepped together in one jitted call.

    `reset` and `step` are jitted once here; `reset_fn`/`step_fn` are the same functions
    un-jitted, for use inside a caller's own jit (a training loop, a scan).

    The instance axis is split over `devices` (default: every JAX device) whenever num_envs
    divides evenly: each device steps its own slice (`jax.shard_map`), so a machine with
    4 GPUs runs 4x the instances with no change to the caller's code. Results do not
    depend on the device count (tests/test_sharding.py).
    """

    def __init__(
        self,
        task: Task,
        num_envs: int = 1,
        impl: str = "auto",
        params: Any = None,
        episode_steps: int | None = None,
        devices: Sequence[jax.Device] | None = None,
    ):
        if not isinstance(num_envs, int | np.integer) or num_envs < 1:
            raise ValueError(f"num_envs must be an integer >= 1, got {num_envs!r}")
        self.task = task
        self.num_envs = int(num_envs)
        self.params = task.params if params is None else params
        self.episode_steps = int(episode_steps or task.episode_steps)
        self.devices = _pick_devices(self.num_envs, devices)
        self.mesh = Mesh(np.array(self.devices), ("batch",)) if len(self.devices) > 1 else None
        # Warp sizes its buffers for the instances one device holds.
        self.scene: Scene = build_scene(
            task.scene, impl=resolve_impl(impl, self.num_envs), num_envs=self.num_envs // len(self.devices)
        )
        self.impl = self.scene.impl
        self._template = self.scene.make_data()
        self._reset = jax.jit(self.reset_fn)
        self._step = jax.jit(self.step_fn)

    # -- public, checked at the Python boundary -------------------------------------------
    def reset(self, key: jax.Array) -> EnvState:
        """Fresh episodes for all instances; instance i depends only on fold_in(key, i)."""
        return self._reset(key)

    def step(self, state: EnvState, action: jax.Array | np.ndarray) -> EnvState:
        """Advance every instance one control step (1/30 s); finished ones auto-reset."""
        check_action(action, self.num_envs)
        return self._step(state, jp.asarray(action, jp.float32))

    @property
    def ctrl_dt(self) -> float:
        return self.scene.ctrl_dt

    # -- pure functions (batched) ---------------------------------------------------------
    def reset_fn(self, key: jax.Array) -> EnvState:
        keys = jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, jp.arange(self.num_envs))
        return self.reset_instances(keys)

    def reset_instances(self, keys: jax.Array) -> EnvState:
        """Reset from one key per instance, [N] keys -> EnvState; used by seeded adapters."""
        return self._per_device(jax.vmap(self._reset_one), keys)

    def step_fn(self, state: EnvState, action: jax.Array) -> EnvState:
        return self.autoreset_fn(state, self.advance_fn(state, action))

    def advance_fn(self, state: EnvState, action: jax.Array) -> EnvState:
        """One control step for every instance, without auto-reset: finished instances are
        left in their terminal state (adapters read it, e.g. to render the last frame)."""
        return self._per_device(jax.vmap(self._step_one), state, action)

    def autoreset_fn(self, prev: EnvState, nxt: EnvState) -> EnvState:
        """Reset the instances that `nxt` finished, and record their terminal obs in final_obs.

        Only runs the reset work on steps where some instance (of a device's slice) finished.
        """
        return self._per_device(self._autoreset, prev, nxt)

    def _autoreset(self, prev: EnvState, nxt: EnvState) -> EnvState:
        done = nxt.terminated | nxt.truncated

        def auto_reset(nxt: EnvState) -> EnvState:
            fresh = jax.vmap(self._reset_one)(nxt.key)
            return nxt.replace(
                data=select_instances(done, fresh.data, nxt.data),
                obs=select_instances(done, fresh.obs, nxt.obs),
                info=select_instances(done, fresh.info, nxt.info),
                steps=jp.where(done, 0, nxt.steps),
                key=jp.where(done, fresh.key, nxt.key),
            )

        reset = jax.lax.cond(jp.any(done), auto_reset, lambda s: s, nxt)
        return reset.replace(final_obs=select_instances(done, nxt.obs, prev.final_obs))

    # -- many devices -------------------------------------------------------------------
    def _per_device(self, fn: Callable, *args: Any) -> Any:
        """`fn` over the whole batch, or, with several devices, over each device's slice."""
        if self.mesh is None:
            return fn(*args)
        specs = tuple(jax.tree.map(self._leaf_spec, a) for a in args)
        out_shape = jax.eval_shape(fn, *(jax.tree.map(self._local_shape, a) for a in args))
        out_specs = jax.tree.map(self._leaf_spec, out_shape, is_leaf=lambda x: isinstance(x, jax.ShapeDtypeStruct))
        # The reset branch's lax.cond depends on device-local data: no replication checks.
        return jax.shard_map(fn, mesh=self.mesh, in_specs=specs, out_specs=out_specs, check_vma=False)(*args)

    def _is_batched(self, leaf: Any) -> bool:
        shape = jp.shape(leaf)
        return len(shape) > 0 and shape[0] in (self.num_envs, self.num_envs // len(self.devices))

    def _leaf_spec(self, leaf: Any) -> P:
        # Warp keeps a few batch-wide buffers with no instance axis: every device has its own.
        return P("batch") if self._is_batched(leaf) else P()

    def _local_shape(self, leaf: Any) -> jax.ShapeDtypeStruct:
        shape = tuple(jp.shape(leaf))
        if self._is_batched(leaf) and shape[0] == self.num_envs:
            shape = (self.num_envs // len(self.devices),) + shape[1:]
        return jax.ShapeDtypeStruct(shape, leaf.dtype)

    @property
    def sharding(self) -> jax.sharding.Sharding:
        """Where a batched [N, ...] array lives: split over the devices, or on the one."""
        if self.mesh is None:
            return jax.sharding.SingleDeviceSharding(self.devices[0])
        return NamedSharding(self.mesh, P("batch"))

    # -- one instance ---------------------------------------------------------------------
    def _reset_one(self, key: jax.Array) -> EnvState:
        key, reset_key = jax.random.split(key)
        data, info = self.task.reset(self.scene, self.params, reset_key, self._template)
        # Kinematics is all observe() needs; the first physics step computes the rest.
        data = mjx.kinematics(self.scene.mjx_model, data)
        obs = self.task.observe(self.scene, self.params, data, info)
        zero_action = jp.zeros(ACTION_DIM, jp.float32)
        metrics = self.task.reward(self.scene, self.params, data, info, zero_action)
        return EnvState(
            data=data,
            obs=obs,
            reward=jp.float32(0.0),
            terminated=jp.array(False),
            truncated=jp.array(False),
            success=jp.array(False),
            steps=jp.int32(0),
            key=key,
            info=info,
            # float32, not weak-typed: the step's metrics must have the same types, or every
            # jitted step would compile twice (once for the reset state, once for later ones).
            metrics=jax.tree.map(lambda term: jp.zeros(jp.shape(term), jp.float32), metrics),
            final_obs=obs,
            fault=jp.int32(0),
        )

    def _step_one(self, state: EnvState, action: jax.Array) -> EnvState:
        scene, params, task = self.scene, self.params, self.task
        finite = jp.isfinite(action)
        ctrl = jp.where(finite, action_to_ctrl(scene, jp.where(finite, action, 0.0)), state.data.ctrl)
        data = state.data.replace(ctrl=ctrl)
        # Physics in full float32: on NVIDIA GPUs JAX's default lets float32 matmuls run in
        # TF32, which moved MJX-JAX's arm 4.4e-3 rad off MuJoCo C in 1 s on an H100 (8.9e-4 at
        # "highest"; tests/test_mujoco_parity.py). Scoped here, so a user's networks keep theirs.
        with jax.default_matmul_precision("highest"):
            data = jax.lax.fori_loop(0, scene.substeps, lambda _, d: mjx.step(scene.mjx_model, d), data)

        nan_state = ~(jp.isfinite(data.qpos).all() & jp.isfinite(data.qvel).all())
        fault = jp.where(nan_state, FAULT_NAN_STATE, 0)
        fault |= jp.where(_overflowed(scene, data), FAULT_OVERFLOW, 0)
        fault |= jp.where(finite.all(), 0, FAULT_BAD_ACTION)
        info = task.update(scene, params, data, state.info)
        obs = task.observe(scene, params, data, info)
        # A NaN instance ends its episode (the auto-reset replaces its physics on this very
        # step) and reports its last finite observation, so no NaN reaches the caller.
        obs = jax.tree.map(lambda new, old: jp.where(nan_state, old, new), obs, state.obs)
        metrics = task.reward(scene, params, data, info, jp.where(finite, action, 0.0))
        metrics = jax.tree.map(lambda term: jp.where(nan_state, 0.0, term).astype(jp.float32), metrics)
        success = task.success(scene, params, data, info) & ~nan_state
        steps = state.steps + 1
        terminated = (success & task.terminate_on_success) | task.failure(scene, params, data, info) | nan_state
        truncated = (steps >= self.episode_steps) & ~terminated
        return state.replace(
            data=data,
            obs=obs,
            reward=jp.float32(sum(metrics.values())),
            terminated=terminated,
            truncated=truncated,
            success=success,
            steps=steps,
            info=info,
            metrics=metrics,
            fault=jp.int32(fault),
        )


def _pick_devices(num_envs: int, devices: Sequence[jax.Device] | None) -> tuple[jax.Device, ...]:
    """Every device by default; one device when num_envs does not split evenly over them."""
    if devices is not None:
        devices = tuple(devices)
        if not devices:
            raise ValueError("devices must name at least one jax.Device")
        if num_envs % len(devices):
            raise ValueError(f"num_envs={num_envs} does not split evenly over {len(devices)} devices")
        return devices
    devices = tuple(jax.devices())
    if num_envs == 1:  # one instance (shape probes, a video, SO101Env): nothing to split
        return devices[:1]
    if len(devices) > 1 and num_envs % len(devices):
        warnings.warn(
            f"num_envs={num_envs} does not split evenly over {len(devices)} devices: using one device. "
            f"Use a multiple of {len(devices)} to use them all.",
            stacklevel=3,
        )
        return devices[:1]
    return devices


def _bcast(mask: jax.Array, like: jax.Array) -> jax.Array:
    return mask.reshape(mask.shape + (1,) * (like.ndim - mask.ndim))


def select_instances(mask: jax.Array, new: Any, old: Any) -> Any:
    """Per instance, `new` where `mask` [N] is set, else `old` (pytrees of [N, ...] leaves).

    Warp keeps a few buffers shared by the whole batch (no leading N axis); the next physics
    step rebuilds them, so those are taken from `old` untouched.
    """

    def pick(a: jax.Array, b: jax.Array) -> jax.Array:
        if b.ndim == 0 or b.shape[0] != mask.shape[0]:
            return b
        return jp.where(_bcast(mask, b), a, b)

    return jax.tree.map(pick, new, old)


def _overflowed(scene: Scene, data: mjx.Data) -> jax.Array:
    """Warp writes at most naconmax contacts and njmax rows; more means dropped constraints."""
    if scene.impl != "warp":
        return jp.array(False)  # MJX-JAX allocates every possible contact: it cannot overflow
    from mujoco_warp import OverflowType

    # Solver iteration caps are not buffer overflows; every other bit is.
    buffer_bits = int(OverflowType.ALL) & ~int(OverflowType.ITERATIONS | OverflowType.LS_ITERATIONS)
    impl = data._impl
    return ((impl.overflow & buffer_bits) != 0) | (impl.nefc > scene.njmax)


def rollout(
    env: Env,
    policy: Callable[[EnvState, jax.Array], jax.Array],
    key: jax.Array,
    num_steps: int,
    state: EnvState | None = None,
) -> tuple[EnvState, dict[str, jax.Array]]:
    """Run `policy(state, key) -> action` for `num_steps` in one `lax.scan`, from a reset
    drawn from `key` (or from `state`).

    Returns the final state and a trajectory dict of [T, N, ...] arrays: obs, qpos and
    mocap_pos (before the action, enough to re-render), action, reward, terminated,
    truncated, success, fault. Compiled once per (env, policy, num_steps).
    """
    if state is None:
        return _rollout_from_reset(env, policy, num_steps, key)
    return _rollout(env, policy, num_steps, state, key)


def compile_rollout(env: Env, policy: Callable, num_steps: int) -> Callable[[jax.Array], tuple]:
    """Compile `rollout(env, policy, key, num_steps)` ahead of time: returns `fn(key)`.

    Lets a caller time compilation apart from running (the CLI and benchmarks do).
    """
    return _rollout_from_reset.lower(env, policy, num_steps, jax.random.key(0)).compile()


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _rollout_from_reset(env: Env, policy: Callable, num_steps: int, key: jax.Array):
    reset_key, key = jax.random.split(key)
    return _rollout(env, policy, num_steps, env.reset_fn(reset_key), key)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _rollout(env: Env, policy: Callable, num_steps: int, state: EnvState, key: jax.Array):
    def body(state: EnvState, step_key: jax.Array):
        action = policy(state, step_key)
        nxt = env.step_fn(state, action)
        out = dict(
            obs=state.obs,
            qpos=state.data.qpos,
            mocap_pos=state.data.mocap_pos,
            action=action,
            reward=nxt.reward,
            terminated=nxt.terminated,
            truncated=nxt.truncated,
            success=nxt.success,
            fault=nxt.fault,
        )
        return nxt, out

    return jax.lax.scan(body, state, jax.random.split(key, num_steps))
