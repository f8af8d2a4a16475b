"""`mjx-lerobot bench`: every contender measured side by side in one run, on this machine.

    mjx-lerobot bench --task lift_cube --num-envs 1,64,256,1024 --impl warp,jax --max-seconds 1200

These machines are noisy, so a speed claim only holds as a ratio taken in one run. For each
(impl, num_envs) it compiles one rollout of the task's scripted expert (contacts and grasps
included) and times its second call: physics and env steps/s, compile time, memory per
instance. In the same run it times the baselines on the same work:

- MuJoCo C through `mujoco.rollout`, on the same MJCF, from the same start states and with
  the same joint targets the expert sent: one thread, and every core over a few batch sizes;
- the seed peer, LeRobotHackathonEnv on dm_control, in its own Python environment
  (`benchmarks/peer_bench.py`; set it up with `benchmarks/setup_peer.sh`): one env, and
  AsyncVectorEnv with one worker per core;
- the Gymnasium adapter against the raw jitted step (what a LeRobot user pays on top).

The most telling points come first (each backend's largest size, the baselines, its smallest
size, the adapter, then the sizes in between from the top down), so a `--max-seconds` budget
skips the least telling ones; a point whose estimated cost no longer fits is recorded as
skipped. The JSON is rewritten after every point, so an interrupted run keeps what it measured.

This module is the run and the command; the parts live beside it: config.py (what to measure,
in which order), measure.py (our rollouts, MuJoCo C, the adapter), peer.py (the seed peer),
results.py (ratios, JSON, PNG, the README's tables). Their public names are importable from
here too.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax

from mjx_lerobot.bench.config import BenchConfig, check_config, config_from_args, measurement_order, parse_sizes
from mjx_lerobot.bench.measure import (
    measure_adapter,
    measure_mjx,
    measure_mujoco_rollout,
    memory_per_instance,
    replay_policy,
    rollout_configs,
)
from mjx_lerobot.bench.peer import PEER_SCRIPT, measure_peer, peer_best
from mjx_lerobot.bench.results import default_path, markdown_table, plot, ratios, resolve_out, write
from mjx_lerobot.report import machine_info

__all__ = [
    "PEER_SCRIPT",
    "BenchConfig",
    "check_config",
    "config_from_args",
    "default_path",
    "estimate_mjx_s",
    "main",
    "markdown_table",
    "measure_adapter",
    "measure_mjx",
    "measure_mujoco_rollout",
    "measure_peer",
    "measurement_order",
    "memory_per_instance",
    "parse_sizes",
    "plot",
    "ratios",
    "replay_policy",
    "resolve_out",
    "rollout_configs",
    "run_bench",
    "write",
]


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
            say(f"peer: {peer_best(report['peer']):,.0f} physics steps/s in its best mode")
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
