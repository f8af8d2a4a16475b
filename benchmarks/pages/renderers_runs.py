"""Bespoke renderers for recording, expert, robustness and PPO results: each takes a results file's
JSON and returns (title, meaning, body lines)."""

from __future__ import annotations

import math
from typing import Any

from .format import Rendered, columns_table, fixed, fmt, fmt_rate, impl_key, pct, table, times


def render_record(d: dict) -> Rendered:
    """`mjx-lerobot record` runs, one per row."""
    body = columns_table(
        d.get("results", []),
        [
            ("command", "command", lambda v: f"`{v}`" if v else ""),
            ("cameras", "cameras", lambda v: fmt(v) or "none"),
            ("episodes", "episodes", fmt),
            ("frames", "frames", fmt),
            ("compile s", "compile_s", lambda v: fixed(v, 1)),
            ("seconds", "seconds", lambda v: fixed(v, 1)),
            ("episodes/min", "episodes_per_min", fmt_rate),
            ("frames/s", "frames_per_s", fmt_rate),
            ("success", "success_rate", pct),
        ],
    )
    meaning = "Episodes/min written to a LeRobotDataset by the experts; higher is better."
    return "Recording LeRobot datasets", meaning, body


def render_record_speed(d: dict) -> Rendered:
    """benchmarks/record_speed.py: the recorder's variants side by side."""
    body = columns_table(
        d.get("results", []),
        [
            ("variant", "variant", fmt),
            ("backend", "impl", fmt),
            ("episodes", "episodes_written", fmt),
            ("frames", "frames_written", fmt),
            ("compile s", "compile_s", lambda v: fixed(v, 1)),
            ("seconds", "seconds", lambda v: fixed(v, 1)),
            ("episodes/min", "episodes_per_min", fmt_rate),
            ("frames/s", "frames_per_s", fmt_rate),
            ("speed over 'before'", "speedup_over_before", times),
        ],
    )
    args = d.get("command") if isinstance(d.get("command"), dict) else {}
    cams = args.get("cameras", "?")
    size = f"{args.get('height', '?')}x{args.get('width', '?')}"
    meaning = f"Episodes/min recording with cameras ({cams}, {size}) per recorder variant; higher is better."
    return "Recording with cameras, by variant", meaning, body


def render_record_durable(d: dict) -> Rendered:
    """benchmarks/record_durable.py: what making the dataset durable more often costs."""
    every = d.get("durable_every_s", {})
    best = d.get("episodes_per_min_best", {})
    cost = d.get("cost_vs_none", {})
    runs = d.get("runs", {})
    rows = []
    for name in sorted(every, key=lambda n: (every[n] is None, -(every[n] or 0), n)):
        points = sorted({r.get("durable_points") for r in runs.get(name, []) if "durable_points" in r})
        rows.append(
            [
                name,
                "never" if every[name] is None else f"{fmt(every[name])} s",
                fmt_rate(best.get(name)),
                pct(cost.get(name)),
                ", ".join(fmt_rate(r.get("episodes_per_min")) for r in runs.get(name, [])),
                ", ".join(fmt(p) for p in points),
            ]
        )
    body = table(["setting", "durable every", "best episodes/min", "cost vs none", "each run", "durable points"], rows)
    s = d.get("settings", {})
    meaning = (
        f"Episodes/min recording {fmt(s.get('episodes'))} episodes on {fmt(s.get('num_envs'))} instances "
        f"(cameras {s.get('cameras', '?')}) by how often the dataset is made durable; lower cost is better."
    )
    return f"Durable recording, {s.get('task', '?')}", meaning, body


