"""The dataset schema of a recording: what a LeRobotDataset (v3) frame of a simulated SO-101
holds, how one control step of a batch becomes its columns, and how one episode is written.

The real-robot columns read like a dataset recorded on a real SO-101 with LeRobot
(`observation.state` and `action` in degrees with the gripper 0-100, named `shoulder_pan.pos`...;
cameras as videos); the `sim.*` columns hold what re-simulates an episode exactly (listed in
`mjx_lerobot.lerobot.record`). Settings and the next seed live in `durable.META_FILE`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jp
import numpy as np

from mjx_lerobot.lerobot.units import MOTOR_NAMES, JointUnits
from mjx_lerobot.sim.env import Env
from mjx_lerobot.sim.obs import AGENT_POS
from mjx_lerobot.sim.scene import action_to_ctrl
from mjx_lerobot.sim.task import EnvState

ROBOT_TYPE = "so101_follower"  # what LeRobot's real SO-101 records under
SIM_STATE = ("qpos", "qvel", "ctrl", "mocap_pos", "mocap_quat")


def require_lerobot() -> None:
    try:
        import lerobot.datasets.lerobot_dataset  # noqa: F401
    except ImportError as err:
        raise SystemExit(
            f"recording needs lerobot's dataset writer: pip install 'mjx-lerobot[lerobot]' (import failed: {err})"
        ) from None


# -- what a frame holds --------------------------------------------------------------------
def info_layout(env: Env) -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape) of each leaf of the task's info, in flattening order."""
    leaves = jax.tree_util.tree_flatten_with_path(env.instance_shapes.info)[0]
    return [(jax.tree_util.keystr(path).strip("."), tuple(leaf.shape)) for path, leaf in leaves]


def flat_info(info: Any) -> jax.Array:
    """[N, K] float32: the task info leaves of a batch, flattened in `info_layout` order."""
    leaves = jax.tree.leaves(info)
    return jp.concatenate([leaf.reshape(leaf.shape[0], -1).astype(jp.float32) for leaf in leaves], axis=1)


def episode_instruction(env: Env, flat_info: np.ndarray) -> str:
    """The instruction an episode was given, from its first frame's `sim.info` [K] (a language
    task draws one per episode; every other task has one)."""
    if not env.task.instructions:
        return env.task.instruction
    start = 0
    for name, shape in info_layout(env):
        if name == "instruction":
            return env.task.describe(int(round(float(flat_info[start]))))
        start += int(np.prod(shape))
    raise ValueError(f"task {env.task.name!r} has instructions but no `instruction` in its info")


def unflat_info(env: Env, flat: np.ndarray) -> Any:
    """Inverse of `flat_info` for one instance ([K] -> the task's info pytree, batch of 1)."""
    leaves, treedef = jax.tree.flatten(env.instance_shapes.info)
    out, start = [], 0
    for leaf in leaves:
        size = int(np.prod(leaf.shape))
        out.append(jp.asarray(flat[start : start + size].reshape((1, *leaf.shape)), leaf.dtype))
        start += size
    return jax.tree.unflatten(treedef, out)


def dataset_features(env: Env, cameras: Sequence[str], height: int, width: int) -> dict[str, dict]:
    """LeRobot feature spec: the real-robot columns, the cameras, and the `sim.*` state."""
    model = env.scene.mj_model
    env_state_names = env.obs_spec.env_state_names

    def vector(size: int, names: list[str] | None = None, dtype: str = "float32") -> dict:
        return {"dtype": dtype, "shape": (size,), "names": names}

    features = {
        "observation.state": vector(6, list(MOTOR_NAMES)),
        "action": vector(6, list(MOTOR_NAMES)),
        "observation.environment_state": vector(len(env_state_names), env_state_names),
        "next.reward": vector(1),
        "next.success": vector(1, dtype="bool"),
        "next.done": vector(1, dtype="bool"),
        "sim.qpos": vector(model.nq),
        "sim.qvel": vector(model.nv),
        "sim.ctrl": vector(model.nu),
        "sim.mocap_pos": vector(model.nmocap * 3),
        "sim.mocap_quat": vector(model.nmocap * 4),
        "sim.time": vector(1),
        "sim.info": vector(sum(int(np.prod(shape)) for _, shape in info_layout(env))),
        "sim.action": vector(6, list(MOTOR_NAMES)),
        "sim.seed": vector(1, dtype="int64"),
    }
    if env.randomized:
        names = env.targets.value_names()
        features["sim.randomization"] = vector(len(names), names)
    for camera in cameras:
        features[f"observation.images.{camera}"] = {
            "dtype": "video",
            "shape": (height, width, 3),
            "names": ["height", "width", "channels"],
        }
    return features


