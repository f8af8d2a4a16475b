"""Every randomized field acts on the simulated outcome, on every backend, for every task's own
objects; and identity ranges reproduce the unrandomized run on every backend.

Outcomes, not arrays: the same actions replayed open-loop on instances that differ in one field
each must end in different states (a field whose array is scaled but whose physics is not, like
a friction that explicit contact pairs override, fails here)."""

from __future__ import annotations

import jax
import jax.numpy as jp
import numpy as np
import pytest

import mjx_lerobot
from mjx_lerobot.sim.randomize import FIELDS, nominal_ranges
from mjx_lerobot.sim.scene import ctrl_to_action
from mjx_lerobot.sim.task import seed_keys

# Slow tier: every backend (MJX-JAX included), randomized.
pytestmark = pytest.mark.slow

#: Fields that change what the servos or the physics do (joint_noise only changes what is read).
ACTING = [f for f in FIELDS if f.acts_on in ("physics", "servos")]
#: One extreme per kind of field: far from nominal, still a model MuJoCo can simulate.
EXTREME = {"scale": 0.3, "offset": 0.01, "steps": 3, "std": 0.2}
STEPS = 60  # through the expert's descent and grasp of lift_cube
SEED = 11


def one_field_per_instance(env: mjx_lerobot.Env, fields: list) -> object:
    """Ranges with instance 0 nominal and instance i > 0 at the extreme of fields[i - 1] only."""
    ranges = env.batch_ranges(nominal_ranges())
    for i, field in enumerate(fields, start=1):
        value = EXTREME[field.kind]
        ranges = ranges.replace(**{field.name: getattr(ranges, field.name).at[i].set(jp.array([value, value]))})
    return ranges


@pytest.fixture(scope="module")
def expert_actions() -> np.ndarray:
    """lift_cube's expert, from seed SEED: [STEPS, 6] actions that reach, grasp and start lifting."""
    env = mjx_lerobot.make("lift_cube", num_envs=1, impl="c")
    state = env.reset_instances(seed_keys([SEED]))
    _, traj = mjx_lerobot.rollout(env, env.task.expert(env.scene, env.params), jax.random.key(0), STEPS, state=state)
    return np.asarray(traj["action"][:, 0])


def replay(actions: np.ndarray):
    """A policy that plays `actions` open-loop, indexed by each instance's step count."""
    table = jp.asarray(actions)
    return lambda state, key: table[jp.minimum(state.steps, len(table) - 1)]


def rounding_spread(env: mjx_lerobot.Env, policy, key: jax.Array, keys: jax.Array) -> float:
    """1.5x the largest qpos change that nudging the arm's start by +-1e-7 rad (float32 rounding
    at these angles) makes to `env`'s rollout: how far rounding alone moves this trajectory."""
    state = env.reset_instances(keys)
    _, base = mjx_lerobot.rollout(env, policy, key, STEPS, state=state)
    spread = 0.0
    for nudge in (1e-7, -1e-7):
        nudged = state.replace(data=state.data.replace(qpos=state.data.qpos.at[:, :6].add(nudge)))
        _, traj = mjx_lerobot.rollout(env, policy, key, STEPS, state=nudged)
        spread = max(spread, float(np.abs(np.asarray(traj["qpos"]) - np.asarray(base["qpos"])).max()))
    return 1.5 * spread


