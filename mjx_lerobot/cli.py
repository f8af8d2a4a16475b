"""The `mjx-lerobot` command.

demo      run a task's scripted expert on many instances at once; success and speed
tasks     list the bundled tasks
experts   measure every expert's success rate over many seeded episodes, per backend
record    write expert demonstrations as a LeRobotDataset (needs the `lerobot` extra)
replay    re-simulate a recorded episode and report how far it drifts from the record
train     train a PPO policy on N instances in one jitted loop; checkpoint and learning curve
eval      success rate of a trained policy over many seeded episodes
bench     throughput against num_envs for both backends, MuJoCo C and the seed peer, in one run
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import time

import numpy as np


def _device_name() -> str:
    from mjx_lerobot.report import device_name

    return device_name()


def demo(args: argparse.Namespace) -> dict:
    import jax

    import mjx_lerobot
    from mjx_lerobot.core import compile_rollout
    from mjx_lerobot.render import Renderer, write_video

    mjx_lerobot.enable_compilation_cache()
    env = mjx_lerobot.make(args.task, num_envs=args.num_envs, impl=args.impl)
    if env.task.expert is None:
        raise SystemExit(f"task {args.task!r} has no scripted expert")
    policy = env.task.expert(env.scene, env.params)
    steps = args.steps or env.episode_steps
    key = jax.random.key(args.seed)

    def log(msg: str) -> None:
        if not args.json:
            print(msg, flush=True)

    log(f"{args.task}: {env.num_envs} instances, impl={env.impl}, device={_device_name()}, {steps} steps")
    t0 = time.perf_counter()
    run = compile_rollout(env, policy, steps)
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    final, traj = jax.block_until_ready(run(key))
    run_s = time.perf_counter() - t0

    success = np.asarray(traj["success"]).any(axis=0)
    physics_steps = steps * env.num_envs * env.scene.substeps
    result = {
        "task": args.task,
        "impl": env.impl,
        "num_envs": env.num_envs,
        "control_steps": steps,
        "success_rate": float(success.mean()),
        "faults": int((np.asarray(traj["fault"]) != 0).any(axis=0).sum()),
        "compile_s": round(compile_s, 2),
        "run_s": round(run_s, 3),
        "env_steps_per_s": round(steps * env.num_envs / run_s, 1),
        "physics_steps_per_s": round(physics_steps / run_s, 1),
        "device": _device_name(),
        "machine": f"{platform.node()} ({platform.processor() or platform.machine()})",
    }
    log(f"success rate {result['success_rate']:.1%} over {env.num_envs} instances")
    rate = result["physics_steps_per_s"]
    log(f"compiled in {compile_s:.1f} s; ran {steps} steps in {run_s:.2f} s: {rate:,.0f} physics steps/s")
    if args.video:
        qpos = np.asarray(traj["qpos"][:, 0])
        mocap = np.asarray(traj["mocap_pos"][:, 0])
        renderer = Renderer(env.scene.mj_model, 240, 320)
        frames = renderer.frames(qpos, mocap, cameras=("front", "wrist"))
        renderer.close()
        path = write_video(args.video, frames, fps=mjx_lerobot.CONTROL_HZ)
        result["video"] = str(path)
        log(f"video of instance 0: {path}")
    if args.json:
        print(json.dumps(result, indent=2))
    return result


def experts(args: argparse.Namespace) -> list[dict]:
    """Every (task, impl): the expert's first-episode success over `--episodes` seeded instances."""
    from pathlib import Path

    from tqdm import tqdm

    import mjx_lerobot
    from mjx_lerobot.expert import evaluate
    from mjx_lerobot.report import device_tag, machine_info

    mjx_lerobot.enable_compilation_cache()
    tasks = mjx_lerobot.available_tasks() if args.tasks == "all" else args.tasks.split(",")
    runs = [(task, impl) for task in tasks for impl in args.impl.split(",")]
    results = []
    bar = tqdm(runs, desc="experts", unit="run")
    for task, impl in bar:
        bar.set_postfix_str(f"{task} {impl}")
        result = evaluate(task, args.episodes, impl, args.variation, args.action_noise, args.seed)
        results.append(result)
        bar.write(
            f"{task:11s} {result['impl']:5s} success {result['success_rate']:7.2%} "
            f"({result['successes']}/{result['episodes']}), faults {result['instances_with_faults']}, "
            f"compile {result['compile_s']:.0f} s, run {result['run_s']:.0f} s"
        )
    if args.out != "":
        out = Path(args.out or f"experts_{device_tag()}.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(machine_info() | {"results": results}, indent=2))
        print(f"wrote {out}")
    return results


def record(args: argparse.Namespace) -> dict:
    from mjx_lerobot.record import RecordConfig, record

    cameras = tuple(c for c in args.cameras.split(",") if c)
    repo_id = args.repo_id or f"local/so101_mjx_{args.task}"
    cfg = RecordConfig(
        task=args.task,
        episodes=args.episodes,
        root=args.root,
        repo_id=repo_id,
        cameras=cameras,
        only_success=args.only_success,
        num_envs=args.num_envs,
        impl=args.impl,
        seed=args.seed,
        variation=args.variation,
        action_noise=args.action_noise,
        resume=args.resume,
        progress=not args.json,
    )
    result = record(cfg)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        state = "interrupted: " if result["interrupted"] else ""
        print(
            f"{state}{result['episodes_in_dataset']} episodes in {args.root} ({result['episodes_written']} new, "
            f"expert success {result['success_rate']:.1%} over {result['attempts']} attempts); "
            f"{result['episodes_per_min']:.0f} episodes/min, {result['frames_per_s']:.0f} frames/s"
        )
        print(f"load it: LeRobotDataset({repo_id!r}, root={args.root!r})")
    return result


def replay(args: argparse.Namespace) -> dict:
    from mjx_lerobot.record import replay

    result = replay(args.root, args.episode, video=args.video or None, impl=args.impl)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"episode {result['episode']} ({result['task']}, {result['frames']} frames, impl={result['impl']}): "
            f"max deviation {result['max_qpos_deviation']:.2e} in qpos, "
            f"{result['max_state_deviation_deg']:.2e} deg in observation.state; "
            f"success recorded {result['recorded_success']}, replayed {result['replayed_success']}"
        )
        if "video" in result:
            print(f"video: {result['video']}")
    return result


