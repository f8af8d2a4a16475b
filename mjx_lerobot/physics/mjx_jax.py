"""MJX's XLA pipeline (`impl="jax"`): everything traced, on any JAX device."""

from __future__ import annotations

import jax
import jax.numpy as jp
import mujoco
from mujoco import mjx

from mjx_lerobot.physics.kinematics import Kinematics


def substep_loop(model: mjx.Model, data: mjx.Data, substeps: int) -> mjx.Data:
    """`substeps` calls of `mjx.step`, in full float32: on NVIDIA GPUs JAX's default lets
    float32 matmuls run in TF32, which moves MJX's arm measurably off MuJoCo C within a second
    (tests/test_mujoco_parity.py). Scoped here, so a user's networks keep their precision."""
    with jax.default_matmul_precision("highest"):
        return jax.lax.fori_loop(0, substeps, lambda _, d: mjx.step(model, d), data)


class JaxPhysics:
    """MJX-JAX: `mjx.step` substeps; kinematics unrolled over the scene's bodies, which
    compiles in a fraction of `mjx.kinematics`' time. It allocates every possible contact up
    front, so it cannot overflow."""

    impl = "jax"

    def __init__(self, mj_model: mujoco.MjModel, jax_model: mjx.Model, substeps: int, *_budgets: int):
        self.model = jax_model
        self.substeps = substeps
        self._fk = Kinematics(mj_model)

    def make_data(self) -> mjx.Data:
        return mjx.make_data(self.model)

    def advance(self, model: mjx.Model, data: mjx.Data, fields: dict[str, jax.Array] | None = None) -> mjx.Data:
        return substep_loop(model, data, self.substeps)

    def kinematics(self, model: mjx.Model, data: mjx.Data) -> mjx.Data:
        return self._fk(model, data)

    def overflowed(self, data: mjx.Data) -> jax.Array:
        return jp.array(False)
