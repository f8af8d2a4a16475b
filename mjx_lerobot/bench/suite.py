"""`mjx-lerobot bench`: every contender measured side by side in one run, on this machine.

    mjx-lerobot bench --task lift_cube --num-envs 1,64,256,1024 --impl warp,jax --max-seconds 1200

These machines are noisy, so a speed claim only holds as a ratio taken in one run. For each
(impl, num_envs) it compiles one rollout of the task's scripted expert (contacts and grasps
included) and times its second call: physics and env steps/s, compile time, memory per
instance. In the same run it times the baselines on the same work:

- MuJoCo C through `mujoco.rollout`, on the same MJCF, from the same start states and with
  the same joint targets the expert sent: one thread, and every core over a few batch sizes;
- the seed peer, LeRobotHackathonEnv on dm_control, in its own Python environment
  (`mjx_lerobot/peer_bench.py`; set it up with `benchmarks/setup_peer.sh`): one env, and
  AsyncVectorEnv with one worker per core;
- the Gymnasium adapter against the raw jitted step (what a LeRobot user pays on top).

The most telling points come first (each backend's largest size, the baselines, its smallest
size, the adapter, then the sizes in between from the top down), so a `--max-seconds` budget
skips the least telling ones; a point whose estimated cost no longer fits is recorded as
skipped. The JSON is rewritten after every point, so an interrupted run keeps what it measured.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jp
import numpy as np

from mjx_lerobot.report import device_tag, machine_info
from mjx_lerobot.sim.env import Env
from mjx_lerobot.sim.registry import load_task
from mjx_lerobot.sim.rollout import timed_rollout

IMPLS = ("warp", "jax", "c")
PEER_SCRIPT = Path(__file__).resolve().parent / "peer_bench.py"  # run by path with the peer's interpreter
PEER_INSTALL = "bash benchmarks/setup_peer.sh (a .peer-venv with lerobothackathonenv and mujoco==3.17.0)"
EPISODES_KEPT = 256  # expert episodes handed to MuJoCo C (tiled up to its batch sizes)


@dataclasses.dataclass(frozen=True)
class BenchConfig:
    """What one `bench` run measures. Sizes are per backend."""

    task: str = "lift_cube"
    sizes: dict[str, tuple[int, ...]] = dataclasses.field(
        default_factory=lambda: {"warp": (1, 64, 256, 1024), "jax": (1, 64, 256, 1024)}
    )
    steps: int = 100  # control steps per timed rollout; lift_cube's expert grasps at ~45, lifts by ~80
    max_seconds: float | None = None
    peer_python: str = ".peer-venv/bin/python"
    peer_pythonpath: str | None = None
    peer_seconds: float = 5.0
    rollout_seconds: float = 2.0  # timed seconds per mujoco.rollout configuration
    adapter_envs: int = 256  # 0: skip the Gymnasium adapter measurement
    adapter_steps: int = 20


def parse_sizes(text: str, flag: str = "--num-envs") -> tuple[int, ...]:
    """'1,64,256' -> (1, 64, 256), with a clear error for anything else."""
    try:
        sizes = tuple(int(part) for part in str(text).split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise ValueError(f"{flag} must be comma-separated integers >= 1 (e.g. 1,64,1024), got {text!r}")
    return tuple(sorted(set(sizes)))


def check_config(config: BenchConfig) -> None:
    """Bad input fails here, before anything is compiled or timed."""
    load_task(config.task)  # unknown task: ValueError listing the tasks
    if not config.sizes:
        raise ValueError("impl: name at least one backend ('warp', 'jax')")
    for impl, sizes in config.sizes.items():
        if impl not in IMPLS:
            raise ValueError(f"impl must be one of {IMPLS}, got {impl!r}")
        if not sizes or min(sizes) < 1:
            raise ValueError(f"--num-envs must be integers >= 1, got {sizes} for {impl}")
    if config.steps < 1:
        raise ValueError(f"--steps must be >= 1, got {config.steps}")
    if config.max_seconds is not None and config.max_seconds <= 0:
        raise ValueError(f"--max-seconds must be > 0, got {config.max_seconds}")


def measurement_order(sizes: dict[str, tuple[int, ...]]) -> list[tuple[str, int]]:
    """(impl, num_envs) with the most telling first: every backend's largest size (the headline
    figure), then its smallest (the other end of the curve), then the rest from the top down.
    Backends alternate in the order given."""
    per_impl = {}
    for impl, ns in sizes.items():
        ns = sorted(set(ns), reverse=True)
        per_impl[impl] = ns[:1] + ns[-1:] + ns[1:-1] if len(ns) > 1 else ns
    order = []
    for rank in range(max(len(ns) for ns in per_impl.values())):
        order += [(impl, ns[rank]) for impl, ns in per_impl.items() if rank < len(ns)]
    return order


# -- the contenders ----------------------------------------------------------------------------


def measure_mjx(task: str, impl: str, num_envs: int, steps: int) -> tuple[dict, dict]:
    """Time `steps` control steps of the expert on `num_envs` instances: one compile, a first
    call (allocations, lazy kernel loading), then the timed second call. Returns the row and
    the work done (start states, joint targets) for MuJoCo C to repeat."""
    # Env directly, not make(): make() turns on JAX's persistent compilation cache, and a cache
    # hit would pass for a compile time. (JAX settles whether it uses that cache at a process's
    # first compile, so the adapter's SO101VectorEnv turning it on later changes nothing.)
    env = Env(load_task(task), num_envs=num_envs, impl=impl)
    policy = env.task.expert(env.scene, env.params)
    timed = timed_rollout(env, policy, jax.random.key(0), steps, warmup=True, check=check_fits)
    traj, run_s = timed.traj, timed.run_s
    substeps = env.scene.substeps
    physics_steps_per_s = steps * num_envs * substeps / run_s
    row = {
        "contender": f"mjx-{impl}",
        "impl": impl,
        "num_envs": num_envs,
        "control_steps": steps,
        "substeps": substeps,
        "physics_timestep": float(env.scene.mj_model.opt.timestep),
        "compile_s": round(timed.compile_s, 2),
        "first_call_s": round(timed.first_call_s, 3),
        "run_s": run_s,  # unrounded: the rates below are computed from it
        "env_steps_per_s": steps * num_envs / run_s,
        "physics_steps_per_s": physics_steps_per_s,
        "sim_seconds_per_s": physics_steps_per_s * float(env.scene.mj_model.opt.timestep),
        # Reaching success needs the grasp and the lift, so > 0 shows both were simulated.
        "success_so_far": float(np.asarray(traj["success"]).any(0).mean()),
        **memory_per_instance(env, timed.compiled),
    }
    # The same episodes without the expert's cost (its IK): its actions replayed, so physics,
    # the task's functions and auto-reset are timed on exactly the work MuJoCo C repeats below.
    replay = timed_rollout(env, replay_policy(traj["action"]), jax.random.key(0), steps, warmup=True)
    row["replay_run_s"] = replay.run_s
    row["replay_physics_steps_per_s"] = steps * num_envs * substeps / replay.run_s
    keep = min(num_envs, EPISODES_KEPT)
    from mjx_lerobot.sim.scene import action_to_ctrl

    work = {
        "qpos0": np.asarray(traj["qpos"][0, :keep]),
        "mocap0": np.asarray(traj["mocap_pos"][0, :keep]),
        "ctrl": np.asarray(action_to_ctrl(env.scene, traj["action"][:, :keep])),  # [T, n, nu]
        "substeps": substeps,
        "mj_model": env.scene.mj_model,
    }
    return row, work


def replay_policy(actions: jax.Array) -> Callable:
    """A policy sending each instance the recorded `actions` [T, N, 6] of its episode's step."""
    actions = jp.asarray(actions)
    last, instances = actions.shape[0] - 1, jp.arange(actions.shape[1])

    def policy(state: Any, key: jax.Array) -> jax.Array:
        return actions[jp.minimum(state.steps, last), instances]

    return policy


