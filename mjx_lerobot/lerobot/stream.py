"""The simulation side of recording: `num_envs` scripted-expert instances stepped by one jitted
call, each finished episode handed out as it ends (`DemoStream`), from a thread that keeps
simulating while the main thread draws and writes (`RunAhead`)."""

from __future__ import annotations

import itertools
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import jax
import numpy as np

from mjx_lerobot.lerobot.dataset import frame_columns
from mjx_lerobot.lerobot.durable import SeedLease
from mjx_lerobot.lerobot.units import JointUnits
from mjx_lerobot.sim.env import Env, select_instances
from mjx_lerobot.sim.expert import dart, expert_policy
from mjx_lerobot.sim.task import EnvState, seed_keys


class DemoStream:
    """`num_envs` expert instances; yields (seed, frames) for each episode as it ends.

    Every instance's episode k starts from its own seed, handed out in order from `first_seed`;
    one jitted call steps the batch, records the frames and restarts the finished instances.
    """

    def __init__(
        self,
        env: Env,
        variation: float,
        action_noise: float,
        units: JointUnits,
        first_seed: int,
        lease: SeedLease | None = None,
    ):
        self.env = env
        self.units = units
        self.lease = lease  # where seeds come from: noted on disk before use (durable.py)
        self.next_seed = first_seed if lease is None else lease.next_seed
        self._act = dart(expert_policy(env, variation), action_noise)
        self._step = jax.jit(self._step_fn)
        self._reset = jax.jit(env.reset_instances)

    def compile(self) -> float:
        """Compile the batched step ahead of time; returns the seconds it took."""
        t0 = time.perf_counter()
        keys = seed_keys(np.arange(self.env.num_envs))
        state = jax.eval_shape(self._reset, keys)
        self._step = self._step.lower(state, jax.random.key(0), keys).compile()
        self._reset = self._reset.lower(keys).compile()
        return time.perf_counter() - t0

    def _take_seeds(self, count: int) -> np.ndarray:
        if self.lease is not None:
            seeds = np.array(self.lease.take(count), np.int64)
            self.next_seed = self.lease.next_seed
            return seeds
        seeds = np.arange(self.next_seed, self.next_seed + count, dtype=np.int64)
        self.next_seed += count
        return seeds

    def _step_fn(self, state: EnvState, key: jax.Array, next_keys: jax.Array) -> tuple[EnvState, dict]:
        executed, label = self._act(state, key)
        # The terminal frame is never stored, so cameras draw once per step, after the restarts.
        nxt = self.env.advance_fn(state, executed, pixels=False)
        frame = frame_columns(self.env, self.units, state, executed, label, nxt)
        done = nxt.terminated | nxt.truncated
        # Finished instances start their next episode from the seed the host handed them.
        def restart() -> EnvState:
            fresh = self.env.reset_instances(next_keys, pixels=False)
            return select_instances(done, fresh.replace(final_obs=nxt.final_obs), nxt)  # final_obs: unused here

        nxt = jax.lax.cond(done.any(), restart, lambda: nxt)
        return self.env.with_pixels(nxt), frame

    def episodes(self, key: jax.Array) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """Endless (seed, {column: [T, ...]}) of finished episodes, in the order they end."""
        n, horizon = self.env.num_envs, self.env.episode_steps
        seeds = self._take_seeds(n)
        state = self._reset(seed_keys(seeds))
        pending = self._take_seeds(n)  # the seed each instance starts from after its episode
        ring: dict[str, np.ndarray] = {}  # the last `horizon` frames of every instance
        start = np.zeros(n, np.int64)  # step at which each instance's episode began
        for step in itertools.count():
            state, frame = self._step(state, jax.random.fold_in(key, step), seed_keys(pending))
            frame = jax.device_get(frame)
            for name, value in frame.items():
                ring.setdefault(name, np.empty((horizon, *value.shape), value.dtype))[step % horizon] = value
            for i in np.flatnonzero(frame["next.done"][:, 0]):
                rows = np.arange(start[i], step + 1) % horizon
                episode = {name: values[rows, i] for name, values in ring.items()}
                episode["sim.seed"] = np.full((len(rows), 1), seeds[i], np.int64)
                yield int(seeds[i]), episode
                start[i] = step + 1
                seeds[i] = pending[i]
                pending[i] = self._take_seeds(1)[0]


class RunAhead:
    """Iterates `items` in a thread, up to `depth` items ahead of the consumer: the simulation
    keeps stepping while the main thread draws and writes (XLA and the video encoder release
    the GIL). An exception in the thread is raised in the consumer; `close` stops the thread."""

    def __init__(self, items: Iterator, depth: int):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(items,), daemon=True, name="record-simulation")
        self._thread.start()

    def _put(self, entry: tuple[str, Any]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, items: Iterator) -> None:
        try:
            for item in items:
                if not self._put(("item", item)):
                    return
            self._put(("end", None))
        except BaseException as err:  # noqa: BLE001  (handed to the consumer, raised there)
            self._put(("error", err))

    def __iter__(self) -> Iterator:
        while True:
            kind, value = self._queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
