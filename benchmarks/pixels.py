"""Camera images: the batched ray tracer inside the jitted step against MuJoCo's GL renderer.

    python benchmarks/pixels.py                       # this machine's defaults
    python benchmarks/pixels.py --num-envs 1,64,1024,4096 --sizes 64,128,224   # a GPU

One run, side by side, on lift_cube with the scripted expert and the front + wrist cameras:
- batched: physics and rendering fused in one compiled rollout (`Env(cameras=...)`): camera
  frames/s, env steps/s, compile time and the state's bytes per instance, per (num_envs, size);
- GL: MuJoCo's OpenGL renderer drawing the same states (the rollout's qpos), one process per
  core: as policy cameras draw (no multisampling, a shadow map sized to the image), with the
  scene's 1024^2 map, with MuJoCo's 4x multisampling, and with its default 4096^2 map too
  (the scene before);
- the Gym adapter's pixel observations (LeRobot's 240x320 default) through each renderer.
Writes benchmarks/results/pixels_<device>.json.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from pathlib import Path

import numpy as np

CAMERAS = ("front", "wrist")


def measure_batched(num_envs: int, size: int, steps: int) -> tuple[dict, np.ndarray, np.ndarray]:
    """The batched renderer fused with physics (mjx-lerobot bench's camera measurement), and the
    first instances' trajectory, for GL to draw the same states."""
    from mjx_lerobot.bench.measure import measure_cameras

    row, timed = measure_cameras("lift_cube", num_envs, size, steps, CAMERAS)
    row = {"renderer": "batched (MuJoCo Warp ray tracer, in the jitted step)"} | row
    keep = min(num_envs, 8)
    return row, np.asarray(timed.traj["qpos"][:, :keep]), np.asarray(timed.traj["mocap_pos"][:, :keep])


def _gl_worker(args: tuple) -> tuple[int, float]:
    qpos, mocap, size, shadowsize, antialias = args
    import mjx_lerobot  # noqa: F401  (sets MUJOCO_GL for headless rendering)
    from mjx_lerobot.sim.render import Renderer
    from mjx_lerobot.sim.scene import load_mj_model

    model = load_mj_model("scene_cube.xml")
    renderer = Renderer(model, size, size, (0, 2), antialias=antialias, shadow_size=shadowsize)
    renderer.views(qpos[0], mocap[0], CAMERAS)  # GL context and shadow map set up untimed
    t0 = time.perf_counter()
    for q, m in zip(qpos, mocap, strict=True):
        renderer.views(q, m, CAMERAS)
    elapsed = time.perf_counter() - t0
    renderer.close()
    return len(qpos) * len(CAMERAS), elapsed


def measure_gl(
    qpos: np.ndarray, mocap: np.ndarray, size: int, shadowsize: int | None, workers: int, antialias: bool = False
) -> dict:
    """The same states ([T, n] qpos) drawn by GL in `workers` processes, each a share of them;
    `shadowsize` None: the map `Renderer` sizes to the image."""
    from mjx_lerobot.sim.render import shadow_map_size

    shadowsize = shadowsize or shadow_map_size(size, size)
    states = qpos.reshape(-1, qpos.shape[-1]), mocap.reshape(-1, *mocap.shape[2:])
    shares = [(states[0][w::workers], states[1][w::workers], size, shadowsize, antialias) for w in range(workers)]
    t0 = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        results = pool.map(_gl_worker, shares)
    wall = time.perf_counter() - t0
    frames = sum(f for f, _ in results)
    slowest = max(e for _, e in results)
    return {
        "renderer": f"GL (MuJoCo OpenGL), {workers} processes, shadow map {shadowsize}^2"
        + (", 4x multisampling" if antialias else ""),
        "size": size,
        "shadowsize": shadowsize,
        "antialias": antialias,
        "workers": workers,
        "camera_frames_per_s": frames / slowest,
        "wall_s_with_process_start": round(wall, 2),
    }


def measure_adapter(renderer: str, num_envs: int, steps: int) -> dict:
    """SO101VectorEnv with LeRobot's default pixels (front + wrist, 240x320): steps/s."""
    import mjx_lerobot

    env = mjx_lerobot.SO101VectorEnv(
        num_envs, "lift_cube", obs_type="pixels_agent_pos", impl="warp", renderer=renderer
    )
    obs, _ = env.reset(seed=0)
    obs, *_ = env.step(obs["agent_pos"])  # compile
    t0 = time.perf_counter()
    for _ in range(steps):
        obs, *_ = env.step(obs["agent_pos"])
    elapsed = time.perf_counter() - t0
    env.close()
    return {
        "renderer": renderer,
        "num_envs": num_envs,
        "size": "240x320",
        "env_steps_per_s": steps * num_envs / elapsed,
        "camera_frames_per_s": steps * num_envs * len(CAMERAS) / elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-envs", default="1,16,64", help="comma-separated instance counts (batched)")
    parser.add_argument("--sizes", default="64,128", help="comma-separated square image sizes")
    parser.add_argument("--steps", type=int, default=10, help="control steps per timed rollout")
    parser.add_argument("--adapter-envs", type=int, default=4, help="instances for the adapter comparison (0: skip)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    from mjx_lerobot.report import device_tag, machine_info

    workers = os.cpu_count() or 1
    report = machine_info() | {"task": "lift_cube", "cameras": list(CAMERAS), "batched": [], "gl": [], "adapter": []}
    for size in (int(s) for s in args.sizes.split(",")):
        states = None
        for n in (int(n) for n in args.num_envs.split(",")):
            row, qpos, mocap = measure_batched(n, size, args.steps)
            report["batched"].append(row)
            states = states or (qpos, mocap)
            print(
                f"batched N={n:6d} {size:4d}^2: {row['camera_frames_per_s']:>10,.0f} frames/s with physics, "
                f"{row['render_only_frames_per_s']:>10,.0f} rendering alone, "
                f"{row['env_steps_per_s']:>9,.0f} env steps/s  compile {row['compile_s']:.0f} s",
                flush=True,
            )
        # Policy cameras now (shadow map sized to the image); with the scene's 1024^2 map; with
        # multisampling (until record_speed.py's change); the scene before.
        for shadowsize, antialias in ((None, False), (1024, False), (1024, True), (4096, True)):
            try:
                row = measure_gl(*states, size, shadowsize, workers, antialias)
            except Exception as err:  # e.g. no EGL on a headless GPU machine: say so, keep going
                skipped = {"size": size, "shadowsize": shadowsize, "antialias": antialias}
                report["gl"].append(skipped | {"skipped": f"{type(err).__name__}: {err}"})
                continue
            report["gl"].append(row)
            print(f"GL {workers} procs {size:4d}^2, shadow {shadowsize}, multisampling {antialias}: "
                  f"{row['camera_frames_per_s']:>8,.0f} frames/s")  # fmt: skip
    if args.adapter_envs:
        for renderer in ("gl", "batched"):
            row = measure_adapter(renderer, args.adapter_envs, max(2, args.steps // 2))
            report["adapter"].append(row)
            print(f"adapter {renderer:7s} N={args.adapter_envs}: {row['env_steps_per_s']:.1f} env steps/s (240x320 x2)")
    best = max(report["batched"], key=lambda r: r["camera_frames_per_s"])
    gl_rows = [r for r in report["gl"] if "skipped" not in r]
    if gl_rows:
        best_gl = max(gl_rows, key=lambda r: r["camera_frames_per_s"])["camera_frames_per_s"]
        report["ratios"] = {"batched_best_over_gl_best": best["camera_frames_per_s"] / best_gl}
    path = Path(args.out or Path(__file__).parent / "results" / f"pixels_{device_tag()}.json")
    import json

    path.write_text(json.dumps(report, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