def memory_per_instance(env: Env, compiled: Any) -> dict:
    """Bytes per instance: the batched state itself, and everything XLA allocates for the
    compiled rollout (arguments, state, the trajectory it returns, scratch). On a GPU the
    allocator's figures are added, for the whole process (its peak so far, not this size's)."""
    state = jax.eval_shape(env.reset_fn, jax.random.key(0))
    out: dict[str, Any] = {"state_bytes_per_instance": _nbytes(state) / env.num_envs}
    total = _xla_bytes(compiled)
    if total is not None:
        out["rollout_bytes_per_instance"] = total / env.num_envs
    stats = jax.devices()[0].memory_stats() or {}
    for name in ("peak_bytes_in_use", "bytes_in_use", "bytes_limit"):
        if name in stats:
            out[f"device_{name}"] = int(stats[name])
    return out


def _xla_bytes(compiled: Any) -> int | None:
    analysis = compiled.memory_analysis()
    if analysis is None:
        return None
    return (
        analysis.argument_size_in_bytes
        + analysis.output_size_in_bytes
        + analysis.temp_size_in_bytes
        - analysis.alias_size_in_bytes
    )


def check_fits(compiled: Any) -> None:
    """Raise MemoryError, saying by how much, when a compiled program needs more device memory
    than is free (known on GPUs), instead of running out half way."""
    stats = jax.devices()[0].memory_stats() or {}
    needed = _xla_bytes(compiled)
    if needed is None or "bytes_limit" not in stats:
        return
    free = stats["bytes_limit"] - stats.get("bytes_in_use", 0)
    if needed > free:
        raise MemoryError(f"needs {needed / 2**30:.2f} GiB of device memory, {free / 2**30:.2f} GiB free")


