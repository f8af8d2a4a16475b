"""Physics throughput of MJX-JAX vs MuJoCo Warp across batch sizes, with the scripted expert.

    python benchmarks/backends.py --task lift_cube --num-envs 64,256,1024 --steps 60
    python benchmarks/backends.py --impls warp --num-envs 1024,8192 --randomize both  # its cost

Every figure comes from this one run, side by side, so ratios hold on a noisy machine.
Writes benchmarks/results/backends_<device>.json and prints a table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import jax
import numpy as np

import mjx_lerobot
from mjx_lerobot.report import device_tag, machine_info
from mjx_lerobot.sim.rollout import timed_rollout


def write_report(name: str, results: list[dict], out: str | None = None) -> Path:
    """Write results with the machine they ran on to results/<name>_<device>.json."""
    report = machine_info() | {"results": results}
    path = Path(out or Path(__file__).parent / "results" / f"{name}_{device_tag()}.json")
    path.write_text(json.dumps(report, indent=2))
    print(f"wrote {path}")
    return path


def measure(task: str, impl: str, num_envs: int, steps: int, randomize: bool = False) -> dict:
    env = mjx_lerobot.make(task, num_envs=num_envs, impl=impl, randomize=randomize)
    policy = env.task.expert(env.scene, env.params)
    timed = timed_rollout(env, policy, jax.random.key(0), steps, warmup=True)
    run_s = timed.run_s
    return {
        "task": task,
        "impl": impl,
        "num_envs": num_envs,
        "randomize": randomize,
        "control_steps": steps,
        "compile_s": round(timed.compile_s, 2),
        "run_s": round(run_s, 3),
        "env_steps_per_s": round(steps * num_envs / run_s, 1),
        "physics_steps_per_s": round(steps * num_envs * env.scene.substeps / run_s, 1),
        "success_so_far": float(np.asarray(timed.traj["success"]).any(0).mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="lift_cube")
    parser.add_argument("--num-envs", default="64,256,1024")
    parser.add_argument("--impls", default="jax,warp")
    parser.add_argument("--steps", type=int, default=60, help="control steps timed per configuration")
    parser.add_argument(
        "--randomize",
        default="off",
        choices=("off", "on", "both"),
        help="domain randomization (default ranges); 'both' times each point with and without",
    )
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    settings = {"off": (False,), "on": (True,), "both": (False, True)}[args.randomize]
    results = []
    for num_envs in [int(n) for n in args.num_envs.split(",")]:
        for impl in args.impls.split(","):
            for randomize in settings:
                row = measure(args.task, impl, num_envs, args.steps, randomize)
                if randomize and len(settings) == 2:  # the cost, against the point just timed without
                    row["randomize_slowdown"] = round(row["run_s"] / results[-1]["run_s"], 3)
                results.append(row)
                print(
                    f"{impl:5s} N={num_envs:6d} {'randomized' if randomize else 'nominal':10s} "
                    f"{row['physics_steps_per_s']:>12,.0f} physics steps/s  "
                    f"{row['env_steps_per_s']:>10,.0f} env steps/s  compile {row['compile_s']:.0f} s"
                    + (f"  x{row['randomize_slowdown']:.2f} time" if "randomize_slowdown" in row else ""),
                    flush=True,
                )
    name = "backends_randomize" if args.randomize == "both" else "backends"
    write_report(name, results, args.out)


if __name__ == "__main__":
    main()
