"""Camera images of every instance at once, inside the jitted step: MuJoCo Warp's batched ray tracer.

`BatchCameras` wraps MJX's render context (`mjx.create_render_context`, `refit_bvh`, `render`)
for one scene and batch size. `render(data)` takes the batched physics state [N] and returns
`{camera: uint8 [N, H, W, 3]}` (and depth in metres when asked), traced like any other JAX
function, so images never leave the device unless the caller asks for them.

Why it is shaped this way:
- the ray tracer draws body poses from `data.xpos/xmat`, which `mjx.step` leaves at the last
  substep's start; kinematics is refreshed first so an image shows the state it comes with;
- Warp sizes its buffers for a fixed number of worlds, so a context serves one batch size;
- `render` returns a new `Data` holding the token that orders Warp's calls: it is carried on;
- the context must outlive every call (dropping it frees Warp's buffers), so it is kept here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jax
import jax.numpy as jp
import mujoco
import numpy as np
from mujoco import mjx

from mjx_lerobot.physics import warp_available
from mjx_lerobot.rotations import quat_to_mat, unit
from mjx_lerobot.sim.scene import Scene

#: Geom groups a policy camera draws unless the task says otherwise: the world (table, cube)
#: and the robot. Group 1 holds goals a policy must see (a target pad), 3 the collision
#: geoms, 4 markers only for people (lift's target height).
POLICY_GEOM_GROUPS = (0, 2)


@dataclasses.dataclass(frozen=True)
class CameraConfig:
    """Which cameras, at what size, with what."""

    cameras: tuple[str, ...] = ("front", "wrist")
    height: int = 128
    width: int = 128
    depth: bool = False  # also depth in metres, float32 [N, H, W]
    geom_groups: tuple[int, ...] = POLICY_GEOM_GROUPS
    shadows: bool = True
    # Rays from each world's own field of view (randomized cameras) instead of precomputed ones.
    per_world_fovy: bool = False

    def check(self, mj_model: mujoco.MjModel) -> None:
        """Clear errors for what the renderer would otherwise fail on deep inside Warp."""
        names = [mj_model.camera(i).name for i in range(mj_model.ncam)]
        if isinstance(self.cameras, str) or not self.cameras:
            raise ValueError(f"cameras must be a non-empty sequence of camera names from {names}, got {self.cameras!r}")
        unknown = [c for c in self.cameras if c not in names]
        if unknown:
            raise ValueError(f"unknown camera(s) {unknown}; the scene has {names}")
        if len(set(self.cameras)) != len(self.cameras):
            raise ValueError(f"cameras must not repeat, got {self.cameras}")
        for name, size in (("height", self.height), ("width", self.width)):
            if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 4096:
                raise ValueError(f"image {name} must be an integer in [1, 4096], got {size!r}")


class BatchCameras:
    """The batched ray tracer for `num_worlds` instances of `scene` (which must run on Warp)."""

    def __init__(self, scene: Scene, num_worlds: int, config: CameraConfig):
        if scene.impl != "warp":
            raise ValueError(
                f"cameras are rendered by MuJoCo Warp's batched ray tracer: use impl='warp' (got impl={scene.impl!r})"
            )
        config.check(scene.mj_model)
        self.scene, self.config, self.num_worlds = scene, config, int(num_worlds)
        model = scene.mj_model
        self._context = mjx.create_render_context(
            model,
            nworld=self.num_worlds,
            cam_res=(config.width, config.height),
            cam_active=list(config.cameras),
            render_rgb=True,
            render_depth=config.depth,
            use_shadows=config.shadows,
            render_skybox=True,
            enabled_geom_groups=list(config.geom_groups),
            use_precomputed_rays=not config.per_world_fovy,
        )
        self._handle = self._context.pytree()
        # MJX's camlight runs on MJX-JAX only; these cameras and lights ride on bodies (mode
        # "fixed"), so their poses are the body's pose times their fixed offset, computed here.
        fixed = mujoco.mjtCamLight.mjCAMLIGHT_FIXED
        if (model.cam_mode != fixed).any() or (model.light_mode != fixed).any():
            raise ValueError("the batched renderer here places fixed-mode cameras and lights only (mode='fixed')")
        self._cam_body = np.asarray(model.cam_bodyid)
        self._light_body = np.asarray(model.light_bodyid)
        self._nominal = {
            "cam_pos": jp.asarray(model.cam_pos, jp.float32),
            "cam_quat": jp.asarray(model.cam_quat, jp.float32),
            "light_pos": jp.asarray(model.light_pos, jp.float32),
            "light_dir": jp.asarray(model.light_dir, jp.float32),
        }
        # The context lists its active cameras in the model's order, whatever order was asked.
        active = sorted(model.camera(name).id for name in config.cameras)
        slots = [active.index(model.camera(name).id) for name in config.cameras]
        self._rgb_adr = [int(self._context.rgb_adr.numpy()[i]) for i in slots]
        self._depth_adr = [int(self._context.depth_adr.numpy()[i]) for i in slots] if config.depth else []

    def _place(self, data: mjx.Data, frames: dict[str, jax.Array]) -> mjx.Data:
        """One instance's camera and light poses from its body poses (what mj_camlight does)."""
        body_mat = data.xmat.reshape(-1, 3, 3)
        cam_mat = jp.einsum("cij,cjk->cik", body_mat[self._cam_body], quat_to_mat(unit(frames["cam_quat"])))
        cam_xpos = data.xpos[self._cam_body] + jp.einsum("cij,cj->ci", body_mat[self._cam_body], frames["cam_pos"])
        light_mat = body_mat[self._light_body]
        light_xpos = data.xpos[self._light_body] + jp.einsum("lij,lj->li", light_mat, frames["light_pos"])
        light_xdir = jp.einsum("lij,lj->li", light_mat, frames["light_dir"])
        data = data.replace(cam_xpos=cam_xpos, cam_xmat=cam_mat.reshape(data.cam_xmat.shape))
        # Warp's kinematics leaves the lights at zero (no direction: no diffuse light, no shadow).
        return data.replace(_impl=data._impl.replace(light_xpos=light_xpos, light_xdir=light_xdir))

    def render(
        self, data: mjx.Data, fields: dict[str, jax.Array] | None = None
    ) -> tuple[dict[str, jax.Array], dict[str, jax.Array] | None, mjx.Data]:
        """Batched `data` [N] -> ({camera: uint8 [N, H, W, 3]}, {camera: float32 [N, H, W]} | None, data).

        `fields`: per-instance visual model fields [N, ...] (`targets.Targets.render_fields`),
        e.g. colours, lights, camera poses and fov; None draws the nominal model.
        """
        nominal = self.scene.mjx_model
        data = jax.vmap(lambda d: mjx.kinematics(nominal, d))(data)
        if fields is None:
            data = jax.vmap(lambda d: self._place(d, self._nominal))(data)
            model = nominal
        else:
            data = jax.vmap(self._place)(data, {k: fields[k] for k in self._nominal})
            model = nominal.tree_replace({k: v for k, v in fields.items() if k not in ("cam_pos", "cam_quat")})
        data = mjx.refit_bvh(model, data, self._handle)
        packed, depth, data = mjx.render(model, data, self._handle)
        h, w = self.config.height, self.config.width
        images = {}
        for camera, adr in zip(self.config.cameras, self._rgb_adr, strict=True):
            pixels = jax.lax.slice_in_dim(packed, adr, adr + h * w, axis=1)  # uint32 0x??RRGGBB
            rgb = jp.stack([(pixels >> shift) & 0xFF for shift in (16, 8, 0)], axis=-1).astype(jp.uint8)
            images[camera] = rgb.reshape(-1, h, w, 3)
        depths = None
        if self.config.depth:
            depths = {
                camera: jax.lax.slice_in_dim(depth, adr, adr + h * w, axis=1).reshape(-1, h, w)
                for camera, adr in zip(self.config.cameras, self._depth_adr, strict=True)
            }
        return images, depths, data