def _nbytes(tree: Any) -> int:
    def leaf_bytes(leaf: jax.ShapeDtypeStruct) -> int:
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            itemsize = 8  # a threefry key: two uint32
        else:
            itemsize = np.dtype(leaf.dtype).itemsize
        return int(np.prod(leaf.shape, dtype=np.int64)) * itemsize

    return sum(leaf_bytes(leaf) for leaf in jax.tree.leaves(tree))


def measure_mujoco_rollout(work: dict, nthread: int, nbatch: int, min_seconds: float = 2.0) -> dict:
    """MuJoCo C repeating the expert's episodes (same model, start states, joint targets, each
    held for `substeps` physics steps), `nbatch` episodes over `nthread` threads."""
    import mujoco
    from mujoco import rollout

    model = work["mj_model"]
    episodes = np.arange(nbatch) % work["qpos0"].shape[0]  # tile the episodes we have
    spec = mujoco.mjtState.mjSTATE_FULLPHYSICS
    data = mujoco.MjData(model)
    states = np.empty((nbatch, mujoco.mj_stateSize(model, spec)))
    for i, ep in enumerate(episodes):
        mujoco.mj_resetData(model, data)
        data.qpos[:] = work["qpos0"][ep]
        data.mocap_pos[:] = work["mocap0"][ep]
        data.ctrl[:] = work["ctrl"][0, ep]
        mujoco.mj_getState(model, data, states[i], spec)
    controls = np.repeat(np.swapaxes(work["ctrl"], 0, 1)[episodes], work["substeps"], axis=1).astype(np.float64)
    nstep = controls.shape[1]
    # Outputs allocated once: the timed calls measure stepping, not numpy allocation.
    out_state = np.empty((nbatch, nstep, states.shape[1]))
    out_sensor = np.empty((nbatch, nstep, model.nsensordata))
    datas = [mujoco.MjData(model) for _ in range(nthread)]
    with rollout.Rollout(nthread=nthread) as runner:

        def call() -> None:
            runner.rollout(model, datas, states, controls, nstep=nstep, state=out_state, sensordata=out_sensor)

        call()  # warm-up
        reps, t0 = 0, time.perf_counter()
        while reps == 0 or time.perf_counter() - t0 < min_seconds:
            call()
            reps += 1
        run_s = time.perf_counter() - t0
    physics = reps * nbatch * nstep / run_s
    return {
        "contender": f"mujoco.rollout x{nthread}",
        "threads": nthread,
        "batch": nbatch,
        "physics_steps": reps * nbatch * nstep,
        "run_s": run_s,
        "physics_steps_per_s": physics,
        "env_steps_per_s": physics / work["substeps"],
        "sim_seconds_per_s": physics * float(model.opt.timestep),
    }


def rollout_configs(cpu_count: int) -> list[tuple[int, int]]:
    """(threads, batch): one thread with a few episodes; every core from a few episodes per
    thread up to a thousand episodes."""
    many = sorted({4 * cpu_count, 32 * cpu_count, 1024})
    return [(1, 8)] + [(cpu_count, n) for n in many] if cpu_count > 1 else [(1, n) for n in (8, 1024)]


