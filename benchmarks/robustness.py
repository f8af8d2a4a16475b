"""Does training under domain randomization make a policy robust to a model it never saw?

    python benchmarks/robustness.py --task lift_cube                      # the GPU run
    python benchmarks/robustness.py --task reach --steps 200000 --num-envs 256 --episodes 128  # a CPU check
    python benchmarks/robustness.py --task lift_cube --obs pixels --train randomized --max-minutes 15

Trains PPO twice with the same env-step budget and seed: once on the nominal model, once with
`randomize=True` (the task's default ranges, a privileged critic, the actor's last actions and,
unless --no-curriculum, ranges widened from nominal as training success holds). Then evaluates
both deterministic policies on the same seeded episodes of the nominal model and of held-out
shifted models outside the training ranges, every condition through the same code path
(identity ranges for the nominal one), each rate with a 95% Wilson interval; and measures how
far each shift moves the expert's rollout, so a shift that changes nothing shows as 0.
Every figure comes from this one run; writes benchmarks/results/robustness_<task>_<device>.json,
a plot beside it, and prints the table.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import jax
import numpy as np

from mjx_lerobot.report import device_tag, machine_info
from mjx_lerobot.rl import ppo
from mjx_lerobot.sim.expert import expert_policy, first_episode_success
from mjx_lerobot.sim.randomize import FIELDS, Ranges, nominal_ranges
from mjx_lerobot.sim.registry import load_task, make
from mjx_lerobot.sim.rollout import rollout

#: Held-out shifts: every other field at its nominal value, each outside the training ranges
#: (`Ranges()`), so no training episode ever drew one.
#: A pair's friction scales by the product of its two geoms' draws and every contact pair of these
#: scenes has the object in it, so the object's draw alone scales every contact by its factor
#: (setting the pads' and the table's too would scale the pad-object pairs by its square).
SHIFTS = {
    "contact friction x0.5": dict(cube_friction=(0.5, 0.5)),
    "contact friction x1.5": dict(cube_friction=(1.5, 1.5)),
    "table friction x0.4": dict(table_friction=(0.4, 0.4)),
    "kp x0.7": dict(kp=(0.7, 0.7)),
    "kp x1.3": dict(kp=(1.3, 1.3)),
    "cube mass x2": dict(cube_mass=(2.0, 2.0)),
    "cube size x0.8": dict(cube_size=(0.8, 0.8)),
    "cube size x1.25": dict(cube_size=(1.25, 1.25)),
    "link masses x1.2": dict(link_mass=(1.2, 1.2)),
    "delay 2 steps": dict(latency=(2, 2)),
    "action noise x3": dict(action_noise=(0.015, 0.015)),
    "cameras moved 2 cm": dict(camera_pos=(0.02, 0.02)),
}


def conditions() -> dict[str, object]:
    """Every evaluated model as ranges: the nominal one too (identity ranges), so that every
    condition runs through the same code path and differs only in its values."""
    return {"nominal": nominal_ranges()} | {name: nominal_ranges().replace(**shift) for name, shift in SHIFTS.items()}


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a success rate."""
    if n == 0:
        return (math.nan, math.nan)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def stacked(episodes: int) -> tuple[list[str], Ranges]:
    """Every condition's ranges, one block of `episodes` instances each: one env evaluates all
    of them in one compiled rollout, each instance drawing its own block's model."""
    table = conditions()
    fields = {}
    for field in FIELDS:
        blocks = [
            np.broadcast_to(np.asarray(getattr(r, field.name), np.float32), (episodes, 2)) for r in table.values()
        ]
        fields[field.name] = np.concatenate(blocks)
    return list(table), Ranges(**fields)


def block_keys(seed: int, episodes: int, blocks: int) -> jax.Array:
    """Instance keys: episode i of every block starts from the same key (the same scene)."""
    base = jax.vmap(lambda i: jax.random.fold_in(jax.random.key(seed), i))(np.arange(episodes))
    return jax.numpy.concatenate([base] * blocks)


def run_blocks(env: Any, policy: Any, seed: int, episodes: int, steps: int) -> dict:
    """A rollout of `env` (blocks of `episodes` instances) from the blocks' shared seeds."""
    blocks = env.num_envs // episodes
    state = env.reset_instances(block_keys(seed, episodes, blocks))
    _, traj = rollout(env, policy, jax.random.key(seed), steps, state=state)
    return traj


def physics_effect(task: str, impl: str, instances: int = 16, seed: int = 0) -> dict[str, float]:
    """Per condition: the largest joint or object position difference (m or rad) from the
    nominal model along the expert's rollout, same seeds. 0 means the shift changes nothing a
    state policy could notice (a camera shift, for one)."""
    names, ranges = stacked(instances)
    env = make(task, num_envs=len(names) * instances, impl=impl, randomize=ranges)
    qpos = np.asarray(run_blocks(env, expert_policy(env), seed, instances, 60)["qpos"])
    qpos = qpos.reshape(qpos.shape[0], len(names), instances, -1)
    return {name: float(np.abs(qpos[:, i] - qpos[:, 0]).max()) for i, name in enumerate(names)}


def evaluate_everywhere(result: ppo.TrainResult, episodes: int, impl: str, seed: int) -> dict:
    """First-episode success on every condition, the same seeded episodes each (one env, one
    compiled rollout: the conditions differ only in their instances' ranges), 95% intervals."""
    names, ranges = stacked(episodes)
    env = ppo.make_env(result.config, load_task(result.config.task), len(names) * episodes, impl, ranges)
    traj = run_blocks(env, ppo.make_policy(result), seed, episodes, env.episode_steps)
    success = first_episode_success(traj).reshape(len(names), episodes)
    table = {}
    for name, row in zip(names, success, strict=True):
        table[name] = {"success_rate": float(row.mean()), "successes": int(row.sum()), "episodes": episodes,
                       "ci95": wilson(int(row.sum()), episodes)}  # fmt: skip
    table["shifted (mean)"] = {"success_rate": float(np.mean([table[n]["success_rate"] for n in SHIFTS]))}
    return table


