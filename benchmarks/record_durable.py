"""What `record`'s durable points cost: episodes/min with none during the run, at the default
interval, and after every episode, side by side in one run on the same settings.

    python benchmarks/record_durable.py                       # this machine's defaults
    python benchmarks/record_durable.py --episodes 400 --num-envs 64 --cameras front,wrist

A durable point finalizes the dataset, notes its files and resumes writing into new ones
(mjx_lerobot/lerobot/durable.py); "none" reaches one only at the end, as record did before
durable points. Each variant records its own dataset into a temporary directory after one
untimed warm-up run (compilation cached). Writes benchmarks/results/record_durable_<device>.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from mjx_lerobot.lerobot.record import RecordConfig, record
from mjx_lerobot.report import device_tag, machine_info

VARIANTS = {"none": float("inf"), "default": RecordConfig.durable_every_s, "every episode": 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="lift_cube")
    parser.add_argument("--episodes", type=int, default=96)
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--impl", default="auto")
    parser.add_argument("--cameras", default="front", help="comma-separated, '' for none")
    parser.add_argument("--size", type=int, default=96, help="square camera images, pixels per side")
    parser.add_argument("--repeats", type=int, default=2, help="timed runs per variant, alternating")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    cameras = tuple(c for c in args.cameras.split(",") if c)

    def run(name: str, every: float, root: Path) -> dict:
        cfg = RecordConfig(
            task=args.task, episodes=args.episodes, num_envs=args.num_envs, impl=args.impl, cameras=cameras,
            height=args.size, width=args.size, root=str(root), repo_id="bench/durable", progress=False,
            durable_every_s=every,
        )  # fmt: skip
        result = record(cfg)
        print(f"{name:14s} {result['episodes_per_min']:7.1f} episodes/min, {result['durable_points']} durable points")
        return result

    runs: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    with tempfile.TemporaryDirectory() as scratch:
        run("warm-up", float("inf"), Path(scratch) / "warmup")
        for repeat in range(args.repeats):  # alternating, so drift in the machine hits each alike
            for name, every in VARIANTS.items():
                runs[name].append(run(name, every, Path(scratch) / f"{name.replace(' ', '_')}_{repeat}"))
    best = {name: max(r["episodes_per_min"] for r in results) for name, results in runs.items()}
    report = {
        "machine": machine_info(),
        "command": "python benchmarks/record_durable.py " + " ".join(
            f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if k != "out"),
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "durable_every_s": {name: (None if every == float("inf") else every) for name, every in VARIANTS.items()},
        "episodes_per_min_best": best,
        "cost_vs_none": {name: round(1.0 - value / best["none"], 4) for name, value in best.items()},
        "runs": runs,
    }
    out = Path(args.out or f"benchmarks/results/record_durable_{device_tag()}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"cost vs none: {report['cost_vs_none']}  ->  {out}")


if __name__ == "__main__":
    main()