def render_experts(d: dict) -> Rendered:
    """`mjx-lerobot experts`: each scripted expert's success rate over seeded episodes."""
    rows = sorted(d.get("results", []), key=lambda r: (r.get("task", ""), *impl_key(r)))
    body = columns_table(
        rows,
        [
            ("task", "task", fmt),
            ("backend", "impl", fmt),
            ("randomized", "randomize", fmt),
            ("variation", "variation", fmt),
            ("action noise", "action_noise", fmt),
            ("episodes", "episodes", fmt),
            ("success", "success_rate", pct),
            ("faulted instances", "instances_with_faults", fmt),
            ("compile s", "compile_s", lambda v: fixed(v, 1)),
            ("run s", "run_s", lambda v: fixed(v, 1)),
        ],
    )
    randomized = any(r.get("randomize") is True for r in rows)
    title = "Scripted experts' success" + (", randomized scenes" if randomized else "")
    meaning = "Share of seeded episodes each task's scripted expert solves, per backend; higher is better."
    return title, meaning, body


def render_robustness(d: dict) -> Rendered:
    """benchmarks/robustness.py: PPO policies trained nominal or randomized, evaluated under shifts."""
    results = d.get("results", {})
    runs = list(results)
    conditions: list[str] = []
    for run in runs:
        for c in results[run].get("eval", {}):
            if c not in conditions:
                conditions.append(c)
    shifts = d.get("shifts", {})

    def shift_text(name: str) -> str:
        spec = shifts.get(name)
        if not isinstance(spec, dict):
            return ""
        parts = []
        for k, v in spec.items():
            lo_hi = v if isinstance(v, list) and len(v) == 2 else None
            parts.append(f"{k} {fmt(lo_hi[0])}" if lo_hi and lo_hi[0] == lo_hi[1] else f"{k} {fmt(v)}")
        return "; ".join(parts)

    rows = [
        [c, shift_text(c)] + [pct(results[r].get("eval", {}).get(c, {}).get("success_rate")) for r in runs]
        for c in conditions
    ]
    body = table(["condition", "shift", *[f"trained {r}" for r in runs]], rows, "ll" + "r" * len(runs))
    body += ["", "Training:", ""]
    body += table(
        ["run", "env steps", "train wall s"],
        [[r, fmt(results[r].get("env_steps")), fixed(results[r].get("train_wall_s"), 1)] for r in runs],
    )
    meaning = (
        f"Success over {fmt(d.get('episodes'))} seeded episodes of PPO policies ({d.get('obs', '?')} observations) "
        "under each shifted condition; higher is better."
    )
    return f"Robustness of trained policies, {d.get('task', '?')}", meaning, body


def render_ppo(d: dict) -> Rendered:
    """mjx-lerobot train (PPO): time to reach success, and the final policy's evaluation."""
    cfg = d.get("config", {})
    ev = d.get("eval", {})
    minutes = d.get("minutes_to_train_success", {})
    rows = [
        ["backend", fmt(cfg.get("impl", ev.get("impl")))],
        ["instances", fmt(cfg.get("num_envs"))],
        ["env steps", fmt(d.get("env_steps"))],
        ["train wall s", fixed(d.get("train_wall_s"), 1)],
    ]
    rows += [[f"minutes to {k} train success", fixed(v, 2)] for k, v in sorted(minutes.items(), key=_pct_key)]
    rows += [
        ["final train success", pct(d.get("final_train_success_rate"))],
        ["final train return", fmt_rate(d.get("final_train_return"))],
        [f"eval success ({fmt(ev.get('episodes'))} seeded episodes)", pct(ev.get("success_rate"))],
        ["eval mean steps to end", fmt_rate(ev.get("mean_steps_to_end"))],
        ["eval faulted instances", fmt(ev.get("instances_with_faults"))],
    ]
    body = table(["", "value"], rows)
    hyper = ", ".join(f"{k} {fmt(v)}" for k, v in cfg.items() if k not in ("task", "num_envs", "impl", "total_steps"))
    if hyper:
        body += ["", f"Config: {hyper}."]
    meaning = "Minutes of PPO training until training episodes reach each success rate; the final policy's evaluation."
    return f"PPO, {d.get('task', cfg.get('task', '?'))}", meaning, body


def _pct_key(item: tuple[str, Any]) -> float:
    try:
        return float(item[0].rstrip("%"))
    except ValueError:
        return math.inf