def train(args: argparse.Namespace) -> dict:
    """PPO: checkpoint, history, curve and a final evaluation in --out."""
    from pathlib import Path

    import mjx_lerobot
    from mjx_lerobot import ppo
    from mjx_lerobot.report import machine_info

    mjx_lerobot.enable_compilation_cache()
    overrides = dict(num_envs=args.num_envs, impl=args.impl)
    if args.steps is not None:
        overrides["total_steps"] = args.steps
    for item in args.set:
        name, _, value = item.partition("=")
        overrides[name] = json.loads(value)
    config = ppo.default_config(args.task, **overrides)
    out = Path(args.out or f"runs/{args.task}")
    print(f"training {args.task}: {config.num_envs} instances, {config.total_steps:,} env steps, {_device_name()}")
    result = ppo.train(config, seed=args.seed, out_dir=out, max_minutes=args.max_minutes, progress=True)
    history = result.history
    summary = machine_info() | {
        "task": args.task,
        "config": dataclasses.asdict(config),
        "seed": args.seed,
        "env_steps": history["env_steps"][-1],
        "train_wall_s": round(history["wall_s"][-1], 1),
        "final_train_return": history["episode_return"][-1],
        "final_train_success_rate": history["success_rate"][-1],
        # Wall time (compile included) until the training episodes first reached each rate.
        "minutes_to_train_success": {
            f"{rate:.0%}": next(
                (
                    round(t / 60, 2)
                    for t, s in zip(history["wall_s"], history["success_rate"], strict=True)
                    if s >= rate
                ),
                None,
            )
            for rate in (0.5, 0.8, 0.95)
        },
        "checkpoint": str(out / "checkpoint.msgpack"),
        "curve": str(out / "curve.png"),
    }
    if args.eval_episodes:
        summary["eval"] = ppo.evaluate(result, num_episodes=args.eval_episodes, impl=args.impl, seed=10_000 + args.seed)
        print(f"eval: success {summary['eval']['success_rate']:.1%} over {args.eval_episodes} seeded episodes")
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"wrote {out}/checkpoint.msgpack, curve.png, summary.json")
    return summary


