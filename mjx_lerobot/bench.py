"""`mjx-lerobot bench`: every contender measured side by side in one run, on this machine.

    mjx-lerobot bench --task lift_cube --num-envs 1,64,256,1024 --impl jax,warp

These machines are noisy, so a speed claim only holds as a ratio taken in one run. For each
(impl, num_envs) it compiles one rollout of the scripted expert (contacts and grasps
included) and times it: physics and env steps/s, compile time, memory per instance. In the
same run it times the baselines on the same work:

- MuJoCo C through `mujoco.rollout`, on the same MJCF, from the same start states and with
  the same joint targets the expert sent, one thread and every core;
- the seed peer, LeRobotHackathonEnv on dm_control, in its own Python environment
  (`mjx_lerobot/peer_bench.py`; set it up with `benchmarks/setup_peer.sh`), one env and
  AsyncVectorEnv with one worker per core;
- the Gymnasium adapter against the raw jitted step (what a LeRobot user pays on top).

Writes JSON (machine, versions, every figure, the ratios) and a PNG plot.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jax
import numpy as np

from mjx_lerobot.core import compile_rollout
from mjx_lerobot.registry import make
from mjx_lerobot.report import device_tag, machine_info

PEER_SCRIPT = Path(__file__).resolve().parent / "peer_bench.py"  # run by path with the peer's interpreter


def measure_mjx(task: str, impl: str, num_envs: int, steps: int) -> tuple[dict, dict]:
    """Time `steps` control steps of the expert on `num_envs` instances (second call of a
    compiled rollout). Returns the row and the work done (start states, joint targets) for
    the MuJoCo C baseline to repeat."""
    env = make(task, num_envs=num_envs, impl=impl)
    policy = env.task.expert(env.scene, env.params)
    key = jax.random.key(0)
    t0 = time.perf_counter()
    run = compile_rollout(env, policy, steps)
    compile_s = time.perf_counter() - t0
    jax.block_until_ready(run(key))  # first call: allocations
    t0 = time.perf_counter()
    final, traj = jax.block_until_ready(run(key))
    run_s = time.perf_counter() - t0
    row = {
        "contender": f"mjx-{impl}",
        "impl": impl,
        "num_envs": num_envs,
        "control_steps": steps,
        "substeps": env.scene.substeps,
        "compile_s": round(compile_s, 2),
        "run_s": run_s,  # unrounded: the rates below are computed from it
        "env_steps_per_s": steps * num_envs / run_s,
        "physics_steps_per_s": steps * num_envs * env.scene.substeps / run_s,
        "success_so_far": float(np.asarray(traj["success"]).any(0).mean()),
        **_memory_per_instance(env),
    }
    keep = min(num_envs, 256)
    work = {
        "qpos0": np.asarray(traj["qpos"][0, :keep]),
        "mocap0": np.asarray(traj["mocap_pos"][0, :keep]),
        "ctrl": np.asarray(_to_ctrl(env.scene, traj["action"][:, :keep])),  # [T, n, 6]
        "substeps": env.scene.substeps,
        "mj_model": env.scene.mj_model,
    }
    return row, work


def _to_ctrl(scene, action: jax.Array) -> jax.Array:
    from mjx_lerobot.scene import action_to_ctrl

    return action_to_ctrl(scene, action)


def _memory_per_instance(env) -> dict:
    """Bytes per instance of one jitted step: its state (arguments) plus XLA's scratch.

    Warp's own buffers live inside the state here; on a GPU the allocator's peak is reported
    too, which also counts the rollout's trajectory output.
    """
    state = jax.eval_shape(env.reset_fn, jax.random.key(0))
    action = jax.ShapeDtypeStruct((env.num_envs, 6), np.float32)
    analysis = jax.jit(env.step_fn).lower(state, action).compile().memory_analysis()
    out: dict[str, Any] = {}
    if analysis is not None:
        state_bytes = analysis.argument_size_in_bytes
        out["state_bytes_per_instance"] = state_bytes / env.num_envs
        out["step_bytes_per_instance"] = (state_bytes + analysis.temp_size_in_bytes) / env.num_envs
    stats = jax.devices()[0].memory_stats() or {}
    if "peak_bytes_in_use" in stats:
        out["device_peak_bytes"] = int(stats["peak_bytes_in_use"])
    return out


def measure_mujoco_rollout(work: dict, nthread: int, min_seconds: float = 2.0) -> dict:
    """MuJoCo C repeating the expert's episodes: same model, start states and joint targets."""
    import mujoco
    from mujoco import rollout

    model = work["mj_model"]
    qpos0, mocap0, ctrl = work["qpos0"], work["mocap0"], work["ctrl"]
    n = qpos0.shape[0]
    spec = mujoco.mjtState.mjSTATE_FULLPHYSICS
    data = mujoco.MjData(model)
    states = np.empty((n, mujoco.mj_stateSize(model, spec)))
    for i in range(n):
        mujoco.mj_resetData(model, data)
        data.qpos[:] = qpos0[i]
        data.mocap_pos[:] = mocap0[i]
        data.ctrl[:] = ctrl[0, i]
        mujoco.mj_getState(model, data, states[i], spec)
    # Each control is held for `substeps` physics steps, as the batched env does.
    controls = np.repeat(np.swapaxes(ctrl, 0, 1), work["substeps"], axis=1).astype(np.float64)
    nstep = controls.shape[1]
    datas = [mujoco.MjData(model) for _ in range(nthread)]
    with rollout.Rollout(nthread=nthread) as runner:
        runner.rollout(model, datas, states, controls, nstep=nstep)  # warm-up
        reps, t0 = 0, time.perf_counter()
        while reps == 0 or time.perf_counter() - t0 < min_seconds:
            runner.rollout(model, datas, states, controls, nstep=nstep)
            reps += 1
        run_s = time.perf_counter() - t0
    physics = reps * n * nstep / run_s
    return {
        "contender": f"mujoco.rollout x{nthread}",
        "threads": nthread,
        "batch": n,
        "physics_steps_per_s": physics,
        "env_steps_per_s": physics / work["substeps"],
    }