@pytest.mark.parametrize("impl", ["c", "warp", "jax"])
def test_every_acting_field_changes_the_outcome_and_identity_ranges_change_nothing(impl, expert_actions):
    num_envs = len(ACTING) + 1
    env = mjx_lerobot.make("lift_cube", num_envs=num_envs, impl=impl, randomize=True)
    plain = mjx_lerobot.make("lift_cube", num_envs=num_envs, impl=impl)
    keys = seed_keys([SEED] * num_envs)  # every instance the same episode but for its draw
    policy, key = replay(expert_actions), jax.random.key(0)
    state = env.reset_instances(keys, ranges=one_field_per_instance(env, ACTING))
    _, traj = mjx_lerobot.rollout(env, policy, key, STEPS, state=state)
    _, plain_traj = mjx_lerobot.rollout(plain, policy, key, STEPS, state=plain.reset_instances(keys))
    qpos, plain_qpos = np.asarray(traj["qpos"]), np.asarray(plain_traj["qpos"])
    assert np.isfinite(qpos).all()
    # Identity ranges (instance 0) give the unrandomized trajectory: bit for bit where physics
    # runs outside XLA or in Warp's kernels. On MJX-JAX the model fields given per instance let
    # XLA fuse the same arithmetic differently; the float32 rounding (1e-7 rad) is harmless in free
    # motion but, once the jaws touch the cube, the servos' 1-step dead zone turns it into whole
    # encoder steps that the contacts carry on. The bound there is what this very trajectory does
    # to a rounding-sized nudge of its start (measured 1.4e-2 rad against 1.0e-2 for identity ranges).
    atol = rounding_spread(plain, policy, key, keys) if impl == "jax" else 0
    np.testing.assert_allclose(qpos[:, 0], plain_qpos[:, 0], rtol=0, atol=atol)
    np.testing.assert_allclose(qpos[:15, 0], plain_qpos[:15, 0], rtol=0, atol=1e-5)
    assert (np.asarray(traj["fault"]) == 0).all()
    changed = {field.name: float(np.abs(qpos[:, i] - qpos[:, 0]).max()) for i, field in enumerate(ACTING, 1)}
    unchanged = [name for name, change in changed.items() if change < 1e-3]
    assert not unchanged, f"{impl}: these fields left the trajectory as it was: {changed}"


TASKS_WITH_OBJECTS = [t for t in mjx_lerobot.available_tasks() if mjx_lerobot.load_task(t).randomized_parts.objects]


def test_every_task_declares_what_it_randomizes():
    for name in mjx_lerobot.available_tasks():
        task = mjx_lerobot.load_task(name)
        env = mjx_lerobot.make(name, num_envs=1, impl="c", randomize=True)
        bodies = [env.scene.mj_model.body(int(b)).name for b in env.targets.object_bodies]
        assert tuple(bodies) == task.randomized_parts.objects, name
        # Every free body in the scene is one of the task's objects: none is left out.
        m = env.scene.mj_model
        free = {m.body(int(m.jnt_bodyid[j])).name for j in range(m.njnt) if m.jnt_type[j] == 0}
        assert free == set(bodies), (name, free)


@pytest.mark.parametrize("task", TASKS_WITH_OBJECTS)
def test_each_object_of_each_task_feels_its_draws(task):
    """Every object of the task, pushed along the table at 0.15 m/s with the arm held still:
    lower object or table friction lets each slide further (a sphere: roll differently), a
    larger size rests each higher."""
    fields = [FIELDS[[f.name for f in FIELDS].index(n)] for n in ("cube_friction", "table_friction", "cube_size")]
    env = mjx_lerobot.make(task, num_envs=len(fields) + 1, impl="warp", randomize=True)
    ranges = one_field_per_instance(env, fields)
    ranges = ranges.replace(cube_size=ranges.cube_size.at[3].set(jp.array([1.3, 1.3])))
    state = env.reset_instances(seed_keys([SEED] * (len(fields) + 1)), ranges=ranges)
    m, targets = env.scene.mj_model, env.targets
    dof = m.jnt_dofadr[m.body_jntadr[targets.object_bodies]]
    x = targets.object_z - 2
    start = np.asarray(state.data.qpos)[:, x]
    state = state.replace(data=state.data.replace(qvel=state.data.qvel.at[:, dof].set(0.15)))
    hold = np.asarray(ctrl_to_action(env.scene, state.data.ctrl))
    for _ in range(6):
        state = env.step(state, hold)
    slid = np.asarray(state.data.qpos)[:, x] - start  # [instance, object]
    assert (np.asarray(state.fault) == 0).all()
    # A sphere rolls whatever its friction (only its first instant of sliding depends on it):
    # it must still end elsewhere; everything else slides millimetres further.
    rolls = np.array([m.geom_type[targets.object_geoms[targets.object_of_geom == k]].min() == 2
                      for k in range(len(dof))])  # fmt: skip
    for row, name in ((1, "cube_friction"), (2, "table_friction")):
        further = slid[row] - slid[0]
        assert (further[~rolls] > 5e-4).all(), (name, slid)
        assert (np.abs(further[rolls]) > 2e-6).all(), (name, slid)
    z = np.asarray(state.data.qpos)[:, targets.object_z]
    np.testing.assert_allclose(z[3] - z[0], 0.3 * targets.object_half_z, atol=3e-4)
