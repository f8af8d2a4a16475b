"""The task contract and the state it runs on: what a task file defines, and what every instance carries.

A task file (see `tasks/`) defines one instance's behaviour as pure functions over an MJX
state and exports them as `TASK = Task.from_module(globals(), ...)`. `Env` (sim/env.py) batches
them. A task's `Params` are traced, so one value per field or one per instance both work
without recompiling (`traced_params`, `batch_params`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jp
import numpy as np
from flax import struct
from mujoco import mjx

from mjx_lerobot.sim.randomize import Domain, Parts, Ranges

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
    params: Any  # the task's Params of this instance (each field an array, see `traced_params`)
    info: Any  # task's own typed info (target, counters...)
    metrics: dict[str, jax.Array]  # named reward terms of the last step
    final_obs: dict[str, jax.Array]  # obs at the last episode end, before auto-reset
    fault: jax.Array  # () int32 bitmask of FAULT_* of the last step
    domain: Domain | None = None  # the instance's randomization (drawn values...), None without


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
    params: Any  # flax.struct.dataclass of defaults; traced (see `traced_params`)
    reset: Callable
    observe: Callable
    reward: Callable
    success: Callable
    failure: Callable = lambda scene, params, data, info: jp.array(False)
    update: Callable = lambda scene, params, data, info: info
    expert: Callable | None = None  # make_expert(scene, params) -> policy(state, key) -> action
    terminate_on_success: bool = True
    # Geom groups policy cameras draw: the world (0) and robot (2), plus 1 where the goal is a
    # pad on the table the policy must see, or 4 where it is a marker in the air (reach).
    camera_geom_groups: tuple[int, ...] = (0, 2)
    ranges: Ranges = Ranges()  # what randomize=True draws from (sim/randomize.py)
    randomized_parts: Parts = Parts()  # what those ranges act on: the task's objects, pads, surfaces
    # Language-conditioned tasks: the instructions an episode's reset chooses from. The task's
    # Info then holds `instruction`, the int32 index of the one this episode asks for, and
    # `instruction` above describes the family ("Pick up the named object.").
    instructions: tuple[str, ...] = ()
    # A trainer's settings that differ from its defaults for this task, found by training it
    # (e.g. PPO's total_steps, reward_scale): plain data beside the task, read by mjx_lerobot.rl.
    train_defaults: Mapping[str, Any] = dataclasses.field(default_factory=dict, hash=False, compare=False)

    def describe(self, instruction_id: int | np.integer | None = None) -> str:
        """The words of instruction `instruction_id` (a language task's), else `instruction`."""
        if not self.instructions or instruction_id is None:
            return self.instruction
        return self.instructions[int(instruction_id)]

    @classmethod
    def from_module(cls, namespace: Mapping[str, Any], **fields: Any) -> Task:
        """The task a task file defines, its functions taken by name from `namespace` (the
        file's `globals()`): `Params`, `reset`, `observe`, `reward`, `success`, and where the
        file has them `failure`, `update`, `make_expert`. `fields` gives the rest (name,
        scene, episode_steps, instruction, ...).

            TASK = Task.from_module(globals(), name="reach", scene="scene_reach.xml", ...)
        """
        required = ("Params", "reset", "observe", "reward", "success")
        missing = [name for name in required if name not in namespace]
        if missing:
            raise ValueError(f"task {fields.get('name')!r}: the task file must define {missing}")
        functions = ("reset", "observe", "reward", "success", "failure", "update")
        found = {name: namespace[name] for name in functions if name in namespace}
        if "make_expert" in namespace:
            found["expert"] = namespace["make_expert"]
        return cls(params=namespace["Params"](), **found, **fields)


def traced_params(params: Any) -> Any:
    """A task's Params with every field as one array (float32, int32 or bool; tuples become
    vectors): the pytree that reset and step trace, so one leaf per field can be batched."""
    leaves = jax.tree.leaves(params)
    if not dataclasses.is_dataclass(params) or (len(leaves) == 1 and leaves[0] is params):
        raise TypeError(
            f"task Params must be a flax.struct.dataclass (a pytree), got {type(params).__name__}: "
            "decorate the class with @flax.struct.dataclass"
        )
    fields = [f.name for f in dataclasses.fields(params) if f.metadata.get("pytree_node", True)]
    return params.replace(**{name: _as_array(getattr(params, name)) for name in fields})


def _as_array(value: Any) -> jax.Array:
    if isinstance(value, jax.Array):
        return value
    value = np.asarray(value)
    if value.dtype == np.bool_:
        return jp.asarray(value)
    return jp.asarray(value, jp.int32 if np.issubdtype(value.dtype, np.integer) else jp.float32)


def batch_params(defaults: Any, params: Any, num_envs: int) -> Any:
    """`params` with every leaf [num_envs, ...]: a field given once is shared by all instances,
    a field given as [num_envs, ...] is one per instance.

    `params` is None (the defaults), the task's Params, or a mapping of the fields to change.
    Shapes and dtypes follow `defaults` (the task's traced Params); anything else is a clear
    error here, not an XLA trace.
    """
    if params is None:
        params = defaults
    elif isinstance(params, Mapping):
        known = {f.name for f in dataclasses.fields(defaults)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(f"unknown params {unknown}; {type(defaults).__name__} has {sorted(known)}")
        params = defaults.replace(**params)
    elif type(params) is not type(defaults):
        raise TypeError(f"params must be a {type(defaults).__name__} (env.params.replace(...)), got {type(params)}")
    batched = {}
    for field in dataclasses.fields(defaults):
        default = getattr(defaults, field.name)
        if not isinstance(default, jax.Array):  # a static field (pytree_node=False)
            continue
        value = getattr(params, field.name)
        value = value if isinstance(value, jax.Array) else jp.asarray(np.asarray(value), default.dtype)
        if value.shape not in (default.shape, (num_envs, *default.shape)):
            raise ValueError(
                f"params.{field.name}: expected shape {default.shape} (shared) or {(num_envs, *default.shape)} "
                f"(one per instance), got {value.shape}"
            )
        if not isinstance(value, jax.core.Tracer) and not np.isfinite(np.asarray(value, np.float64)).all():
            raise ValueError(f"params.{field.name} has non-finite entries")
        batched[field.name] = jp.broadcast_to(value.astype(default.dtype), (num_envs, *default.shape))
    return params.replace(**batched)


def typed_keys(key: Any, batch_dims: int = 0) -> jax.Array:
    """`key` as typed PRNG keys: `jax.random.key(seed)` passes through; a legacy raw key
    (`jax.random.PRNGKey(seed)`, uint32 [..., 2]) is wrapped, so both styles give the same
    state and the same draws; anything else is a ValueError saying what to pass.
    `batch_dims`: how many leading axes hold one key each (1 for [N] keys)."""
    if isinstance(key, jax.Array) and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.ndim != batch_dims:
            raise ValueError(f"expected {batch_dims} batch axes of keys, got keys of shape {key.shape}")
        return key
    dtype, shape = getattr(key, "dtype", None), tuple(getattr(key, "shape", ()))
    if dtype == np.uint32 and shape == (*shape[:batch_dims], 2) and len(shape) == batch_dims + 1:
        return jax.random.wrap_key_data(jp.asarray(key))
    want = "jax.random.key(seed)" if batch_dims == 0 else "one jax.random.key per instance ([N] keys)"
    raise ValueError(f"expected {want} (or a legacy jax.random.PRNGKey), got {type(key).__name__} {dtype} {shape}")


def seed_keys(seeds: Sequence[int]) -> jax.Array:
    """One PRNG key per 64-bit seed (both halves used, so distinct seeds give distinct keys)."""
    seeds = np.asarray(seeds, np.uint64)
    low = (seeds & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    high = (seeds >> np.uint64(32)).astype(np.uint32)
    return jax.vmap(lambda lo, hi: jax.random.fold_in(jax.random.key(lo), hi))(low, high)


def instance_seeds(seed: Any, num_envs: int, rng: np.random.Generator) -> list[int]:
    """One non-negative seed per instance, Gymnasium-style: an int gives instance i `seed + i`,
    a list gives each its own (None entries drawn from `rng`), None draws them all."""
    if seed is None:
        return [int(s) for s in rng.integers(0, 2**63, size=num_envs)]
    if isinstance(seed, int | np.integer):
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        return [int(seed) + i for i in range(num_envs)]
    seeds = list(seed)
    if len(seeds) != num_envs:
        raise ValueError(f"seed list must have one seed per instance ({num_envs}), got {len(seeds)}")
    out = []
    for s in seeds:
        if s is None:
            s = int(rng.integers(0, 2**63))
        if not isinstance(s, int | np.integer) or s < 0:
            raise ValueError(f"seeds must be non-negative integers or None, got {s!r}")
        out.append(int(s))
    return out


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


