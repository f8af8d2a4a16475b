"""Offscreen rendering of one instance with MuJoCo's OpenGL renderer (MUJOCO_GL=egl headless),
and episode videos from it or from the batched ray tracer (`mjx_lerobot.sim.camera`)."""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import mujoco
import numpy as np

from mjx_lerobot.sim.camera import CameraConfig, pixel_renderer, render_states
from mjx_lerobot.sim.scene import Scene

MARKER_GROUP = 4  # the target marker (assets/tabletop.xml): shown to people, not to every policy


def shadow_map_size(height: int, width: int) -> int:
    """The shadow map for images of this size: the power of two at or above 1.5x the longer
    side (at least 256). A finer map changes nothing visible at that resolution and costs a
    pass over every texel per camera: on a 2-core CPU, policy cameras at 64^2 and 128^2 drew
    1.8-2.1x the frames with 256^2 than with the scene's 1024^2 (benchmarks/pixels.py); a
    multisampled 240 x 320 video gains little (benchmarks/video.py)."""
    return max(256, 1 << math.ceil(math.log2(1.5 * max(height, width))))


class Renderer:
    """Render frames of a scene from stored qpos / mocap_pos, camera by name.

    `geom_groups`: the geom groups drawn (see assets/tabletop.xml): a task's
    `camera_geom_groups` for what its policy sees, or `video_geom_groups(task)` for people.
    `antialias=False` (policy cameras) draws without multisampling, as the batched ray tracer
    does: 1.4-1.5x the frames on a CPU (benchmarks/pixels.py), and the two renderers agree closer.
    `shadow_size`: the shadow map's side; by default `shadow_map_size(height, width)`, at most
    the scene's own.
    """

    def __init__(
        self,
        mj_model: mujoco.MjModel,
        height: int = 240,
        width: int = 320,
        geom_groups: Sequence[int] = (0, 1, 2),
        antialias: bool = True,
        shadow_size: int | None = None,
    ):
        self.model = copy.copy(mj_model)  # its own: `views(..., model_fields=...)` writes into it
        if not antialias:
            self.model.vis.quality.offsamples = 0
        quality = self.model.vis.quality
        quality.shadowsize = shadow_size or min(int(quality.shadowsize), shadow_map_size(height, width))
        self.data = mujoco.MjData(self.model)
        self._renderer = mujoco.Renderer(self.model, height, width)
        self._option = mujoco.MjvOption()
        self._option.geomgroup[:] = [group in geom_groups for group in range(len(self._option.geomgroup))]

    def frame(self, qpos: np.ndarray, mocap_pos: np.ndarray | None = None, camera: str = "front") -> np.ndarray:
        """One H x W x 3 uint8 image of the state given by `qpos` (and the mocap targets)."""
        return self.views(qpos, mocap_pos, (camera,))[0]

    def views(
        self,
        qpos: np.ndarray,
        mocap_pos: np.ndarray | None,
        cameras: Sequence[str],
        model_fields: Mapping[str, np.ndarray] | None = None,
    ) -> list[np.ndarray]:
        """One H x W x 3 uint8 image per camera of one state (one forward pass for all).

        `model_fields`: one instance's randomized visual fields (`targets.Targets.render_fields`:
        colours, lights, camera poses and fov), written into this renderer's model first.
        """
        for name, value in (model_fields or {}).items():
            getattr(self.model, name)[:] = value
        self.data.qpos[:] = qpos
        if mocap_pos is not None and self.model.nmocap:
            self.data.mocap_pos[:] = np.reshape(mocap_pos, (-1, 3))
        mujoco.mj_forward(self.model, self.data)
        images = []
        for camera in cameras:
            self._renderer.update_scene(self.data, camera=camera, scene_option=self._option)
            images.append(self._renderer.render().copy())
        return images

    def frames(
        self,
        qpos: np.ndarray,
        mocap_pos: np.ndarray | None = None,
        cameras: Sequence[str] = ("front",),
        model_fields: Mapping[str, np.ndarray] | None = None,
    ):
        """[T, H, W * len(cameras), 3] uint8: cameras side by side, one row per time step."""
        out = []
        for t in range(len(qpos)):
            mocap = None if mocap_pos is None else mocap_pos[t]
            out.append(np.concatenate(self.views(qpos[t], mocap, cameras, model_fields), axis=1))
        return np.stack(out)

    def close(self) -> None:
        self._renderer.close()


