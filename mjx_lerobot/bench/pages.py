"""The benchmark results page, generated from the stored JSON results rather than copied by hand.

`render_pages` reads every `*.json` under a results folder and returns Markdown: one section per
file, grouped by what it measures, each stating the machine, the date and the command that
produced it. Known file kinds get their own tables; any file in the envelope

    {"part", "title", "device", "machine", "date", "command", "columns": [...], "rows": [{...}],
     "targets": {name: {"value", "met"}}}

renders through the generic renderer; anything else lists its top-level scalar fields.

Standard library only (no jax), so `python benchmarks/make_pages.py --check` and its test are fast.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import re
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HEADER = (
    "# Benchmark results\n\n"
    "Generated from the JSON files under `results/` by `python benchmarks/make_pages.py`; do not edit by hand\n"
    "(`python benchmarks/make_pages.py --check` fails when this page and the JSON disagree)."
)

# File-name prefix (relative to the results folder) -> the command that writes such a file, for files
# that do not store their own "command" or "args". The longest matching prefix wins; the second
# entry, when given, is the command for runs on a GPU machine (a device tag not starting with "cpu").
COMMANDS: dict[str, tuple[str, str | None]] = {
    "bench_": ("mjx-lerobot bench", "bash benchmarks/device_bench.sh"),
    "backends_": ("python benchmarks/backends.py", None),
    "adapter_overhead_": ("python benchmarks/adapter_overhead.py", None),
    "adapter_overhead_c_": (
        "python benchmarks/adapter_overhead.py --impl c --num-envs 1,16,256,1024 --steps 20 --rounds 5",
        None,
    ),
    "pixels_": ("python benchmarks/pixels.py", "bash benchmarks/device_pixels.sh"),
    "video_": ("python benchmarks/video.py", None),
    "mesh_render": ("python benchmarks/mesh_render.py", None),
    "record_": ("mjx-lerobot record (one run per row)", None),
    "record_speed_": ("python benchmarks/record_speed.py", "bash benchmarks/device_record.sh"),
    "record_durable_": ("python benchmarks/record_durable.py", None),
    "experts": ("mjx-lerobot experts", None),
    "experts_c_": ("mjx-lerobot experts --impl c", None),
    "experts_randomized_": ("mjx-lerobot experts --randomize", None),
    "experts_randomized_c_": ("mjx-lerobot experts --impl c --randomize", None),
    "experts_breadth_": ("mjx-lerobot experts --tasks <task> --impl <backend> (one run per row)", None),
    "robustness_": ("python benchmarks/robustness.py", None),
    "ik_": ("python benchmarks/ik.py", None),
    "demo_": ("python benchmarks/demo_wall.py", None),
    "ppo/": ("bash benchmarks/device_train.sh <task> <num_envs> <minutes>", None),
}

# Groups in page order: (heading, file-name prefixes). Envelope files group by their "part".
GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("Physics and backends", ("bench_", "backends_", "ik_", "demo_")),
    ("Gymnasium adapter", ("adapter_overhead",)),
    ("Cameras and pixels", ("pixels_", "video_")),
    ("Meshes", ("mesh_render",)),
    ("Recording", ("record_",)),
    ("Experts", ("experts",)),
    ("Robustness", ("robustness_",)),
    ("PPO", ("ppo/",)),
]
OTHER_GROUP = "Other results"
# An envelope's "part" -> the group it joins (an unlisted part becomes a group of its own).
PART_GROUPS = {
    "physics": "Physics and backends",
    "backends": "Physics and backends",
    "adapter": "Gymnasium adapter",
    "cameras": "Cameras and pixels",
    "pixels": "Cameras and pixels",
    "meshes": "Meshes",
    "record": "Recording",
    "recording": "Recording",
    "experts": "Experts",
    "robustness": "Robustness",
    "ppo": "PPO",
    "lift_pixels": "PPO",
}

IMPL_ORDER = {"c": 0, "jax": 1, "warp": 2}
NUMERIC = re.compile(r"^[-+]?[\d,]*\.?\d+(e[-+]?\d+)?( ?(%|x|s|\^2))?$")


@dataclass
class Section:
    """One results file rendered: its group, heading, one-line meaning and Markdown body."""

    group: str
    title: str
    path: str
    meaning: str
    body: list[str] = field(default_factory=list)
    command: str | None = None


# ---------------------------------------------------------------------------------------------
# Number formatting


def fmt_rate(value: Any) -> str:
    """A rate to 3 significant figures with thousands separators: 6,450,000, 20,700, 17.2, 0.0338.

    Args:
        value: a number (anything else is returned as text).

    Returns:
        The formatted number.
    """
    if not isinstance(value, int | float) or isinstance(value, bool):
        return fmt(value)
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    digits = math.floor(math.log10(abs(value)))
    if digits >= 2:
        return f"{round(value, 2 - digits):,.0f}"
    return f"{value:#.3g}".rstrip(".")


def fmt(value: Any) -> str:
    """Any JSON value as a table cell: ints with separators, floats to 3 significant figures.

    Args:
        value: a JSON value.

    Returns:
        Markdown-safe text.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        if value != 0 and abs(value) < 1e-3:
            return f"{value:.2e}"
        return fmt_rate(value)
    if isinstance(value, list):
        return ", ".join(fmt(v) for v in value)
    if isinstance(value, dict):
        return _cell(json.dumps(value, sort_keys=True))
    return _cell(str(value))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _fixed(value: Any, places: int = 1) -> str:
    return f"{value:,.{places}f}" if isinstance(value, int | float) else fmt(value)


