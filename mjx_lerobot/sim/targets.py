"""Where randomization lands in one scene: the ids a task's `Parts` name, resolved once, and one
instance's model fields built from its draws (sim/randomize.py says what is drawn)."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jp
import mujoco
import numpy as np

from mjx_lerobot.rotations import quat_mul, rotvec_to_quat
from mjx_lerobot.sim.randomize import FIELDS, Field, Parts, Ranges, Values, nominal_ranges
from mjx_lerobot.sim.scene import JOINTS, Scene


@dataclasses.dataclass(frozen=True, eq=False)
class Targets:
    """What randomization touches in one scene, ids resolved once (static)."""

    scene: Scene
    parts: Parts
    object_bodies: np.ndarray  # (objects,) body ids, in `parts.objects` order
    object_geoms: np.ndarray  # every geom of the objects
    object_of_geom: np.ndarray  # (len(object_geoms),) which object each belongs to
    object_z: np.ndarray  # (objects,) qpos address of each object's free-joint z
    object_half_z: np.ndarray  # (objects,) nominal half-height, m
    pad_geoms: np.ndarray
    surface_geoms: np.ndarray
    link_bodies: np.ndarray  # (links,) the bodies the arm joints move
    # What colours each part: its geoms without a material (geom_rgba), and its materials; the
    # objects' with the object each belongs to.
    robot_geoms: np.ndarray
    robot_mats: np.ndarray
    object_rgba_geoms: np.ndarray
    object_rgba_owner: np.ndarray
    object_mats: np.ndarray
    object_mat_owner: np.ndarray
    surface_rgba_geoms: np.ndarray
    surface_mats: np.ndarray

    @classmethod
    def from_scene(cls, scene: Scene, parts: Parts | None = None) -> Targets:
        """Resolve `parts` (default `Parts()`) in `scene`; a name the scene lacks is a ValueError,
        never ignored."""
        m, parts = scene.mj_model, parts or Parts()

        def ids(kind: mujoco.mjtObj, names: tuple[str, ...], role: str) -> np.ndarray:
            found = [mujoco.mj_name2id(m, kind, name) for name in names]
            missing = [name for name, i in zip(names, found, strict=True) if i < 0]
            if missing:
                raise ValueError(f"randomized {role} {missing} are not in the scene (Task.randomized_parts)")
            return np.array(found, int)

        bodies = ids(mujoco.mjtObj.mjOBJ_BODY, parts.objects, "objects (bodies)")
        in_object = np.isin(m.geom_bodyid, bodies)
        object_geoms = np.flatnonzero(in_object)
        object_of_geom = np.array([list(bodies).index(b) for b in m.geom_bodyid[object_geoms]], int)
        joints = m.body_jntadr[bodies]
        if (joints < 0).any() or (m.jnt_type[joints] != mujoco.mjtJoint.mjJNT_FREE).any():
            raise ValueError(f"randomized objects {parts.objects} must each have a free joint")
        half_z = [m.geom_aabb[object_geoms[object_of_geom == k], 5].max() for k in range(len(bodies))]
        links = np.array([m.jnt_bodyid[m.joint(name).id] for name in JOINTS])
        root = ids(mujoco.mjtObj.mjOBJ_BODY, (parts.robot,), "robot root")[0]
        robot = np.flatnonzero(np.isin(m.geom_bodyid, [*links, root]) & (m.geom_group == 2))
        surfaces = ids(mujoco.mjtObj.mjOBJ_GEOM, parts.surfaces, "surfaces (geoms)")

        def coloured_by(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            mats = m.geom_matid[geoms]
            return geoms[mats < 0], np.unique(mats[mats >= 0])

        object_rgba, object_rgba_owner, object_mats, object_mat_owner = [], [], [], []
        for k in range(len(bodies)):
            rgba, mats = coloured_by(object_geoms[object_of_geom == k])
            object_rgba += list(rgba)
            object_rgba_owner += [k] * len(rgba)
            object_mats += list(mats)
            object_mat_owner += [k] * len(mats)
        robot_geoms, robot_mats = coloured_by(robot)
        surface_rgba, surface_mats = coloured_by(surfaces)
        return cls(
            scene=scene,
            parts=parts,
            object_bodies=bodies,
            object_geoms=object_geoms,
            object_of_geom=object_of_geom,
            object_z=np.array(m.jnt_qposadr[joints] + 2, int),
            object_half_z=np.array(half_z, np.float32),
            pad_geoms=ids(mujoco.mjtObj.mjOBJ_GEOM, parts.pads, "pads (geoms)"),
            surface_geoms=surfaces,
            link_bodies=links,
            robot_geoms=robot_geoms,
            robot_mats=robot_mats,
            object_rgba_geoms=np.array(object_rgba, int),
            object_rgba_owner=np.array(object_rgba_owner, int),
            object_mats=np.array(object_mats, int),
            object_mat_owner=np.array(object_mat_owner, int),
            surface_rgba_geoms=surface_rgba,
            surface_mats=surface_mats,
        )

    # -- the table's axes ----------------------------------------------------------------
    @functools.cached_property
    def axis_labels(self) -> dict[str, tuple[str, ...]]:
        """The entries of each axis a field is drawn over, by name (dataset column labels)."""
        m = self.scene.mj_model
        return {
            "object": self.parts.objects,
            "link": tuple(m.body(int(b)).name for b in self.link_bodies),
            "joint": JOINTS,
            "light": tuple(m.light(i).name or f"light{i}" for i in range(m.nlight)),
            "camera": tuple(m.camera(i).name for i in range(m.ncam)),
            "xyz": ("x", "y", "z"),
            "rgb": ("r", "g", "b"),
        }

    def shape(self, field: Field) -> tuple[int, ...]:
        """One instance's draw of `field`."""
        return tuple(len(self.axis_labels[axis]) for axis in field.axes)

    # -- drawing -------------------------------------------------------------------------
    def draw(self, ranges: Ranges, key: jax.Array) -> Values:
        """One instance's values for an episode, from its key."""
        keys = jax.random.split(key, len(FIELDS))
        drawn = {}
        for field, field_key in zip(FIELDS, keys, strict=True):
            low, high = jp.asarray(getattr(ranges, field.name), jp.float32)
            if field.kind == "steps":  # whole steps, both ends included
                drawn[field.name] = jax.random.randint(field_key, (), low.astype(jp.int32), high.astype(jp.int32) + 1)
            else:
                drawn[field.name] = jax.random.uniform(field_key, self.shape(field), jp.float32, low, high)
        return Values(**drawn)

    def draw_cameras(self, ranges: Ranges, key: jax.Array, values: Values) -> Values:
        """`values` with fresh camera draws (for `camera_every_step`)."""
        fresh = self.draw(ranges, key)
        return values.replace(**{f.name: getattr(fresh, f.name) for f in FIELDS if f.acts_on == "cameras"})

    def nominal_values(self) -> Values:
        """The values that reproduce the nominal model."""
        return self.draw(nominal_ranges(), jax.random.key(0))

    # -- applying ------------------------------------------------------------------------
    def physics_fields(self, values: Values) -> dict[str, jax.Array]:
        """One instance's model fields for physics (`mjx_model.tree_replace(...)`)."""
        m, mj = self.scene.mjx_model, self.scene.mj_model
        friction_scale = (
            jp.ones(mj.ngeom, jp.float32)
            .at[self.surface_geoms].set(values.table_friction)
            .at[self.pad_geoms].set(values.pad_friction)
            .at[self.object_geoms].set(values.cube_friction[self.object_of_geom])
        )  # fmt: skip
        # A draw scales every contact its part takes part in: an explicit pair's friction (all
        # object contacts here are pairs, whose friction MuJoCo keeps apart from the geoms')
        # by the product of its two geoms' scales, so the nominal draw leaves it as compiled.
        pair_scale = friction_scale[mj.pair_geom1] * friction_scale[mj.pair_geom2]
        mass_scale = (
            jp.ones(mj.nbody, jp.float32).at[self.link_bodies].set(values.link_mass)
            .at[self.object_bodies].set(values.cube_mass)
        )  # fmt: skip
        size_scale = jp.ones(mj.nbody, jp.float32).at[self.object_bodies].set(values.cube_size)
        # A body's inertia goes as its mass times its size squared.
        inertia_scale = mass_scale * size_scale**2
        dofs, acts = self.scene.arm_qvel, np.arange(6)
        return {
            "geom_friction": jp.asarray(m.geom_friction).at[:, 0].multiply(friction_scale),
            # From the full MjModel: impl="c"'s device model is MJX-JAX's twin of the scene, which
            # leaves out the pairs MJX-JAX cannot collide, while MuJoCo C steps them all.
            "pair_friction": jp.asarray(mj.pair_friction, jp.float32).at[:, :2].multiply(pair_scale[:, None]),
            "body_mass": m.body_mass * mass_scale,
            "body_inertia": m.body_inertia * inertia_scale[:, None],
            "body_ipos": jp.asarray(m.body_ipos).at[self.link_bodies].add(values.link_com),
            "dof_damping": jp.asarray(m.dof_damping).at[dofs].multiply(values.damping),
            "dof_armature": jp.asarray(m.dof_armature).at[dofs].multiply(values.armature),
            "dof_frictionloss": jp.asarray(m.dof_frictionloss).at[dofs].multiply(values.frictionloss),
            "actuator_gainprm": jp.asarray(m.actuator_gainprm).at[acts, 0].multiply(values.kp),
            "actuator_biasprm": jp.asarray(m.actuator_biasprm).at[acts, 1].multiply(values.kp),
            "actuator_forcerange": jp.asarray(m.actuator_forcerange).at[acts].multiply(values.force_limit[:, None]),
        } | self._object_shapes(values)

    def _object_shapes(self, values: Values) -> dict[str, jax.Array]:
        """The objects' geom sizes and the bounds collision culls by, scaled about each body."""
        m = self.scene.mjx_model
        scale = values.cube_size[self.object_of_geom]

        def scaled(field: jax.Array) -> jax.Array:  # any trailing shape: Warp keeps aabb as (2, 3)
            field = jp.asarray(field)
            return field.at[self.object_geoms].multiply(scale.reshape(-1, *[1] * (field.ndim - 1)))

        return {name: scaled(getattr(m, name)) for name in ("geom_size", "geom_rbound", "geom_aabb")}

    def rest_objects(self, qpos: jax.Array, values: Values) -> jax.Array:
        """`qpos` with each object (set down at its nominal size) raised or lowered by the change
        in its half-height, so that at its drawn size it rests on the table as before."""
        return qpos.at[self.object_z].add((values.cube_size - 1.0) * self.object_half_z)

    def render_fields(self, values: Values) -> dict[str, jax.Array]:
        """One instance's visual model fields: colours, lights and cameras (local frames)."""
        m = self.scene.mj_model

        def tint(rgba: jax.Array, ids: np.ndarray, offset: jax.Array) -> jax.Array:
            return rgba.at[ids, :3].set(jp.clip(rgba[ids, :3] + offset, 0.0, 1.0))

        geom_rgba = tint(jp.asarray(m.geom_rgba, jp.float32), self.robot_geoms, values.robot_rgb)
        geom_rgba = tint(geom_rgba, self.object_rgba_geoms, values.cube_rgb[self.object_rgba_owner])
        geom_rgba = tint(geom_rgba, self.surface_rgba_geoms, values.table_rgb)
        mat_rgba = tint(jp.asarray(m.mat_rgba, jp.float32), self.robot_mats, values.robot_rgb)
        mat_rgba = tint(mat_rgba, self.object_mats, values.cube_rgb[self.object_mat_owner])
        mat_rgba = tint(mat_rgba, self.surface_mats, values.table_rgb)
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
            "geom_size": self._object_shapes(values)["geom_size"],
        }

    # -- flat, for datasets --------------------------------------------------------------
    def value_names(self) -> list[str]:
        """One name per entry of `flat`, e.g. 'kp.shoulder_pan', 'cube_rgb.red_cube.g'."""
        names = []
        for field in FIELDS:
            grids = [self.axis_labels[axis] for axis in field.axes]
            for index in np.ndindex(*self.shape(field)):
                names.append(".".join([field.name, *(grid[i] for grid, i in zip(grids, index, strict=True))]))
        return names

    def flat(self, values: Values) -> jax.Array:
        """[N, K] float32 of a batch's values, in `value_names` order."""
        leaves = [getattr(values, field.name) for field in FIELDS]
        return jp.concatenate([v.reshape(v.shape[0], -1).astype(jp.float32) for v in leaves], axis=1)

    def unflat(self, flat: np.ndarray) -> Values:
        """Inverse of `flat` for a batch: [N, K] -> Values with [N, ...] leaves."""
        flat = np.asarray(flat, np.float32)
        out, start = {}, 0
        for field in FIELDS:
            shape = self.shape(field)
            size = int(np.prod(shape))
            part = flat[:, start : start + size].reshape((len(flat), *shape))
            out[field.name] = jp.asarray(np.rint(part), jp.int32) if field.kind == "steps" else jp.asarray(part)
            start += size
        return Values(**out)
