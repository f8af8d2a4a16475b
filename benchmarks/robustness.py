"""Does training under domain randomization make a policy robust to a model it never saw?

    python benchmarks/robustness.py --task lift_cube                      # the GPU run
    python benchmarks/robustness.py --task reach --steps 200000 --num-envs 256 --episodes 128  # a CPU check
    python benchmarks/robustness.py --task lift_cube --obs pixels --train randomized --max-minutes 15

Trains PPO twice with the same budget and seed, once on the nominal model and once with
`randomize=True` (the task's default ranges), then evaluates both deterministic policies on the
same seeded episodes of (a) the nominal model and (b) held-out shifted models, each outside the
training ranges (friction x0.5 and x1.5, kp x0.7 and x1.3, cube mass x2, 2 steps of delay,
cameras moved 2 cm). Every figure comes from this one run; writes
benchmarks/results/robustness_<task>_<device>.json and prints the table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from mjx_lerobot.report import device_tag, machine_info
from mjx_lerobot.rl import ppo
from mjx_lerobot.sim.randomize import nominal_ranges

#: Held-out shifts: every other field at its nominal value (the training ranges never reach these).
SHIFTS = {
    "friction x0.5": dict(cube_friction=(0.5, 0.5), pad_friction=(0.5, 0.5), table_friction=(0.5, 0.5)),
    "friction x1.5": dict(cube_friction=(1.5, 1.5), pad_friction=(1.5, 1.5), table_friction=(1.5, 1.5)),
    "kp x0.7": dict(kp=(0.7, 0.7)),
    "kp x1.3": dict(kp=(1.3, 1.3)),
    "cube mass x2": dict(cube_mass=(2.0, 2.0)),
    "delay 2 steps": dict(latency=(2, 2)),
    "cameras moved 2 cm": dict(camera_pos=(0.02, 0.02)),
}


def evaluate_everywhere(result: ppo.TrainResult, episodes: int, impl: str, seed: int) -> dict:
    """Success on the nominal model and on each held-out shift, the same seeded episodes each."""
    table = {"nominal": ppo.evaluate(result, episodes, impl, seed)}
    for name, shift in SHIFTS.items():
        table[name] = ppo.evaluate(result, episodes, impl, seed, randomize=nominal_ranges().replace(**shift))
    table["shifted (mean)"] = {"success_rate": float(np.mean([table[n]["success_rate"] for n in SHIFTS]))}
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="lift_cube")
    parser.add_argument("--steps", type=int, default=None, help="env steps per run (default: the task's PPO budget)")
    parser.add_argument("--num-envs", type=int, default=None, help="instances (default: PPO's)")
    parser.add_argument("--impl", default="auto")
    parser.add_argument("--episodes", type=int, default=1000, help="seeded evaluation episodes per condition")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train", default="nominal,randomized", help="which of the two runs to train")
    parser.add_argument("--max-minutes", type=float, default=None, help="wall-time cap per training run")
    parser.add_argument("--obs", default="state", choices=ppo.OBS_KINDS, help="what the actor sees")
    parser.add_argument("--cameras", default="front,wrist", help="--obs pixels: comma-separated cameras")
    parser.add_argument("--image-size", type=int, default=64, help="--obs pixels: square image side")
    parser.add_argument("--runs", default="runs/robustness", help="where the two training runs write")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    overrides = {k: v for k, v in (("total_steps", args.steps), ("num_envs", args.num_envs)) if v is not None}
    if args.obs == "pixels":
        overrides |= dict(obs="pixels", cameras=tuple(args.cameras.split(",")), image_size=args.image_size)
    runs = args.train.split(",")
    if not runs or set(runs) - {"nominal", "randomized"}:
        parser.error(f"--train takes nominal and/or randomized, got {args.train!r}")
    results = {}
    for name in runs:
        config = ppo.default_config(args.task, impl=args.impl, randomize=name == "randomized", **overrides)
        run_dir = Path(args.runs) / f"{args.task}_{args.obs}_{name}"
        summary = ppo.run(config, args.seed, run_dir, args.max_minutes, eval_episodes=0)
        result = ppo.load(summary["checkpoint"])
        results[name] = {
            "train_wall_s": summary["train_wall_s"],
            "env_steps": summary["env_steps"],
            "eval": evaluate_everywhere(result, args.episodes, args.impl, 10_000 + args.seed),
        }

    conditions = list(results[runs[0]]["eval"])
    print(f"\n{args.task} from {args.obs}: first-episode success over {args.episodes} seeded episodes per condition")
    print(f"{'evaluated on':22s}" + "".join(f" {'trained ' + name:>19s}" for name in runs))
    for condition in conditions:
        print(f"{condition:22s}" + "".join(f" {results[n]['eval'][condition]['success_rate']:19.1%}" for n in runs))
    report = machine_info() | {
        "task": args.task, "obs": args.obs, "episodes": args.episodes, "shifts": SHIFTS, "results": results,
        "args": vars(args),
    }
    suffix = "" if args.obs == "state" else f"_{args.obs}"
    path = Path(args.out or Path(__file__).parent / "results" / f"robustness_{args.task}{suffix}_{device_tag()}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=list))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
