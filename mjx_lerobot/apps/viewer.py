"""Watch a policy drive the jitted env in MuJoCo's interactive viewer, or write it to a video.

    mjx-lerobot view --task pick_object                      # the scripted expert, 1 instance
    mjx-lerobot view --task lift_cube --instances 16         # 16 stepped together; [ and ] switch
    mjx-lerobot view --policy runs/reach/checkpoint.msgpack  # a trained PPO policy
    mjx-lerobot view --task stack_cube --video stack.mp4     # no display needed

The env steps every instance in one jitted call (policy and physics together, auto-reset
included); the window shows one of them, at the control rate (30 Hz) unless told otherwise.
Drag with the mouse to look around; the simulation does not take forces from the viewer.
"""

from __future__ import annotations

import copy
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import mujoco
import numpy as np

from mjx_lerobot.sim.env import Env
from mjx_lerobot.sim.render import MARKER_GROUP, episode_video, video_geom_groups
from mjx_lerobot.sim.task import EnvState

NEXT_KEY, PREVIOUS_KEY = ord("]"), ord("[")  # GLFW key codes of the bracket keys


class NoDisplayError(ValueError):
    """There is no screen to open a window on (one line at the CLI, like any bad input)."""


def require_display() -> None:
    """Raise NoDisplayError where a window cannot open (Linux without X11 or Wayland)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise NoDisplayError(
            "no display to open MuJoCo's viewer on (DISPLAY is not set): pass --video out.mp4 to write "
            "the episode to a video instead"
        )


class Window:
    """MuJoCo's passive viewer showing states the caller gives it (qpos, mocap_pos).

    `launch` opens the viewer (default `mujoco.viewer.launch_passive`); tests pass a fake.
    `key_callback(keycode)` sees every key the viewer does not use itself.
    """

    def __init__(
        self,
        mj_model: mujoco.MjModel,
        title: str = "",
        key_callback: Callable[[int], None] | None = None,
        launch: Callable[..., Any] | None = None,
    ):
        if launch is None:
            require_display()
            from mujoco import viewer as mujoco_viewer

            launch = mujoco_viewer.launch_passive
        self.model = copy.copy(mj_model)
        self.data = mujoco.MjData(self.model)
        self.title = title
        self.handle = launch(self.model, self.data, key_callback=key_callback)
        if hasattr(self.handle, "opt"):
            self.handle.opt.geomgroup[MARKER_GROUP] = 1  # people see the target marker too

    @property
    def running(self) -> bool:
        return bool(self.handle.is_running())

    def show(self, qpos: np.ndarray, mocap_pos: np.ndarray | None = None) -> None:
        with self.handle.lock():
            self.data.qpos[:] = qpos
            if mocap_pos is not None and self.model.nmocap:
                self.data.mocap_pos[:] = np.reshape(mocap_pos, (-1, 3))
            mujoco.mj_forward(self.model, self.data)
        self.handle.sync()

    def close(self) -> None:
        self.handle.close()


def make_policy(env: Env, policy: str) -> Callable[[EnvState, jax.Array], jax.Array]:
    """'expert' (the task's scripted expert), 'hold' (every servo keeps its target) or the path
    of a PPO checkpoint trained on this task."""
    from mjx_lerobot.sim.expert import expert_policy
    from mjx_lerobot.sim.scene import ctrl_to_action

    if policy == "expert":
        return expert_policy(env)
    if policy == "hold":
        return lambda state, key: ctrl_to_action(env.scene, state.data.ctrl)
    from mjx_lerobot.rl import ppo

    if not Path(policy).exists():
        raise FileNotFoundError(f"--policy: {policy!r} is neither 'expert', 'hold' nor a checkpoint file")
    result = ppo.load(policy)
    if result.config.task != env.task.name:
        raise ValueError(f"--policy: the checkpoint was trained on {result.config.task!r}, not {env.task.name!r}")
    return ppo.make_policy(result)


def view(
    task: str = "lift_cube",
    policy: str = "expert",
    instances: int = 1,
    impl: str = "auto",
    seed: int = 0,
    steps: int | None = None,
    video: str | None = None,
    realtime: bool = True,
    launch: Callable[..., Any] | None = None,
    log: Callable[[str], None] = print,
    video_renderer: str = "auto",
) -> dict:
    """Step `instances` of `task` under `policy` and show them: in the viewer until it is closed
    (or for `steps` control steps), or, with `video`, one episode of instance 0 to that file
    (drawn by `video_renderer`, see `render.episode_frames`)."""
    from mjx_lerobot.sim.registry import make

    if instances < 1:
        raise ValueError(f"--instances must be >= 1, got {instances}")
    if video is None and launch is None:
        require_display()  # before minutes of compiling
    env = make(task, num_envs=instances, impl=impl)
    act = make_policy(env, policy)
    step = jax.jit(lambda state, key: env.step_fn(state, act(state, key)))
    key = jax.random.key(seed)
    state = env.reset(key)
    fps = round(1.0 / env.ctrl_dt)
    if video is not None:
        steps = steps or env.episode_steps
        qpos, mocap = [np.asarray(state.data.qpos[0])], [np.asarray(state.data.mocap_pos[0])]
        for t in range(steps - 1):
            state = step(state, jax.random.fold_in(key, t))
            qpos.append(np.asarray(state.data.qpos[0]))
            mocap.append(np.asarray(state.data.mocap_pos[0]))
        path = episode_video(env.scene, np.stack(qpos), np.stack(mocap), video, fps,
                             geom_groups=video_geom_groups(env.task), renderer=video_renderer)
        return {"task": task, "policy": policy, "impl": env.impl, "frames": steps, "video": str(path)}

    shown = [0]

    def on_key(keycode: int) -> None:
        if keycode in (NEXT_KEY, PREVIOUS_KEY):
            shown[0] = (shown[0] + (1 if keycode == NEXT_KEY else -1)) % instances
            log(f"showing instance {shown[0]} of {instances}")

    window = Window(env.scene.mj_model, f"{task}: {policy}", on_key, launch)
    log(f"{task} ({env.impl}, {instances} instance{'s' * (instances > 1)}): close the window to stop"
        + ("; [ and ] switch instances" if instances > 1 else ""))
    t = episodes = 0
    try:
        while window.running and (steps is None or t < steps):
            tick = time.perf_counter()
            i = shown[0]
            window.show(np.asarray(state.data.qpos[i]), np.asarray(state.data.mocap_pos[i]))
            state = step(state, jax.random.fold_in(key, t))
            episodes += int(np.asarray(state.steps)[i] == 0)  # it auto-reset: a new episode began
            t += 1
            if realtime:
                time.sleep(max(0.0, env.ctrl_dt - (time.perf_counter() - tick)))
    finally:
        window.close()
    return {"task": task, "policy": policy, "impl": env.impl, "steps": t, "episodes_ended": episodes}
