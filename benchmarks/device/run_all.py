"""One prepared GPU run of everything the device targets need, in priority order, each part
inside its own share of one time budget, every result rewritten after every measured point.

    python benchmarks/device/run_all.py --sizes gpu --budget 540 --out OUT   # the GPU machine
    python benchmarks/device/run_all.py --sizes wiring --budget 60 --out OUT # wiring, any CPU

Parts (fractions of --budget; time a part leaves unused passes to the next):
  physics      Warp at 1..16384 instances and MJX-JAX at two sizes: the scripted expert's whole
               grasp and lift, physics steps/s, ms per control step, compile, bytes per instance
  adapter      the Gymnasium adapter against the per-step-synced raw step, 1 and 1024 instances
  cameras      front + wrist at 64^2 and 128^2, the batched renderer fused with physics:
               frames/s and env steps/s against num_envs, domain randomization off and on
  record       `record --cameras front,wrist` (batched renderer): episodes/min per batch
  ppo          PPO on reach from pixels (at most 4 min) and on lift_cube from state
  lift_pixels  the time left: PPO on lift_cube from pixels, resumed from its checkpoint when
               one is in --out (or --resume names one), so later calls add to it
Every part writes <part>_<device>.json into --out in one envelope (part, title, device,
machine, date, command, columns, rows, targets); the measuring is the package's own
(mjx_lerobot.bench.measure, mjx_lerobot.lerobot.record, mjx_lerobot.rl.ppo).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import shlex
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

PARTS = ("physics", "adapter", "cameras", "record", "ppo", "lift_pixels")
#: Share of --budget per part; lift_pixels gets what the others leave.
FRACTIONS = {"physics": 0.2, "adapter": 0.06, "cameras": 0.16, "record": 0.08, "ppo": 0.5, "lift_pixels": 0.0}

#: What each preset measures. gpu: the H100 run; wiring: a few instances and steps, seconds a part.
PRESETS: dict[str, dict[str, Any]] = {
    "gpu": {
        # lift_cube's expert grasps at ~45 control steps and lifts by ~80: 100 covers both.
        "physics": {"task": "lift_cube", "steps": 100, "warp": (1, 16, 256, 1024, 4096, 16384), "jax": (1024, 8192)},
        "adapter": {"task": "lift_cube", "num_envs": (1024, 1), "steps": 20, "rounds": 3},
        "cameras": {
            "task": "lift_cube",
            "sizes": (128, 64),
            "num_envs": (8192, 1024, 4096, 256),
            "steps": 20,
            "randomize_at": (8192, 1024),
        },
        "record": {"task": "lift_cube", "num_envs": (1024, 256), "batches": 2, "height": 240, "width": 320},
        "ppo": {
            "reach_pixels": {
                "task": "reach",
                "obs": "pixels",
                "num_envs": 1024,
                "max_s": 240,
                "share": 0.6,
                "eval": 1000,
                "set": {},
            },
            "lift_state": {"task": "lift_cube", "obs": "state", "num_envs": 8192, "eval": 1000, "set": {}},
        },
        "lift_pixels": {"task": "lift_cube", "num_envs": 2048, "image_size": 64, "eval": 1000, "min_s": 90, "set": {}},
        "first_point_s": 40,  # the least a part's first point needs (a compile); less left: skipped
        "eval_reserve_s": 40,
    },
    # Wiring: every code path once, on reach (the cheapest compile: ~15 s a point on 2 cores),
    # one instance count and MuJoCo Warp only (MJX-JAX compiles ~45 s; it runs the same calls).
    "wiring": {
        "physics": {"task": "reach", "steps": 4, "warp": (2,), "jax": ()},
        "adapter": {"task": "reach", "num_envs": (2,), "steps": 2, "rounds": 1},
        "cameras": {"task": "reach", "sizes": (16,), "num_envs": (2,), "steps": 2, "randomize_at": (2,)},
        "record": {"task": "reach", "num_envs": (2,), "batches": 1, "height": 32, "width": 32},
        "ppo": {
            "reach_pixels": {
                "task": "reach",
                "obs": "pixels",
                "num_envs": 4,
                "max_s": 240,
                "share": 0.6,
                "eval": 2,
                "set": {
                    "total_steps": 64,
                    "updates_per_chunk": 1,
                    "image_size": 16,
                    "conv_channels": [8],
                    "hidden": [16],
                },
            },
            "lift_state": {
                "task": "reach",
                "obs": "state",
                "num_envs": 4,
                "eval": 2,
                "set": {"total_steps": 64, "updates_per_chunk": 1, "hidden": [16]},
            },
        },
        "lift_pixels": {
            "task": "reach",
            "num_envs": 4,
            "image_size": 16,
            "eval": 2,
            "min_s": 0,
            "max_chunks": 1,  # one chunk a call: a second call resumes and adds one
            "set": {"total_steps": 640, "updates_per_chunk": 1, "conv_channels": [8], "hidden": [16]},
        },
        "first_point_s": 0,
        "eval_reserve_s": 0,
    },
}

#: The issue's targets, one H100. A count-bound one is met only where that count was measured
#: (`at` in each target says where its value comes from).
TARGETS = {
    "physics_steps_per_s": 20e6,
    "control_step_ms_up_to_1024": 1.0,
    "adapter_overhead_pct_1024": 10.0,
    "camera_frames_per_s_128": 200e3,
    "camera_frames_per_s_64": 1e6,
    "randomize_cost_pct_8192": 20.0,
    "record_episodes_per_min": 200.0,
    "reach_pixels": (0.95, 5.0),  # success, minutes
    "lift_cube_pixels": (0.80, 15.0),
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Part:
    """One part's result file: the envelope, rewritten (atomically) after every point."""

    def __init__(self, part: str, title: str, columns: list[str], ctx: Context, **extra: Any):
        from mjx_lerobot.report import device_tag

        self.path = ctx.out / f"{part}_{device_tag()}.json"
        self.doc: dict[str, Any] = {
            "part": part,
            "title": title,
            "device": device_tag(),
            "machine": ctx.machine,
            "date": datetime.date.today().isoformat(),
            "command": ctx.command,
            "sizes": ctx.args.sizes,
            "budget_s": round(max(ctx.left(), 0.0), 1),  # this part's share, with what earlier ones left
            "columns": columns,
            "rows": [],
            "targets": {},
            "skipped": [],
        } | extra
        self.write()

    @property
    def rows(self) -> list[dict]:
        return self.doc["rows"]

    def add(self, row: dict) -> dict:
        """A measured point, every column present (None where this point has no figure)."""
        row = {col: row.get(col) for col in self.doc["columns"]} | row
        self.rows.append(row)
        self.write()
        return row

    def skip(self, what: dict, why: str) -> None:
        self.doc["skipped"].append(what | {"why": why})
        log(f"skipped {what}: {why}")
        self.write()

    def target(self, name: str, value: float | None, met: bool, goal: str, **at: Any) -> None:
        self.doc["targets"][name] = {"value": value, "met": bool(met), "goal": goal} | ({"at": at} if at else {})
        self.write()

    def write(self) -> None:
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(_finite(self.doc), indent=2, default=_jsonable, allow_nan=False) + "\n")
        tmp.replace(self.path)


