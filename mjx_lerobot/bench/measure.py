"""The contenders of `mjx-lerobot bench`, each timed on the same work: our jitted rollout of the
task's scripted expert per backend, MuJoCo C (`mujoco.rollout`) repeating the episodes that
rollout produced, and the Gymnasium adapter against the raw jitted step. (The seed peer runs in
its own interpreter: bench/peer.py.)"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jp
import numpy as np

from mjx_lerobot.sim.env import Env
from mjx_lerobot.sim.registry import load_task
from mjx_lerobot.sim.rollout import TimedRollout, timed_rollout
from mjx_lerobot.sim.scene import action_to_ctrl

EPISODES_KEPT = 256  # expert episodes handed to MuJoCo C (tiled up to its batch sizes)


def measure_mjx(task: str, impl: str, num_envs: int, steps: int, replay: bool = True) -> tuple[dict, dict]:
    """Time `steps` control steps of the expert on `num_envs` instances: one compile, a first
    call (allocations, lazy kernel loading), then the timed second call. Returns the row and
    the work done (start states, joint targets) for MuJoCo C to repeat. `replay=False` skips
    the second rollout (the expert's actions replayed, a second compile)."""
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
    if replay:
        # The same episodes without the expert's cost (its IK): its actions replayed, so physics,
        # the task's functions and auto-reset are timed on exactly the work MuJoCo C repeats below.
        replayed = timed_rollout(env, replay_policy(traj["action"]), jax.random.key(0), steps, warmup=True)
        row["replay_run_s"] = replayed.run_s
        row["replay_physics_steps_per_s"] = steps * num_envs * substeps / replayed.run_s
    keep = min(num_envs, EPISODES_KEPT)
    work = {
        "qpos0": np.asarray(traj["qpos"][0, :keep]),
        "mocap0": np.asarray(traj["mocap_pos"][0, :keep]),
        "ctrl": np.asarray(action_to_ctrl(env.scene, traj["action"][:, :keep])),  # [T, n, nu]
        "substeps": substeps,
        "mj_model": env.scene.mj_model,
    }
    return row, work


def measure_cameras(
    task: str,
    num_envs: int,
    size: int,
    steps: int,
    cameras: tuple[str, ...] = ("front", "wrist"),
    randomize: bool = False,
    impl: str = "warp",
) -> tuple[dict, TimedRollout]:
    """Physics and the batched renderer fused in one compiled rollout of the expert (every
    instance's cameras drawn inside each jitted step): camera frames/s and env steps/s, then the
    renderer alone on the rollout's final states (what the cameras cost beside the physics).
    `randomize`: each instance its own physics, colours, lights and cameras (default ranges).
    Returns the row and the timed rollout (its trajectory lets another renderer draw the same
    states)."""
    env = Env(load_task(task), num_envs, impl=impl, cameras=cameras, image_size=(size, size), randomize=randomize)
    policy = env.task.expert(env.scene, env.params)
    timed = timed_rollout(env, policy, jax.random.key(0), steps, warmup=True, check=check_fits)
    frames = steps * num_envs * len(cameras)
    row = {
        "task": task,
        "impl": env.impl,
        "num_envs": num_envs,
        "size": size,
        "cameras": "+".join(cameras),
        "randomize": bool(randomize),
        "control_steps": steps,
        "compile_s": round(timed.compile_s, 2),
        "run_s": timed.run_s,
        "camera_frames_per_s": frames / timed.run_s,
        "env_steps_per_s": steps * num_envs / timed.run_s,
        "physics_steps_per_s": steps * num_envs * env.scene.substeps / timed.run_s,
        "state_bytes_per_instance": sum(leaf.nbytes for leaf in jax.tree.leaves(timed.state)) // num_envs,
    }
    render = jax.jit(env.with_pixels)  # with the instances' randomized looks, when drawn
    jax.block_until_ready(render(timed.state))
    t0 = time.perf_counter()
    for _ in range(steps):
        jax.block_until_ready(render(timed.state))
    render_s = (time.perf_counter() - t0) / steps
    row["render_only_frames_per_s"] = num_envs * len(cameras) / render_s
    row["render_share_of_step"] = render_s / (timed.run_s / steps)
    return row, timed


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
