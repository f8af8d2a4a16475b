"""What drawing the SO-101 from its CAD meshes costs: camera frames/s with the primitive look and
with the meshes, on the same states, side by side in one run, for both renderers.

    python benchmarks/mesh_render.py --cad path/to/SO101      # or MJX_LEROBOT_SO101_MESHES set
    python benchmarks/mesh_render.py --cad ../shared/assets/so101-cad --num-envs 1024   # a GPU

lift_cube, front + wrist cameras, the states of a short expert rollout (cube, arm in motion):
- batched: MuJoCo Warp's ray tracer drawing every instance in one call (the policy cameras);
- gl: MuJoCo's OpenGL renderer drawing one instance's views at a time, in this process.
Meshes are decimated to `--budget` triangles each (the default the simulator uses).
Writes benchmarks/results/mesh_render_<device>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import jax
import numpy as np

CAMERAS = ("front", "wrist")
LOOKS = ("primitives", "meshes")


def states(num_envs: int, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """qpos and mocap of `num_envs` instances after `steps` of the expert (look-independent)."""
    import mjx_lerobot
    from mjx_lerobot.sim.expert import expert_policy

    env = mjx_lerobot.make("lift_cube", num_envs=num_envs, impl="c")
    final, _ = mjx_lerobot.rollout(env, expert_policy(env), jax.random.key(0), steps)
    return np.asarray(final.data.qpos), np.asarray(final.data.mocap_pos)


def measure(look: str, qpos: np.ndarray, mocap: np.ndarray, size: int, repeats: int) -> dict:
    import mjx_lerobot
    from mjx_lerobot.sim.render import Renderer

    num_envs = len(qpos)
    env = mjx_lerobot.make("lift_cube", num_envs=num_envs, impl="warp", cameras=CAMERAS, image_size=size)
    state = env.reset(jax.random.key(0))
    state = state.replace(data=state.data.replace(qpos=jax.numpy.asarray(qpos), mocap_pos=jax.numpy.asarray(mocap)))
    draw = jax.jit(env.with_pixels)
    jax.block_until_ready(draw(state))  # compile and warm up
    t0 = time.perf_counter()
    for _ in range(repeats):
        jax.block_until_ready(draw(state))
    batched_s = (time.perf_counter() - t0) / repeats
    model = env.scene.mj_model
    gl = Renderer(model, size, size, env.task.camera_geom_groups, antialias=False)
    gl.views(qpos[0], mocap[0], CAMERAS)  # warm up
    count = min(num_envs, 32)
    t0 = time.perf_counter()
    for i in range(count):
        gl.views(qpos[i], mocap[i], CAMERAS)
    gl_s = (time.perf_counter() - t0) / count
    gl.close()
    return {
        "look": look,
        "size": size,
        "triangles": int(model.nmeshface),
        "batched_frames_per_s": round(num_envs * len(CAMERAS) / batched_s, 1),
        "gl_frames_per_s": round(len(CAMERAS) / gl_s, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cad", default=os.environ.get("MJX_LEROBOT_SO101_MESHES"), help="the SO-101 CAD folder")
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--sizes", default="64,128")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--budget", type=int, default=None, help="triangles per mesh (default: the simulator's)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if not args.cad:
        parser.error("name the SO-101 CAD folder: --cad or MJX_LEROBOT_SO101_MESHES")
    from mjx_lerobot.report import device_tag, machine_info
    from mjx_lerobot.sim import meshes

    meshes.DEFAULT_BUDGET = args.budget or meshes.DEFAULT_BUDGET

    os.environ.pop("MJX_LEROBOT_SO101_MESHES", None)
    qpos, mocap = states(args.num_envs, 60)
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        for look in LOOKS:
            if look == "meshes":
                os.environ["MJX_LEROBOT_SO101_MESHES"] = str(args.cad)
            else:
                os.environ.pop("MJX_LEROBOT_SO101_MESHES", None)
            rows.append(measure(look, qpos, mocap, size, args.repeats))
            print(rows[-1])
    ratios = {}
    for size in {row["size"] for row in rows}:
        prim, mesh = (next(r for r in rows if r["size"] == size and r["look"] == look) for look in LOOKS)
        ratios[str(size)] = {
            "batched_cost": round(prim["batched_frames_per_s"] / mesh["batched_frames_per_s"], 2),
            "gl_cost": round(prim["gl_frames_per_s"] / mesh["gl_frames_per_s"], 2),
        }
    report = {
        "machine": machine_info(),
        "command": f"python benchmarks/mesh_render.py --num-envs {args.num_envs} --sizes {args.sizes} "
        f"--repeats {args.repeats} --budget {meshes.DEFAULT_BUDGET}",
        "num_envs": args.num_envs,
        "triangles_per_mesh": meshes.DEFAULT_BUDGET,
        "cameras": CAMERAS,
        "rows": rows,
        "meshes_cost_x": ratios,
    }
    out = Path(args.out or f"benchmarks/results/mesh_render_{device_tag()}.json")
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"meshes cost (primitives frames/s over meshes frames/s): {ratios} -> {out}")


if __name__ == "__main__":
    main()