def write_video(path: str | Path, frames: np.ndarray, fps: int) -> Path:
    """Write frames [T, H, W, 3] uint8 to an mp4 (or a gif, by suffix)."""
    import imageio.v3 as iio

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # imageio starts ffmpeg as a subprocess (fork, then exec at once), which JAX warns about
        # as if this process forked to go on running: nothing here can deadlock.
        warnings.filterwarnings("ignore", message="os.fork", category=RuntimeWarning)
        if path.suffix == ".gif":
            iio.imwrite(path, frames, duration=1000 / fps, loop=0)
        else:
            iio.imwrite(path, frames, fps=fps, codec="libx264")
    return path


def episode_frames(
    scene: Scene,
    qpos: np.ndarray,
    mocap_pos: np.ndarray | None,
    cameras: Sequence[str] = ("front", "wrist"),
    height: int = 240,
    width: int = 320,
    geom_groups: Sequence[int] = (0, 1, 2, 4),
    model_fields: Mapping[str, np.ndarray] | None = None,
    renderer: str = "auto",
) -> np.ndarray:
    """One instance's episode, qpos [T, nq] (and mocap_pos [T, nmocap, 3]), as frames
    [T, H, W * len(cameras), 3] uint8, cameras side by side.

    `renderer`: 'batched' draws all T states in one call of MuJoCo Warp's ray tracer (what the
    policy cameras and `record` use on a GPU; it has no transparency, so translucent markers
    come out opaque), 'gl' one state at a time with MuJoCo's OpenGL renderer (multisampled),
    'auto' the batched one on a GPU and GL on a CPU, where GL is the faster.
    `model_fields`: the instance's randomized visuals (`targets.Targets.render_fields`), if any.
    """
    if pixel_renderer(renderer) == "batched":
        config = CameraConfig(tuple(cameras), height, width, geom_groups=tuple(geom_groups))
        fields = None if model_fields is None else dict(model_fields)
        images = render_states(scene, qpos, mocap_pos, config, fields)
        return np.concatenate([images[camera] for camera in cameras], axis=2)
    gl = Renderer(scene.mj_model, height, width, geom_groups)
    try:
        mocap_pos = None if mocap_pos is None else np.asarray(mocap_pos)
        return gl.frames(np.asarray(qpos), mocap_pos, cameras, model_fields)
    finally:
        gl.close()


def episode_video(
    scene: Scene,
    qpos: np.ndarray,
    mocap_pos: np.ndarray | None,
    path: str | Path,
    fps: int,
    cameras: Sequence[str] = ("front", "wrist"),
    height: int = 240,
    width: int = 320,
    geom_groups: Sequence[int] = (0, 1, 2, 4),
    model_fields: Mapping[str, np.ndarray] | None = None,
    renderer: str = "auto",
) -> Path:
    """`episode_frames` to an mp4 (or a gif): what demo, eval --video, replay --video and
    view --video write."""
    frames = episode_frames(scene, qpos, mocap_pos, cameras, height, width, geom_groups, model_fields, renderer)
    return write_video(path, frames, fps=fps)


def video_geom_groups(task) -> tuple[int, ...]:
    """What a video for people draws: what the task's policy sees, and the target marker."""
    return tuple(sorted({*task.camera_geom_groups, MARKER_GROUP}))


class LazyFrames(Sequence):
    """A read-only sequence of frames, each rendered when first indexed (a caller that keeps
    only a few of N instances' frames pays for those alone)."""

    def __init__(self, render_one: Callable[[int], np.ndarray], length: int):
        self._render_one, self._length = render_one, length

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._render_one(i) for i in range(*index.indices(self._length))]
        if not -self._length <= index < self._length:
            raise IndexError(index)
        return self._render_one(index % self._length)