def measure_peer(python: str, seconds: float, pythonpath: str | None = None) -> dict:
    """The seed peer in its own interpreter; a clear 'skipped' row when it is not installed."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    if not (Path(python).exists() or pythonpath):
        return {"skipped": f"no peer interpreter at {python}: run benchmarks/setup_peer.sh"}
    try:
        done = subprocess.run(
            [python, str(PEER_SCRIPT), "--seconds", str(seconds)],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return {"skipped": f"peer failed to run: {err}"}
    if done.returncode != 0:
        return {"skipped": f"peer exited {done.returncode}: {done.stderr.strip().splitlines()[-1:]}"}
    # The peer prints its own chatter; the result is the last line.
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_adapter(
    task: str, impl: str, num_envs: int, steps: int, rounds: int = 3, autoreset_mode: str = "NextStep"
) -> dict:
    """Gymnasium VectorEnv (numpy in, numpy out) vs the raw jitted step, rounds alternated so
    machine noise hits both alike; medians of the rounds."""
    from mjx_lerobot.gym_env import SO101VectorEnv

    gym_env = SO101VectorEnv(
        num_envs, task, impl=impl, obs_type="environment_state_agent_pos", autoreset_mode=autoreset_mode
    )
    env = gym_env.env
    obs, _ = gym_env.reset(seed=0)
    action = obs["agent_pos"]  # hold still: no episode ends, both time the same work
    raw_action = jax.device_put(gym_env._to_core_action(action))
    state = jax.block_until_ready(env.step(gym_env.state, raw_action))  # compile both first
    gym_env.step(action)
    raw_s, adapter_s = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(steps):
            state = env.step(state, raw_action)
        jax.block_until_ready(state)
        raw_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for _ in range(steps):
            gym_env.step(action)
        adapter_s.append(time.perf_counter() - t0)
    mode = gym_env.autoreset_mode.value
    gym_env.close()
    raw, adapter = float(np.median(raw_s)) / steps, float(np.median(adapter_s)) / steps
    return {
        "task": task,
        "impl": env.impl,
        "num_envs": num_envs,
        "autoreset_mode": mode,
        "raw_step_ms": raw * 1e3,
        "adapter_step_ms": adapter * 1e3,
        "overhead_pct": 100 * (adapter / raw - 1),
    }


def run_bench(
    task: str = "lift_cube",
    num_envs: tuple[int, ...] = (1, 64, 256, 1024),
    impls: tuple[str, ...] = ("jax", "warp"),
    steps: int = 60,
    max_seconds: float | None = None,
    peer_python: str = ".peer-venv/bin/python",
    peer_seconds: float = 5.0,
    adapter_envs: int | None = 256,
    progress: bool = True,
    jax_num_envs: tuple[int, ...] | None = None,
) -> dict:
    """Measure everything; returns the report (see `write`). Sizes past `max_seconds` are
    recorded as skipped, largest last, so a short budget still gets the important points.
    `jax_num_envs` gives MJX-JAX its own sizes (its compile is slow: measure it at fewer)."""
    from tqdm.auto import tqdm

    sizes = {impl: tuple(jax_num_envs or num_envs) if impl == "jax" else tuple(num_envs) for impl in impls}
    if not all(sizes.values()) or min(min(v) for v in sizes.values()) < 1:
        raise ValueError(f"--num-envs must be integers >= 1, got {sizes}")
    for impl in impls:
        if impl not in ("jax", "warp"):
            raise ValueError(f"impl must be 'jax' or 'warp', got {impl!r}")
    make(task, num_envs=1, impl="jax")  # a clear error for an unknown task, before any timing
    t_start = time.perf_counter()
    plan = [(impl, n) for impl in impls for n in sorted(sizes[impl])]
    report: dict[str, Any] = machine_info() | {"task": task, "control_steps": steps, "mjx": [], "skipped": []}
    bar = tqdm(total=len(plan) + 3, desc="bench", unit="run", disable=not progress)
    largest_work: dict | None = None
    for impl, n in plan:
        bar.set_postfix_str(f"{impl} N={n}")
        if max_seconds is not None and time.perf_counter() - t_start > max_seconds:
            report["skipped"].append({"impl": impl, "num_envs": n, "why": "time budget"})
        else:
            try:
                row, work = measure_mjx(task, impl, n, steps)
                report["mjx"].append(row)
                largest_work = (
                    work
                    if largest_work is None or work["qpos0"].shape[0] >= largest_work["qpos0"].shape[0]
                    else largest_work
                )
                bar.write(
                    f"mjx-{impl:4s} N={n:6d} {row['physics_steps_per_s']:>14,.0f} physics steps/s  "
                    f"compile {row['compile_s']:.0f} s"
                )
            except Exception as err:  # e.g. out of device memory at the largest sizes
                report["skipped"].append({"impl": impl, "num_envs": n, "why": f"{type(err).__name__}: {err}"[:300]})
                bar.write(f"mjx-{impl} N={n}: skipped ({type(err).__name__})")
        bar.update()

    bar.set_postfix_str("mujoco.rollout")
    report["mujoco_rollout"] = []
    if largest_work is not None:
        for threads in sorted({1, os.cpu_count() or 1}):
            report["mujoco_rollout"].append(measure_mujoco_rollout(largest_work, threads))
    bar.update()
    bar.set_postfix_str("peer")
    pythonpath = os.environ.get("MJX_LEROBOT_PEER_PYTHONPATH")
    report["peer"] = measure_peer(peer_python, peer_seconds, pythonpath)
    bar.update()
    bar.set_postfix_str("adapter")
    if adapter_envs:
        report["adapter"] = measure_adapter(task, "warp" if "warp" in impls else impls[0], adapter_envs, 30)
    bar.update()
    bar.close()
    report["ratios"] = ratios(report)
    report["bench_wall_s"] = round(time.perf_counter() - t_start, 1)
    return report


def ratios(report: dict) -> dict:
    """Our best physics steps/s over each baseline's best, from the stored figures."""
    if not report["mjx"]:
        return {}
    best = max(report["mjx"], key=lambda r: r["physics_steps_per_s"])
    out = {"ours_best": {k: best[k] for k in ("contender", "num_envs", "physics_steps_per_s")}}
    if report.get("mujoco_rollout"):
        c_best = max(report["mujoco_rollout"], key=lambda r: r["physics_steps_per_s"])
        out["vs_mujoco_rollout_all_cores"] = best["physics_steps_per_s"] / c_best["physics_steps_per_s"]
    peer = report.get("peer", {})
    if "single" in peer:
        peer_best = max(peer["single"]["physics_steps_per_s"], peer["async_vector"]["physics_steps_per_s"])
        out["vs_peer_best_mode"] = best["physics_steps_per_s"] / peer_best
    return out


