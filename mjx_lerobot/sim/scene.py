"""The SO-101 scene on device: the MuJoCo model, its MJX twin, and ids resolved once.

A `Scene` is built once per environment. Everything a task needs to find in the model
(joint addresses, the tool site, the cube, the target marker) is looked up here, at build
time, so the jitted hot path only ever sees integer constants.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import os
from pathlib import Path

import jax
import jax.numpy as jp
import mujoco
import numpy as np
from mujoco import mjx

from mjx_lerobot.physics import BACKENDS, Physics, resolve_impl
from mjx_lerobot.sim import meshes

#: LeRobot's SO-101 follower joint order; also the actuator order in assets/so101.xml.
JOINTS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
#: LeRobot records and controls the SO-101 at 30 Hz.
CONTROL_HZ = 30



def assets_dir() -> Path:
    """Directory holding the MJCF files (inside the installed package or the checkout)."""
    return Path(str(importlib.resources.files("mjx_lerobot.assets")))


def scene_path(scene_file: str) -> Path:
    """An MJCF scene in `assets/` by file name, or any path."""
    path = Path(scene_file)
    if not path.is_absolute() and not path.exists():
        path = assets_dir() / scene_file
    if not path.exists():
        available = sorted(p.name for p in assets_dir().glob("scene_*.xml"))
        raise FileNotFoundError(f"scene {scene_file!r} not found; available: {available}")
    return path


def load_spec(scene_file: str) -> mujoco.MjSpec:
    """The scene as an MjSpec, the arm drawn by its CAD meshes where they are to be found
    (sim/meshes.py: $MJX_LEROBOT_SO101_MESHES), else by its primitives."""
    spec = mujoco.MjSpec.from_file(str(scene_path(scene_file)))
    cad = meshes.find_cad()
    if cad is None:
        if not meshes.turned_off():  # a user who turned them off needs no advice
            meshes.say_how_to_get_them()
        return spec
    return meshes.attach(spec, cad)


def load_mj_model(scene_file: str) -> mujoco.MjModel:
    """Load an MJCF scene from `assets/` by file name, or from any path."""
    return load_spec(scene_file).compile()


def enable_compilation_cache(path: str | os.PathLike | None = None) -> Path | None:
    """Persist XLA compilations on disk, so a second run starts fast.

    The place is `path`, else $MJX_LEROBOT_CACHE, else ~/.cache/mjx_lerobot;
    MJX_LEROBOT_CACHE=off turns it off. Warp keeps its own kernel cache (~/.cache/warp).
    """
    setting = os.environ.get("MJX_LEROBOT_CACHE", "")
    if path is None and setting.lower() == "off":
        return None
    root = Path(path or setting or Path.home() / ".cache" / "mjx_lerobot")
    jax.config.update("jax_compilation_cache_dir", str(root / "jax"))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return root


@dataclasses.dataclass(frozen=True, eq=False)
class Scene:
    """A loaded scene: host model, device model, substeps and ids (all static)."""

    mj_model: mujoco.MjModel
    mjx_model: mjx.Model  # the backend's device model: what the jitted step reads
    physics: Physics  # the backend (mjx_lerobot/physics): data, control steps, kinematics
    substeps: int  # physics steps per control step
    arm_qpos: np.ndarray  # (6,) qpos addresses of the SO-101 joints, LeRobot order
    arm_qvel: np.ndarray  # (6,) qvel addresses
    ctrl_low: np.ndarray  # (6,) actuator ctrlrange, radians
    ctrl_high: np.ndarray  # (6,)
    ee_site: int  # gripperframe site id
    jax_model: mjx.Model  # MJX-JAX's model, for kinematics-only users (IK) on any backend
    contacts: int  # worst-case contacts of one instance (buffer sizes)
    constraint_rows: int  # worst-case constraint rows of one instance

    @property
    def impl(self) -> str:
        return self.physics.impl

    @property
    def ctrl_dt(self) -> float:
        return self.substeps * float(self.mj_model.opt.timestep)

    def body(self, name: str) -> int:
        return _id(self.mj_model, mujoco.mjtObj.mjOBJ_BODY, name)

    def site(self, name: str) -> int:
        return _id(self.mj_model, mujoco.mjtObj.mjOBJ_SITE, name)

    def geom(self, name: str) -> int:
        return _id(self.mj_model, mujoco.mjtObj.mjOBJ_GEOM, name)

    def free_qpos(self, body: str) -> int:
        """qpos address of a body's free joint (3 position + 4 quaternion entries)."""
        jnt = self.mj_model.body_jntadr[self.body(body)]
        return int(self.mj_model.jnt_qposadr[jnt])

    def mocap(self, body: str) -> int:
        mocap_id = int(self.mj_model.body_mocapid[self.body(body)])
        if mocap_id < 0:
            raise ValueError(f"body {body!r} is not a mocap body")
        return mocap_id

    def advance(self, model: mjx.Model, data: mjx.Data, fields: dict[str, jax.Array] | None = None) -> mjx.Data:
        """One instance's `data` one control step on with `model` (`fields`: the randomized
        fields `model` was given, which a backend simulating outside XLA needs apart)."""
        return self.physics.advance(model, data, fields)

    def kinematics(self, model: mjx.Model, data: mjx.Data) -> mjx.Data:
        """One instance's body, geom and site poses from its qpos and mocap poses."""
        return self.physics.kinematics(model, data)

    def make_data(self) -> mjx.Data:
        """One instance's zeroed data (vmap it for a batch)."""
        return self.physics.make_data()

    def on_backend(self, impl: str, num_envs: int = 1) -> Scene:
        """The same scene on another backend (e.g. Warp, to draw states simulated elsewhere)."""
        if impl == self.impl:
            return self
        physics = BACKENDS[resolve_impl(impl)](
            self.mj_model, self.jax_model, self.substeps, num_envs, self.contacts, self.constraint_rows
        )
        return dataclasses.replace(self, physics=physics, mjx_model=physics.model)


