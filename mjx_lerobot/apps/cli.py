"""The `mjx-lerobot` command.

demo      run a task's scripted expert on many instances at once; success and speed
tasks     list the bundled tasks
experts   measure every expert's success rate over many seeded episodes, per backend
record    write expert demonstrations as a LeRobotDataset (needs the `lerobot` extra)
replay    re-simulate a recorded episode and report how far it drifts from the record
train     train a PPO policy on N instances in one jitted loop; checkpoint and learning curve
eval      success rate of a trained policy over many seeded episodes
bench     throughput against num_envs for every backend, MuJoCo C and the seed peer, in one run
view      watch a policy (the expert, a checkpoint) in MuJoCo's viewer, or write a video
teleop    drive the arm with a keyboard, gamepad or SO-101 leader arm; record a LeRobotDataset
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any

from mjx_lerobot.lerobot.durable import RecordingStopped
from mjx_lerobot.physics import IMPLS

#: What --impl accepts: a backend, or "auto" (the fastest one for this machine's device).
IMPL_CHOICES = ("auto", *IMPLS)


def demo(args: argparse.Namespace) -> int:
    from mjx_lerobot.apps.demo import demo

    log = (lambda msg: None) if args.json else (lambda msg: print(msg, flush=True))
    result = demo(args.task, args.num_envs, args.impl, args.steps, args.seed, args.video, log=log,
                  randomize=args.randomize, renderer=args.video_renderer)
    _print_json(args, result)
    return 0


def tasks(args: argparse.Namespace) -> int:
    import mjx_lerobot

    for name in mjx_lerobot.available_tasks():
        task = mjx_lerobot.load_task(name)
        print(f"{name:12s} {task.episode_steps:4d} steps  {task.instruction}")
        for words in task.instructions:  # a language task's, one drawn per episode
            print(f"{'':25s}- {words}")
    return 0


def experts(args: argparse.Namespace) -> int:
    """Every (task, impl): the expert's first-episode success over `--episodes` seeded instances."""
    from pathlib import Path

    from tqdm import tqdm

    import mjx_lerobot
    from mjx_lerobot.report import device_tag, machine_info
    from mjx_lerobot.sim.expert import evaluate
    from mjx_lerobot.sim.scene import impl_unsupported

    names = mjx_lerobot.available_tasks() if args.tasks == "all" else args.tasks.split(",")
    impls = args.impl.split(",")
    # Every name checked before the first run: a typo in the last one must not cost the others.
    for task in names:
        mjx_lerobot.load_task(task)
    for impl in impls:
        if impl not in IMPL_CHOICES:
            raise ValueError(f"--impl: unknown backend {impl!r}; choose from {', '.join(IMPL_CHOICES)}")
    runs = [(task, impl) for task in names for impl in impls]
    results = []
    bar = tqdm(runs, desc="experts", unit="run")
    for task, impl in bar:
        bar.set_postfix_str(f"{task} {impl}")
        unsupported = impl_unsupported(mjx_lerobot.load_task(task).scene, impl)
        if unsupported:
            results.append({"task": task, "impl": impl, "skipped": unsupported})
            bar.write(f"{task:11s} {impl:5s} skipped: {unsupported}")
            continue
        result = evaluate(task, args.episodes, impl, args.variation, args.action_noise, args.seed, args.randomize)
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
    return 0


