"""Domain randomization: every instance its own physics, looks and cameras, drawn inside the jit.

    env = mjx_lerobot.make("lift_cube", num_envs=4096, randomize=True)      # default ranges
    env = mjx_lerobot.make("lift_cube", num_envs=4096, randomize=Ranges(kp=(0.7, 1.3)))
    state = env.reset(key, ranges={"cube_friction": (0.5, 0.5)})          # no recompile

At each of its episode resets an instance draws `Values` from `Ranges` with its own key, so its
episode depends only on its seed, never on the batch size or its place in it. The draws are
small factors (a friction scale, a kp scale per servo, an action delay...) kept in
`state.domain.values`; every step builds that instance's MJX model fields from the nominal
model and them (`physics_fields`), and the batched renderer reads the visual ones
(`render_fields`). `record` stores them per frame as `sim.randomization`.

What varies, and how (scales multiply the model's value, offsets add to it; each field is a
(low, high) pair drawn uniformly):

    physics   cube / jaw pad / table sliding friction, cube size and mass, each link's mass (and
              inertia) and centre of mass, joint damping / armature / frictionloss and servo
              kp / force limit per joint, a control delay of whole steps, action noise and
              joint-reading noise
    visuals   robot, cube and table colour, light position / direction / intensity
    cameras   position, orientation and field of view of every camera (each episode, or every
              step with `camera_every_step`)

Both backends take every field per instance: MJX-JAX through the vmapped model, MuJoCo Warp
because its bridge gives all of these fields a world axis (mujoco-mjx 3.17: geom_friction,
body_mass/inertia/ipos, dof_damping/armature/frictionloss, actuator_gainprm/biasprm/forcerange,
geom_rgba, mat_rgba, light_*, cam_*, geom_size/rbound/aabb). A resized cube still starts resting
on the table: the reset lifts or lowers it by the change in its half-height. The tasks' success
tests keep their nominal sizes; their tolerances (5 mm and more) cover the default range.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jp
import mujoco
import numpy as np
from flax import struct

from mjx_lerobot.rotations import quat_mul, rotvec_to_quat
from mjx_lerobot.sim.scene import JOINTS, Scene

#: Longest control delay the state has room for (`Ranges.latency` may not exceed it).
MAX_LATENCY = 3


@struct.dataclass
class Ranges:
    """Uniform (low, high) ranges each episode draws from. Traced: changing them never
    recompiles. `Ranges()` are the defaults; `Ranges(kp=(0.7, 1.3))` changes one."""

    # Physics. Scales of the nominal value unless said otherwise.
    cube_friction: tuple = (0.7, 1.3)  # sliding friction of the cube
    pad_friction: tuple = (0.8, 1.2)  # of the two jaw pads
    table_friction: tuple = (0.7, 1.3)
    cube_size: tuple = (0.85, 1.15)  # of its edges (21-29 mm for the 25 mm cube); inertia follows
    cube_mass: tuple = (0.7, 1.4)  # and its inertia alike
    link_mass: tuple = (0.9, 1.1)  # each robot link's mass and inertia, drawn per link
    link_com: tuple = (-0.002, 0.002)  # m, offset of each link's centre of mass, per axis
    damping: tuple = (0.8, 1.2)  # joint damping, per joint
    armature: tuple = (0.8, 1.2)  # per joint
    frictionloss: tuple = (0.5, 1.5)  # per joint
    kp: tuple = (0.85, 1.15)  # servo position gain, per joint (the damping term kv is kept)
    force_limit: tuple = (0.85, 1.15)  # servo force range, per joint
    latency: tuple = (0, 1)  # whole control steps an action waits before the servos get it
    action_noise: tuple = (0.0, 0.005)  # std of Gaussian noise on each action entry ([-1, 1] units)
    joint_noise: tuple = (0.0, 0.003)  # std (rad) of noise on observed joint positions
    # Visuals: offsets added to RGB in [0, 1].
    robot_rgb: tuple = (-0.1, 0.1)
    cube_rgb: tuple = (-0.15, 0.15)
    table_rgb: tuple = (-0.15, 0.15)
    light_pos: tuple = (-0.2, 0.2)  # m, per axis
    light_dir: tuple = (-0.2, 0.2)  # added to the unit direction, then renormalized
    light_intensity: tuple = (0.6, 1.4)  # scale of the diffuse colour
    # Cameras.
    camera_pos: tuple = (-0.01, 0.01)  # m, per axis, in the camera's parent frame
    camera_rot: tuple = (-0.03, 0.03)  # rad, small rotation about each camera axis
    camera_fovy: tuple = (-2.0, 2.0)  # degrees added to the field of view
    camera_every_step: bool = struct.field(pytree_node=False, default=False)  # redraw cameras each step


#: Fields that are scales: their low end may not be negative.
SCALES = (
    "cube_friction", "pad_friction", "table_friction", "cube_size", "cube_mass", "link_mass", "damping", "armature",
    "frictionloss", "kp", "force_limit", "light_intensity",
)  # fmt: skip
NOISE = ("action_noise", "joint_noise")


def nominal_ranges() -> Ranges:
    """Ranges that draw the nominal model exactly: scales (1, 1), offsets and noise (0, 0)."""
    fields = {f.name: (0.0, 0.0) for f in dataclasses.fields(Ranges) if f.metadata.get("pytree_node", True)}
    return Ranges(**(fields | {name: (1.0, 1.0) for name in SCALES} | {"latency": (0, 0)}))


def as_ranges(value: Any, defaults: Ranges | None = None) -> Ranges:
    """`Ranges`, a mapping of fields to change on `defaults` (or `Ranges()`), or True -> Ranges,
    each checked: a clear ValueError for an unknown field, low > high, a negative scale..."""
    defaults = Ranges() if defaults is None else defaults
    if value is True:
        ranges = defaults
    elif isinstance(value, Mapping):
        known = {f.name for f in dataclasses.fields(Ranges)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown randomization field(s) {unknown}; Ranges has {sorted(known)}")
        ranges = defaults.replace(**value)
    elif isinstance(value, Ranges):
        ranges = value
    else:
        kind = type(value).__name__
        raise TypeError(f"randomize must be True, False, a Ranges or a mapping of its fields, got {kind}")
    check_ranges(ranges)
    return ranges


def check_ranges(ranges: Ranges) -> None:
    """Raise a ValueError naming the field for ranges that cannot be drawn from."""
    for field in dataclasses.fields(ranges):
        if not field.metadata.get("pytree_node", True):
            continue
        value = getattr(ranges, field.name)
        if isinstance(value, jax.core.Tracer):
            continue
        pair = np.asarray(value, np.float64)
        if pair.shape[-1:] != (2,):
            raise ValueError(f"randomize.{field.name}: expected a (low, high) pair, got {value!r}")
        low, high = pair[..., 0], pair[..., 1]
        if not np.isfinite(pair).all():
            raise ValueError(f"randomize.{field.name}: non-finite range {value!r}")
        if (low > high).any():
            raise ValueError(f"randomize.{field.name}: low > high in {value!r}")
        if field.name in SCALES + NOISE and (low < 0).any():
            raise ValueError(f"randomize.{field.name}: a scale or noise std cannot be negative, got {value!r}")
        whole_steps = (low >= 0).all() and (high <= MAX_LATENCY).all() and (pair == np.round(pair)).all()
        if field.name == "latency" and not whole_steps:
            raise ValueError(f"randomize.latency: whole control steps in [0, {MAX_LATENCY}], got {value!r}")


@struct.dataclass
class Values:
    """What one instance drew for its episode (shapes for one instance; [N, ...] batched)."""

    cube_friction: jax.Array  # ()
    pad_friction: jax.Array  # ()
    table_friction: jax.Array  # ()
    cube_size: jax.Array  # ()
    cube_mass: jax.Array  # ()
    link_mass: jax.Array  # (links,)
    link_com: jax.Array  # (links, 3) m
    damping: jax.Array  # (6,)
    armature: jax.Array  # (6,)
    frictionloss: jax.Array  # (6,)
    kp: jax.Array  # (6,)
    force_limit: jax.Array  # (6,)
    latency: jax.Array  # () int32 control steps
    action_noise: jax.Array  # () std
    joint_noise: jax.Array  # () std, rad
    robot_rgb: jax.Array  # (3,)
    cube_rgb: jax.Array  # (3,)
    table_rgb: jax.Array  # (3,)
    light_pos: jax.Array  # (lights, 3) m
    light_dir: jax.Array  # (lights, 3)
    light_intensity: jax.Array  # (lights,)
    camera_pos: jax.Array  # (cameras, 3) m
    camera_rot: jax.Array  # (cameras, 3) rad
    camera_fovy: jax.Array  # (cameras,) degrees


@struct.dataclass
class Domain:
    """An instance's randomization state, carried in `EnvState.domain`."""

    ranges: Ranges  # what it draws from at its next reset (traced)
    values: Values  # what it drew for this episode
    pending_ctrl: jax.Array  # (MAX_LATENCY + 1, 6) servo targets, newest first (the delay line)


