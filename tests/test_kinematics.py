"""The unrolled forward kinematics and the IK against their references: MuJoCo C's
mj_kinematics on random states of every scene, jax.jacfwd of the IK error, and poses the arm
can reach."""

from __future__ import annotations

import jax
import jax.numpy as jp
import mujoco
import numpy as np
import pytest
from mujoco import mjx

from mjx_lerobot.physics.kinematics import Kinematics
from mjx_lerobot.sim.ik import ArmIK, down_pose
from mjx_lerobot.sim.scene import assets_dir, build_scene

FIELDS = ("xpos", "xquat", "xmat", "xipos", "ximat", "xanchor", "xaxis")
FIELDS += ("geom_xpos", "geom_xmat", "site_xpos", "site_xmat")
SCENES = sorted(p.name for p in assets_dir().glob("scene_*.xml"))


@pytest.mark.parametrize("scene_file", SCENES)
def test_kinematics_matches_mujoco_c(scene_file):
    scene = build_scene(scene_file, impl="c")  # MJX-JAX's model of any scene (kinematics only)
    mj_model, model = scene.mj_model, scene.jax_model
    kinematics = jax.jit(jax.vmap(lambda d: Kinematics(mj_model)(model, d)))
    rng = np.random.default_rng(0)
    n = 8
    qpos = mj_model.qpos0 + rng.uniform(-1.0, 1.0, (n, mj_model.nq))
    mocap_pos = rng.uniform(-0.3, 0.3, (n, mj_model.nmocap, 3))
    mocap_quat = rng.normal(size=(n, mj_model.nmocap, 4))  # not unit: both normalize
    template = mjx.make_data(model)
    batch = jax.vmap(lambda q, p, r: template.replace(qpos=q, mocap_pos=p, mocap_quat=r))(
        jp.asarray(qpos, jp.float32), jp.asarray(mocap_pos, jp.float32), jp.asarray(mocap_quat, jp.float32)
    )
    out = kinematics(batch)
    data = mujoco.MjData(mj_model)
    for i in range(n):
        data.qpos[:], data.mocap_pos[:], data.mocap_quat[:] = qpos[i], mocap_pos[i], mocap_quat[i]
        mujoco.mj_kinematics(mj_model, data)
        for name in FIELDS:
            expected = getattr(data, name).reshape(np.shape(getattr(out, name))[1:])
            # float32 against float64: a few ulps of metres and of unit rotations.
            np.testing.assert_allclose(np.asarray(getattr(out, name)[i]), expected, atol=2e-6, err_msg=name)


def test_ik_jacobian_is_the_derivative_of_its_error():
    ik = ArmIK(build_scene("scene_cube.xml", impl="jax"))
    key_q, key_p, key_yaw = jax.random.split(jax.random.key(0), 3)
    q = jax.random.uniform(key_q, (16, 5), minval=-0.8, maxval=0.8)
    pos = jax.random.uniform(key_p, (16, 3), minval=-0.2, maxval=0.3)
    rot = jax.vmap(down_pose)(jax.random.uniform(key_yaw, (16,), maxval=3.0))
    err, jac = jax.vmap(ik.error_and_jacobian)(q, pos, rot)
    np.testing.assert_allclose(err, jax.vmap(ik.error)(q, pos, rot), atol=1e-6)
    np.testing.assert_allclose(jac, jax.vmap(jax.jacfwd(ik.error))(q, pos, rot), atol=1e-5)
    assert float(jp.abs(jac).max()) > 0.1  # a real jacobian, not zeros


def test_ik_chain_matches_mujoco_c():
    scene = build_scene("scene_cube.xml", impl="jax")
    ik, mj_model = ArmIK(scene), scene.mj_model
    rng = np.random.default_rng(1)
    q = rng.uniform(scene.ctrl_low[:5], scene.ctrl_high[:5], (16, 5))
    pos, rot = jax.vmap(ik.fk)(jp.asarray(q, jp.float32))
    data = mujoco.MjData(mj_model)
    for i in range(len(q)):
        data.qpos[scene.arm_qpos[:5]] = q[i]
        mujoco.mj_kinematics(mj_model, data)
        np.testing.assert_allclose(pos[i], data.site_xpos[scene.ee_site], atol=2e-6)
        np.testing.assert_allclose(rot[i], data.site_xmat[scene.ee_site].reshape(3, 3), atol=2e-6)


def test_ik_reaches_poses_the_arm_can_take():
    """From a start up to 0.3 rad away per joint, the solve's six iterations put gripperframe
    within 2 mm of a pose taken from joint angles inside the limits, most within 0.2 mm (the
    experts start from the last targets, which move far less between steps)."""
    scene = build_scene("scene_cube.xml", impl="jax")
    ik = ArmIK(scene)
    rng = np.random.default_rng(2)
    low, high = scene.ctrl_low[:5] + 0.3, scene.ctrl_high[:5] - 0.3
    goal_q = jp.asarray(rng.uniform(low, high, (64, 5)), jp.float32)
    pos, rot = jax.vmap(ik.fk)(goal_q)
    start = goal_q + jp.asarray(rng.uniform(-0.3, 0.3, (64, 5)), jp.float32)
    solved = jax.jit(jax.vmap(ik.solve))(start, pos, rot)
    reached, _ = jax.vmap(ik.fk)(solved)
    miss = jp.linalg.norm(reached - pos, axis=1)
    assert float(miss.max()) < 2e-3 and float(jp.median(miss)) < 2e-4
    assert float(jp.abs(start - goal_q).max()) > 0.2  # it had somewhere to go