def _pct(value: Any) -> str:
    return f"{value:.1%}" if isinstance(value, int | float) else fmt(value)


def _signed_pct(value: Any) -> str:
    return f"{value:+.1f}%" if isinstance(value, int | float) else fmt(value)


def _times(value: Any) -> str:
    if not isinstance(value, int | float):
        return fmt(value)
    if abs(value) >= 100:
        return f"{value:,.0f}x"
    return f"{value:.1f}x" if abs(value) >= 10 else f"{value:.2f}x" if abs(value) >= 1 else f"{value:.3g}x"


def _kb(value: Any) -> str:
    return fmt_rate(value / 1024) if isinstance(value, int | float) else fmt(value)


def table(header: list[str], rows: Iterable[list[str]], align: str | None = None) -> list[str]:
    """A Markdown table.

    Args:
        header: column names.
        rows: cells, already formatted.
        align: one character per column, "l" or "r" (default: numeric columns right, the
            first column and text columns left).

    Returns:
        The table's lines.
    """
    rows = [list(r) for r in rows]
    if align is None:
        align = "".join(
            "r" if i and all(NUMERIC.match(r[i]) for r in rows if i < len(r) and r[i]) else "l"
            for i in range(len(header))
        )
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


# ---------------------------------------------------------------------------------------------
# Machine, date, command


def machine_facts(report: dict) -> dict:
    """Device tag, CPU count and JAX device, whether stored at the top level or under "machine".

    Args:
        report: a results file's JSON.

    Returns:
        A dict with whichever of "device", "cpu_count", "jax_device" the file states.
    """
    facts: dict[str, Any] = {}
    nested = report.get("machine")
    for source in (nested if isinstance(nested, dict) else {}, report):
        for key in ("device", "cpu_count", "jax_device"):
            if key not in facts and isinstance(source.get(key), str | int) and not isinstance(source[key], bool):
                facts[key] = source[key]
    return facts


def machine_line(report: dict) -> str:
    """'`cpu-2core` (2 CPUs, jax `cpu:0`)' or 'not stated'."""
    facts = machine_facts(report)
    if not facts:
        return "not stated"
    extra = []
    if "cpu_count" in facts:
        extra.append(f"{fmt(facts['cpu_count'])} CPUs")
    if "jax_device" in facts:
        extra.append(f"jax `{facts['jax_device']}`")
    device = f"`{facts['device']}`" if "device" in facts else "device not stated"
    return device + (f" ({', '.join(extra)})" if extra else "")