def record(args: argparse.Namespace) -> int:
    from mjx_lerobot.lerobot.record import RecordConfig, record

    repo_id = args.repo_id or f"local/so101_mjx_{args.task}"
    cfg = RecordConfig(
        task=args.task,
        episodes=args.episodes,
        root=args.root,
        repo_id=repo_id,
        cameras=tuple(c for c in args.cameras.split(",") if c),
        height=args.height,
        width=args.width,
        renderer=args.renderer,
        only_success=args.only_success,
        num_envs=args.num_envs,
        impl=args.impl,
        seed=args.seed,
        variation=args.variation,
        action_noise=args.action_noise,
        randomize=args.randomize,
        resume=args.resume,
        progress=not args.json,
        durable_every_s=args.durable_every,
    )
    result = record(cfg)
    if not _print_json(args, result):
        state = "interrupted: " if result["interrupted"] else ""
        print(
            f"{state}{result['episodes_in_dataset']} episodes in {args.root} ({result['episodes_written']} new, "
            f"expert success {result['success_rate']:.1%} over {result['attempts']} attempts); "
            f"{result['episodes_per_min']:.0f} episodes/min, {result['frames_per_s']:.0f} frames/s"
        )
        print(f"load it: LeRobotDataset({repo_id!r}, root={args.root!r})")
    return 130 if result["interrupted"] else 0


def replay(args: argparse.Namespace) -> int:
    from mjx_lerobot.lerobot.record import replay

    result = replay(args.root, args.episode, video=args.video or None, impl=args.impl, renderer=args.video_renderer)
    if not _print_json(args, result):
        print(
            f"episode {result['episode']} ({result['task']}, {result['frames']} frames, impl={result['impl']}): "
            f"max deviation {result['max_qpos_deviation']:.2e} in qpos, "
            f"{result['max_state_deviation_deg']:.2e} deg in observation.state; "
            f"success recorded {result['recorded_success']}, replayed {result['replayed_success']}"
        )
        if "video" in result:
            print(f"video: {result['video']}")
    return 0


def train(args: argparse.Namespace) -> int:
    """PPO: checkpoint, history, curve, a final evaluation and summary.json in --out."""
    from mjx_lerobot.report import device_name
    from mjx_lerobot.rl import ppo

    overrides: dict[str, Any] = dict(num_envs=args.num_envs, impl=args.impl, randomize=args.randomize)
    if args.steps is not None:
        overrides["total_steps"] = args.steps
    if args.curriculum:
        overrides["curriculum"] = True
    if args.obs is not None:
        overrides["obs"] = args.obs
    if args.cameras is not None:
        overrides["cameras"] = [c for c in args.cameras.split(",") if c]
    if args.image_size is not None:
        overrides["image_size"] = args.image_size
    for item in args.set:
        name, _, value = item.partition("=")
        overrides[name] = json.loads(value)
    config = ppo.default_config(args.task, **overrides)
    randomized = (", randomized" + (" with a curriculum" if config.curriculum else "")) if config.randomize else ""
    seen = (f"pixels ({'+'.join(config.cameras)} at {config.image_size}px, joints)" if config.obs == "pixels"
            else "state")
    print(f"training {args.task} from {seen}: {config.num_envs} instances, {config.total_steps:,} env steps"
          f"{randomized}, {device_name()}")
    summary = ppo.run(config, args.seed, args.out, args.max_minutes, args.eval_episodes)
    if "eval" in summary:
        print(f"eval: success {summary['eval']['success_rate']:.1%} over {args.eval_episodes} seeded episodes")
    print(f"wrote {summary['checkpoint']}, {summary['curve']} and summary.json")
    return 0


def evaluate(args: argparse.Namespace) -> int:
    from mjx_lerobot.report import device_name, machine_info
    from mjx_lerobot.rl import ppo

    result = ppo.load(args.checkpoint)
    stats = ppo.evaluate(result, num_episodes=args.episodes, impl=args.impl, seed=args.seed, randomize=args.randomize)
    if args.video:
        stats["video"] = str(ppo.policy_video(result, args.video, args.seed, renderer=args.video_renderer))
    if not _print_json(args, machine_info() | stats):
        print(
            f"{stats['task']}: success {stats['success_rate']:.1%} ({stats['successes']}/{stats['episodes']} "
            f"seeded {'randomized ' if args.randomize else ''}episodes, impl={stats['impl']}, device={device_name()}), "
            f"{stats['mean_steps_to_end']:.0f} steps per episode on average"
        )
        if args.video:
            print(f"video: {stats['video']}")
    return 0