def reused(run_dir: Path, config: ppo.PPOConfig, seed: int) -> dict | None:
    """The summary of a run already trained in `run_dir` with this very config and seed, or None."""
    path = run_dir / "summary.json"
    if not path.exists():
        return None
    summary = json.loads(path.read_text())
    same = summary["seed"] == seed and summary["config"] == json.loads(json.dumps(dataclasses.asdict(config)))
    print(f"{run_dir}: {'reusing the trained run' if same else 'trained with another config: training again'}")
    return summary if same else None


def plot(report: dict, path: Path) -> None:
    """Success per condition, one bar per trained policy, 95% intervals as error bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = list(report["results"])
    names = list(conditions())
    fig, ax = plt.subplots(figsize=(12, 4.5))
    width = 0.8 / len(runs)
    for i, run in enumerate(runs):
        rows = [report["results"][run]["eval"][n] for n in names]
        rate = np.array([r["success_rate"] for r in rows])
        low = rate - np.array([r["ci95"][0] for r in rows])
        high = np.array([r["ci95"][1] for r in rows]) - rate
        ax.bar(np.arange(len(names)) + i * width, rate, width, yerr=[low, high], capsize=2, label=f"trained {run}")
    ax.set_xticks(np.arange(len(names)) + width * (len(runs) - 1) / 2, names, rotation=35, ha="right")
    ax.set_ylabel("first-episode success")
    ax.set_ylim(0, 1)
    ax.set_title(
        f"{report['task']} from {report['obs']}: {report['episodes']} seeded episodes per condition, {report['device']}"
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="lift_cube")
    parser.add_argument("--steps", type=int, default=None, help="env steps per run (default: the task's PPO budget)")
    parser.add_argument("--num-envs", type=int, default=None, help="instances (default: PPO's)")
    parser.add_argument("--impl", default="auto")
    parser.add_argument("--episodes", type=int, default=1000, help="seeded evaluation episodes per condition")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train", default="nominal,randomized", help="which of the two runs to train")
    parser.add_argument(
        "--no-curriculum", action="store_true", help="train the randomized run on the full ranges at once"
    )
    parser.add_argument("--max-minutes", type=float, default=None, help="wall-time cap per training run")
    parser.add_argument("--obs", default="state", choices=ppo.OBS_KINDS, help="what the actor sees")
    parser.add_argument("--cameras", default="front,wrist", help="--obs pixels: comma-separated cameras")
    parser.add_argument("--image-size", type=int, default=64, help="--obs pixels: square image side")
    parser.add_argument(
        "--set", action="append", default=[], metavar="FIELD=JSON", help="a PPOConfig field, for both runs"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="evaluate a run already trained in --runs with the same config"
    )
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
        randomized = name == "randomized"
        curriculum = randomized and not args.no_curriculum
        settings = {k: json.loads(v) for k, _, v in (item.partition("=") for item in args.set)}
        config = ppo.default_config(
            args.task, impl=args.impl, randomize=randomized, curriculum=curriculum, **overrides | settings
        )
        run_dir = Path(args.runs) / f"{args.task}_{args.obs}_{name}"
        summary = reused(run_dir, config, args.seed) if args.reuse else None
        if summary is None:
            summary = ppo.run(config, args.seed, run_dir, args.max_minutes, eval_episodes=0)
        result = ppo.load(summary["checkpoint"])
        results[name] = {
            "train_wall_s": summary["train_wall_s"],
            "env_steps": summary["env_steps"],
            "final_train_return": summary["final_train_return"],
            "config": {
                k: summary["config"].get(k)
                for k in ("randomize", "privileged_critic", "action_history", "curriculum", "smoothness")
            },
            "curriculum": summary.get("curriculum"),
            "eval": evaluate_everywhere(result, args.episodes, args.impl, 10_000 + args.seed),
        }

    effect = physics_effect(args.task, args.impl)
    names = list(results[runs[0]]["eval"])
    print(f"\n{args.task} from {args.obs}: first-episode success over {args.episodes} seeded episodes per condition")
    print(f"{'evaluated on':22s} {'effect':>8s}" + "".join(f" {'trained ' + name:>19s}" for name in runs))
    for condition in names:
        cells = "".join(f" {results[n]['eval'][condition]['success_rate']:19.1%}" for n in runs)
        print(f"{condition:22s} {effect.get(condition, math.nan):8.4f}{cells}")
    report = machine_info() | {
        "task": args.task,
        "obs": args.obs,
        "episodes": args.episodes,
        "shifts": SHIFTS,
        "results": results,
        "physics_effect": effect,
        "args": vars(args),
        "command": "python benchmarks/robustness.py "
        + " ".join(
            f"--{k.replace('_', '-')}" + ("" if v is True else f" {v}")
            for k, value in vars(args).items()
            for v in (value if isinstance(value, list) else [value])
            if v not in (None, False)
        ),
    }
    suffix = "" if args.obs == "state" else f"_{args.obs}"
    path = Path(args.out or Path(__file__).parent / "results" / f"robustness_{args.task}{suffix}_{device_tag()}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=list))
    plot(report, path.with_suffix(".png"))
    print(f"wrote {path} and {path.with_suffix('.png')}")


if __name__ == "__main__":
    main()