def frame_columns(env: Env, units: JointUnits, state: EnvState, executed: jax.Array, label: jax.Array,
                  nxt: EnvState) -> dict[str, jax.Array]:
    """One control step of every instance as dataset columns [N, ...] (see `dataset_features`):
    the state before the step, the labelled and the executed action, and what came of it."""
    data = state.data
    label_rad = action_to_ctrl(env.scene, label)  # joint targets, radians
    columns = {
        "observation.state": units.from_radians(state.obs[AGENT_POS]),
        "action": units.from_radians(label_rad),
        "observation.environment_state": env.obs_spec.environment_state(state.obs),
        "next.reward": nxt.reward[:, None],
        "next.success": nxt.success[:, None],
        "next.done": (nxt.terminated | nxt.truncated)[:, None],
        "sim.qpos": data.qpos,
        "sim.qvel": data.qvel,
        "sim.ctrl": data.ctrl,
        "sim.mocap_pos": data.mocap_pos.reshape(env.num_envs, -1),
        "sim.mocap_quat": data.mocap_quat.reshape(env.num_envs, -1),
        "sim.time": data.time[:, None],
        "sim.info": flat_info(state.info),
        "sim.action": executed,
    }
    if state.domain is not None:
        columns["sim.randomization"] = env.targets.flat(state.domain.values)
    # float32 throughout, as the features say, but the flags (and the images, uint8).
    columns = jax.tree.map(lambda x: x if x.dtype == jp.bool_ else x.astype(jp.float32), columns)
    images = state.obs.get("pixels", {})  # from the batched renderer: the state before the step
    return columns | {f"observation.images.{camera}": image for camera, image in images.items()}


# -- writing -------------------------------------------------------------------------------
def video_encoding(env: Env) -> dict[str, Any]:
    """How LeRobot's writer encodes the camera videos (keyword arguments of its create/resume).

    Frames go straight to its encoder threads as they are added (no PNGs written and read
    back, no encoding pass at the episode's end). The encoder's queue drops a frame that waits
    over 0.1 s when full: room for a whole episode means it never is. Naming the decoder (used
    only for reading) spares an install whose torchcodec lacks FFmpeg a 40-line warning.
    """
    return {"streaming_encoding": True, "encoder_queue_maxsize": env.episode_steps + 1, "video_backend": "pyav"}


def _write_episode(dataset, episode: dict[str, np.ndarray], instruction: str, renderer, cameras, visuals) -> None:
    """Add the episode's frames, drawing its cameras with the GL `renderer` unless the batched
    renderer already did (`renderer` None), and save it: all of it or, on any error, nothing."""
    length = len(episode["sim.qpos"])
    cameras = cameras if renderer is not None else ()
    # Randomized colours, lights and cameras of each frame, for the GL renderer.
    fields = visuals(episode["sim.randomization"]) if cameras and "sim.randomization" in episode else None
    try:
        for t in range(length):
            frame = {key: episode[key][t] for key in episode}
            if cameras:
                frame_fields = None if fields is None else {name: value[t] for name, value in fields.items()}
                views = renderer.views(episode["sim.qpos"][t], episode["sim.mocap_pos"][t], cameras, frame_fields)
                frame |= {f"observation.images.{cam}": image for cam, image in zip(cameras, views, strict=True)}
            dataset.add_frame(frame | {"task": instruction})
        dataset.save_episode()
    except BaseException:
        dataset.clear_episode_buffer()  # no half episode, ever
        raise
