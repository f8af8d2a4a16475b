"""Physics backends behind one interface, and the one registry of them.

A backend turns a loaded MuJoCo model into what the jitted step needs, for one instance (the
env vmaps it): zeroed data, a control step of physics, the kinematics observations read, and a
flag for results it could not compute faithfully. `Scene` (sim/scene.py) holds the scene's
backend and calls nothing else; the CLI and the benchmarks list `IMPLS` from here. Adding a
backend is one module here and one line in `BACKENDS`.

    jax    MJX's XLA pipeline: any JAX device, everything traced
    warp   MuJoCo Warp (through MJX): the fast path on a GPU, and the batched ray tracer
    c      MuJoCo C through one host callback per control step: the fast path on a CPU
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import jax
import mujoco
from mujoco import mjx

from mjx_lerobot.physics.mjx_jax import JaxPhysics
from mjx_lerobot.physics.mjx_warp import WarpPhysics, warp_available
from mjx_lerobot.physics.mujoco_c import CPhysics


class Physics(Protocol):
    """One scene's physics on one backend (every method is for one instance; vmap it)."""

    impl: str  # its name in BACKENDS
    model: mjx.Model  # the device model the jitted step reads and randomization rewrites

    def make_data(self) -> mjx.Data:
        """Zeroed data for one instance."""

    def advance(self, model: mjx.Model, data: mjx.Data, fields: dict[str, jax.Array] | None) -> mjx.Data:
        """`data` one control step on with `model` (`fields`: the randomized fields `model`
        was given, for backends that simulate outside XLA)."""

    def kinematics(self, model: mjx.Model, data: mjx.Data) -> mjx.Data:
        """Body, geom and site poses from qpos and the mocap poses."""

    def overflowed(self, data: mjx.Data) -> jax.Array:
        """() bool: a buffer overflowed this step, so the result dropped constraints."""


#: What a backend is built from: the full model, MJX-JAX's twin of it (without the pairs
#: MJX-JAX cannot collide), physics substeps per control step, and the per-instance contact
#: and constraint budgets derived from the twin (buffers for batch-wide backends).
BackendFactory = Callable[[mujoco.MjModel, mjx.Model, int, int, int, int], Physics]

BACKENDS: dict[str, BackendFactory] = {
    "jax": JaxPhysics,
    "warp": WarpPhysics,
    "c": CPhysics,
}
IMPLS: tuple[str, ...] = tuple(BACKENDS)


def resolve_impl(impl: str | None, num_envs: int = 1) -> str:
    """'auto': MuJoCo Warp on a GPU (MJX-JAX there without Warp), MuJoCo C on a CPU, where it
    is the fastest at every batch size (benchmarks/backends.py measures it)."""
    if impl in (None, "auto"):
        if jax.default_backend() == "cpu":
            return "c"
        return "warp" if warp_available() else "jax"
    if impl not in BACKENDS:
        raise ValueError(f"impl must be one of {('auto',) + IMPLS}, got {impl!r}")
    if impl == "warp" and not warp_available():
        raise ValueError("impl='warp' needs warp-lang (pip install warp-lang)")
    return impl


__all__ = ["BACKENDS", "IMPLS", "Physics", "resolve_impl", "warp_available"]