def git_date(path: Path) -> str | None:
    """The date (YYYY-MM-DD) of the last commit that touched a file, or None outside git.

    Args:
        path: the file.

    Returns:
        The commit date, or None when git is missing or the file has no commit.
    """
    try:
        done = subprocess.run(
            ["git", "log", "-1", "--format=%cs", "--", path.name],
            cwd=path.parent,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    date = done.stdout.strip()
    return date if done.returncode == 0 and date else None


def command_for(rel: str, report: dict) -> str | None:
    """The command that produced a results file: its own "command"/"args", else the prefix table.

    Args:
        rel: the file's path relative to the results folder, with forward slashes.
        report: its JSON.

    Returns:
        A shell command line, or None when neither the file nor the table says.
    """
    script = _table_command(rel, report)
    stored = report.get("command")
    if isinstance(stored, str) and stored:
        if rel.startswith("demo_") and script:  # demo_wall.py stores the command it times
            return f"`{script}` (timing `{stored}`)"
        return stored
    args = stored if isinstance(stored, dict) else report.get("args")
    if isinstance(args, dict) and script:
        return " ".join([script.split(" (")[0], *_flags(args)])
    return script


def _table_command(rel: str, report: dict) -> str | None:
    matches = [p for p in COMMANDS if rel.startswith(p)]
    if not matches:
        return None
    cpu, gpu = COMMANDS[max(matches, key=len)]
    device = str(machine_facts(report).get("device", "cpu"))
    return gpu if gpu and not device.startswith("cpu") else cpu


def _flags(args: dict) -> list[str]:
    out = []
    for key, value in args.items():
        flag = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            out.append(flag)
        elif isinstance(value, list):
            out.append(f"{flag} {','.join(str(v) for v in value)}")
        else:
            out.append(f"{flag} {value}")
    return out


# ---------------------------------------------------------------------------------------------
# Bespoke renderers: each takes the JSON and returns (title, meaning, body lines)

Rendered = tuple[str, str, list[str]]


def _rows(items: Iterable[dict], columns: list[tuple[str, str, Callable[[Any], str]]]) -> list[list[str]]:
    return [[f(item.get(key)) for _, key, f in columns] for item in items]


def _columns_table(items: list[dict], columns: list[tuple[str, str, Callable[[Any], str]]]) -> list[str]:
    """Only the columns some item has."""
    present = [c for c in columns if any(c[1] in item for item in items)]
    return table([c[0] for c in present], _rows(items, present))


def _impl_key(row: dict) -> tuple:
    return (IMPL_ORDER.get(row.get("impl", ""), 9), row.get("impl", ""), row.get("num_envs", 0))


def render_bench(d: dict) -> Rendered:
    """`mjx-lerobot bench`: each contender's best, every MJX point, the adapter, what was skipped."""
    mjx = d.get("mjx", [])
    best = max((r["physics_steps_per_s"] for r in mjx), default=None)
    contenders = []
    for impl in sorted({r["impl"] for r in mjx}, key=lambda i: (IMPL_ORDER.get(i, 9), i)):
        top = max((r for r in mjx if r["impl"] == impl), key=lambda r: r["physics_steps_per_s"])
        contenders.append((f"MJX {impl} ({top['num_envs']:,} instances)", top["physics_steps_per_s"]))
    rollout = d.get("mujoco_rollout", [])
    for threads in sorted({r["threads"] for r in rollout}):
        top = max((r for r in rollout if r["threads"] == threads), key=lambda r: r["physics_steps_per_s"])
        batch = f", batch {top['batch']:,}" if "batch" in top else ""
        contenders.append((f"MuJoCo C `mujoco.rollout`, {threads} thread(s){batch}", top["physics_steps_per_s"]))
    peer = d.get("peer", {})
    if "single" in peer:
        contenders.append(("seed peer (dm_control), 1 env", peer["single"]["physics_steps_per_s"]))
    if "async_vector" in peer:
        workers = peer["async_vector"].get("workers", "?")
        contenders.append((f"seed peer, AsyncVectorEnv x{workers}", peer["async_vector"]["physics_steps_per_s"]))
    body = table(
        ["contender", "physics steps/s", "MJX best / it"],
        [[name, fmt_rate(rate), _times(best / rate) if best and rate else ""] for name, rate in contenders],
    )
    body.append("")
    body += _columns_table(
        sorted(mjx, key=_impl_key),
        [
            ("backend", "impl", fmt),
            ("instances", "num_envs", fmt),
            ("physics steps/s", "physics_steps_per_s", fmt_rate),
            ("physics only (replayed) steps/s", "replay_physics_steps_per_s", fmt_rate),
            ("env steps/s", "env_steps_per_s", fmt_rate),
            ("sim s per s", "sim_seconds_per_s", fmt_rate),
            ("compile s", "compile_s", lambda v: _fixed(v, 1)),
            ("state KiB/instance", "state_bytes_per_instance", _kb),
            ("success so far", "success_so_far", _pct),
        ],
    )
    adapter = d.get("adapter", {})
    if "adapter_step_ms" in adapter:
        body += ["", "Gymnasium adapter against the raw jitted step:", ""]
        body += _columns_table([adapter], ADAPTER_COLUMNS)
    if d.get("skipped"):
        skipped = "; ".join(
            f"{s.get('impl', s.get('contender', '?'))} {fmt(s.get('num_envs', ''))} ({s.get('why', '?')})".strip()
            for s in d["skipped"]
        )
        body += ["", f"Skipped: {skipped}."]
    title = f"Physics throughput against the baselines, {d.get('task', '?')}"
    meaning = (
        f"Physics steps/s of the scripted expert's episodes ({fmt(d.get('control_steps'))} control steps a point) "
        "on every backend, against MuJoCo C and the seed peer on the same machine; higher is better."
    )
    return title, meaning, body


ADAPTER_COLUMNS: list[tuple[str, str, Callable[[Any], str]]] = [
    ("backend", "impl", fmt),
    ("instances", "num_envs", fmt),
    ("autoreset", "autoreset_mode", fmt),
    ("raw step ms (pipelined)", "raw_step_ms", fmt_rate),
    ("raw step ms (synced)", "raw_synced_step_ms", fmt_rate),
    ("adapter step ms", "adapter_step_ms", fmt_rate),
    ("overhead", "overhead_pct", _signed_pct),
]


def render_backends(d: dict) -> Rendered:
    """benchmarks/backends.py: MJX-JAX against Warp at each batch size."""
    body = _columns_table(
        sorted(d.get("results", []), key=_impl_key),
        [
            ("backend", "impl", fmt),
            ("task", "task", fmt),
            ("instances", "num_envs", fmt),
            ("control steps", "control_steps", fmt),
            ("physics steps/s", "physics_steps_per_s", fmt_rate),
            ("env steps/s", "env_steps_per_s", fmt_rate),
            ("compile s", "compile_s", lambda v: _fixed(v, 1)),
            ("randomize slowdown", "randomize_slowdown", _times),
        ],
    )
    meaning = "Physics steps/s of each MJX backend at each batch size; higher is better."
    return "MJX backends side by side", meaning, body


def render_adapter(d: dict) -> Rendered:
    """benchmarks/adapter_overhead.py: the Gym adapter's step over the raw jitted step."""
    meaning = "Time per step through `SO101VectorEnv.step` against the raw jitted `Env.step`; overhead near 0 is best."
    if "before" in d and "after" in d:
        after = {(r["num_envs"], r.get("autoreset_mode")): r for r in d["after"]}
        rows = []
        for r in sorted(d["before"], key=lambda r: (r["num_envs"], str(r.get("autoreset_mode")))):
            a = after.get((r["num_envs"], r.get("autoreset_mode")), {})
            rows.append(
                [
                    fmt(r["num_envs"]),
                    fmt(r.get("autoreset_mode")),
                    fmt_rate(r.get("raw_synced_step_ms")),
                    fmt_rate(r.get("adapter_step_ms")),
                    _signed_pct(r.get("overhead_pct")),
                    fmt_rate(a.get("raw_synced_step_ms")),
                    fmt_rate(a.get("adapter_step_ms")),
                    _signed_pct(a.get("overhead_pct")),
                ]
            )
        impl = d["before"][0].get("impl", "?") if d["before"] else "?"
        body = table(
            [
                "instances",
                "autoreset",
                "before: raw ms (synced)",
                "before: adapter ms",
                "before: overhead",
                "now: raw ms (synced)",
                "now: adapter ms",
                "now: overhead",
            ],
            rows,
            "rl" + "r" * 6,
        )
        return f"Gymnasium adapter overhead before and after, impl={impl}", meaning, body
    rows = sorted(d.get("results", []), key=lambda r: (*_impl_key(r), str(r.get("autoreset_mode"))))
    return "Gymnasium adapter overhead", meaning, _columns_table(rows, ADAPTER_COLUMNS)


def render_pixels(d: dict) -> Rendered:
    """benchmarks/pixels.py: the batched ray tracer against MuJoCo's GL renderer, and the adapter."""
    body = ["Batched renderer (in the jitted step):", ""]
    body += _columns_table(
        sorted(d.get("batched", []), key=lambda r: (r.get("size", 0), r.get("num_envs", 0))),
        [
            ("image size", "size", fmt),
            ("instances", "num_envs", fmt),
            ("camera frames/s", "camera_frames_per_s", fmt_rate),
            ("render-only frames/s", "render_only_frames_per_s", fmt_rate),
            ("render share of step", "render_share_of_step", _pct),
            ("physics steps/s", "physics_steps_per_s", fmt_rate),
            ("compile s", "compile_s", lambda v: _fixed(v, 1)),
            ("state KiB/instance", "state_bytes_per_instance", _kb),
        ],
    )
    if d.get("gl"):
        body += ["", "GL renderer (MuJoCo OpenGL, one process per worker):", ""]
        body += _columns_table(
            sorted(d["gl"], key=lambda r: (r.get("size", 0), r.get("shadowsize", 0), bool(r.get("antialias")))),
            [
                ("image size", "size", fmt),
                ("shadow map", "shadowsize", lambda v: f"{v}^2" if v else ""),
                ("4x multisampling", "antialias", fmt),
                ("workers", "workers", fmt),
                ("camera frames/s", "camera_frames_per_s", fmt_rate),
            ],
        )
    if d.get("adapter"):
        body += ["", "Through the Gymnasium adapter:", ""]
        body += _columns_table(
            d["adapter"],
            [
                ("renderer", "renderer", fmt),
                ("instances", "num_envs", fmt),
                ("image size", "size", fmt),
                ("env steps/s", "env_steps_per_s", fmt_rate),
                ("camera frames/s", "camera_frames_per_s", fmt_rate),
            ],
        )
    ratio = d.get("ratios", {}).get("batched_best_over_gl_best")
    if ratio is not None:
        body += ["", f"Batched best over GL best: {_times(ratio)}."]
    cameras = ", ".join(d.get("cameras", []))
    meaning = f"Camera frames/s ({cameras or 'cameras'}) rendered with the simulation, per renderer; higher is better."
    return f"Pixels, {d.get('task', '?')}", meaning, body


def render_video(d: dict) -> Rendered:
    """benchmarks/video.py: frames/s of a README-style video per renderer, over repeats."""
    by: dict[tuple[str, Any], list[dict]] = {}
    for r in d.get("rows", []):
        by.setdefault((r.get("renderer", "?"), r.get("frames")), []).append(r)
    rows = []
    for (renderer, frames), runs in sorted(by.items(), key=lambda kv: (str(kv[0][0]), kv[0][1] or 0)):
        rates = sorted(r["video_frames_per_s"] for r in runs)
        rows.append([renderer, fmt(frames), fmt(len(runs)), fmt_rate(rates[-1]), fmt_rate(_median(rates))])
    body = table(["renderer", "frames", "repeats", "best frames/s", "median frames/s"], rows)
    extras = []
    for key, label in (("batched_over_gl_speed", "batched over GL"), ("gl_sized_shadow_map_speedup", "GL sized map")):
        for frames, value in sorted(d.get(key, {}).items(), key=lambda kv: kv[0]):
            extras.append(f"{label} at {frames} frames: {_times(value)}")
    if extras:
        body += ["", "; ".join(extras) + "."]
    size = "x".join(str(s) for s in d.get("size", [])) or "?"
    cameras = " + ".join(d.get("cameras", []))
    meaning = f"Frames/s drawing an episode's video ({cameras}, {size} each, encoding excluded); higher is better."
    return f"Video rendering, {d.get('task', '?')} on impl={d.get('impl', '?')}", meaning, body


def _median(values: list[float]) -> float:
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def render_mesh(d: dict) -> Rendered:
    """benchmarks/mesh_render.py: camera frames/s with primitives against the CAD meshes."""
    body = _columns_table(
        sorted(d.get("rows", []), key=lambda r: (r.get("size", 0), r.get("triangles", 0))),
        [
            ("look", "look", fmt),
            ("image size", "size", fmt),
            ("triangles", "triangles", fmt),
            ("batched frames/s", "batched_frames_per_s", fmt_rate),
            ("GL frames/s", "gl_frames_per_s", fmt_rate),
        ],
    )
    cost = d.get("meshes_cost_x", {})
    if cost:
        body += ["", "Cost of the meshes (primitives' frames/s over the meshes'):", ""]
        body += table(
            ["image size", "batched", "GL"],
            [
                [k, _times(v.get("batched_cost")), _times(v.get("gl_cost"))]
                for k, v in sorted(cost.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0)
            ],
        )
    budget = d.get("triangles_per_mesh")
    title = "Meshes against primitives" + (f", {budget:,} triangles a mesh" if isinstance(budget, int) else "")
    meaning = (
        f"Camera frames/s on {fmt(d.get('num_envs'))} instances with the primitive look and with the SO-101's "
        "CAD meshes, same states, both renderers; higher is better."
    )
    return title, meaning, body


def render_record(d: dict) -> Rendered:
    """`mjx-lerobot record` runs, one per row."""
    body = _columns_table(
        d.get("results", []),
        [
            ("command", "command", lambda v: f"`{v}`" if v else ""),
            ("cameras", "cameras", lambda v: fmt(v) or "none"),
            ("episodes", "episodes", fmt),
            ("frames", "frames", fmt),
            ("compile s", "compile_s", lambda v: _fixed(v, 1)),
            ("seconds", "seconds", lambda v: _fixed(v, 1)),
            ("episodes/min", "episodes_per_min", fmt_rate),
            ("frames/s", "frames_per_s", fmt_rate),
            ("success", "success_rate", _pct),
        ],
    )
    meaning = "Episodes/min written to a LeRobotDataset by the experts; higher is better."
    return "Recording LeRobot datasets", meaning, body


def render_record_speed(d: dict) -> Rendered:
    """benchmarks/record_speed.py: the recorder's variants side by side."""
    body = _columns_table(
        d.get("results", []),
        [
            ("variant", "variant", fmt),
            ("backend", "impl", fmt),
            ("episodes", "episodes_written", fmt),
            ("frames", "frames_written", fmt),
            ("compile s", "compile_s", lambda v: _fixed(v, 1)),
            ("seconds", "seconds", lambda v: _fixed(v, 1)),
            ("episodes/min", "episodes_per_min", fmt_rate),
            ("frames/s", "frames_per_s", fmt_rate),
            ("speed over 'before'", "speedup_over_before", _times),
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
                _pct(cost.get(name)),
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
    rows = sorted(d.get("results", []), key=lambda r: (r.get("task", ""), *_impl_key(r)))
    body = _columns_table(
        rows,
        [
            ("task", "task", fmt),
            ("backend", "impl", fmt),
            ("randomized", "randomize", fmt),
            ("variation", "variation", fmt),
            ("action noise", "action_noise", fmt),
            ("episodes", "episodes", fmt),
            ("success", "success_rate", _pct),
            ("faulted instances", "instances_with_faults", fmt),
            ("compile s", "compile_s", lambda v: _fixed(v, 1)),
            ("run s", "run_s", lambda v: _fixed(v, 1)),
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
        [c, shift_text(c)] + [_pct(results[r].get("eval", {}).get(c, {}).get("success_rate")) for r in runs]
        for c in conditions
    ]
    body = table(["condition", "shift", *[f"trained {r}" for r in runs]], rows, "ll" + "r" * len(runs))
    body += ["", "Training:", ""]
    body += table(
        ["run", "env steps", "train wall s"],
        [[r, fmt(results[r].get("env_steps")), _fixed(results[r].get("train_wall_s"), 1)] for r in runs],
    )
    meaning = (
        f"Success over {fmt(d.get('episodes'))} seeded episodes of PPO policies ({d.get('obs', '?')} observations) "
        "under each shifted condition; higher is better."
    )
    return f"Robustness of trained policies, {d.get('task', '?')}", meaning, body


def render_ik(d: dict) -> Rendered:
    """benchmarks/ik.py: the expert's IK on scalars against arrays (analytic and jacfwd Jacobians)."""
    body = _columns_table(
        sorted(d.get("results", []), key=lambda r: r.get("num_envs", 0)),
        [
            ("instances", "num_envs", fmt),
            ("scalars ms", "scalars_ms", fmt_rate),
            ("arrays, analytic ms", "arrays_analytic_ms", fmt_rate),
            ("arrays, jacfwd ms", "arrays_jacfwd_ms", fmt_rate),
            ("scalars compile s", "scalars_compile_s", lambda v: _fixed(v, 1)),
            ("analytic compile s", "arrays_analytic_compile_s", lambda v: _fixed(v, 1)),
            ("jacfwd compile s", "arrays_jacfwd_compile_s", lambda v: _fixed(v, 1)),
            ("max difference rad", "max_abs_difference_rad", fmt),
        ],
    )
    meaning = f"Milliseconds per batched IK solve (mean of {fmt(d.get('repeats'))}) by formulation; lower is better."
    return "Inverse kinematics formulations", meaning, body


def render_demo(d: dict) -> Rendered:
    """benchmarks/demo_wall.py: wall time of the README's first command, cold then warm."""
    body = _columns_table(
        d.get("runs", []),
        [
            ("cache", "cache", fmt),
            ("task", "task", fmt),
            ("backend", "impl", fmt),
            ("instances", "num_envs", fmt),
            ("wall s", "wall_s", lambda v: _fixed(v, 1)),
            ("compile s", "compile_s", lambda v: _fixed(v, 1)),
            ("run s", "run_s", lambda v: _fixed(v, 2)),
            ("video s", "video_s", lambda v: _fixed(v, 1)),
            ("success", "success_rate", _pct),
            ("env steps/s", "env_steps_per_s", fmt_rate),
            ("physics steps/s", "physics_steps_per_s", fmt_rate),
        ],
    )
    meaning = "Wall time of `mjx-lerobot demo` in a fresh process, first with a cold compile cache; lower is better."
    return "Demo wall time", meaning, body


def render_ppo(d: dict) -> Rendered:
    """mjx-lerobot train (PPO): time to reach success, and the final policy's evaluation."""
    cfg = d.get("config", {})
    ev = d.get("eval", {})
    minutes = d.get("minutes_to_train_success", {})
    rows = [
        ["backend", fmt(cfg.get("impl", ev.get("impl")))],
        ["instances", fmt(cfg.get("num_envs"))],
        ["env steps", fmt(d.get("env_steps"))],
        ["train wall s", _fixed(d.get("train_wall_s"), 1)],
    ]
    rows += [[f"minutes to {k} train success", _fixed(v, 2)] for k, v in sorted(minutes.items(), key=_pct_key)]
    rows += [
        ["final train success", _pct(d.get("final_train_success_rate"))],
        ["final train return", fmt_rate(d.get("final_train_return"))],
        [f"eval success ({fmt(ev.get('episodes'))} seeded episodes)", _pct(ev.get("success_rate"))],
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


# Longest prefix of the path relative to the results folder wins.
RENDERERS: dict[str, Callable[[dict], Rendered]] = {
    "bench_": render_bench,
    "backends_": render_backends,
    "adapter_overhead": render_adapter,
    "pixels_": render_pixels,
    "video_": render_video,
    "mesh_render": render_mesh,
    "record_": render_record,
    "record_speed_": render_record_speed,
    "record_durable_": render_record_durable,
    "experts": render_experts,
    "robustness_": render_robustness,
    "ik_": render_ik,
    "demo_": render_demo,
    "ppo/": render_ppo,
}


# ---------------------------------------------------------------------------------------------
# Generic envelope and fallback


def is_envelope(d: Any) -> bool:
    """Whether a JSON value is a results envelope: an object with "columns" and "rows" lists.

    Args:
        d: a parsed JSON value.

    Returns:
        True for an envelope.
    """
    return isinstance(d, dict) and isinstance(d.get("columns"), list) and isinstance(d.get("rows"), list)


def render_envelope(d: dict) -> Rendered:
    """The generic renderer: the envelope's columns over its rows, then its targets, if any.

    Args:
        d: an envelope (see the module docstring). Columns may be names, or objects with "key"
            (or "name") and an optional "label"; rows may be objects or lists in column order.

    Returns:
        (title, meaning, body lines).
    """
    keys, labels = [], []
    for i, col in enumerate(d["columns"]):
        if isinstance(col, dict):
            key = col.get("key", col.get("name", i))
            labels.append(str(col.get("label", key)))
        else:
            key = col
            labels.append(str(col))
        keys.append(key)
    rows = []
    for row in d["rows"]:
        if isinstance(row, dict):
            rows.append([fmt(row.get(k)) for k in keys])
        elif isinstance(row, list):
            rows.append([fmt(row[i]) if i < len(row) else "" for i in range(len(keys))])
    body = table(labels, rows) if labels else []
    targets = d.get("targets")
    if isinstance(targets, dict) and targets:
        body += ["", "Targets:", ""]
        trows = []
        specs = {name: t if isinstance(t, dict) else {"value": t} for name, t in targets.items()}
        extra = [k for k in ("goal", "at") if any(k in t for t in specs.values())]
        for name, t in specs.items():
            met = t.get("met")
            verdict = "" if met is None else ("met" if met else "**not met**")
            at = t.get("at")
            where = ", ".join(f"{k} {fmt(v)}" for k, v in at.items()) if isinstance(at, dict) else fmt(at)
            cells = {"goal": fmt(t.get("goal")), "at": where}
            trows.append([_cell(str(name)), fmt(t.get("value")), *[cells[k] for k in extra], verdict])
        body += table(["target", "value", *extra, "met"], trows, "lr" + "l" * len(extra) + "l")
    skipped = d.get("skipped")
    if isinstance(skipped, list) and skipped:
        what = [
            ", ".join(f"{k} {fmt(v)}" for k, v in s.items() if k != "why") + (f" ({s['why']})" if "why" in s else "")
            if isinstance(s, dict)
            else fmt(s)
            for s in skipped
        ]
        body += ["", "Skipped: " + "; ".join(_cell(w) for w in what) + "."]
    title = str(d.get("title") or d.get("part") or "Results")
    meaning = str(d.get("meaning") or d.get("what") or f"{title}, as measured.")
    return title, meaning, body


def render_fallback(d: Any) -> Rendered:
    """Any other JSON: its top-level scalar fields (the machine facts are in the header).

    Args:
        d: a parsed JSON value.

    Returns:
        (title, meaning, body lines).
    """
    skip = {"device", "cpu_count", "jax_device", "machine", "command", "args", "date", "note"}
    items = [(k, v) for k, v in d.items() if k not in skip] if isinstance(d, dict) else []
    scalars = [(k, v) for k, v in items if not isinstance(v, dict | list)]
    nested = [k for k, v in items if isinstance(v, dict | list)]
    body = table(["field", "value"], [[_cell(str(k)), fmt(v)] for k, v in scalars], "ll") if scalars else []
    if nested:
        body += ["", "Not shown (nested): " + ", ".join(f"`{k}`" for k in nested) + "."]
    if not body:
        body = ["(no scalar fields)"]
    return "Unrecognised results file", "Top-level scalar fields of a file no renderer knows.", body


# ---------------------------------------------------------------------------------------------
# The page


def render_file(path: Path, results_dir: Path, history_dir: Path | None = None) -> Section:
    """One results file as a section.

    Args:
        path: the JSON file.
        results_dir: the results folder it lies under (names and prefixes are relative to it).
        history_dir: where git history for the same relative paths lives, for dates of files
            that do not store a "date" (default: results_dir itself).

    Returns:
        The rendered section (not yet with its header lines; see `render_pages`).
    """
    rel = path.relative_to(results_dir).as_posix()
    try:
        d = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        return Section(OTHER_GROUP, "Unreadable results file", rel, f"Could not be read: {type(err).__name__}.")
    if is_envelope(d):
        renderer: Callable[[Any], Rendered] = render_envelope
        part = str(d.get("part") or OTHER_GROUP)
        group = PART_GROUPS.get(part.lower()) or next((g for g, _ in GROUPS if g.lower() == part.lower()), part)
    else:
        matches = [p for p in RENDERERS if rel.startswith(p)] if isinstance(d, dict) else []
        renderer = RENDERERS[max(matches, key=len)] if matches else render_fallback
        group = next((g for g, prefixes in GROUPS if rel.startswith(prefixes)), OTHER_GROUP) if matches else OTHER_GROUP
    try:
        title, meaning, body = renderer(d)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, ZeroDivisionError):
        title, meaning, body = render_fallback(d)
        title = "Results file in an unexpected layout"
        group = OTHER_GROUP
    report = d if isinstance(d, dict) else {}
    device = machine_facts(report).get("device")
    if device and str(device) not in title:
        title = f"{title} ({device})"
    section = Section(group, title, rel, meaning, body)
    section.command = command_for(rel, report)
    date = report.get("date") if isinstance(report.get("date"), str) else None
    if date is None:
        date = git_date((history_dir or results_dir) / rel)
    facts = [f"Machine: {machine_line(report)}"]
    if date:
        facts.append(f"date: {date}")
    command = section.command or ""
    if command and "`" not in command:
        command = f"`{command}`"
    facts.append(f"command: {command or 'not recorded'}")
    header = [meaning, "", " · ".join(facts)]
    note = report.get("note")
    if isinstance(note, str) and note.strip():
        header += ["", f"> Stored note: {_cell(note.strip())}"]
    section.body = [*header, "", *body]
    return section


def _group_rank(group: str) -> tuple[int, str]:
    names = [g for g, _ in GROUPS]
    if group in names:
        return names.index(group), ""
    return (len(names) + (1 if group == OTHER_GROUP else 0), group)


def render_pages(results_dir: str | Path, out: str | Path | None = None, history_dir: str | Path | None = None) -> str:
    """The whole results page from every `*.json` under a results folder.

    Args:
        results_dir: the folder of results (searched recursively).
        out: where the page will be written, for relative links to the files (default
            `results_dir/../README.md`).
        history_dir: git history for dates of files without a "date" (default: results_dir).

    Returns:
        The Markdown page, ending in a newline.
    """
    results_dir = Path(results_dir)
    out = Path(out) if out else results_dir.parent / "README.md"
    history = Path(history_dir) if history_dir else None
    link_base = Path(os.path.relpath(results_dir.resolve(), out.resolve().parent))
    files = sorted(results_dir.rglob("*.json"), key=lambda p: p.relative_to(results_dir).as_posix())
    sections = [render_file(p, results_dir, history) for p in files]
    sections.sort(key=lambda s: (_group_rank(s.group), s.path))

    lines = [HEADER, ""]
    groups: list[str] = []
    for s in sections:
        if s.group not in groups:
            groups.append(s.group)
    lines += [f"- [{g}](#{_anchor(g)})" for g in groups]
    used_pngs: set[str] = set()
    for group in groups:
        lines += ["", f"## {group}"]
        for s in (s for s in sections if s.group == group):
            link = (link_base / s.path).as_posix()
            lines += ["", f"### {s.title}", "", f"From [`{s.path}`]({link}).", "", *s.body]
            png = (results_dir / s.path).with_suffix(".png")
            if png.exists():
                rel_png = png.relative_to(results_dir).as_posix()
                used_pngs.add(rel_png)
                lines += ["", f"![{rel_png}]({(link_base / rel_png).as_posix()})"]
    loose = sorted(p.relative_to(results_dir).as_posix() for p in results_dir.rglob("*.png"))
    loose = [p for p in loose if p not in used_pngs]
    if loose:
        lines += ["", "## Other figures", ""]
        lines += [f"- [`{p}`]({(link_base / p).as_posix()})" for p in loose]
    return "\n".join(lines).rstrip() + "\n"


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, spaces to dashes, punctuation dropped."""
    return "".join(c for c in heading.lower().replace(" ", "-") if c.isalnum() or c in "-_")


def write_pages(results_dir: str | Path, out: str | Path, history_dir: str | Path | None = None) -> bool:
    """Write the page.

    Args:
        results_dir: the folder of results.
        out: the Markdown file to write.
        history_dir: git history for dates (default: results_dir).

    Returns:
        True when the file changed.
    """
    text = render_pages(results_dir, out, history_dir)
    out = Path(out)
    if out.exists() and out.read_text() == text:
        return False
    out.write_text(text)
    return True


def check_pages(results_dir: str | Path, out: str | Path, history_dir: str | Path | None = None) -> list[str]:
    """Compare the written page with what the results give.

    Args:
        results_dir: the folder of results.
        out: the committed Markdown file.
        history_dir: git history for dates (default: results_dir).

    Returns:
        A diff summary (unified diff lines), empty when the page is up to date.
    """
    out = Path(out)
    want = render_pages(results_dir, out, history_dir)
    have = out.read_text() if out.exists() else ""
    if have == want:
        return []
    diff = list(difflib.unified_diff(have.splitlines(), want.splitlines(), str(out), "generated", n=0, lineterm=""))
    changed = sum(1 for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---")))
    return [f"{out} differs from what the results give ({changed} lines):", *diff]