@dataclasses.dataclass(frozen=True, eq=False)
class Targets:
    """What randomization touches in one scene, ids resolved once (static)."""

    scene: Scene
    cube_geoms: np.ndarray  # geoms of the body "cube" (none in a scene without one)
    cube_body: np.ndarray  # (0 or 1,)
    pad_geoms: np.ndarray
    table_geoms: np.ndarray
    link_bodies: np.ndarray  # (links,) the bodies the arm joints move
    # What colours each object: its geoms without a material (geom_rgba), and its materials.
    robot_geoms: np.ndarray
    robot_mats: np.ndarray
    cube_rgba_geoms: np.ndarray
    cube_mats: np.ndarray
    table_rgba_geoms: np.ndarray
    table_mats: np.ndarray

    @classmethod
    def from_scene(cls, scene: Scene) -> Targets:
        m = scene.mj_model

        def geom_ids(*names: str) -> np.ndarray:
            return np.array([mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, n) for n in names if _has(m, n)], int)

        cube = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, "cube")
        cube_geoms = np.flatnonzero(m.geom_bodyid == cube) if cube >= 0 else np.zeros(0, int)
        links = np.array([m.jnt_bodyid[m.joint(name).id] for name in JOINTS])
        robot = np.flatnonzero(np.isin(m.geom_bodyid, [*links, m.body("base").id]) & (m.geom_group == 2))
        table = geom_ids("table")

        def coloured_by(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            mats = m.geom_matid[geoms]
            return geoms[mats < 0], np.unique(mats[mats >= 0])

        robot_geoms, robot_mats = coloured_by(robot)
        cube_rgba_geoms, cube_mats = coloured_by(cube_geoms)
        table_rgba_geoms, table_mats = coloured_by(table)
        return cls(
            scene=scene,
            cube_geoms=cube_geoms,
            cube_body=np.array([cube] if cube >= 0 else [], int),
            pad_geoms=geom_ids("fixed_pad", "moving_pad"),
            table_geoms=table,
            link_bodies=links,
            robot_geoms=robot_geoms,
            robot_mats=robot_mats,
            cube_rgba_geoms=cube_rgba_geoms,
            cube_mats=cube_mats,
            table_rgba_geoms=table_rgba_geoms,
            table_mats=table_mats,
        )

    # -- drawing -----------------------------------------------------------------------
    def draw(self, ranges: Ranges, key: jax.Array) -> Values:
        """One instance's values for an episode, from its key."""
        m = self.scene.mj_model
        sizes = dict(
            link_mass=(len(self.link_bodies),), link_com=(len(self.link_bodies), 3),
            damping=(6,), armature=(6,), frictionloss=(6,), kp=(6,), force_limit=(6,),
            robot_rgb=(3,), cube_rgb=(3,), table_rgb=(3,),
            light_pos=(m.nlight, 3), light_dir=(m.nlight, 3), light_intensity=(m.nlight,),
            camera_pos=(m.ncam, 3), camera_rot=(m.ncam, 3), camera_fovy=(m.ncam,),
        )  # fmt: skip
        names = [f.name for f in dataclasses.fields(Values)]
        keys = dict(zip(names, jax.random.split(key, len(names)), strict=True))
        drawn = {}
        for name in names:
            low, high = jp.asarray(getattr(ranges, name), jp.float32)
            if name == "latency":  # whole steps, both ends included
                drawn[name] = jax.random.randint(keys[name], (), low.astype(jp.int32), high.astype(jp.int32) + 1)
            else:
                drawn[name] = jax.random.uniform(keys[name], sizes.get(name, ()), jp.float32, low, high)
        return Values(**drawn)

    def draw_cameras(self, ranges: Ranges, key: jax.Array, values: Values) -> Values:
        """`values` with fresh camera draws (for `camera_every_step`)."""
        fresh = self.draw(ranges, key)
        return values.replace(camera_pos=fresh.camera_pos, camera_rot=fresh.camera_rot, camera_fovy=fresh.camera_fovy)

    def nominal_values(self) -> Values:
        """The values that reproduce the nominal model."""
        return self.draw(nominal_ranges(), jax.random.key(0))

    # -- applying ----------------------------------------------------------------------
    def physics_fields(self, values: Values) -> dict[str, jax.Array]:
        """One instance's MJX model fields for physics (`mjx_model.tree_replace(...)`)."""
        m = self.scene.mjx_model
        friction = jp.asarray(m.geom_friction)
        for geoms, scale in (
            (self.table_geoms, values.table_friction),
            (self.pad_geoms, values.pad_friction),
            (self.cube_geoms, values.cube_friction),
        ):
            friction = friction.at[geoms, 0].multiply(scale)
        mass_scale = jp.ones(self.scene.mj_model.nbody, jp.float32).at[self.link_bodies].set(values.link_mass)
        mass_scale = mass_scale.at[self.cube_body].set(values.cube_mass)
        # A box's inertia goes as its mass times its size squared.
        inertia_scale = mass_scale.at[self.cube_body].multiply(values.cube_size**2)
        ipos = jp.asarray(m.body_ipos).at[self.link_bodies].add(values.link_com)
        dofs, acts = self.scene.arm_qvel, np.arange(6)
        gain = jp.asarray(m.actuator_gainprm).at[acts, 0].multiply(values.kp)
        bias = jp.asarray(m.actuator_biasprm).at[acts, 1].multiply(values.kp)
        return {
            "geom_friction": friction,
            "body_mass": m.body_mass * mass_scale,
            "body_inertia": m.body_inertia * inertia_scale[:, None],
            "body_ipos": ipos,
            "dof_damping": jp.asarray(m.dof_damping).at[dofs].multiply(values.damping),
            "dof_armature": jp.asarray(m.dof_armature).at[dofs].multiply(values.armature),
            "dof_frictionloss": jp.asarray(m.dof_frictionloss).at[dofs].multiply(values.frictionloss),
            "actuator_gainprm": gain,
            "actuator_biasprm": bias,
            "actuator_forcerange": jp.asarray(m.actuator_forcerange).at[acts].multiply(values.force_limit[:, None]),
        } | self._cube_shape(values)

    def _cube_shape(self, values: Values) -> dict[str, jax.Array]:
        """The cube's geom sizes and the bounds collision culls by, scaled (geoms centred on it)."""
        m, cube = self.scene.mjx_model, self.cube_geoms
        return {
            "geom_size": jp.asarray(m.geom_size).at[cube].multiply(values.cube_size),
            "geom_rbound": jp.asarray(m.geom_rbound).at[cube].multiply(values.cube_size),
            "geom_aabb": jp.asarray(m.geom_aabb).at[cube].multiply(values.cube_size),
        }

    def rest_cube(self, qpos: jax.Array, values: Values) -> jax.Array:
        """`qpos` with the cube (set down at its nominal size) raised or lowered by the change in
        its half-height, so that at its drawn size it rests on the table as before."""
        m = self.scene.mj_model
        z = m.jnt_qposadr[m.body_jntadr[self.cube_body[0]]] + 2  # the free joint's z
        half_z = float(m.geom_size[self.cube_geoms, 2].max())
        return qpos.at[z].add((values.cube_size - 1.0) * half_z)

    def render_fields(self, values: Values) -> dict[str, jax.Array]:
        """One instance's visual model fields: colours, lights and cameras (local frames)."""
        m = self.scene.mj_model

        def tint(rgba: np.ndarray, ids: np.ndarray, offset: jax.Array) -> jax.Array:
            rgba = jp.asarray(rgba, jp.float32)
            return rgba.at[ids, :3].set(jp.clip(rgba[ids, :3] + offset, 0.0, 1.0))

        geom_rgba = tint(m.geom_rgba, self.robot_geoms, values.robot_rgb)
        geom_rgba = tint(geom_rgba, self.cube_rgba_geoms, values.cube_rgb)
        geom_rgba = tint(geom_rgba, self.table_rgba_geoms, values.table_rgb)
        mat_rgba = tint(m.mat_rgba, self.robot_mats, values.robot_rgb)
        mat_rgba = tint(mat_rgba, self.cube_mats, values.cube_rgb)
        mat_rgba = tint(mat_rgba, self.table_mats, values.table_rgb)
        light_dir = jp.asarray(m.light_dir, jp.float32) + values.light_dir
        light_dir = light_dir / jp.maximum(jp.linalg.norm(light_dir, axis=-1, keepdims=True), 1e-6)
        camera_turn = jax.vmap(rotvec_to_quat)(values.camera_rot)
        return {
            "geom_rgba": geom_rgba,
            "mat_rgba": mat_rgba,
            "light_pos": jp.asarray(m.light_pos, jp.float32) + values.light_pos,
            "light_dir": light_dir,
            "light_diffuse": jp.asarray(m.light_diffuse, jp.float32) * values.light_intensity[:, None],
            "cam_pos": jp.asarray(m.cam_pos, jp.float32) + values.camera_pos,
            "cam_quat": quat_mul(jp.asarray(m.cam_quat, jp.float32), camera_turn),
            "cam_fovy": jp.asarray(m.cam_fovy, jp.float32) + values.camera_fovy,
            "geom_size": self._cube_shape(values)["geom_size"],
        }

    def apply_visuals(self, mj_model: mujoco.MjModel, values: Any) -> None:
        """Write one instance's visual values (numpy, unbatched) into a host MjModel, for the GL
        renderer: the same fields the batched renderer reads."""
        fields = jax.device_get(self.render_fields(jax.tree.map(jp.asarray, values)))
        for name, value in fields.items():
            getattr(mj_model, name)[:] = value

    # -- flat, for datasets ------------------------------------------------------------
    def value_names(self) -> list[str]:
        """One name per entry of `flat`, e.g. 'kp.shoulder_pan', 'camera_pos.front.x'."""
        m = self.scene.mj_model
        links = [m.body(int(b)).name for b in self.link_bodies]
        lights = [m.light(i).name or f"light{i}" for i in range(m.nlight)]
        cams = [m.camera(i).name for i in range(m.ncam)]
        per = dict(
            link_mass=[links], link_com=[links, "xyz"], damping=[JOINTS], armature=[JOINTS], frictionloss=[JOINTS],
            kp=[JOINTS], force_limit=[JOINTS], robot_rgb=["rgb"], cube_rgb=["rgb"], table_rgb=["rgb"],
            light_pos=[lights, "xyz"], light_dir=[lights, "xyz"], light_intensity=[lights],
            camera_pos=[cams, "xyz"], camera_rot=[cams, "xyz"], camera_fovy=[cams],
        )  # fmt: skip
        names = []
        for field in dataclasses.fields(Values):
            parts = [[field.name]] + [list(axis) for axis in per.get(field.name, [])]
            grid = np.array(np.meshgrid(*[np.arange(len(p)) for p in parts], indexing="ij")).reshape(len(parts), -1).T
            names += [".".join(parts[a][i] for a, i in enumerate(row)) for row in grid]
        return names

    def flat(self, values: Values) -> jax.Array:
        """[N, K] float32 of a batch's values, in `value_names` order."""
        return jp.concatenate([v.reshape(v.shape[0], -1).astype(jp.float32) for v in jax.tree.leaves(values)], axis=1)

    def unflat(self, flat: np.ndarray) -> Values:
        """Inverse of `flat` for a batch: [N, K] -> Values with [N, ...] leaves."""
        template = jax.eval_shape(self.nominal_values)
        leaves, treedef = jax.tree.flatten(template)
        flat = np.asarray(flat, np.float32)
        out, start = [], 0
        for leaf in leaves:
            size = int(np.prod(leaf.shape))
            part = flat[:, start : start + size].reshape((len(flat), *leaf.shape))
            out.append(jp.asarray(np.rint(part) if leaf.dtype == jp.int32 else part, leaf.dtype))
            start += size
        return jax.tree.unflatten(treedef, out)


def start(targets: Targets, ranges: Ranges, key: jax.Array, ctrl: jax.Array) -> Domain:
    """An episode's randomization: values drawn from `key`, the delay line full of `ctrl`."""
    return Domain(ranges=ranges, values=targets.draw(ranges, key), pending_ctrl=jp.tile(ctrl[:6], (MAX_LATENCY + 1, 1)))


def delay(domain: Domain, ctrl: jax.Array) -> tuple[Domain, jax.Array]:
    """Push this step's servo targets; return the ones `latency` steps old (what the servos get)."""
    pending = jp.concatenate([ctrl[None], domain.pending_ctrl[:-1]])
    return domain.replace(pending_ctrl=pending), pending[domain.values.latency]


def _has(model: mujoco.MjModel, geom: str) -> bool:
    return mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM, geom) >= 0