def view(args: argparse.Namespace) -> int:
    from mjx_lerobot.apps.viewer import view

    log = (lambda msg: None) if args.json else (lambda msg: print(msg, flush=True))
    result = view(args.task, args.policy, args.instances, args.impl, args.seed, args.steps, args.video or None,
                  log=log, video_renderer=args.video_renderer)
    if not _print_json(args, result) and "video" in result:
        print(f"video: {result['video']}")
    return 0


def teleop(args: argparse.Namespace) -> int:
    from mjx_lerobot.apps.teleop import TeleopConfig, teleop
    from mjx_lerobot.sim.camera import as_camera_names

    cfg = TeleopConfig(
        task=args.task, device=args.device, port=args.port, root=args.record or None, repo_id=args.repo_id,
        episodes=args.episodes, cameras=as_camera_names(args.cameras), impl=args.impl, seed=args.seed,
        resume=args.resume, viewer=not args.no_viewer,
    )
    result = teleop(cfg)
    if not _print_json(args, result):
        print(f"{result['episodes_finished']} episodes, {result['successes']} successful"
              + (f"; {result['episodes_written']} written to {result['root']}" if result["root"] else ""))
    return 0


def bench(args: argparse.Namespace) -> int:
    from mjx_lerobot.bench.config import config_from_args
    from mjx_lerobot.bench.suite import main as run

    run(args, None if args.table else config_from_args(args))
    return 0


def check_bench(args: argparse.Namespace) -> None:
    """Bad sizes, backends or budgets fail as usage errors, before anything runs."""
    from mjx_lerobot.bench.config import config_from_args

    if not args.table:
        config_from_args(args)


def _print_json(args: argparse.Namespace, result: dict) -> bool:
    """With --json, print `result` as the command's only output; say whether it did."""
    if args.json:
        print(json.dumps(result, indent=2))
    return args.json


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1, got {text}")
    return value


#: Flags several commands share: name -> (flags, add_argument keywords).
COMMON_FLAGS: dict[str, tuple[tuple[str, ...], dict[str, Any]]] = {
    "task": (("--task",), dict(default="lift_cube", help="task name (see `mjx-lerobot tasks`)")),
    "num_envs": (("--num-envs",), dict(type=positive_int, default=256, help="instances simulated at once")),
    "impl": (("--impl",), dict(default="auto", choices=IMPL_CHOICES, help="physics backend")),
    "seed": (("--seed",), dict(type=int, default=0)),
    "json": (("--json",), dict(action="store_true", help="print the results as JSON only")),
    "episodes": (("--episodes",), dict(type=positive_int, default=1000, help="seeded episodes")),
    "variation": (("--variation",), dict(type=float, default=1.0, help="per-episode variation of the expert's plan")),
    "action_noise": (("--action-noise",), dict(type=float, default=0.0, help="DART noise std on executed actions")),
    "randomize": (("--randomize",), dict(action="store_true",
                  help="each instance its own physics, colours, lights and cameras (the task's default ranges)")),
    "video_renderer": (("--video-renderer",), dict(default="auto", choices=("auto", "batched", "gl"),
                       help="what draws --video: batched (Warp's ray tracer, all frames in one call; auto on a "
                            "GPU) or gl (MuJoCo's OpenGL renderer; auto on a CPU)")),
}


def common(*names: str, **defaults: Any) -> argparse.ArgumentParser:
    """A parent parser with the named common flags, `defaults` replacing theirs. A fresh one per
    command: argparse shares a parent's actions, so one command's default would leak into others."""
    parent = argparse.ArgumentParser(add_help=False)
    for name in names:
        flags, kwargs = COMMON_FLAGS[name]
        parent.add_argument(*flags, **(kwargs | ({"default": defaults[name]} if name in defaults else {})))
    return parent


