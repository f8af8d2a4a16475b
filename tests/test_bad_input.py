"""Mistakes a user makes get a clear error (or, inside jit, a fault flag), not garbage."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jp
import mjx_lerobot.tasks.lift_cube as lift_cube_module
import numpy as np
import pytest
from conftest import NUM_ENVS, hold_action

import mjx_lerobot


# -- task lookup and construction (all fail before anything is compiled) -------------------
def test_unknown_task_lists_available_tasks():
    with pytest.raises(ValueError) as err:
        mjx_lerobot.make("lift_cbue", num_envs=1, impl="jax")
    msg = str(err.value)
    assert "lift_cbue" in msg
    assert "lift_cube" in msg
    for name in mjx_lerobot.available_tasks():
        assert name in msg


@pytest.mark.parametrize("num_envs", [0, -1, 2.5])
def test_bad_num_envs(num_envs):
    with pytest.raises(ValueError, match="num_envs"):
        mjx_lerobot.make("lift_cube", num_envs=num_envs, impl="jax")


def test_unknown_impl():
    with pytest.raises(ValueError, match="impl"):
        mjx_lerobot.make("lift_cube", num_envs=1, impl="cuda")


def test_load_task_from_real_path():
    path = Path(lift_cube_module.__file__)
    task = mjx_lerobot.load_task(str(path))
    assert isinstance(task, mjx_lerobot.Task)
    assert task.name == "lift_cube"
    assert task.scene == "scene_cube.xml"


def test_load_task_from_user_file(tmp_path):
    task_file = tmp_path / "my_lift.py"
    task_file.write_text(
        "import dataclasses\n"
        "from mjx_lerobot.tasks.lift_cube import TASK as _LIFT\n"
        "TASK = dataclasses.replace(_LIFT, name='my_lift', episode_steps=42)\n"
    )
    task = mjx_lerobot.load_task(str(task_file))
    assert task.name == "my_lift"
    assert task.episode_steps == 42
    # The bundled task is untouched by the user's file.
    assert mjx_lerobot.load_task("lift_cube").name == "lift_cube"
    assert dataclasses.replace(task, name="lift_cube", episode_steps=150) == mjx_lerobot.load_task("lift_cube")


def test_load_task_from_user_file_with_its_own_params(tmp_path):
    task_file = tmp_path / "my_params_task.py"
    task_file.write_text(
        "from __future__ import annotations\n"
        "import dataclasses\n"
        "from flax import struct\n"
        "from mjx_lerobot.tasks.lift_cube import TASK as _LIFT, Params as _Params\n"
        "@struct.dataclass\n"
        "class Params(_Params):\n"
        "    lift_height: float = 0.08\n"
        "TASK = dataclasses.replace(_LIFT, name='my_params_task', params=Params())\n"
    )
    task = mjx_lerobot.load_task(str(task_file))
    assert task.name == "my_params_task"
    assert task.params.lift_height == 0.08
    env = mjx_lerobot.make(str(task_file), num_envs=2, impl="jax")
    assert env.params.lift_height.dtype == np.float32 and float(env.params.lift_height) == pytest.approx(0.08)


def test_params_that_are_not_a_pytree_are_refused(tmp_path):
    # Params are traced into reset/step, so they must be a pytree; a plain dataclass would be
    # closed over as a constant (changing it silently did nothing): a clear error instead.
    task_file = tmp_path / "plain_params_task.py"
    task_file.write_text(
        "import dataclasses\n"
        "from mjx_lerobot.tasks.lift_cube import TASK as _LIFT\n"
        "@dataclasses.dataclass(frozen=True)\n"
        "class Params:\n"
        "    lift_height: float = 0.08\n"
        "TASK = dataclasses.replace(_LIFT, name='plain_params_task', params=Params())\n"
    )
    with pytest.raises(TypeError, match="flax.struct.dataclass"):
        mjx_lerobot.make(str(task_file), num_envs=2, impl="jax")


def test_load_task_file_without_task(tmp_path):
    task_file = tmp_path / "empty_task.py"
    task_file.write_text("X = 1\n")
    with pytest.raises(ValueError, match="TASK"):
        mjx_lerobot.load_task(str(task_file))


def test_load_task_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        mjx_lerobot.load_task(str(tmp_path / "nope.py"))


# -- actions checked at the Python boundary ------------------------------------------------
@pytest.mark.parametrize("shape", [(NUM_ENVS, 5), (6,), (NUM_ENVS + 1, 6), (NUM_ENVS, 6, 1)])
def test_action_wrong_shape(c_env, c_state0, shape):
    with pytest.raises(ValueError) as err:
        c_env.step(c_state0, np.zeros(shape, np.float32))
    msg = str(err.value)
    assert f"({NUM_ENVS}, 6)" in msg  # expected
    assert str(tuple(shape)) in msg  # got


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.bool_])
def test_action_int_dtype(c_env, c_state0, dtype):
    with pytest.raises(ValueError, match="dtype") as err:
        c_env.step(c_state0, np.zeros((NUM_ENVS, 6), dtype))
    assert np.dtype(dtype).name in str(err.value)


def test_action_not_an_array(c_env, c_state0):
    with pytest.raises(ValueError, match="action"):
        c_env.step(c_state0, [[0.0] * 6] * NUM_ENVS)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_numpy_action_non_finite(c_env, c_state0, bad):
    action = hold_action(c_env, c_state0)
    action[2, 3] = bad
    with pytest.raises(ValueError, match="non-finite") as err:
        c_env.step(c_state0, action)
    assert "[2, 3]" in str(err.value)  # names the offending [instance, joint]


def test_nan_inside_jit_sets_fault_only_for_that_instance(c_env, c_state0):
    """A jax array is not checked on the host: it goes straight into the jitted step_fn,
    where a NaN must neither poison the physics nor other instances."""
    action = hold_action(c_env, c_state0) + np.float32(0.05)
    action = np.clip(action, -1, 1)
    bad = jp.asarray(action).at[1, 2].set(jp.nan)
    state = c_env.step(c_state0, bad)
    ref = c_env.step(c_state0, jp.asarray(action))

    assert np.isfinite(np.asarray(state.data.qpos)).all()
    assert np.isfinite(np.asarray(state.data.qvel)).all()
    for name, value in state.obs.items():
        assert np.isfinite(np.asarray(value)).all(), name

    fault = np.asarray(state.fault)
    assert fault[1] & mjx_lerobot.FAULT_BAD_ACTION
    assert fault[1] & mjx_lerobot.FAULT_NAN_STATE == 0
    for i in (0, 2, 3):
        assert fault[i] == 0, (i, fault)
    assert not np.asarray(state.done).any()

    # The NaN joint kept its previous servo target; the instance's other joints moved on.
    ctrl, ctrl0, ref_ctrl = (np.asarray(s.data.ctrl) for s in (state, c_state0, ref))
    assert ctrl[1, 2] == ctrl0[1, 2]
    others = [0, 1, 3, 4, 5]
    np.testing.assert_array_equal(ctrl[1, others], ref_ctrl[1, others])
    # Other instances are exactly as if nothing had happened.
    np.testing.assert_array_equal(np.asarray(state.data.qpos)[[0, 2, 3]], np.asarray(ref.data.qpos)[[0, 2, 3]])


def _full_reverse(state, key):
    """Every servo driven to -5 (clipped to -1): one module-level policy, so the rollout
    compiles once for all the runs below rather than once per lambda."""
    return jp.full((NUM_ENVS, 6), -5.0)


@pytest.mark.parametrize("make_key", [jax.random.key, jax.random.PRNGKey], ids=["typed", "legacy"])
def test_both_key_styles_run_every_fault_path_and_auto_reset_alike(c_env, make_key):
    """`jax.random.key` and the legacy `jax.random.PRNGKey` give the same episodes through a NaN
    state, a NaN action, actions far outside [-1, 1] and an auto-reset; a wrong key is refused."""
    results = []
    for key in (make_key(0), jax.random.key(0)):
        state = c_env.reset(key)
        state = state.replace(data=state.data.replace(qvel=state.data.qvel.at[2].set(jp.nan)))
        state = c_env.step(state, jp.full((NUM_ENVS, 6), 5.0).at[1, 0].set(jp.nan))
        fault = np.asarray(state.fault)
        assert fault[1] & mjx_lerobot.FAULT_BAD_ACTION and fault[2] & mjx_lerobot.FAULT_NAN_STATE
        assert int(state.steps[2]) == 0  # auto-reset on the same step
        _, traj = mjx_lerobot.rollout(c_env, _full_reverse, key, 3, state=state)
        results.append(np.asarray(traj["qpos"]))
    np.testing.assert_array_equal(results[0], results[1])
    with pytest.raises(ValueError, match=r"expected jax.random.key\(seed\) \(or a legacy jax.random.PRNGKey\)"):
        c_env.reset(np.zeros(3))
