"""What one `mjx-lerobot bench` run measures, checked before anything is compiled, and the order
it measures it in."""

from __future__ import annotations

import argparse
import dataclasses
import os

from mjx_lerobot.physics import IMPLS
from mjx_lerobot.sim.registry import load_task


@dataclasses.dataclass(frozen=True)
class BenchConfig:
    """What one `bench` run measures. Sizes are per backend, in the order they are measured
    (the first backend also times the Gymnasium adapter)."""

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
        raise ValueError(f"impl: name at least one backend from {IMPLS}")
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