def build_parser() -> argparse.ArgumentParser:
    """Each subcommand takes the common flags it names, with its own defaults, and its function
    (`set_defaults(func=...)`)."""
    parser = argparse.ArgumentParser(
        prog="mjx-lerobot", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, func: Callable[[argparse.Namespace], int], help: str, flags=(), check=None, **defaults):
        cmd = sub.add_parser(name, help=help, parents=[common(*flags, **defaults)])
        cmd.set_defaults(func=func, check=check)
        return cmd

    d = command("demo", demo, "run a task's scripted expert on N instances; report success and speed",
                ("task", "num_envs", "impl", "seed", "json", "randomize", "video_renderer"))
    d.add_argument("--steps", type=positive_int, default=None, help="control steps (default: one episode)")
    d.add_argument("--video", default="demo.mp4", help="video of instance 0 ('' for none)")

    command("tasks", tasks, "list the bundled tasks")

    e = command("experts", experts, "measure each expert's success rate over many seeded episodes",
                ("episodes", "seed", "variation", "action_noise", "randomize"))
    e.add_argument("--tasks", default="all", help="comma-separated task names, or 'all'")
    e.add_argument("--impl", default="c,jax,warp", help="comma-separated backends")
    e.add_argument("--out", default=None, help="JSON results (default experts_<device>.json; '' for none)")

    r = command("record", record, "record expert demonstrations as a LeRobotDataset (v3)",
                ("task", "num_envs", "impl", "seed", "json", "episodes", "variation", "action_noise", "randomize"),
                num_envs=64, episodes=100)
    r.add_argument("--root", required=True, help="dataset directory")
    r.add_argument("--repo-id", default=None, help="dataset id (default local/so101_mjx_<task>)")
    r.add_argument("--cameras", default="", help="comma-separated cameras to store as videos, e.g. front,wrist")
    r.add_argument("--height", type=int, default=240, help="camera image height")
    r.add_argument("--width", type=int, default=320, help="camera image width")
    r.add_argument("--renderer", default="auto", choices=("auto", "batched", "gl"),
                   help="what draws the cameras: batched (in the jitted step, impl=warp; auto on a GPU) or gl")
    r.add_argument("--only-success", action="store_true", help="keep only the episodes the expert succeeded in")
    r.add_argument("--resume", action="store_true",
                   help="continue a stopped or crashed recording up to --episodes (a crash's torn tail is dropped)")
    r.add_argument("--durable-every", type=float, default=30.0, metavar="SECONDS",
                   help="a durable point at least this often: a kill -9 loses at most what came after it (0: every "
                        "episode)")

    p = command("replay", replay, "re-simulate a recorded episode; report the deviation, render it",
                ("json", "video_renderer"))
    p.add_argument("--root", required=True, help="dataset directory")
    p.add_argument("--episode", type=int, default=0)
    p.add_argument("--video", default="", help="write the replayed episode to this mp4")
    p.add_argument("--impl", default=None, choices=IMPLS, help="backend (default: the recording's)")

    t = command("train", train, "train a PPO policy on N instances; checkpoint, learning curve, evaluation",
                ("task", "num_envs", "impl", "seed", "randomize"), task="reach", num_envs=2048)
    t.add_argument("--steps", type=positive_int, default=None, help="env steps, all instances (default: the task's)")
    t.add_argument("--out", default=None, help="run directory (default runs/<task>)")
    t.add_argument("--max-minutes", type=float, default=None, help="stop early after this much wall time")
    t.add_argument("--eval-episodes", type=int, default=1000, help="seeded episodes evaluated at the end (0: none)")
    t.add_argument("--obs", default=None, choices=("state", "pixels"),
                   help="what the actor sees: state (joints + object poses, default) or pixels (cameras + joints; "
                        "the critic still sees the state); pixels needs --impl warp or auto")
    t.add_argument("--cameras", default=None, help="comma-separated cameras for --obs pixels (default front,wrist)")
    t.add_argument("--image-size", type=positive_int, default=None,
                   help="square image side, pixels (--obs pixels; default 64)")
    t.add_argument("--curriculum", action="store_true",
                   help="with --randomize: widen the ranges from nominal as training success holds")
    t.add_argument("--set", action="append", default=[], metavar="FIELD=JSON", help="any PPOConfig field")

    v = command("eval", evaluate, "success rate of a trained policy over many seeded episodes",
                ("episodes", "impl", "seed", "json", "randomize", "video_renderer"), seed=10_000)
    v.add_argument("--checkpoint", required=True, help="checkpoint.msgpack written by train")
    v.add_argument("--video", default="", help="write one episode of the policy to this mp4")

    b = command("bench", bench, "throughput vs num_envs, every backend, MuJoCo C and the seed peer, one run",
                ("task",), check=check_bench)
    b.add_argument("--num-envs", default="1,64,256,1024", help="comma-separated instance counts")
    b.add_argument("--impl", default="warp,jax,c", help="comma-separated backends (the first also times the adapter)")
    b.add_argument("--jax-num-envs", default="", help="instance counts for impl=jax (default: --num-envs)")
    b.add_argument("--steps", type=int, default=100, help="control steps per timed rollout (lift_cube lifts by ~80)")
    b.add_argument("--max-seconds", type=float, default=None, help="time budget: points that would not fit are skipped")
    b.add_argument("--peer-python", default=".peer-venv/bin/python", help="interpreter with lerobothackathonenv")
    b.add_argument("--peer-seconds", type=float, default=5.0, help="timed seconds per peer mode")
    b.add_argument("--rollout-seconds", type=float, default=2.0, help="timed seconds per mujoco.rollout batch")
    b.add_argument("--adapter-envs", type=int, default=256, help="instances for the Gym adapter overhead (0: skip)")
    b.add_argument("--out", default=None, help="JSON path or folder (default benchmarks/results/bench_<device>.json)")
    b.add_argument("--note", default="", help="stored with the results, e.g. what else ran on the machine")
    b.add_argument("--table", default="", help="only print the README tables of this results JSON")
    b.add_argument("--no-progress", action="store_true", help="no progress bar")

    w = command("view", view, "watch a policy drive the jitted env in MuJoCo's viewer (or write a video)",
                ("task", "impl", "seed", "json", "video_renderer"))
    w.add_argument("--policy", default="expert", help="'expert', 'hold' or a PPO checkpoint of this task")
    w.add_argument("--instances", type=positive_int, default=1, help="instances stepped together ([ ] switch)")
    w.add_argument("--steps", type=positive_int, default=None, help="control steps (default: until closed)")
    w.add_argument("--video", default="", help="write one episode of instance 0 to this mp4 instead (no display)")

    o = command("teleop", teleop, "drive the arm with a keyboard, gamepad or leader arm; record a LeRobotDataset",
                ("task", "impl", "seed", "json", "episodes"), episodes=10)
    o.add_argument("--device", default="keyboard", choices=("keyboard", "gamepad", "so101_leader"))
    o.add_argument("--port", default=None, help="so101_leader: the leader arm's serial port")
    o.add_argument("--record", default="", help="dataset directory to record finished episodes into")
    o.add_argument("--repo-id", default=None, help="dataset id (default local/so101_mjx_<task>)")
    o.add_argument("--cameras", default="", help="comma-separated cameras to store as videos, e.g. front,wrist")
    o.add_argument("--resume", action="store_true", help="add episodes to an existing --record dataset")
    o.add_argument("--no-viewer", action="store_true", help="no window (a leader arm on a headless machine)")
    return parser


#: What bad input raises here (an unknown task, a malformed list, a file that is not what it
#: should be): one line and exit code 2, like argparse's own errors. Anything else is a bug and
#: keeps its traceback; MJX_LEROBOT_DEBUG=1 shows the traceback of these too.
USER_ERRORS = (RecordingStopped, ValueError, FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.check is not None:
            args.check(args)
        return args.func(args)
    except USER_ERRORS as err:
        if os.environ.get("MJX_LEROBOT_DEBUG") == "1":
            raise
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        parser.exit(2, f"{parser.prog}: error: {message}\n")


if __name__ == "__main__":
    sys.exit(main())
