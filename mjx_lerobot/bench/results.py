"""What a `mjx-lerobot bench` report says: our best over each baseline's best, the JSON and PNG
written side by side, and the README's tables, all computed from the stored report alone (so
`bench --table` reprints them from a JSON)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mjx_lerobot.bench.peer import peer_best
from mjx_lerobot.physics import IMPLS
from mjx_lerobot.report import device_tag


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
        out["vs_peer_best_mode"] = ours / peer_best(peer)
        # The peer steps 2 ms of physics at a time, we 4.2 ms: simulated time per second differs.
        if "sim_seconds_per_s" in best and "physics_timestep" in peer:
            out["vs_peer_best_mode_sim_time"] = best["sim_seconds_per_s"] / (peer_best(peer) * peer["physics_timestep"])
    by_size = {(r["impl"], r["num_envs"]): r["physics_steps_per_s"] for r in report["mjx"]}
    common = sorted(n for impl, n in by_size if impl == "warp" and ("jax", n) in by_size)
    if common:
        out["warp_over_jax"] = {
            "num_envs": common[-1],
            "ratio": by_size["warp", common[-1]] / by_size["jax", common[-1]],
        }
    return out


def default_path() -> Path:
    """benchmarks/results/bench_<device>.json, relative to the working directory."""
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
    for impl in sorted({r["impl"] for r in report["mjx"]}, key=IMPLS.index):
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