def _id(model: mujoco.MjModel, kind: mujoco.mjtObj, name: str) -> int:
    idx = mujoco.mj_name2id(model, kind, name)
    if idx < 0:
        raise KeyError(f"{kind.name[6:].lower()} {name!r} not in model {model.names[:20]!r}")
    return idx


def build_scene(scene_file: str, impl: str = "auto", num_envs: int = 1, control_hz: int = CONTROL_HZ) -> Scene:
    """Load `scene_file`, put it on device with `impl`, resolve ids, size buffers for `num_envs`."""
    impl = resolve_impl(impl, num_envs)
    mj_model = load_mj_model(scene_file)
    substeps = round(1.0 / (control_hz * mj_model.opt.timestep))
    if substeps < 1 or abs(substeps * mj_model.opt.timestep * control_hz - 1.0) > 1e-6:
        raise ValueError(
            f"control rate {control_hz} Hz is not an integer multiple of the physics timestep "
            f"{mj_model.opt.timestep} s in {scene_file}"
        )
    # MJX-JAX has no collision function for some shape pairs (cylinder-box); MuJoCo C and
    # Warp have. Those scenes keep a twin without such pairs for what runs on MJX-JAX's model
    # anyway: buffer sizing, and impl="c"'s JAX side (its MuJoCo C collides every pair).
    jax_twin, uncollidable = _without_uncollidable_pairs(mj_model, scene_file)
    if impl == "jax" and uncollidable:
        raise ValueError(f"impl='jax' cannot simulate {scene_file}: {_jax_gap(uncollidable)}")
    # Buffers sized per instance: MJX-JAX's static contact set is the exact worst case for
    # this scene (every explicit pair at its maximum contact count), so Warp gets the same,
    # plus UNCOUNTED_PAIR_CONTACTS for each pair the twin left out.
    jax_model = mjx.put_model(jax_twin, impl="jax")
    jax_data = mjx.make_data(jax_model)
    contacts = int(jax_data._impl.contact.dist.shape[0]) + UNCOUNTED_PAIR_CONTACTS * len(uncollidable)
    rows = int(jax_data._impl.efc_J.shape[0]) + 8 + UNCOUNTED_PAIR_CONTACTS * 10 * len(uncollidable)
    physics = BACKENDS[impl](mj_model, jax_model, substeps, num_envs, contacts, rows)
    arm_joints = [mj_model.joint(name) for name in JOINTS]
    actuators = [mj_model.actuator(name) for name in JOINTS]
    return Scene(
        mj_model=mj_model,
        mjx_model=physics.model,
        physics=physics,
        substeps=substeps,
        arm_qpos=np.array([int(j.qposadr[0]) for j in arm_joints]),
        arm_qvel=np.array([int(j.dofadr[0]) for j in arm_joints]),
        ctrl_low=np.array([a.ctrlrange[0] for a in actuators], np.float32),
        ctrl_high=np.array([a.ctrlrange[1] for a in actuators], np.float32),
        ee_site=_id(mj_model, mujoco.mjtObj.mjOBJ_SITE, "gripperframe"),
        jax_model=jax_model,
        contacts=contacts,
        constraint_rows=rows,
    )


