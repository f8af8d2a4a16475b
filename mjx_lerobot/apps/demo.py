"""The main job: a task's scripted expert on many SO-101 instances at once, its success and speed.

    mjx-lerobot demo --task lift_cube --num-envs 256        # what README's first command runs
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable

import jax
import numpy as np

from mjx_lerobot.report import device_name
from mjx_lerobot.sim.camera import pixel_renderer
from mjx_lerobot.sim.expert import expert_policy
from mjx_lerobot.sim.registry import make
from mjx_lerobot.sim.rollout import timed_rollout
from mjx_lerobot.sim.scene import CONTROL_HZ


def demo(
    task: str = "lift_cube",
    num_envs: int = 256,
    impl: str = "auto",
    steps: int | None = None,
    seed: int = 0,
    video: str | None = "demo.mp4",
    log: Callable[[str], None] = print,
    randomize: bool = False,
    renderer: str = "auto",
) -> dict:
    """Roll out the expert on `num_envs` instances for `steps` control steps (default: one
    episode) in one compiled call; report success, compile and run time, and write a video of
    instance 0 (front and wrist cameras) unless `video` is empty, drawn by `renderer`
    (`render.episode_frames`). With `randomize`, every instance draws its own physics and looks
    (the task's default ranges)."""
    video_renderer = pixel_renderer(renderer)  # a bad name fails now, not after the rollout
    env = make(task, num_envs=num_envs, impl=impl, randomize=randomize)
    steps = steps or env.episode_steps
    randomized = ", randomized" if randomize else ""
    log(f"{task}: {env.num_envs} instances, impl={env.impl}, device={device_name()}, {steps} steps{randomized}")
    timed = timed_rollout(env, expert_policy(env), jax.random.key(seed), steps)
    traj = timed.traj
    success = np.asarray(traj["success"]).any(axis=0)
    physics_steps = steps * env.num_envs * env.scene.substeps
    result = {
        "task": task,
        "impl": env.impl,
        "num_envs": env.num_envs,
        "randomize": bool(randomize),
        "control_steps": steps,
        "success_rate": float(success.mean()),
        "faults": int((np.asarray(traj["fault"]) != 0).any(axis=0).sum()),
        "compile_s": round(timed.compile_s, 2),
        "run_s": round(timed.run_s, 3),
        "env_steps_per_s": round(steps * env.num_envs / timed.run_s, 1),
        "physics_steps_per_s": round(physics_steps / timed.run_s, 1),
        "device": device_name(),
        "machine": f"{platform.node()} ({platform.processor() or platform.machine()})",
    }
    log(f"success rate {result['success_rate']:.1%} over {env.num_envs} instances")
    log(
        f"compiled in {timed.compile_s:.1f} s; ran {steps} steps in {timed.run_s:.2f} s: "
        f"{result['physics_steps_per_s']:,.0f} physics steps/s"
    )
    if video:
        from mjx_lerobot.sim.render import episode_video, video_geom_groups

        qpos, mocap = traj["qpos"][:, 0], traj["mocap_pos"][:, 0]
        groups = video_geom_groups(env.task)
        fields = None
        if env.randomized:  # instance 0's colours, lights and cameras: its first episode's
            reset_key = jax.random.split(jax.random.key(seed))[0]  # as rollout resets
            values = env.reset_instances(jax.random.fold_in(reset_key, 0)[None]).domain.values
            fields = jax.tree.map(lambda v: np.asarray(v[0]), jax.vmap(env.targets.render_fields)(values))
        video_start = time.perf_counter()
        path = episode_video(
            env.scene, qpos, mocap, video, CONTROL_HZ, geom_groups=groups, model_fields=fields, renderer=video_renderer
        )
        result |= {"video": str(path), "video_renderer": video_renderer}
        result["video_s"] = round(time.perf_counter() - video_start, 2)
        log(f"video of instance 0 ({result['video_renderer']} renderer, {result['video_s']:.1f} s): {path}")
    return result
