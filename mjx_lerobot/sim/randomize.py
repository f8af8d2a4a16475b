"""Domain randomization: every instance its own physics, looks and cameras, drawn inside the jit.

    env = mjx_lerobot.make("lift_cube", num_envs=4096, randomize=True)      # default ranges
    env = mjx_lerobot.make("lift_cube", num_envs=4096, randomize=Ranges(kp=(0.7, 1.3)))
    state = env.reset(key, ranges={"cube_friction": (0.5, 0.5)})          # no recompile

At each of its episode resets an instance draws `Values` from `Ranges` with its own key, so its
episode depends only on its seed, never on the batch size or its place in it. The draws are
small factors (a friction scale, a kp scale per servo, an action delay...) kept in
`state.domain.values`; every step builds that instance's model fields from the nominal model
and them (`Targets.physics_fields`), and the batched renderer reads the visual ones
(`Targets.render_fields`). `record` stores them per frame as `sim.randomization`.

Every randomized quantity is one row of `FIELDS`: its default range, the axes it is drawn over
(one draw per object, per link, per joint...), how it acts and which model fields it writes.
`Ranges` and `Values` are made from that table, and so are the dataset's column names. What a
row acts on in a scene is named by the task (`Task.randomized_parts`: its objects, the jaw pads,
the surfaces), never looked up by a fixed body name; a name missing from the scene is an error.

Every backend takes every field per instance: MJX-JAX through the vmapped model, MuJoCo Warp
because MJX's bridge gives each written field a world axis, MuJoCo C through one model per
instance. Contacts with the objects come from explicit `<pair>`s, whose friction MuJoCo keeps in
`pair_friction`, apart from `geom_friction`: a friction draw scales its part's geoms and every
pair they take part in (a pair by the product of its two geoms' draws). A resized object still
starts resting on the table: the reset lifts or lowers it by the change in its half-height.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jp
import numpy as np
from flax import struct

#: Longest control delay the state has room for (`Ranges.latency` may not exceed it).
MAX_LATENCY = 3


@dataclasses.dataclass(frozen=True)
class Field:
    """One randomized quantity: a row of the table that drawing, physics, rendering and the
    dataset columns all read."""

    name: str
    default: tuple[float, float]  # the (low, high) range `Ranges()` draws from, uniformly
    axes: tuple[str, ...]  # one draw per entry of each axis (`Targets.axis_labels`); () for one draw
    kind: str  # "scale" multiplies the model's value, "offset" adds to it, "std" of noise, "steps" of delay
    acts_on: str  # "physics", "servos" (what the servos receive), "observation", "looks" or "cameras"
    model_fields: tuple[str, ...] = ()  # the mjx.Model fields it writes
    doc: str = ""


FIELDS: tuple[Field, ...] = (
    # Physics: the task's objects, the jaw pads, the surfaces, the arm's links and joints.
    Field("cube_friction", (0.7, 1.3), ("object",), "scale", "physics", ("geom_friction", "pair_friction"),
          "sliding friction of each of the task's objects"),
    Field("pad_friction", (0.8, 1.2), (), "scale", "physics", ("geom_friction", "pair_friction"),
          "sliding friction of the jaw pads"),
    Field("table_friction", (0.7, 1.3), (), "scale", "physics", ("geom_friction", "pair_friction"),
          "sliding friction of the surfaces (the table)"),
    Field("cube_size", (0.85, 1.15), ("object",), "scale", "physics", ("geom_size", "geom_rbound", "geom_aabb",
          "body_inertia"), "each object's size (21-29 mm for the 25 mm cube); inertia follows"),
    Field("cube_mass", (0.7, 1.4), ("object",), "scale", "physics", ("body_mass", "body_inertia"),
          "each object's mass, inertia alike"),
    Field("link_mass", (0.9, 1.1), ("link",), "scale", "physics", ("body_mass", "body_inertia"),
          "each arm link's mass and inertia"),
    Field("link_com", (-0.002, 0.002), ("link", "xyz"), "offset", "physics", ("body_ipos",),
          "m, each link's centre of mass, per axis"),
    Field("damping", (0.8, 1.2), ("joint",), "scale", "physics", ("dof_damping",), "joint damping"),
    Field("armature", (0.8, 1.2), ("joint",), "scale", "physics", ("dof_armature",), "joint armature"),
    Field("frictionloss", (0.5, 1.5), ("joint",), "scale", "physics", ("dof_frictionloss",), "joint dry friction"),
    Field("kp", (0.85, 1.15), ("joint",), "scale", "physics", ("actuator_gainprm", "actuator_biasprm"),
          "servo position gain (the damping term kv is kept)"),
    Field("force_limit", (0.85, 1.15), ("joint",), "scale", "physics", ("actuator_forcerange",),
          "servo force range"),
    # What reaches the servos and what the policy reads.
    Field("latency", (0, 1), (), "steps", "servos", (), "whole control steps an action waits before the servos"),
    Field("action_noise", (0.0, 0.005), (), "std", "servos", (), "Gaussian noise on each action entry ([-1, 1])"),
    Field("joint_noise", (0.0, 0.003), (), "std", "observation", (), "rad, noise on observed joint positions"),
    # Looks: offsets added to RGB in [0, 1]; lights.
    Field("robot_rgb", (-0.1, 0.1), ("rgb",), "offset", "looks", ("geom_rgba", "mat_rgba"), "the arm's colour"),
    Field("cube_rgb", (-0.15, 0.15), ("object", "rgb"), "offset", "looks", ("geom_rgba", "mat_rgba"),
          "each object's colour"),
    Field("table_rgb", (-0.15, 0.15), ("rgb",), "offset", "looks", ("geom_rgba", "mat_rgba"), "the surfaces' colour"),
    Field("light_pos", (-0.2, 0.2), ("light", "xyz"), "offset", "looks", ("light_pos",), "m, per axis"),
    Field("light_dir", (-0.2, 0.2), ("light", "xyz"), "offset", "looks", ("light_dir",),
          "added to the unit direction, then renormalized"),
    Field("light_intensity", (0.6, 1.4), ("light",), "scale", "looks", ("light_diffuse",), "diffuse colour"),
    # Cameras.
    Field("camera_pos", (-0.01, 0.01), ("camera", "xyz"), "offset", "cameras", ("cam_pos",),
          "m, per axis, in the camera's parent frame"),
    Field("camera_rot", (-0.03, 0.03), ("camera", "xyz"), "offset", "cameras", ("cam_quat",),
          "rad, a small rotation about each camera axis"),
    Field("camera_fovy", (-2.0, 2.0), ("camera",), "offset", "cameras", ("cam_fovy",), "degrees added to the fov"),
)  # fmt: skip
FIELD = {field.name: field for field in FIELDS}


@dataclasses.dataclass(frozen=True)
class Parts:
    """What a task's ranges act on, by name in its scene (`Task.randomized_parts`)."""

    objects: tuple[str, ...] = ("cube",)  # bodies: the cube_* rows, one draw per object
    pads: tuple[str, ...] = ("fixed_pad", "moving_pad")  # geoms: pad_friction
    surfaces: tuple[str, ...] = ("table",)  # geoms: table_friction, table_rgb
    robot: str = "base"  # the arm's root body: robot_rgb on its visual geoms; its joints' links: link_*