#: Contacts reserved for a pair MJX-JAX cannot count (a general convex pair: MuJoCo's
#: multi-point CCD gives at most 4), each with at most 10 constraint rows (condim 6, pyramidal).
UNCOUNTED_PAIR_CONTACTS = 4


def _jax_gap(uncollidable: list[str]) -> str:
    return f"MJX-JAX has no collision for {', '.join(uncollidable)}; use impl='c' (CPU) or impl='warp'"


def impl_unsupported(scene_file: str, impl: str) -> str:
    """Why `impl` cannot simulate `scene_file`, or '' when it can."""
    if impl != "jax":
        return ""
    uncollidable = _without_uncollidable_pairs(load_mj_model(scene_file), scene_file)[1]
    return _jax_gap(uncollidable) if uncollidable else ""


def _without_uncollidable_pairs(mj_model: mujoco.MjModel, scene_file: str) -> tuple[mujoco.MjModel, list[str]]:
    """(`mj_model` without the explicit pairs MJX-JAX has no collision function for, their
    names as 'geom1/geom2'); `mj_model` itself when there are none."""
    from mujoco.mjx._src import collision_driver

    def name(geom: int) -> str:
        return mujoco.mj_id2name(mj_model, mujoco.mjtObj.mjOBJ_GEOM, geom)

    missing = []
    for g1, g2 in zip(mj_model.pair_geom1, mj_model.pair_geom2, strict=True):
        t1, t2 = sorted((int(mj_model.geom_type[g1]), int(mj_model.geom_type[g2])))
        if not collision_driver.has_collision_fn(t1, t2):
            missing.append((name(g1), name(g2)))
    if not missing:
        return mj_model, []
    spec = load_spec(scene_file)
    for pair in list(spec.pairs):
        if (pair.geomname1, pair.geomname2) in missing or (pair.geomname2, pair.geomname1) in missing:
            spec.delete(pair)
    return spec.compile(), [f"{a}/{b}" for a, b in missing]


# ---------------------------------------------------------------------------------------
# Small pure helpers shared by every task.


def action_to_ctrl(scene: Scene, action: jax.Array) -> jax.Array:
    """[-1, 1] per joint -> joint position targets in radians."""
    low, high = jp.asarray(scene.ctrl_low), jp.asarray(scene.ctrl_high)
    return low + (jp.clip(action, -1.0, 1.0) + 1.0) * 0.5 * (high - low)


def ctrl_to_action(scene: Scene, ctrl: jax.Array) -> jax.Array:
    """Joint position targets in radians -> [-1, 1]."""
    low, high = jp.asarray(scene.ctrl_low), jp.asarray(scene.ctrl_high)
    return jp.clip(2.0 * (ctrl - low) / (high - low) - 1.0, -1.0, 1.0)


def ee_pose(scene: Scene, data: mjx.Data) -> tuple[jax.Array, jax.Array]:
    """gripperframe position (3,) and rotation matrix (3, 3) in the world frame."""
    return data.site_xpos[scene.ee_site], data.site_xmat[scene.ee_site].reshape(3, 3)
