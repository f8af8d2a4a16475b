"""Training under randomization: what only the critic knows, what the actor remembers, and how
the ranges widen.

* The critic sees the episode's draws (`state.domain.values`), each entry centred and scaled
  by the training ranges, so ±1 is a range's edge: the value of a state depends on the friction
  and the delay, and a critic that cannot see them averages over them (asymmetric actor-critic).
  The actor never sees them: a real SO-101 does not know its friction.
* The actor can see its own last k actions, read from the env's delay line (the targets it
  commanded, newest first): with them a delayed servo and a weak one look different.
* The curriculum scales every range between the nominal model (scale 0) and the training ranges
  (scale 1). Ranges live in each instance's `EnvState.domain` and are traced, so changing the
  scale between jitted chunks never recompiles; it grows by `curriculum_step` whenever a chunk's
  training success rate holds at `curriculum_threshold` or above.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jp
import numpy as np

from mjx_lerobot.sim.randomize import FIELDS, MAX_LATENCY, Ranges, nominal_ranges
from mjx_lerobot.sim.scene import Scene, ctrl_to_action
from mjx_lerobot.sim.task import EnvState


def history_length(config: Any, ranges: Ranges | None) -> int:
    """The actor's action history: `config.action_history`, or when it is None, 3 actions
    where the training ranges delay the servos and none otherwise."""
    if config.action_history is not None:
        if not 0 <= config.action_history <= MAX_LATENCY + 1:
            raise ValueError(f"action_history must be in [0, {MAX_LATENCY + 1}], got {config.action_history}")
        return int(config.action_history)
    delayed = ranges is not None and float(np.max(np.asarray(ranges.latency))) > 0
    return 3 if delayed else 0


def action_history(scene: Scene, state: EnvState, k: int) -> jax.Array:
    """[N, 6 k] the last `k` commanded actions in [-1, 1], newest first (the delay line)."""
    if state.domain is None:
        raise ValueError("an action history needs an env made with randomize (nominal ranges will do)")
    pending = state.domain.pending_ctrl[:, :k]  # [N, k, 6] radians
    return ctrl_to_action(scene, pending).reshape(pending.shape[0], -1)


def value_bounds(targets: Any, ranges: Ranges) -> tuple[np.ndarray, np.ndarray]:
    """Per entry of `targets.flat(values)`: the centre and half-width of `ranges` (half-width
    1 where a range is a single value, so that entry reads as its offset from it)."""
    centre, half = [], []
    for field in FIELDS:
        low, high = np.asarray(getattr(ranges, field.name), np.float32)
        size = int(np.prod(targets.shape(field)))
        centre.append(np.full(size, (low + high) / 2))
        half.append(np.full(size, (high - low) / 2 if high > low else 1.0))
    return np.concatenate(centre), np.concatenate(half)


def privileged(targets: Any, state: EnvState, bounds: tuple[np.ndarray, np.ndarray]) -> jax.Array:
    """[N, K] the episode's draws, centred and scaled by the training ranges, clipped to ±4."""
    centre, half = bounds
    return jp.clip((targets.flat(state.domain.values) - centre) / half, -4.0, 4.0)


def widen(full: Ranges, scale: float | jax.Array) -> Ranges:
    """Ranges `scale` of the way from the nominal model (0) to `full` (1); delays in whole steps."""
    nominal = nominal_ranges()
    out = {}
    for field in FIELDS:
        lo = jp.asarray(getattr(nominal, field.name), jp.float32)
        hi = jp.asarray(getattr(full, field.name), jp.float32)
        value = lo + scale * (hi - lo)
        out[field.name] = jp.floor(value + 0.5) if field.kind == "steps" else value
    return full.replace(**out)


def with_ranges(state: EnvState, ranges: Ranges) -> EnvState:
    """`state` whose instances draw from `ranges` at their next reset (same shapes: no recompile)."""
    batched = jax.tree.map(lambda r, new: jp.broadcast_to(new, r.shape).astype(r.dtype), state.domain.ranges, ranges)
    return state.replace(domain=state.domain.replace(ranges=batched))


def next_scale(scale: float, success_rate: float, threshold: float, step: float) -> float:
    """The curriculum's next scale: one step wider when training success holds at `threshold`."""
    if success_rate == success_rate and success_rate >= threshold:  # NaN (no episode ended) holds
        return min(1.0, scale + step)
    return scale
