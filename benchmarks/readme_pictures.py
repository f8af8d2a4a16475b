"""The README's pictures: the SO-101 from its front camera at the 640x480 of a USB webcam, with
its CAD meshes, mid-grasp; and a 4x4 grid of randomized instances as a policy's batched camera
sees them (MuJoCo Warp's ray tracer, 128x128, one call for all 16).

    MJX_LEROBOT_SO101_MESHES=path/to/SO101 python benchmarks/readme_pictures.py

Writes docs/images/front.png and docs/images/randomized_grid.png.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import imageio.v3 as iio
import jax
import mujoco
import numpy as np

import mjx_lerobot
from mjx_lerobot.sim.expert import expert_policy
from mjx_lerobot.sim.rollout import rollout

OUT = Path(__file__).parents[1] / "docs" / "images"


def mid_grasp(env: mjx_lerobot.Env, steps: int) -> mjx_lerobot.EnvState:
    """The batch after `steps` of the scripted expert (the arm over the cube, jaws closing)."""
    state, _ = rollout(env, expert_policy(env), jax.random.key(0), steps)
    return state


def front_picture(steps: int) -> np.ndarray:
    env = mjx_lerobot.make("lift_cube", num_envs=1, impl="c")
    state = mid_grasp(env, steps)
    m = env.scene.mj_model
    d = mujoco.MjData(m)
    d.qpos[:] = np.asarray(state.data.qpos[0])
    d.mocap_pos[:] = np.asarray(state.data.mocap_pos[0])
    mujoco.mj_forward(m, d)
    renderer = mujoco.Renderer(m, 480, 640)
    option = mujoco.MjvOption()
    option.geomgroup[:] = [1, 0, 1, 0, 0, 0]  # the world and the robot, as the policy cameras
    renderer.update_scene(d, camera="front", scene_option=option)
    image = renderer.render()
    renderer.close()
    return image


def randomized_grid(steps: int) -> np.ndarray:
    env = mjx_lerobot.make("lift_cube", num_envs=16, impl="warp", cameras=("front",), image_size=128, randomize=True)
    state = mid_grasp(env, steps)
    images = np.asarray(jax.jit(env.with_pixels)(state).obs["pixels"]["front"])
    rows = [np.concatenate(list(images[r * 4 : r * 4 + 4]), axis=1) for r in range(4)]
    return np.concatenate(rows, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=48, help="expert control steps before the picture")
    args = parser.parse_args()
    if not os.environ.get("MJX_LEROBOT_SO101_MESHES"):
        print("note: MJX_LEROBOT_SO101_MESHES is not set: the pictures show the meshes only if Menagerie's are found")
    OUT.mkdir(parents=True, exist_ok=True)
    iio.imwrite(OUT / "front.png", front_picture(args.steps))
    iio.imwrite(OUT / "randomized_grid.png", randomized_grid(args.steps))
    print(f"wrote {OUT / 'front.png'} and {OUT / 'randomized_grid.png'}")


if __name__ == "__main__":
    main()
