"""MuJoCo Warp through MJX (`impl="warp"`): the fast path on a GPU.

`mujoco-mjx` 3.17 bundles its own copy of MuJoCo Warp (`mujoco.mjx.third_party.mujoco_warp`)
and runs that copy: names such as `OverflowType` are taken from it, not from a separately
installed `mujoco_warp`, which could be a different version.
"""

from __future__ import annotations

import functools

import jax
import mujoco
from mujoco import mjx

from mjx_lerobot.physics.mjx_jax import substep_loop


def warp_available() -> bool:
    """True when MuJoCo Warp can run here (warp-lang imports)."""
    try:
        import warp  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def quiet_warp() -> None:
    """Keep Warp's start-up banner and its line per kernel module load off stdout (where they
    would break `--json` output); its warnings still show."""
    import warp

    warp.config.quiet = True
    if hasattr(warp, "LOG_WARNING"):
        warp.config.log_level = warp.LOG_WARNING


def overflow_bits() -> int:
    """The overflow flags that mean dropped contacts or constraints (not solver iteration caps)."""
    from mujoco.mjx.third_party.mujoco_warp import OverflowType

    return int(OverflowType.ALL) & ~int(OverflowType.ITERATIONS | OverflowType.LS_ITERATIONS)


class WarpPhysics:
    """MuJoCo Warp: fixed contact (whole batch) and constraint (per instance) buffers, sized
    from the scene's worst case; a step that needs more is flagged, not silently wrong."""

    impl = "warp"

    def __init__(
        self, mj_model: mujoco.MjModel, jax_model: mjx.Model, substeps: int, num_envs: int, contacts: int, rows: int
    ):
        quiet_warp()
        model = mjx.put_model(mj_model, impl="warp")
        # Overflows are reported in EnvState.fault; Warp's own warning is printed from inside
        # kernels and would flood the console without adding anything.
        opt = model.opt.replace(_impl=model.opt._impl.replace(warn_overflow=overflow_bits()))
        self.model = model.replace(opt=opt)
        self.mj_model = mj_model
        self.substeps = substeps
        self.naconmax = contacts * max(num_envs, 1)
        self.njmax = rows

    def make_data(self) -> mjx.Data:
        return mjx.make_data(self.mj_model, impl="warp", naconmax=self.naconmax, njmax=self.njmax)

    def advance(self, model: mjx.Model, data: mjx.Data, fields: dict[str, jax.Array] | None = None) -> mjx.Data:
        return substep_loop(model, data, self.substeps)

    def kinematics(self, model: mjx.Model, data: mjx.Data) -> mjx.Data:
        return mjx.kinematics(model, data)

    def overflowed(self, data: mjx.Data) -> jax.Array:
        impl = data._impl
        return ((impl.overflow & overflow_bits()) != 0) | (impl.nefc > self.njmax)