def _dataclass(name: str, doc: str, annotations: dict[str, Any], defaults: dict[str, Any]) -> type:
    namespace = {"__annotations__": annotations, "__doc__": doc, "__module__": __name__, "__qualname__": name}
    return struct.dataclass(type(name, (), namespace | defaults))


#: Uniform (low, high) ranges each episode draws from, one pair per row of `FIELDS`. Traced:
#: changing them never recompiles. `Ranges()` are the defaults; `Ranges(kp=(0.7, 1.3))` changes
#: one; `camera_every_step=True` redraws the cameras at every step instead of every episode.
Ranges = _dataclass(
    "Ranges",
    "Uniform (low, high) ranges, one per row of randomize.FIELDS (traced), and camera_every_step.",
    {field.name: "tuple" for field in FIELDS} | {"camera_every_step": "bool"},
    {field.name: field.default for field in FIELDS}
    | {"camera_every_step": struct.field(pytree_node=False, default=False)},
)

#: What one instance drew for its episode, one array per row of `FIELDS` shaped by its axes
#: (`Targets.shape`); [N, ...] batched.
Values = _dataclass("Values", "One instance's draws, one array per row of randomize.FIELDS.",
                    {field.name: "jax.Array" for field in FIELDS}, {})


def nominal_ranges() -> Ranges:
    """Ranges that draw the nominal model exactly: scales (1, 1), offsets, noise and delay (0, 0)."""
    return Ranges(**{f.name: (1.0, 1.0) if f.kind == "scale" else (0.0, 0.0) for f in FIELDS})


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
    for field in FIELDS:
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
        if field.kind in ("scale", "std") and (low < 0).any():
            raise ValueError(f"randomize.{field.name}: a scale or noise std cannot be negative, got {value!r}")
        whole_steps = (low >= 0).all() and (high <= MAX_LATENCY).all() and (pair == np.round(pair)).all()
        if field.kind == "steps" and not whole_steps:
            raise ValueError(f"randomize.{field.name}: whole control steps in [0, {MAX_LATENCY}], got {value!r}")


@struct.dataclass
class Domain:
    """An instance's randomization state, carried in `EnvState.domain`."""

    ranges: Ranges  # what it draws from at its next reset (traced)
    values: Values  # what it drew for this episode
    pending_ctrl: jax.Array  # (MAX_LATENCY + 1, 6) servo targets, newest first (the delay line)


def start(targets: Any, ranges: Ranges, key: jax.Array, ctrl: jax.Array) -> Domain:
    """An episode's randomization: values drawn from `key`, the delay line full of `ctrl`."""
    return Domain(ranges=ranges, values=targets.draw(ranges, key), pending_ctrl=jp.tile(ctrl[:6], (MAX_LATENCY + 1, 1)))


def delay(domain: Domain, ctrl: jax.Array) -> tuple[Domain, jax.Array]:
    """Push this step's servo targets; return the ones `latency` steps old (what the servos get)."""
    pending = jp.concatenate([ctrl[None], domain.pending_ctrl[:-1]])
    return domain.replace(pending_ctrl=pending), pending[domain.values.latency]
