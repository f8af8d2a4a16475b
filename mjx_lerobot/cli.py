"""The `mjx-lerobot` command: `demo` runs a task's scripted expert on many instances at once."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time

import numpy as np


def _device_name() -> str:
    import jax

    device = jax.devices()[0]
    kind = getattr(device, "device_kind", "")
    return device.platform if kind.lower() in ("", device.platform) else f"{device.platform} ({kind})"


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
    args = parser.parse_args(argv)
    if args.command == "tasks":
        import mjx_lerobot

        for name in mjx_lerobot.available_tasks():
            task = mjx_lerobot.load_task(name)
            print(f"{name:12s} {task.episode_steps:4d} steps  {task.instruction}")
        return 0
    if args.num_envs < 1:
        parser.error("--num-envs must be >= 1")
    demo(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