def measure_peer(python: str, seconds: float, pythonpath: str | None = None, timeout: float = 300) -> dict:
    """The seed peer in its own interpreter; a 'skipped' entry saying how to install it when
    it is not there."""
    exe = shutil.which(python) or (python if Path(python).exists() else None)
    if exe is None:
        return {"skipped": f"peer: not installed (no interpreter {python!r}; install it with {PEER_INSTALL})"}
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # never our packages: the peer pins its own mujoco and dm-control
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    # -P: keep this script's folder (our package) off the peer's sys.path.
    cmd = [exe, "-P", str(PEER_SCRIPT), "--seconds", str(seconds)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as err:
        return {"skipped": f"peer failed to run: {err}"}
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        if "ModuleNotFoundError" in last:
            return {"skipped": f"peer: not installed ({last}; install it with {PEER_INSTALL})"}
        return {"skipped": f"peer exited {done.returncode}: {last}"}
    # The peer's libraries print their own chatter; the result is the last line.
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_adapter(
    task: str, impl: str, num_envs: int, steps: int, rounds: int = 3, autoreset_mode: str = "NextStep"
) -> dict:
    """Gymnasium VectorEnv (numpy in, numpy out) vs the raw jitted step, rounds alternated so
    machine noise hits both alike; medians of the rounds."""
    from mjx_lerobot.lerobot.gym_env import SO101VectorEnv

    t0 = time.perf_counter()
    gym_env = SO101VectorEnv(
        num_envs, task, impl=impl, obs_type="environment_state_agent_pos", autoreset_mode=autoreset_mode
    )
    env = gym_env.env
    obs, _ = gym_env.reset(seed=0)
    action = obs["agent_pos"]  # hold still: no episode ends, both time the same work
    raw_action = jax.device_put(gym_env._to_core_action(action))
    state = jax.block_until_ready(env.step(gym_env.state, raw_action))  # compile both first
    gym_env.step(action)
    compile_s = time.perf_counter() - t0
    pipelined_s, synced_s, adapter_s = [], [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(steps):  # dispatched back to back, one wait: a jitted training loop
            state = env.step(state, raw_action)
        jax.block_until_ready(state)
        pipelined_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for _ in range(steps):  # waiting for each step, as the adapter must to return numpy
            state = jax.block_until_ready(env.step(state, raw_action))
        synced_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for _ in range(steps):
            gym_env.step(action)
        adapter_s.append(time.perf_counter() - t0)
    mode = gym_env.autoreset_mode.value
    gym_env.close()
    pipelined, synced, adapter = (float(np.median(s)) / steps for s in (pipelined_s, synced_s, adapter_s))
    return {
        "task": task,
        "impl": env.impl,
        "num_envs": num_envs,
        "autoreset_mode": mode,
        "compile_s": round(compile_s, 2),
        "raw_step_ms": pipelined * 1e3,
        "raw_synced_step_ms": synced * 1e3,
        "adapter_step_ms": adapter * 1e3,
        "overhead_pct": 100 * (adapter / synced - 1),
        "overhead_vs_pipelined_pct": 100 * (adapter / pipelined - 1),
    }


# -- the run -----------------------------------------------------------------------------------


class _Clock:
    """The run's time budget, and guesses of what the next point will cost."""

    def __init__(self, max_seconds: float | None):
        self.max_seconds = max_seconds
        self.start = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def fits(self, estimate_s: float | None) -> tuple[bool, str]:
        if self.max_seconds is None:
            return True, ""
        left = self.max_seconds - self.elapsed()
        if left <= 0 or (estimate_s is not None and estimate_s > left):
            need = f"~{estimate_s:.0f} s needed, " if estimate_s is not None else ""
            return False, f"time budget: {need}{max(left, 0):.0f} s of --max-seconds {self.max_seconds:g} left"
        return True, ""


def estimate_mjx_s(rows: list[dict], impl: str, num_envs: int, steps: int) -> float | None:
    """Compile (as this backend's compiles so far) plus two calls, the call time taken from the
    nearest measured size: an upper bound from a larger one, else scaled from a smaller one."""
    done = [r for r in rows if r["impl"] == impl]
    if not done:
        return None
    compile_s = max(r["compile_s"] for r in done)
    larger = [r["first_call_s"] for r in done if r["num_envs"] >= num_envs]
    if larger:
        call_s = min(larger)
    else:
        rate = max(r["env_steps_per_s"] for r in done)
        call_s = num_envs * steps / rate
    return compile_s + 2 * call_s


def run_bench(
    config: BenchConfig,
    progress: bool = True,
    on_update: Callable[[dict], None] | None = None,
) -> dict:
    """Measure everything in one run; returns the report (see `write`). `on_update(report)`
    is called after every point (the CLI rewrites the JSON there)."""
    from tqdm.auto import tqdm

    check_config(config)
    clock = _Clock(config.max_seconds)
    order = measurement_order(config.sizes)
    cpu_count = os.cpu_count() or 1
    report: dict[str, Any] = machine_info() | {
        "task": config.task,
        "control_steps": config.steps,
        "max_seconds": config.max_seconds,
        # Above the core count means other jobs shared the CPU: absolute figures run low then.
        "load_average_1min": {"start": _load_average()},
        "jax_compilation_cache": jax.config.jax_compilation_cache_dir,  # None: compile times are cold XLA
        "order": [f"{impl}:{n}" for impl, n in order],
        "what_is_timed": (
            "MJX: a jitted lax.scan of the scripted expert + env.step (auto-reset, observations, rewards) on every "
            "instance, second call of one compile; mujoco.rollout: physics only, the same MJCF, start states and "
            "joint targets; peer: its gym step with random actions"
        ),
        "memory_note": (
            "state_bytes_per_instance: the batched EnvState; rollout_bytes_per_instance: all XLA buffers of the "
            "compiled rollout (including its T-step trajectory) / num_envs; device_*: the GPU allocator, whole "
            "process, at the end of that point"
        ),
        "mjx": [],
        "mujoco_rollout": [],
        "peer": {},
        "adapter": {},
        "skipped": [],
    }
    bar = tqdm(total=len(order) + 3, desc="bench", unit="point", disable=not progress)

    def done(label: str) -> None:
        report["ratios"] = ratios(report)
        report["bench_wall_s"] = round(clock.elapsed(), 1)
        load = report["load_average_1min"]
        load["end"] = _load_average()
        if load["end"] is not None:
            load["max"] = max(load.get("max", load["start"]), load["end"])  # sampled after every point
        if on_update is not None:
            on_update(report)
        bar.set_postfix_str(f"{label} done, {clock.elapsed():.0f} s")
        bar.update()

    def say(msg: str) -> None:
        bar.write(f"[{clock.elapsed():4.0f} s] {msg}")

    def skip(what: dict, why: str) -> None:
        report["skipped"].append(what | {"why": why})
        say(f"skipped {what}: {why}")

    def baselines(work: dict | None) -> None:
        bar.set_postfix_str("mujoco.rollout")
        if work is None:
            skip({"contender": "mujoco.rollout"}, "no MJX episodes were measured to repeat")
        else:
            for threads, nbatch in rollout_configs(cpu_count):
                row = measure_mujoco_rollout(work, threads, nbatch, config.rollout_seconds)
                report["mujoco_rollout"].append(row)
                say(f"{row['contender']:14s} batch {nbatch:5d} {row['physics_steps_per_s']:>14,.0f} physics steps/s")
        done("mujoco.rollout")
        bar.set_postfix_str("peer")
        report["peer"] = measure_peer(config.peer_python, config.peer_seconds, config.peer_pythonpath)
        if "skipped" in report["peer"]:
            say(report["peer"]["skipped"])
        else:
            say(f"peer: {_peer_best(report['peer']):,.0f} physics steps/s in its best mode")
        done("peer")

    def adapter() -> None:
        impl = next(iter(config.sizes))
        if not config.adapter_envs:
            report["adapter"] = {"skipped": "--adapter-envs 0"}
        else:
            compiles = [r["compile_s"] for r in report["mjx"] if r["impl"] == impl]
            ok, why = clock.fits(2 * max(compiles) + 5 if compiles else None)  # the raw step and the adapter's
            if ok:
                bar.set_postfix_str(f"adapter {impl} N={config.adapter_envs}")
                try:
                    report["adapter"] = measure_adapter(config.task, impl, config.adapter_envs, config.adapter_steps)
                    say(f"Gym adapter: {report['adapter']['overhead_pct']:+.0f}% over the raw step")
                except Exception as err:
                    report["adapter"] = {"skipped": f"{type(err).__name__}: {err}"[:300]}
            else:
                report["adapter"] = {"skipped": why}
        done("adapter")

    work: dict | None = None
    baselines_done = adapter_done = False
    first_round = 2 * len(config.sizes)  # every backend's largest and smallest size
    for index, (impl, n) in enumerate(order):
        if index == first_round and baselines_done:
            adapter()
            adapter_done = True
        bar.set_postfix_str(f"{impl} N={n}")
        ok, why = clock.fits(estimate_mjx_s(report["mjx"], impl, n, config.steps))
        if not ok:
            skip({"impl": impl, "num_envs": n}, why)
        else:
            try:
                row, point_work = measure_mjx(config.task, impl, n, config.steps)
                report["mjx"].append(row)
                work = work or point_work
                say(
                    f"mjx-{impl:4s} N={n:6d} {row['physics_steps_per_s']:>14,.0f} physics steps/s "
                    f"{row['env_steps_per_s']:>12,.0f} env steps/s  compile {row['compile_s']:.0f} s, "
                    f"first call {row['first_call_s']:.1f} s"
                )
            except Exception as err:  # e.g. out of device memory at the largest sizes
                skip({"impl": impl, "num_envs": n}, f"{type(err).__name__}: {err}"[:300])
        done(f"{impl} N={n}")
        if not baselines_done and work is not None:
            baselines(work)
            baselines_done = True
    if not baselines_done:
        baselines(work)
    if not adapter_done:
        adapter()
    bar.close()
    return report


def _load_average() -> float | None:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


# -- results -----------------------------------------------------------------------------------


def _peer_best(peer: dict) -> float:
    return max(peer["single"]["physics_steps_per_s"], peer["async_vector"]["physics_steps_per_s"])


def ratios(report: dict) -> dict:
    """Our best physics steps/s over each baseline's best, from the stored figures."""
    if not report["mjx"]:
        return {}
    best = max(report["mjx"], key=lambda r: r["physics_steps_per_s"])
    ours = best["physics_steps_per_s"]
    out: dict[str, Any] = {"ours_best": {k: best[k] for k in ("contender", "num_envs", "physics_steps_per_s")}}
    c_rows = report.get("mujoco_rollout", [])
    all_cores = [r for r in c_rows if r["threads"] == max(r["threads"] for r in c_rows)]
    if all_cores:
        out["vs_mujoco_rollout_all_cores"] = ours / max(r["physics_steps_per_s"] for r in all_cores)
    one = [r for r in c_rows if r["threads"] == 1]
    if one:
        out["vs_mujoco_rollout_1_thread"] = ours / max(r["physics_steps_per_s"] for r in one)
    replayed = [r for r in report["mjx"] if "replay_physics_steps_per_s" in r]
    if replayed and all_cores:
        top = max(replayed, key=lambda r: r["replay_physics_steps_per_s"])
        out["replay_best"] = {k: top[k] for k in ("contender", "num_envs", "replay_physics_steps_per_s")}
        # Same work on both sides: the expert's joint targets replayed, no policy in the loop.
        out["replay_vs_mujoco_rollout_all_cores"] = top["replay_physics_steps_per_s"] / max(
            r["physics_steps_per_s"] for r in all_cores
        )
    peer = report.get("peer", {})
    if "single" in peer:
        out["vs_peer_best_mode"] = ours / _peer_best(peer)
        # The peer steps 2 ms of physics at a time, we 4.2 ms: simulated time per second differs.
        if "sim_seconds_per_s" in best and "physics_timestep" in peer:
            out["vs_peer_best_mode_sim_time"] = best["sim_seconds_per_s"] / (
                _peer_best(peer) * peer["physics_timestep"]
            )
    by_size = {(r["impl"], r["num_envs"]): r["physics_steps_per_s"] for r in report["mjx"]}
    common = sorted(n for impl, n in by_size if impl == "warp" and ("jax", n) in by_size)
    if common:
        out["warp_over_jax"] = {
            "num_envs": common[-1],
            "ratio": by_size["warp", common[-1]] / by_size["jax", common[-1]],
        }
    return out


def default_path() -> Path:
    return Path("benchmarks/results") / f"bench_{device_tag()}.json"


def resolve_out(out: str | Path | None) -> Path:
    """A JSON path; a folder (existing, or written with a trailing slash) gets bench_<device>.json."""
    if not out:
        return default_path()
    if str(out).endswith(("/", os.sep)) or Path(out).is_dir():
        return Path(out) / default_path().name
    return Path(out)


def write(report: dict, out: str | Path | None = None, png: bool = True) -> tuple[Path, Path]:
    """JSON and PNG side by side; default benchmarks/results/bench_<device>.{json,png}."""
    path = resolve_out(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=float) + "\n")
    if png:
        plot(report, path.with_suffix(".png"))
    return path, path.with_suffix(".png")


def plot(report: dict, path: str | Path) -> None:
    """Left: physics steps/s against instances, one line per backend, baselines as horizontal
    lines. Right: compile time per point."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter

    fig, (ax, cax) = plt.subplots(1, 2, figsize=(11, 4.4), gridspec_kw={"width_ratios": [2.2, 1]})
    for impl in sorted({r["impl"] for r in report["mjx"]}):
        rows = sorted((r for r in report["mjx"] if r["impl"] == impl), key=lambda r: r["num_envs"])
        ns = [r["num_envs"] for r in rows]
        ax.plot(ns, [r["physics_steps_per_s"] for r in rows], "o-", label=f"MJX {impl}")
        cax.plot(ns, [r["compile_s"] for r in rows], "o-", label=f"MJX {impl}")
    styles = iter(["--", ":", "-.", (0, (5, 1)), (0, (1, 3))])
    for threads in sorted({r["threads"] for r in report.get("mujoco_rollout", [])}):
        best = max(
            (r for r in report["mujoco_rollout"] if r["threads"] == threads), key=lambda r: r["physics_steps_per_s"]
        )
        label = f"MuJoCo C, mujoco.rollout x{threads} (batch {best['batch']})"
        ax.axhline(best["physics_steps_per_s"], ls=next(styles), color="gray", label=label)
    peer = report.get("peer", {})
    if "single" in peer:
        ax.axhline(peer["single"]["physics_steps_per_s"], color="tab:red", ls=":", label="seed peer, 1 env")
        workers = peer["async_vector"]["workers"]
        label = f"seed peer, AsyncVectorEnv x{workers}"
        ax.axhline(peer["async_vector"]["physics_steps_per_s"], color="tab:red", ls="--", label=label)
    ax.set(xscale="log", yscale="log", xlabel="instances (num_envs)", ylabel="physics steps/s")
    ax.set_title(f"{report['task']}, {report['control_steps']} control steps, on {report['device']}", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    cax.set(xscale="log", xlabel="instances (num_envs)", ylabel="compile s")
    for axis in (ax.xaxis, cax.xaxis):  # instance counts as plain numbers, not powers of ten
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))
        axis.set_minor_formatter(NullFormatter())
    cax.set_title("compile time (cold XLA)", fontsize=10)
    cax.set_ylim(bottom=0)
    cax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown_table(report: dict) -> str:
    """The README's tables from a stored report: each contender's best figure and our best
    over it, then every measured size, then the adapter and what was skipped."""
    best = report["ratios"]["ours_best"]["physics_steps_per_s"] if report.get("ratios") else None
    rows = []
    for impl in sorted({r["impl"] for r in report["mjx"]}, key=IMPLS.index):
        top = max((r for r in report["mjx"] if r["impl"] == impl), key=lambda r: r["physics_steps_per_s"])
        rows.append((f"MJX {impl} ({top['num_envs']:,} instances)", top["physics_steps_per_s"]))
    for threads in sorted({r["threads"] for r in report.get("mujoco_rollout", [])}):
        top = max(
            (r for r in report["mujoco_rollout"] if r["threads"] == threads), key=lambda r: r["physics_steps_per_s"]
        )
        batch = f", batch {top['batch']:,}" if "batch" in top else ""
        rows.append((f"MuJoCo C, `mujoco.rollout`, {threads} thread(s){batch}", top["physics_steps_per_s"]))
    peer = report.get("peer", {})
    if "single" in peer:
        rows.append(("seed peer (dm_control), 1 env", peer["single"]["physics_steps_per_s"]))
        workers = peer["async_vector"]["workers"]
        rows.append((f"seed peer, AsyncVectorEnv x{workers}", peer["async_vector"]["physics_steps_per_s"]))
    lines = ["| contender | physics steps/s | ours (best) / it |", "|---|---:|---:|"]
    lines += [f"| {name} | {rate:,.0f} | {_times(best / rate) if best else ''} |" for name, rate in rows]
    if "skipped" in peer:
        lines.append(f"\nSeed peer: {peer['skipped']}")

    ratio = report.get("ratios", {}).get("replay_vs_mujoco_rollout_all_cores")
    if ratio:
        top = report["ratios"]["replay_best"]
        lines.append(
            f"\nPhysics without the expert's IK (its actions replayed; the work MuJoCo C repeats): "
            f"{top['contender']} at {top['num_envs']:,} instances, {top['replay_physics_steps_per_s']:,.0f} "
            f"physics steps/s, {_times(ratio)} `mujoco.rollout` on all cores."
        )
    lines += ["", "| backend | instances | physics steps/s (with expert) | physics only | env steps/s | compile |"]
    lines.append("|---|---:|---:|---:|---:|---:|")
    for r in sorted(report["mjx"], key=lambda r: (IMPLS.index(r["impl"]), r["num_envs"])):
        replayed = r.get("replay_physics_steps_per_s")
        replayed = f"{replayed:,.0f}" if replayed else ""
        lines.append(
            f"| {r['impl']} | {r['num_envs']:,} | {r['physics_steps_per_s']:,.0f} | {replayed} "
            f"| {r['env_steps_per_s']:,.0f} | {r['compile_s']:.0f} s |"
        )
    adapter = report.get("adapter", {})
    if "overhead_pct" in adapter:
        lines.append(
            f"\nGymnasium adapter ({adapter['impl']}, {adapter['num_envs']:,} instances): "
            f"{adapter['raw_step_ms']:.1f} ms per raw jitted step pipelined, "
            f"{adapter.get('raw_synced_step_ms', adapter['raw_step_ms']):.1f} ms waiting for each, "
            f"{adapter['adapter_step_ms']:.1f} ms through the VectorEnv "
            f"({adapter['overhead_pct']:+.0f}% over the latter)."
        )
    if report.get("skipped"):
        skipped = ", ".join(
            f"{s['impl']} {s['num_envs']:,}" if "impl" in s else s.get("contender", "?") for s in report["skipped"]
        )
        lines.append(f"\nSkipped: {skipped} (see `skipped` in the JSON for why).")
    return "\n".join(lines)


def _times(ratio: float) -> str:
    """Three significant figures: 0.0772x, 2.22x, 10.4x, 1,081x."""
    if ratio >= 100:
        return f"{ratio:,.0f}x"
    return f"{ratio:.1f}x" if ratio >= 10 else f"{ratio:.2f}x" if ratio >= 1 else f"{ratio:.3g}x"


# -- the command -------------------------------------------------------------------------------


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    """The CLI's arguments (defined in mjx_lerobot.apps.cli) as a checked BenchConfig."""
    impls = tuple(dict.fromkeys(part.strip() for part in args.impl.split(",") if part.strip()))
    for impl in impls:
        if impl not in IMPLS:
            raise ValueError(f"--impl must list backends from {IMPLS}, got {args.impl!r}")
    sizes = parse_sizes(args.num_envs)
    jax_sizes = parse_sizes(args.jax_num_envs, "--jax-num-envs") if args.jax_num_envs else sizes
    config = BenchConfig(
        task=args.task,
        sizes={impl: jax_sizes if impl == "jax" else sizes for impl in impls},
        steps=args.steps,
        max_seconds=args.max_seconds,
        peer_python=args.peer_python,
        peer_pythonpath=os.environ.get("MJX_LEROBOT_PEER_PYTHONPATH") or None,
        peer_seconds=args.peer_seconds,
        rollout_seconds=args.rollout_seconds,
        adapter_envs=args.adapter_envs,
    )
    check_config(config)
    return config


def main(args: argparse.Namespace, config: BenchConfig | None = None) -> dict:
    """The CLI's `bench` subcommand: `--table JSON` prints the README tables of a stored
    result; otherwise run, rewriting the JSON after every point, and print the tables."""
    if args.table:
        print(markdown_table(json.loads(Path(args.table).read_text())))
        return {}
    config = config or config_from_args(args)
    note = {"note": args.note} if args.note else {}
    path = resolve_out(args.out)
    report = run_bench(config, progress=not args.no_progress, on_update=lambda r: write(r | note, path, png=False))
    report |= note
    write(report, path)
    print(markdown_table(report))
    print(f"wrote {path} and {path.with_suffix('.png')}", file=sys.stderr)
    return report
