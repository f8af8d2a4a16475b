"""Whole rollouts in one jitted `lax.scan`, and the timed variant every speed figure comes from."""

from __future__ import annotations

import dataclasses
import functools
import time
from collections.abc import Callable
from typing import Any

import jax

from mjx_lerobot.sim.env import Env
from mjx_lerobot.sim.obs import IMAGE_OBS
from mjx_lerobot.sim.task import EnvState, typed_keys


def rollout(
    env: Env,
    policy: Callable[[EnvState, jax.Array], jax.Array],
    key: jax.Array,
    num_steps: int,
    state: EnvState | None = None,
    params: Any = None,
    ranges: Any = None,
    pixels: bool = False,
) -> tuple[EnvState, dict[str, jax.Array]]:
    """Run `policy(state, key) -> action` for `num_steps` in one `lax.scan`, from a reset
    drawn from `key` with `params` and `ranges` (as in `Env.reset`), or from `state`.

    Returns the final state and a trajectory dict of [T, N, ...] arrays: obs, qpos and
    mocap_pos (before the action, enough to re-render), action, reward, terminated,
    truncated, success, fault. Compiled once per (env, policy, num_steps); params are traced.
    An env with cameras keeps its images out of `obs` unless `pixels=True`: T x N frames of
    every camera rarely fit (1,000 episodes of 150 steps at 64x64 are 1.8 GB per camera).
    """
    key = typed_keys(key)
    if state is None:
        params, ranges = env.batch_params(params), env.batch_ranges(ranges)
        return _rollout_from_reset(env, policy, num_steps, key, params, ranges, pixels)
    if params is not None or ranges is not None:
        raise ValueError("rollout: params and ranges set the reset; a given state already carries its own")
    return _rollout(env, policy, num_steps, state, key, pixels)


@dataclasses.dataclass(frozen=True)
class TimedRollout:
    """A rollout's result with how long it took: what every timing figure here comes from."""

    state: EnvState  # final state
    traj: dict[str, jax.Array]  # as `rollout` returns it
    compile_s: float  # lowering and compiling, apart from running
    run_s: float  # the timed call, until its results were ready
    first_call_s: float | None  # the untimed first call with warmup=True (allocations, kernel loads)
    compiled: Any  # the compiled program (its memory_analysis() says what XLA allocates)


def timed_rollout(
    env: Env,
    policy: Callable[[EnvState, jax.Array], jax.Array],
    key: jax.Array,
    num_steps: int,
    params: Any = None,
    warmup: bool = False,
    check: Callable[[Any], None] | None = None,
    ranges: Any = None,
) -> TimedRollout:
    """`rollout(env, policy, key, num_steps, params=params)`, compiled ahead of time and then
    timed: compile time apart from run time. With `warmup`, a first call runs untimed and the
    second is timed (throughput); `check(compiled)` runs before either (e.g. a memory check)."""
    key, params, ranges = typed_keys(key), env.batch_params(params), env.batch_ranges(ranges)
    t0 = time.perf_counter()
    compiled = _rollout_from_reset.lower(env, policy, num_steps, key, params, ranges, False).compile()
    compile_s = time.perf_counter() - t0
    if check is not None:
        check(compiled)
    first_call_s = None
    if warmup:
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(key, params, ranges))
        first_call_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    state, traj = jax.block_until_ready(compiled(key, params, ranges))
    run_s = time.perf_counter() - t0
    return TimedRollout(state, traj, compile_s, run_s, first_call_s, compiled)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 6))
def _rollout_from_reset(
    env: Env, policy: Callable, num_steps: int, key: jax.Array, params: Any, ranges: Any, pixels: bool = False
):
    reset_key, key = jax.random.split(key)
    return _rollout(env, policy, num_steps, env.reset_fn(reset_key, params, ranges), key, pixels)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 5))
def _rollout(env: Env, policy: Callable, num_steps: int, state: EnvState, key: jax.Array, pixels: bool = False):
    def body(state: EnvState, step_key: jax.Array):
        action = policy(state, step_key)
        nxt = env.step_fn(state, action)
        out = dict(
            obs=state.obs if pixels else {k: v for k, v in state.obs.items() if k not in IMAGE_OBS},
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