def as_camera_names(cameras: str | Sequence[str]) -> tuple[str, ...]:
    """'front,wrist' or ['front', 'wrist'] -> ('front', 'wrist')."""
    if isinstance(cameras, str):
        return tuple(c.strip() for c in cameras.split(",") if c.strip())
    return tuple(cameras)


def pixel_renderer(renderer: str = "auto", impl: str = "auto") -> str:
    """'batched' or 'gl'. 'auto': the batched ray tracer on a GPU, where it draws thousands of
    instances in one call (unless physics was asked to run on MJX-JAX, which it cannot draw);
    on a CPU the GL renderer, the faster there (Warp's CPU ray tracer runs on one thread);
    `sim/pixels.py` makes this choice for every env that draws a policy's images."""
    if renderer not in ("auto", "batched", "gl"):
        raise ValueError(f"renderer must be 'auto', 'batched' or 'gl', got {renderer!r}")
    if renderer == "auto":
        on_gpu = jax.default_backend() == "gpu" and warp_available()
        return "batched" if on_gpu and impl != "jax" else "gl"
    return renderer


def render_states(
    scene: Scene,
    qpos: np.ndarray,
    mocap_pos: np.ndarray | None,
    config: CameraConfig,
    model_fields: dict[str, np.ndarray] | None = None,
    max_worlds: int = 256,
) -> dict[str, np.ndarray]:
    """Stored states of one scene, qpos [T, nq] (and mocap_pos [T, nmocap, 3]), drawn as the
    worlds of one batched ray-tracer call: {camera: uint8 [T, H, W, 3]} on the host. This is how
    a recorded or rolled-out episode becomes a video with the renderer its policy saw.

    Physics may have run on any backend: a scene that is not on Warp is put there for drawing.
    `model_fields`: one instance's visuals (`targets.Targets.render_fields`), shared by every
    frame. Up to `max_worlds` frames go into one call (one render context), the rest in more.
    """
    if not warp_available():
        raise ValueError("renderer='batched' needs MuJoCo Warp (warp-lang)")
    qpos = np.asarray(qpos, np.float32)
    num_frames = len(qpos)
    if qpos.ndim != 2 or num_frames == 0 or qpos.shape[1] != scene.mj_model.nq:
        raise ValueError(f"qpos must be [T >= 1, nq={scene.mj_model.nq}], got shape {qpos.shape}")
    nmocap = scene.mj_model.nmocap
    if mocap_pos is None:  # the model's own mocap poses, as the GL renderer draws them
        mocap_bodies = np.flatnonzero(scene.mj_model.body_mocapid >= 0)
        mocap_pos = scene.mj_model.body_pos[mocap_bodies[np.argsort(scene.mj_model.body_mocapid[mocap_bodies])]]
    mocap_pos = np.broadcast_to(np.asarray(mocap_pos, np.float32).reshape(-1, nmocap, 3), (num_frames, nmocap, 3))
    scene = scene.on_backend("warp")  # drawing needs Warp's model and data; nothing here steps physics
    if model_fields is not None:
        config = dataclasses.replace(config, per_world_fovy=True)  # the instance's own fov
    worlds = min(num_frames, max_worlds)
    cameras = BatchCameras(scene, worlds, config)
    template = scene.make_data()

    @jax.jit
    def draw(qpos: jax.Array, mocap_pos: jax.Array, fields: dict | None) -> dict[str, jax.Array]:
        data = jax.vmap(lambda q, m: template.replace(qpos=q, mocap_pos=m))(qpos, mocap_pos)
        if fields is not None:
            fields = jax.tree.map(lambda v: jp.broadcast_to(v, (worlds, *v.shape)), fields)
        images, _, _ = cameras.render(data, fields)
        return images

    fields = None if model_fields is None else {k: jp.asarray(v, jp.float32) for k, v in model_fields.items()}
    out: dict[str, list[np.ndarray]] = {camera: [] for camera in config.cameras}
    for start in range(0, num_frames, worlds):
        stop = min(start + worlds, num_frames)
        pad = worlds - (stop - start)  # the last chunk repeats its final frame to fill the context
        chunk_q = np.concatenate([qpos[start:stop], np.repeat(qpos[stop - 1 : stop], pad, axis=0)])
        chunk_m = np.concatenate([mocap_pos[start:stop], np.repeat(mocap_pos[stop - 1 : stop], pad, axis=0)])
        images = jax.device_get(draw(chunk_q, chunk_m, fields))
        for camera in config.cameras:
            out[camera].append(images[camera][: stop - start])
    return {camera: np.concatenate(chunks) for camera, chunks in out.items()}
