"""MuJoCo C physics inside the jitted step (`impl="c"`): the CPU path.

On a CPU, MuJoCo C steps this scene an order of magnitude faster than MJX's XLA path or
MuJoCo Warp's CPU device (benchmarks/backends.py measures it). With impl="c" a control step's
physics substeps leave XLA through one `jax.pure_callback` for the whole batch, which hands
every instance to `mujoco.rollout` (MuJoCo's own thread pool, the GIL released); everything
else, the task's reset, observe, reward and success, auto-reset, randomization draws, stays in
JAX and in the same jitted call. Kinematics for the observations is MJX's (cheap, exact).

What crosses the boundary per control step: time, qpos, qvel, act, ctrl and the mocap poses
(float32 in JAX, float64 in C), and, for a randomized env, each instance's model fields.

Why it is shaped this way:
- one callback per control step, not per substep: `mujoco.rollout` runs the `substeps` physics
  steps of every instance in C, with the controls and mocap poses held;
- MuJoCo C does not hand back its solver warm start at the end of a rollout, so every control
  step's solve starts cold (as MuJoCo does at a reset); the parity tests bound the difference;
- MuJoCo C answers a diverging state by resetting that instance to the model's qpos0 with a
  warning, and `mujoco.rollout` stops stepping an instance after any warning. An instance whose
  clock did not advance by the whole control step comes back as NaN instead, so the env ends
  its episode and flags `FAULT_NAN_STATE` exactly as the other backends do;
- randomized models: one MjModel per instance, whose fields are rewritten only where an
  instance's drawn values changed (at its episode resets), not on every step.
"""

from __future__ import annotations

import copy
import math
import os
import threading
from collections.abc import Mapping

import jax
import jax.numpy as jp
import mujoco
import numpy as np
from mujoco import mjx
from mujoco import rollout as mj_rollout

from mjx_lerobot.physics.kinematics import Kinematics

_STATE = mujoco.mjtState
#: What MuJoCo's rollout holds for the whole control step, beside the state it steps.
CONTROL_SPEC = int(_STATE.mjSTATE_CTRL.value | _STATE.mjSTATE_MOCAP_POS.value | _STATE.mjSTATE_MOCAP_QUAT.value)
#: The parts of mjSTATE_FULLPHYSICS after time, qpos, qvel, act; they must be empty here.
_UNCARRIED = (_STATE.mjSTATE_HISTORY, _STATE.mjSTATE_PLUGIN)