def _finite(value: Any) -> Any:
    """NaN and infinities as null (a training chunk where no episode ended has no success rate)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


@dataclasses.dataclass
class Context:
    args: argparse.Namespace
    preset: dict[str, Any]
    out: Path
    runs: Path
    command: str
    machine: dict
    start: float
    deadline: float = 0.0  # the current part's, perf_counter seconds

    def left(self) -> float:
        return self.deadline - time.perf_counter()

    def fits(self, estimate_s: float | None) -> tuple[bool, str]:
        left = self.left()
        need = self.preset["first_point_s"] if estimate_s is None else estimate_s
        if left <= 0 or need > left:
            return False, f"part budget: ~{need:.0f} s needed, {max(left, 0):.0f} s left"
        return True, ""


# -- 1. physics ------------------------------------------------------------------------------------
def physics(ctx: Context) -> None:
    from mjx_lerobot.bench.measure import measure_mjx
    from mjx_lerobot.bench.suite import estimate_mjx_s

    p = ctx.preset["physics"]
    columns = [
        "impl",
        "num_envs",
        "control_steps",
        "physics_steps_per_s",
        "env_steps_per_s",
        "control_step_ms",
        "compile_s",
        "first_call_s",
        "success_so_far",
        "state_bytes_per_instance",
        "rollout_bytes_per_instance",
        "device_peak_bytes_in_use",
    ]
    part = Part(
        "physics",
        f"Physics: {p['task']} expert, grasp and lift, per backend and instance count",
        columns,
        ctx,
        task=p["task"],
        what_is_timed="a jitted lax.scan of the scripted expert + env.step on every "
        "instance, the second call of one compile (mjx_lerobot.bench.measure.measure_mjx)",
    )
    warp, jax_sizes = sorted(p["warp"], reverse=True), sorted(p["jax"], reverse=True)
    # Most telling first: Warp's largest (the physics target), 1024 (the control-step target),
    # 1, MJX-JAX's largest; then the rest from the top down.
    head = [("warp", warp[0])] + [("warp", n) for n in (1024, warp[-1]) if n in warp[1:]]
    head += [("jax", n) for n in jax_sizes[:1]]
    order = head + [("warp", n) for n in warp if ("warp", n) not in head]
    order += [("jax", n) for n in jax_sizes if ("jax", n) not in head]
    for impl, n in dict.fromkeys(order):
        ok, why = ctx.fits(estimate_mjx_s(part.rows, impl, n, p["steps"]))
        if not ok:
            part.skip({"impl": impl, "num_envs": n}, why)
            continue
        try:
            row, _ = measure_mjx(p["task"], impl, n, p["steps"], replay=False)
        except Exception as err:  # out of device memory at the largest sizes, say
            part.skip({"impl": impl, "num_envs": n}, f"{type(err).__name__}: {err}"[:300])
            continue
        row["control_step_ms"] = 1e3 * row["run_s"] / p["steps"]
        part.add(row)
        log(
            f"physics {impl:4s} N={n:6d} {row['physics_steps_per_s']:>14,.0f} physics steps/s "
            f"{row['control_step_ms']:8.2f} ms/control step, compile {row['compile_s']:.0f} s, "
            f"success so far {row['success_so_far']:.0%}"
        )
        best = max(part.rows, key=lambda r: r["physics_steps_per_s"])
        part.target(
            "physics_steps_per_s",
            best["physics_steps_per_s"],
            best["physics_steps_per_s"] >= TARGETS["physics_steps_per_s"],
            ">= 20M at the best count",
            impl=best["impl"],
            num_envs=best["num_envs"],
        )
        small = [r for r in part.rows if r["impl"] == "warp" and r["num_envs"] <= 1024]
        if small:
            worst = max(small, key=lambda r: r["control_step_ms"])
            part.target(
                "control_step_ms_up_to_1024",
                worst["control_step_ms"],
                worst["control_step_ms"] <= TARGETS["control_step_ms_up_to_1024"]
                and any(r["num_envs"] >= 1024 for r in small),
                "<= 1 ms per control step, Warp, every count up to 1024",
                num_envs=worst["num_envs"],
            )


# -- 2. Gym adapter --------------------------------------------------------------------------------
def adapter(ctx: Context) -> None:
    from mjx_lerobot.bench.measure import measure_adapter

    p = ctx.preset["adapter"]
    columns = [
        "impl",
        "num_envs",
        "raw_step_ms",
        "raw_synced_step_ms",
        "adapter_step_ms",
        "overhead_pct",
        "overhead_vs_pipelined_pct",
        "compile_s",
    ]
    part = Part(
        "adapter",
        "Gymnasium adapter vs the raw jitted step, synced after every step",
        columns,
        ctx,
        task=p["task"],
        steps_per_round=p["steps"],
        rounds=p["rounds"],
    )
    for n in p["num_envs"]:
        compiles = [r["compile_s"] for r in part.rows]
        ok, why = ctx.fits(max(compiles) + 5 if compiles else None)
        if not ok:
            part.skip({"num_envs": n}, why)
            continue
        try:
            row = part.add(measure_adapter(p["task"], "warp", n, p["steps"], p["rounds"]))
        except Exception as err:
            part.skip({"num_envs": n}, f"{type(err).__name__}: {err}"[:300])
            continue
        log(
            f"adapter N={n}: raw synced {row['raw_synced_step_ms']:.3f} ms, adapter {row['adapter_step_ms']:.3f} ms,"
            f" {row['overhead_pct']:+.1f}%"
        )
        top = max(part.rows, key=lambda r: r["num_envs"])
        part.target(
            "adapter_overhead_pct_1024",
            top["overhead_pct"],
            top["overhead_pct"] <= TARGETS["adapter_overhead_pct_1024"] and top["num_envs"] >= 1024,
            "<= 10% over the synced raw step at 1024 instances",
            num_envs=top["num_envs"],
        )


# -- 3. cameras ------------------------------------------------------------------------------------
def cameras(ctx: Context) -> None:
    from mjx_lerobot.bench.measure import measure_cameras

    p = ctx.preset["cameras"]
    columns = [
        "size",
        "num_envs",
        "randomize",
        "camera_frames_per_s",
        "env_steps_per_s",
        "render_only_frames_per_s",
        "render_share_of_step",
        "randomize_cost_pct",
        "compile_s",
        "state_bytes_per_instance",
    ]
    part = Part(
        "cameras",
        "Cameras front + wrist, batched renderer fused with physics (Warp)",
        columns,
        ctx,
        task=p["task"],
        cameras=["front", "wrist"],
        control_steps=p["steps"],
    )
    # Nominal at every size and count first (largest first), then randomization's cost beside
    # the nominal point it is compared with.
    points = [(s, n, False) for s in p["sizes"] for n in p["num_envs"]]
    points += [(s, n, True) for s in p["sizes"] for n in p["randomize_at"]]
    for size, n, randomize in points:
        done = [r for r in part.rows if r["size"] == size]
        estimate = None
        if done:
            rate = max(r["env_steps_per_s"] for r in done)
            estimate = max(r["compile_s"] for r in done) + (2 + 1) * n * p["steps"] / rate
        ok, why = ctx.fits(estimate)
        if not ok:
            part.skip({"size": size, "num_envs": n, "randomize": randomize}, why)
            continue
        try:
            row, _ = measure_cameras(p["task"], n, size, p["steps"], randomize=randomize)
        except Exception as err:
            part.skip({"size": size, "num_envs": n, "randomize": randomize}, f"{type(err).__name__}: {err}"[:300])
            continue
        nominal = [r for r in part.rows if (r["size"], r["num_envs"], r["randomize"]) == (size, n, False)]
        if randomize and nominal:
            row["randomize_cost_pct"] = 100 * (row["run_s"] / nominal[0]["run_s"] - 1)
        part.add(row)
        log(
            f"cameras {size:3d}^2 N={n:6d} {'randomized' if randomize else 'nominal':10s} "
            f"{row['camera_frames_per_s']:>12,.0f} frames/s {row['env_steps_per_s']:>10,.0f} env steps/s "
            f"compile {row['compile_s']:.0f} s"
        )
        for side, key in ((128, "camera_frames_per_s_128"), (64, "camera_frames_per_s_64")):
            rows = [r for r in part.rows if r["size"] == side and not r["randomize"]]
            if rows:
                best = max(rows, key=lambda r: r["camera_frames_per_s"])
                part.target(
                    key,
                    best["camera_frames_per_s"],
                    best["camera_frames_per_s"] >= TARGETS[key],
                    f">= {TARGETS[key]:,.0f} frames/s at {side}^2, front + wrist",
                    num_envs=best["num_envs"],
                )
        costs = [r for r in part.rows if r["randomize_cost_pct"] is not None]
        if costs:
            top = max(costs, key=lambda r: (r["num_envs"], r["size"]))
            part.target(
                "randomize_cost_pct_8192",
                top["randomize_cost_pct"],
                top["randomize_cost_pct"] <= TARGETS["randomize_cost_pct_8192"] and top["num_envs"] >= 8192,
                "<= 20% more time per step at 8k instances",
                num_envs=top["num_envs"],
                size=top["size"],
            )


# -- 4. record -------------------------------------------------------------------------------------
def record(ctx: Context) -> None:
    p = ctx.preset["record"]
    columns = [
        "num_envs",
        "episodes_written",
        "frames_written",
        "episodes_per_min",
        "frames_per_s",
        "compile_s",
        "seconds",
        "wall_s",
        "height",
        "width",
        "impl",
        "renderer",
    ]
    part = Part(
        "record",
        "record --cameras front,wrist --renderer batched: episodes/min per batch",
        columns,
        ctx,
        task=p["task"],
        cameras=["front", "wrist"],
    )
    try:
        from mjx_lerobot.lerobot import record as rec
    except ImportError as err:
        part.skip({"num_envs": list(p["num_envs"])}, f"lerobot's dataset writer is not installed: {err}")
        return
    for n in p["num_envs"]:
        estimate = None
        if part.rows:
            last = part.rows[-1]
            estimate = last["compile_s"] + p["batches"] * n / last["episodes_per_min"] * 60
        ok, why = ctx.fits(estimate)
        if not ok:
            part.skip({"num_envs": n}, why)
            continue
        root = Path(tempfile.mkdtemp(prefix="record_", dir=ctx.runs))
        cfg = rec.RecordConfig(
            task=p["task"],
            episodes=p["batches"] * n,
            num_envs=n,
            cameras=("front", "wrist"),
            height=p["height"],
            width=p["width"],
            root=str(root / "dataset"),
            repo_id=f"bench/record_{n}",
            progress=False,
            impl="warp",
            renderer="batched",
        )
        t0 = time.perf_counter()
        try:
            result = rec.record(cfg)
        except Exception as err:
            part.skip({"num_envs": n}, f"{type(err).__name__}: {err}"[:300])
            continue
        finally:
            shutil.rmtree(root, ignore_errors=True)
        keys = ("episodes_written", "frames_written", "compile_s", "seconds", "episodes_per_min", "frames_per_s")
        row = part.add(
            {
                "num_envs": n,
                "wall_s": round(time.perf_counter() - t0, 1),
                "height": p["height"],
                "width": p["width"],
                "impl": result["impl"],
                "renderer": "batched",
            }
            | {k: result[k] for k in keys}
        )
        log(f"record N={n}: {row['episodes_per_min']:.1f} episodes/min, {row['frames_per_s']:.0f} frames/s")
        best = max(part.rows, key=lambda r: r["episodes_per_min"])
        part.target(
            "record_episodes_per_min",
            best["episodes_per_min"],
            best["episodes_per_min"] >= TARGETS["record_episodes_per_min"],
            f">= 200 episodes/min, front + wrist at {p['height']}x{p['width']}",
            num_envs=best["num_envs"],
        )


# -- 5. PPO ----------------------------------------------------------------------------------------
PPO_COLUMNS = [
    "run",
    "task",
    "obs",
    "num_envs",
    "env_steps",
    "train_wall_s",
    "steps_per_s",
    "train_success_rate",
    "episode_return",
    "minutes_to_95",
    "eval_success_rate",
    "eval_episodes",
]


def ppo_config(spec: dict, image_size: int | None = None) -> Any:
    from mjx_lerobot.rl import ppo

    overrides = {"num_envs": spec["num_envs"], "impl": "warp", "obs": spec["obs"], "total_steps": 1_000_000_000}
    if image_size is not None:
        overrides["image_size"] = image_size
    return ppo.default_config(spec["task"], **(overrides | spec["set"]))


def ppo_part(ctx: Context) -> None:
    from mjx_lerobot.rl import ppo

    p = ctx.preset["ppo"]
    part = Part(
        "ppo", "PPO time to success: reach from pixels, lift_cube from state (Warp)", PPO_COLUMNS, ctx, curves={}
    )
    runs = [("reach_pixels", p["reach_pixels"]), ("lift_state", p["lift_state"])]
    for i, (name, spec) in enumerate(runs):
        left = ctx.left()
        share = left * spec.get("share", 1.0) if i < len(runs) - 1 else left
        train_s = min(share, spec.get("max_s", math.inf)) - ctx.preset["eval_reserve_s"]
        if train_s <= 0 or left < ctx.preset["first_point_s"]:
            part.skip({"run": name}, f"part budget: {max(left, 0):.0f} s left")
            continue
        config = ppo_config(spec)
        row = {"run": name, "task": spec["task"], "obs": spec["obs"], "num_envs": spec["num_envs"]}
        part.rows.append({col: None for col in PPO_COLUMNS} | row)
        index = len(part.rows) - 1
        history: dict[str, list] = {}
        part.doc["curves"][name] = history

        def on_chunk(r: dict, index: int = index, history: dict = history) -> None:
            for k, v in r.items():
                history.setdefault(k, []).append(v)
            part.rows[index].update(
                env_steps=r["env_steps"],
                train_wall_s=r["wall_s"],
                steps_per_s=r["steps_per_s"],
                train_success_rate=r["success_rate"],
                episode_return=r["episode_return"],
            )
            part.write()

        log(f"ppo {name}: {spec['num_envs']} instances, at most {train_s:.0f} s of training")
        try:
            result = ppo.train(
                config, seed=0, progress=False, out_dir=ctx.runs / name, max_minutes=train_s / 60, log=on_chunk
            )
            part.rows[index]["minutes_to_95"] = ppo.minutes_to(result.history, 0.95)
            part.write()
            if spec["eval"]:
                stats = ppo.evaluate(result, num_episodes=spec["eval"], impl="warp", seed=10_000)
                part.rows[index].update(eval_success_rate=stats["success_rate"], eval_episodes=stats["episodes"])
                part.write()
        except Exception as err:
            part.skip({"run": name}, f"{type(err).__name__}: {err}"[:300])
            traceback.print_exc()
            continue
        r = part.rows[index]
        log(
            f"ppo {name}: {r['env_steps']:,} env steps in {r['train_wall_s']:.0f} s, train success "
            f"{r['train_success_rate']:.0%}, eval {r['eval_success_rate']}"
        )
        if name == "reach_pixels":
            want, minutes = TARGETS["reach_pixels"]
            ok = (r["eval_success_rate"] or 0) >= want and r["train_wall_s"] <= 60 * minutes
            part.target(
                "reach_pixels_success",
                r["eval_success_rate"],
                ok,
                ">= 95% eval success after <= 5 min of training",
                train_minutes=r["train_wall_s"] / 60,
            )


# -- 6. lift_cube from pixels, resumable -----------------------------------------------------------
def lift_pixels(ctx: Context) -> None:
    from mjx_lerobot.report import device_tag
    from mjx_lerobot.rl import ppo

    p = ctx.preset["lift_pixels"]
    columns = ["call", "env_steps", "wall_s", "steps_per_s", "success_rate", "episode_return"]
    part = Part(
        "lift_pixels",
        "PPO lift_cube from pixels (front + wrist), resumable across calls",
        columns,
        ctx,
        task=p["task"],
        num_envs=p["num_envs"],
        image_size=p["image_size"],
        eval=None,
        checkpoint=f"lift_pixels_{device_tag()}.msgpack",
    )
    checkpoint = ctx.out / part.doc["checkpoint"]
    resume = Path(ctx.args.resume) if ctx.args.resume else checkpoint
    config = ppo_config({"obs": "pixels", **p}, image_size=p["image_size"])
    left = ctx.left() - ctx.preset["eval_reserve_s"]
    if left < max(p["min_s"], 0.001):
        part.skip({"run": "lift_pixels"}, f"budget: {max(left, 0):.0f} s left (needs {p['min_s']} s)")
        return
    log(f"lift_pixels: {'resuming ' + resume.name if resume.is_file() else 'from scratch'}, {left:.0f} s")
    try:
        earlier = resume if resume.is_file() else None
        result = train_resumable(config, earlier, checkpoint, left, part, p.get("max_chunks"))
        part.doc["minutes_to"] = {f"{r:.0%}": ppo.minutes_to(result.history, r) for r in (0.5, 0.8, 0.95)}
        part.write()
        if p["eval"] and ctx.left() > 0:
            stats = ppo.evaluate(result, num_episodes=p["eval"], impl="warp", seed=10_000)
            part.doc["eval"] = stats
            want, minutes = TARGETS["lift_cube_pixels"]
            wall = result.history["wall_s"][-1]
            part.target(
                "lift_cube_pixels_success",
                stats["success_rate"],
                stats["success_rate"] >= want and wall <= 60 * minutes,
                ">= 80% eval success after <= 15 min of training (all calls)",
                train_minutes=wall / 60,
            )
            log(f"lift_pixels: eval success {stats['success_rate']:.1%} after {wall / 60:.1f} min")
    except Exception as err:
        part.skip({"run": "lift_pixels"}, f"{type(err).__name__}: {err}"[:300])
        traceback.print_exc()


def train_resumable(
    config: Any, resume: Path | None, checkpoint: Path, seconds: float, part: Part, max_chunks: int | None = None
) -> Any:
    """PPO chunks (the package's Trainer) until `seconds` pass, continuing `resume`'s policy and
    history; the checkpoint and the part's rows are rewritten after every chunk. A resumed run
    restarts Adam's moments and the env batch; its wall time adds to the earlier calls'."""
    import jax

    from mjx_lerobot.rl import ppo

    history: dict[str, list] = {k: [] for k in ("env_steps", "wall_s", "episode_return", "success_rate", "steps_per_s")}
    history["call"] = []
    if getattr(config, "curriculum", False):
        raise ValueError("a curriculum's schedule lives in ppo.train's loop, which cannot resume: train without one")
    trainer = ppo.Trainer(config)
    earlier = ppo.load(resume) if resume is not None else None
    if earlier is not None:
        if dataclasses.asdict(earlier.config) | {"total_steps": 0} != dataclasses.asdict(config) | {"total_steps": 0}:
            raise ValueError(f"{resume.name} was trained with another config; move it away to start afresh")
        history = earlier.history | {"call": earlier.history.get("call", [1] * len(earlier.history["env_steps"]))}
    call = (max(history["call"]) + 1) if history["call"] else 1
    runner = trainer.init(len(history["env_steps"]))  # a fresh key per call
    if earlier is not None:
        params = jax.device_put(earlier.params)
        runner = runner.replace(params=params, normalizer=earlier.normalizer, opt_state=trainer.optimizer.init(params))
    part.rows[:] = [{c: history[c][i] for c in part.doc["columns"]} for i in range(len(history["env_steps"]))]
    wall0 = history["wall_s"][-1] if history["wall_s"] else 0.0
    steps_per_chunk = config.batch_size * config.updates_per_chunk
    chunks = math.ceil(config.num_updates / config.updates_per_chunk) - len(history["env_steps"])
    t_start, last_return = time.perf_counter(), history["episode_return"][-1] if history["episode_return"] else math.nan
    result = ppo.TrainResult(config, runner.params, runner.normalizer, history)
    for _ in range(max(min(chunks, max_chunks or chunks), 0)):
        t0 = time.perf_counter()
        runner, metrics = trainer.train_chunk(runner)
        metrics = jax.device_get(metrics)
        episodes = float(metrics["episodes"].sum())
        if episodes:
            last_return = float(metrics["return_sum"].sum() / episodes)
        row = {
            "call": call,
            "env_steps": (history["env_steps"][-1] if history["env_steps"] else 0) + steps_per_chunk,
            "wall_s": wall0 + time.perf_counter() - t_start,
            "steps_per_s": steps_per_chunk / (time.perf_counter() - t0),
            "success_rate": float(metrics["success_sum"].sum() / episodes) if episodes else math.nan,
            "episode_return": last_return,
        }
        for k, v in row.items():
            history[k].append(v)
        result = ppo.TrainResult(config, runner.params, runner.normalizer, history)
        ppo.save(result, checkpoint)
        part.add(row)
        if time.perf_counter() - t_start > seconds:
            break
    return result


# -- the run ---------------------------------------------------------------------------------------
RUNNERS: dict[str, Callable[[Context], None]] = {
    "physics": physics,
    "adapter": adapter,
    "cameras": cameras,
    "record": record,
    "ppo": ppo_part,
    "lift_pixels": lift_pixels,
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="gpu", choices=tuple(PRESETS), help="gpu: the H100 run; wiring: seconds")
    parser.add_argument("--budget", type=float, default=540.0, help="seconds for all parts together")
    parser.add_argument("--out", required=True, help="folder for <part>_<device>.json")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, from {','.join(PARTS)}")
    parser.add_argument("--fractions", default="", help="override shares of --budget, e.g. physics=0.3,ppo=0.4")
    parser.add_argument("--runs", default="", help="PPO run folders and scratch (default: a temporary folder)")
    parser.add_argument("--resume", default="", help="lift_pixels checkpoint to continue (default: the one in --out)")
    args = parser.parse_args(argv)
    parts = [p for p in args.parts.split(",") if p]
    if unknown := set(parts) - set(PARTS):
        parser.error(f"unknown parts {sorted(unknown)}; choose from {PARTS}")
    args.parts = [p for p in PARTS if p in parts]
    args.fraction = dict(FRACTIONS)
    for item in filter(None, args.fractions.split(",")):
        name, _, value = item.partition("=")
        if name not in FRACTIONS:
            parser.error(f"--fractions: unknown part {name!r}")
        args.fraction[name] = float(value)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.sizes == "wiring":
        # Wiring times nothing worth keeping: XLA's CPU backend compiles ~2x faster unoptimized.
        fast = "--xla_backend_optimization_level=0 --xla_llvm_disable_expensive_passes=true"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {fast}".strip()
    import jax

    from mjx_lerobot.report import device_name, machine_info

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = Path(args.runs) if args.runs else Path(tempfile.mkdtemp(prefix="run_all_"))
    runs.mkdir(parents=True, exist_ok=True)
    argv_out = [
        a if prev not in ("--out", "--runs", "--resume") else Path(a).name
        for prev, a in zip(["", *sys.argv[1:]], sys.argv[1:], strict=False)
    ]
    command = os.environ.get("RUN_ALL_COMMAND") or shlex.join(["python", "benchmarks/device/run_all.py", *argv_out])
    if args.sizes == "wiring":
        # Programs compiled twice in one run (the PPO runs' identical configs) compile once.
        from mjx_lerobot.sim.scene import enable_compilation_cache

        enable_compilation_cache(runs / "cache")
    ctx = Context(args, PRESETS[args.sizes], out, runs, command, machine_info(), time.perf_counter())
    log(
        f"device {device_name()} ({jax.devices()[0]}), sizes {args.sizes}, budget {args.budget:.0f} s, "
        f"parts {','.join(args.parts)}"
    )
    total = sum(args.fraction[p] for p in args.parts) or 1.0
    spent_share, failed = 0.0, []
    for name in args.parts:
        spent_share += args.fraction[name] / total
        # Cumulative deadlines: what a part leaves unused passes on; the last part gets the rest.
        last = name == args.parts[-1]
        ctx.deadline = ctx.start + args.budget * (1.0 if last else spent_share)
        log(f"== {name}: until {ctx.deadline - ctx.start:.0f} s of {args.budget:.0f} ({ctx.left():.0f} s left)")
        t0 = time.perf_counter()
        try:
            RUNNERS[name](ctx)
        except Exception:  # one part's failure must not cost the others
            traceback.print_exc()
            failed.append(name)
        log(f"== {name} done in {time.perf_counter() - t0:.0f} s")
    log(f"all parts in {time.perf_counter() - ctx.start:.0f} s; results in {out}")
    if not args.runs:
        shutil.rmtree(runs, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
