"""Episode videos (what demo, eval --video, replay --video and view --video write): the batched
ray tracer against MuJoCo's GL renderer on the same states, in one run; GL as videos draw
(a shadow map sized to the image, `render.shadow_map_size`) and with the scene's own 1024^2.

    python benchmarks/video.py                          # README's demo video: 150 frames, 240x320
    python benchmarks/video.py --frames 150,600 --repeats 3

Rolls the lift_cube expert out on one instance (impl auto), then draws its front + wrist frames
with each renderer (`render.episode_frames`), `--repeats` times each, alternating. Every draw
builds its renderer anew, as a video command does; the first batched draw also compiles, later
ones find it in the compilation caches (the "cached" ratio below).
Encoding is left out (it is the same for both). Writes benchmarks/results/video_<device>.json.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", default="150", help="comma-separated episode lengths (control steps)")
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--repeats", type=int, default=2, help="draws per renderer and length")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    import mjx_lerobot
    from mjx_lerobot.report import device_tag, machine_info
    from mjx_lerobot.sim.expert import expert_policy
    from mjx_lerobot.sim.render import Renderer, episode_frames, video_geom_groups

    lengths = [int(n) for n in args.frames.split(",")]
    env = mjx_lerobot.make("lift_cube", num_envs=1)
    _, traj = mjx_lerobot.rollout(env, expert_policy(env), jax.random.key(0), max(lengths))
    qpos, mocap = np.asarray(traj["qpos"][:, 0]), np.asarray(traj["mocap_pos"][:, 0])
    groups = video_geom_groups(env.task)
    report = machine_info() | {"task": "lift_cube", "impl": env.impl, "cameras": ["front", "wrist"],
                               "size": [args.height, args.width], "rows": []}  # fmt: skip
    for frames in lengths:
        for repeat in range(args.repeats):
            for renderer in ("gl", "gl-scene-shadow-map", "batched"):
                t0 = time.perf_counter()
                if renderer == "gl-scene-shadow-map":
                    scene_map = env.scene.mj_model.vis.quality.shadowsize
                    gl = Renderer(env.scene.mj_model, args.height, args.width, groups, shadow_size=scene_map)
                    video = gl.frames(qpos[:frames], mocap[:frames], ("front", "wrist"))
                    gl.close()
                else:
                    video = episode_frames(
                        env.scene, qpos[:frames], mocap[:frames], height=args.height, width=args.width,
                        geom_groups=groups, renderer=renderer,
                    )  # fmt: skip
                seconds = time.perf_counter() - t0
                row = {"renderer": renderer, "frames": frames, "repeat": repeat, "seconds": round(seconds, 3),
                       "video_frames_per_s": round(frames / seconds, 1), "shape": list(video.shape)}  # fmt: skip
                report["rows"].append(row)
                print(row, flush=True)
    for frames in lengths:  # draws after the first (compilation cached), when there are any
        warm = {r["renderer"]: r["seconds"] for r in report["rows"] if r["frames"] == frames and r["repeat"] > 0}
        if len(warm) == 3:
            report.setdefault("batched_over_gl_speed", {})[str(frames)] = round(warm["gl"] / warm["batched"], 2)
            sized = warm["gl-scene-shadow-map"] / warm["gl"]
            report.setdefault("gl_sized_shadow_map_speedup", {})[str(frames)] = round(sized, 2)
    path = Path(args.out or Path(__file__).parent / "results" / f"video_{device_tag()}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
    print(f"wrote {path}; batched/GL speed (compilation cached): {report.get('batched_over_gl_speed')}; "
          f"GL with the sized shadow map over the scene's: {report.get('gl_sized_shadow_map_speedup')}")


if __name__ == "__main__":
    main()