def default_threads() -> int:
    """The CPU cores this process may use (every core MuJoCo C can keep busy)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class HostPhysics:
    """The physics substeps of a control step, for a whole batch, in MuJoCo C.

    `step(data, fields)` is a JAX function of one instance's `mjx.Data` (vmap it; under vmap
    the host sees the whole batch in one call). `fields`, for randomized envs, are that
    instance's model fields (the names of `mjx.Model`), as `Targets.physics_fields` gives.
    """

    def __init__(self, mj_model: mujoco.MjModel, substeps: int, threads: int | None = None):
        for part in _UNCARRIED:
            if mujoco.mj_stateSize(mj_model, part.value):
                raise ValueError(f"impl='c' does not carry {part.name} state; this scene has some")
        self.model = mj_model
        self.substeps = int(substeps)
        self.threads = int(threads or default_threads())
        self.timestep = float(mj_model.opt.timestep)
        self._pool = mj_rollout.Rollout(nthread=self.threads if self.threads > 1 else 0)
        self._data = [mujoco.MjData(mj_model) for _ in range(max(self.threads, 1))]
        self._nstate = mujoco.mj_stateSize(mj_model, _STATE.mjSTATE_FULLPHYSICS.value)
        self._split = np.cumsum([1, mj_model.nq, mj_model.nv])  # time | qpos | qvel | act
        # Per-instance models (randomized envs), created for the batch size first seen.
        self._models: list[mujoco.MjModel] = []
        self._fields: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()  # several devices' slices may call at once

    # -- JAX side ---------------------------------------------------------------------------
    def step(self, data: mjx.Data, fields: Mapping[str, jax.Array] | None = None) -> mjx.Data:
        """`data` advanced by `substeps` physics steps (time, qpos, qvel, act; kinematics and
        everything derived from it are the caller's to refresh)."""
        fields = dict(sorted((fields or {}).items()))
        args = (data.time, data.qpos, data.qvel, data.act, data.ctrl, data.mocap_pos, data.mocap_quat)
        out_shapes = tuple(jax.ShapeDtypeStruct(jp.shape(x), jp.result_type(x)) for x in args[:4])
        names = tuple(fields)

        def host(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
            return self._host_step(*arrays[:7], dict(zip(names, arrays[7:], strict=True)))

        time, qpos, qvel, act = jax.pure_callback(
            host, out_shapes, *args, *fields.values(), vmap_method="broadcast_all"
        )
        return data.replace(time=time, qpos=qpos, qvel=qvel, act=act)

    # -- host side --------------------------------------------------------------------------
    def _host_step(
        self,
        time: np.ndarray,
        qpos: np.ndarray,
        qvel: np.ndarray,
        act: np.ndarray,
        ctrl: np.ndarray,
        mocap_pos: np.ndarray,
        mocap_quat: np.ndarray,
        fields: dict[str, np.ndarray],
    ) -> tuple[np.ndarray, ...]:
        batch = qpos.shape[:-1]  # () outside vmap, (N,) or more inside
        n = math.prod(batch)
        flat = lambda x: np.asarray(x, np.float64).reshape(n, -1)  # noqa: E731
        state0 = np.concatenate([flat(time), flat(qpos), flat(qvel), flat(act)], axis=1)
        control = np.concatenate([flat(ctrl), flat(mocap_pos), flat(mocap_quat)], axis=1)
        control = np.ascontiguousarray(np.broadcast_to(control[:, None], (n, self.substeps, control.shape[1])))
        state = np.empty((n, self.substeps, self._nstate))
        sensordata = np.empty((n, self.substeps, self.model.nsensordata))
        with self._lock:
            models = self._instance_models(fields, n) if fields else self.model
            self._pool.rollout(
                models, self._data, state0, control, control_spec=CONTROL_SPEC, state=state, sensordata=sensordata
            )
        final = state[:, -1]
        new_time, new_qpos, new_qvel, new_act = np.split(final, self._split, axis=1)
        # MuJoCo C reset a diverging instance to qpos0 (clock restarted), or a warning stopped
        # it short: report it as NaN, so the env ends that episode with FAULT_NAN_STATE.
        reset = new_time[:, 0] < state0[:, 0] + 0.5 * self.substeps * self.timestep
        new_qpos[reset] = np.nan
        new_qvel[reset] = np.nan

        def out(x: np.ndarray, like: np.ndarray) -> np.ndarray:
            return x.astype(like.dtype).reshape(like.shape)

        return out(new_time, time), out(new_qpos, qpos), out(new_qvel, qvel), out(new_act, act)

    def _instance_models(self, fields: dict[str, np.ndarray], n: int) -> list[mujoco.MjModel]:
        """One model per instance with its drawn fields, rewritten only where they changed."""
        if len(self._models) != n:
            self._models = [copy.copy(self.model) for _ in range(n)]
            self._fields = {}
        for name, value in fields.items():
            nominal = getattr(self.model, name)
            value = np.asarray(value).reshape(n, *nominal.shape)
            # Fields arrive in float32: an entry left at its nominal value takes the model's own
            # float64 value, so a nominal draw simulates exactly the unrandomized model.
            value = np.where(value == nominal.astype(value.dtype), nominal, value)
            cached = self._fields.get(name)
            changed = range(n) if cached is None else np.flatnonzero((value != cached).reshape(n, -1).any(axis=1))
            for i in changed:
                getattr(self._models[i], name)[...] = value[i]
            self._fields[name] = value.copy()
        return self._models


class CPhysics:
    """MuJoCo C: the substeps in `HostPhysics`, the kinematics the observations need in JAX
    (MJX-JAX's model and the unrolled kinematics). MuJoCo C grows its buffers as it needs, so
    it cannot overflow."""

    impl = "c"

    def __init__(self, mj_model: mujoco.MjModel, jax_model: mjx.Model, substeps: int, *_budgets: int):
        self.model = jax_model
        self.host = HostPhysics(mj_model, substeps)
        self._fk = Kinematics(mj_model)

    def make_data(self) -> mjx.Data:
        return mjx.make_data(self.model)

    def advance(self, model: mjx.Model, data: mjx.Data, fields: dict[str, jax.Array] | None = None) -> mjx.Data:
        # MuJoCo C advances the state; the observations need only its kinematics.
        return self.kinematics(model, self.host.step(data, fields))

    def kinematics(self, model: mjx.Model, data: mjx.Data) -> mjx.Data:
        return self._fk(model, data)

    def overflowed(self, data: mjx.Data) -> jax.Array:
        return jp.array(False)
