"""Bespoke renderers for physics, adapter, camera, mesh, IK and demo results: each takes a results
file's JSON and returns (title, meaning, body lines)."""

from __future__ import annotations

from typing import Any

from .format import (
    IMPL_ORDER,
    Column,
    Rendered,
    columns_table,
    fixed,
    fmt,
    fmt_rate,
    impl_key,
    kb,
    pct,
    signed_pct,
    table,
    times,
)


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
        [[name, fmt_rate(rate), times(best / rate) if best and rate else ""] for name, rate in contenders],
    )
    body.append("")
    body += columns_table(
        sorted(mjx, key=impl_key),
        [
            ("backend", "impl", fmt),
            ("instances", "num_envs", fmt),
            ("physics steps/s", "physics_steps_per_s", fmt_rate),
            ("physics only (replayed) steps/s", "replay_physics_steps_per_s", fmt_rate),
            ("env steps/s", "env_steps_per_s", fmt_rate),
            ("sim s per s", "sim_seconds_per_s", fmt_rate),
            ("compile s", "compile_s", lambda v: fixed(v, 1)),
            ("state KiB/instance", "state_bytes_per_instance", kb),
            ("success so far", "success_so_far", pct),
        ],
    )
    adapter = d.get("adapter", {})
    if "adapter_step_ms" in adapter:
        body += ["", "Gymnasium adapter against the raw jitted step:", ""]
        body += columns_table([adapter], ADAPTER_COLUMNS)
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


ADAPTER_COLUMNS: list[Column] = [
    ("backend", "impl", fmt),
    ("instances", "num_envs", fmt),
    ("autoreset", "autoreset_mode", fmt),
    ("raw step ms (pipelined)", "raw_step_ms", fmt_rate),
    ("raw step ms (synced)", "raw_synced_step_ms", fmt_rate),
    ("adapter step ms", "adapter_step_ms", fmt_rate),
    ("overhead", "overhead_pct", signed_pct),
]


def render_backends(d: dict) -> Rendered:
    """benchmarks/backends.py: MJX-JAX against Warp at each batch size."""
    body = columns_table(
        sorted(d.get("results", []), key=impl_key),
        [
            ("backend", "impl", fmt),
            ("task", "task", fmt),
            ("instances", "num_envs", fmt),
            ("control steps", "control_steps", fmt),
            ("physics steps/s", "physics_steps_per_s", fmt_rate),
            ("env steps/s", "env_steps_per_s", fmt_rate),
            ("compile s", "compile_s", lambda v: fixed(v, 1)),
            ("randomize slowdown", "randomize_slowdown", times),
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
                    signed_pct(r.get("overhead_pct")),
                    fmt_rate(a.get("raw_synced_step_ms")),
                    fmt_rate(a.get("adapter_step_ms")),
                    signed_pct(a.get("overhead_pct")),
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
    rows = sorted(d.get("results", []), key=lambda r: (*impl_key(r), str(r.get("autoreset_mode"))))
    return "Gymnasium adapter overhead", meaning, columns_table(rows, ADAPTER_COLUMNS)


def render_pixels(d: dict) -> Rendered:
    """benchmarks/pixels.py: the batched ray tracer against MuJoCo's GL renderer, and the adapter."""
    body = ["Batched renderer (in the jitted step):", ""]
    body += columns_table(
        sorted(d.get("batched", []), key=lambda r: (r.get("size", 0), r.get("num_envs", 0))),
        [
            ("image size", "size", fmt),
            ("instances", "num_envs", fmt),
            ("camera frames/s", "camera_frames_per_s", fmt_rate),
            ("render-only frames/s", "render_only_frames_per_s", fmt_rate),
            ("render share of step", "render_share_of_step", pct),
            ("physics steps/s", "physics_steps_per_s", fmt_rate),
            ("compile s", "compile_s", lambda v: fixed(v, 1)),
            ("state KiB/instance", "state_bytes_per_instance", kb),
        ],
    )
    if d.get("gl"):
        body += ["", "GL renderer (MuJoCo OpenGL, one process per worker):", ""]
        body += columns_table(
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
        body += columns_table(
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
        body += ["", f"Batched best over GL best: {times(ratio)}."]
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
            extras.append(f"{label} at {frames} frames: {times(value)}")
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
    body = columns_table(
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
                [k, times(v.get("batched_cost")), times(v.get("gl_cost"))]
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


def render_ik(d: dict) -> Rendered:
    """benchmarks/ik.py: the expert's IK on scalars against arrays (analytic and jacfwd Jacobians)."""
    body = columns_table(
        sorted(d.get("results", []), key=lambda r: r.get("num_envs", 0)),
        [
            ("instances", "num_envs", fmt),
            ("scalars ms", "scalars_ms", fmt_rate),
            ("arrays, analytic ms", "arrays_analytic_ms", fmt_rate),
            ("arrays, jacfwd ms", "arrays_jacfwd_ms", fmt_rate),
            ("scalars compile s", "scalars_compile_s", lambda v: fixed(v, 1)),
            ("analytic compile s", "arrays_analytic_compile_s", lambda v: fixed(v, 1)),
            ("jacfwd compile s", "arrays_jacfwd_compile_s", lambda v: fixed(v, 1)),
            ("max difference rad", "max_abs_difference_rad", fmt),
        ],
    )
    meaning = f"Milliseconds per batched IK solve (mean of {fmt(d.get('repeats'))}) by formulation; lower is better."
    return "Inverse kinematics formulations", meaning, body


def render_demo(d: dict) -> Rendered:
    """benchmarks/demo_wall.py: wall time of the README's first command, cold then warm."""
    body = columns_table(
        d.get("runs", []),
        [
            ("cache", "cache", fmt),
            ("task", "task", fmt),
            ("backend", "impl", fmt),
            ("instances", "num_envs", fmt),
            ("wall s", "wall_s", lambda v: fixed(v, 1)),
            ("compile s", "compile_s", lambda v: fixed(v, 1)),
            ("run s", "run_s", lambda v: fixed(v, 2)),
            ("video s", "video_s", lambda v: fixed(v, 1)),
            ("success", "success_rate", pct),
            ("env steps/s", "env_steps_per_s", fmt_rate),
            ("physics steps/s", "physics_steps_per_s", fmt_rate),
        ],
    )
    meaning = "Wall time of `mjx-lerobot demo` in a fresh process, first with a cold compile cache; lower is better."
    return "Demo wall time", meaning, body