def write(report: dict, out: str | Path | None = None) -> tuple[Path, Path]:
    """JSON and PNG side by side; default benchmarks/results/bench_<device>.{json,png}."""
    path = Path(out) if out else Path("benchmarks/results") / f"bench_{device_tag()}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=float))
    png = path.with_suffix(".png")
    plot(report, png)
    return path, png


def plot(report: dict, path: str | Path) -> None:
    """Physics steps/s against instances, one line per backend; baselines as horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2))
    for impl in sorted({r["impl"] for r in report["mjx"]}):
        rows = sorted((r for r in report["mjx"] if r["impl"] == impl), key=lambda r: r["num_envs"])
        ax.plot([r["num_envs"] for r in rows], [r["physics_steps_per_s"] for r in rows], "o-", label=f"MJX {impl}")
    styles = iter(["--", ":", "-.", (0, (5, 1))])
    for row in report.get("mujoco_rollout", []):
        ax.axhline(row["physics_steps_per_s"], ls=next(styles), color="gray", label=row["contender"])
    peer = report.get("peer", {})
    if "single" in peer:
        ax.axhline(peer["single"]["physics_steps_per_s"], color="tab:red", ls=":", label="peer, 1 env")
        workers = peer["async_vector"]["workers"]
        ax.axhline(
            peer["async_vector"]["physics_steps_per_s"], color="tab:red", ls="--", label=f"peer, async x{workers}"
        )
    ax.set(xscale="log", yscale="log", xlabel="instances (num_envs)", ylabel="physics steps/s")
    ax.set_title(f"{report['task']} on {report['device']}", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown_table(report: dict) -> str:
    """README table from a stored report: best figure of each contender and our ratio to it."""
    rows = []
    best = report["ratios"]["ours_best"]["physics_steps_per_s"] if report.get("ratios") else None
    for impl in sorted({r["impl"] for r in report["mjx"]}):
        top = max((r for r in report["mjx"] if r["impl"] == impl), key=lambda r: r["physics_steps_per_s"])
        rows.append((f"MJX {impl} ({top['num_envs']:,} instances)", top["physics_steps_per_s"], top["compile_s"]))
    for row in report.get("mujoco_rollout", []):
        rows.append((f"MuJoCo C, `mujoco.rollout`, {row['threads']} thread(s)", row["physics_steps_per_s"], None))
    peer = report.get("peer", {})
    if "single" in peer:
        rows.append(("seed peer (dm_control), 1 env", peer["single"]["physics_steps_per_s"], None))
        workers = peer["async_vector"]["workers"]
        rows.append((f"seed peer, AsyncVectorEnv x{workers}", peer["async_vector"]["physics_steps_per_s"], None))
    lines = ["| contender | physics steps/s | ours (best) / it | compile |", "|---|---:|---:|---:|"]
    for name, rate, compile_s in rows:
        ratio = f"{best / rate:.2f}x" if best else ""
        lines.append(f"| {name} | {rate:,.0f} | {ratio} | {f'{compile_s:.0f} s' if compile_s else ''} |")
    return "\n".join(lines)


def main(args) -> dict:
    """The CLI's `bench` subcommand (arguments defined in mjx_lerobot.cli)."""
    from mjx_lerobot.scene import enable_compilation_cache

    if args.table:
        print(markdown_table(json.loads(Path(args.table).read_text())))
        return {}
    enable_compilation_cache()
    report = run_bench(
        task=args.task,
        num_envs=tuple(int(n) for n in args.num_envs.split(",")),
        impls=tuple(args.impl.split(",")),
        steps=args.steps,
        max_seconds=args.max_seconds,
        peer_python=args.peer_python,
        peer_seconds=args.peer_seconds,
        adapter_envs=args.adapter_envs,
        jax_num_envs=tuple(int(n) for n in args.jax_num_envs.split(",")) if args.jax_num_envs else None,
    )
    if args.note:
        report["note"] = args.note
    path, png = write(report, args.out)
    print(markdown_table(report))
    print(f"wrote {path} and {png}", file=sys.stderr)
    return report