def evaluate(args: argparse.Namespace) -> dict:
    import mjx_lerobot
    from mjx_lerobot import ppo
    from mjx_lerobot.report import machine_info

    mjx_lerobot.enable_compilation_cache()
    result = ppo.load(args.checkpoint)
    stats = ppo.evaluate(result, num_episodes=args.episodes, impl=args.impl, seed=args.seed)
    if args.video:
        stats["video"] = str(_policy_video(result, args.video, args.seed))
    if args.json:
        print(json.dumps(machine_info() | stats, indent=2))
    else:
        print(
            f"{stats['task']}: success {stats['success_rate']:.1%} ({stats['successes']}/{stats['episodes']} "
            f"seeded episodes, impl={stats['impl']}, device={_device_name()}), "
            f"{stats['mean_steps_to_end']:.0f} steps per episode on average"
        )
        if args.video:
            print(f"video: {stats['video']}")
    return stats


def _policy_video(result, path: str, seed: int):
    """One episode of the trained policy, front and wrist cameras."""
    import jax

    import mjx_lerobot
    from mjx_lerobot import ppo
    from mjx_lerobot.core import rollout
    from mjx_lerobot.render import Renderer, write_video

    env = mjx_lerobot.make(result.config.task, num_envs=1, impl="jax")
    _, traj = rollout(env, ppo.make_policy(result), jax.random.key(seed), env.episode_steps)
    renderer = Renderer(env.scene.mj_model, 240, 320)
    frames = renderer.frames(np.asarray(traj["qpos"][:, 0]), np.asarray(traj["mocap_pos"][:, 0]), ("front", "wrist"))
    renderer.close()
    return write_video(path, frames, fps=mjx_lerobot.CONTROL_HZ)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mjx-lerobot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help="run a task's scripted expert on N instances; report success and speed")
    d.add_argument("--task", default="lift_cube")
    d.add_argument("--num-envs", type=int, default=256)
    d.add_argument("--impl", default="auto", choices=("auto", "jax", "warp"))
    d.add_argument("--steps", type=int, default=None, help="control steps (default: one episode)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--video", default="demo.mp4", help="video of instance 0 ('' for none)")
    d.add_argument("--json", action="store_true", help="print the results as JSON only")
    sub.add_parser("tasks", help="list the bundled tasks")
    e = sub.add_parser("experts", help="measure each expert's success rate over many seeded episodes")
    e.add_argument("--tasks", default="all", help="comma-separated task names, or 'all'")
    e.add_argument("--episodes", type=int, default=1000, help="seeded episodes per task and backend")
    e.add_argument("--impl", default="jax,warp", help="comma-separated backends")
    e.add_argument("--variation", type=float, default=1.0, help="per-episode plan variation, 0..1")
    e.add_argument("--action-noise", type=float, default=0.0, help="DART noise std on executed actions")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--out", default=None, help="JSON results (default experts_<device>.json; '' for none)")
    r = sub.add_parser("record", help="record expert demonstrations as a LeRobotDataset (v3)")
    r.add_argument("--task", default="lift_cube")
    r.add_argument("--episodes", type=int, default=100, help="episodes wanted in the dataset")
    r.add_argument("--root", required=True, help="dataset directory")
    r.add_argument("--repo-id", default=None, help="dataset id (default local/so101_mjx_<task>)")
    r.add_argument("--cameras", default="", help="comma-separated cameras to store as videos, e.g. front,wrist")
    r.add_argument("--only-success", action="store_true", help="keep only the episodes the expert succeeded in")
    r.add_argument("--num-envs", type=int, default=64, help="instances simulated at once")
    r.add_argument("--impl", default="auto", choices=("auto", "jax", "warp"))
    r.add_argument("--seed", type=int, default=0, help="first episode seed")
    r.add_argument("--variation", type=float, default=1.0, help="per-episode variation of the expert's plan, 0..1")
    r.add_argument("--action-noise", type=float, default=0.0, help="DART noise std on executed actions")
    r.add_argument("--resume", action="store_true", help="continue an interrupted recording up to --episodes")
    r.add_argument("--json", action="store_true", help="no progress bar; print the results as JSON")
    p = sub.add_parser("replay", help="re-simulate a recorded episode; report the deviation, render it")
    p.add_argument("--root", required=True, help="dataset directory")
    p.add_argument("--episode", type=int, default=0)
    p.add_argument("--video", default="", help="write the replayed episode to this mp4")
    p.add_argument("--impl", default=None, choices=("jax", "warp"), help="backend (default: the recording's)")
    p.add_argument("--json", action="store_true")
    t = sub.add_parser("train", help="train a PPO policy on N instances; checkpoint, learning curve, evaluation")
    t.add_argument("--task", default="reach")
    t.add_argument("--num-envs", type=int, default=2048)
    t.add_argument("--steps", type=int, default=None, help="env steps over all instances (default: the task's)")
    t.add_argument("--impl", default="auto", choices=("auto", "jax", "warp"))
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", default=None, help="run directory (default runs/<task>)")
    t.add_argument("--max-minutes", type=float, default=None, help="stop early after this much wall time")
    t.add_argument("--eval-episodes", type=int, default=1000, help="seeded episodes evaluated at the end (0: none)")
    t.add_argument("--set", action="append", default=[], metavar="FIELD=JSON", help="any PPOConfig field")
    v = sub.add_parser("eval", help="success rate of a trained policy over many seeded episodes")
    v.add_argument("--checkpoint", required=True, help="checkpoint.msgpack written by train")
    v.add_argument("--episodes", type=int, default=1000)
    v.add_argument("--impl", default="auto", choices=("auto", "jax", "warp"))
    v.add_argument("--seed", type=int, default=10_000, help="seed of the first episode (train evaluates 10000+)")
    v.add_argument("--video", default="", help="write one episode of the policy to this mp4")
    v.add_argument("--json", action="store_true")
    b = sub.add_parser("bench", help="throughput vs num_envs, both backends, MuJoCo C and the seed peer, one run")
    b.add_argument("--task", default="lift_cube")
    b.add_argument("--num-envs", default="1,64,256,1024", help="comma-separated instance counts")
    b.add_argument("--impl", default="jax,warp", help="comma-separated backends, measured in this order")
    b.add_argument("--jax-num-envs", default="", help="instance counts for impl=jax (default: --num-envs)")
    b.add_argument("--steps", type=int, default=60, help="control steps timed per configuration")
    b.add_argument("--max-seconds", type=float, default=None, help="skip the remaining sizes after this long")
    b.add_argument("--peer-python", default=".peer-venv/bin/python", help="interpreter with lerobothackathonenv")
    b.add_argument("--peer-seconds", type=float, default=5.0, help="timed seconds per peer mode")
    b.add_argument("--adapter-envs", type=int, default=256, help="instances for the Gym adapter overhead (0: skip)")
    b.add_argument("--out", default=None, help="JSON path (default benchmarks/results/bench_<device>.json)")
    b.add_argument("--note", default="", help="stored with the results, e.g. what else ran on the machine")
    b.add_argument("--table", default="", help="only print the README table of this results JSON")
    args = parser.parse_args(argv)
    if args.command == "bench":
        from mjx_lerobot import bench

        bench.main(args)
        return 0
    if args.command == "train":
        if args.num_envs < 1 or (args.steps is not None and args.steps < 1):
            parser.error("--num-envs and --steps must be >= 1")
        train(args)
        return 0
    if args.command == "eval":
        if args.episodes < 1:
            parser.error("--episodes must be >= 1")
        evaluate(args)
        return 0
    if args.command == "tasks":
        import mjx_lerobot

        for name in mjx_lerobot.available_tasks():
            task = mjx_lerobot.load_task(name)
            print(f"{name:12s} {task.episode_steps:4d} steps  {task.instruction}")
        return 0
    if args.command == "record":
        if args.episodes < 1 or args.num_envs < 1:
            parser.error("--episodes and --num-envs must be >= 1")
        return 0 if not record(args)["interrupted"] else 130
    if args.command == "replay":
        replay(args)
        return 0
    if args.command == "experts":
        if args.episodes < 1:
            parser.error("--episodes must be >= 1")
        experts(args)
        return 0
    if args.num_envs < 1:
        parser.error("--num-envs must be >= 1")
    demo(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
