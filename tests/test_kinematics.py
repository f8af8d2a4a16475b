"""The unrolled forward kinematics and the IK against their references: MuJoCo C's
mj_kinematics on random states of every scene; the IK's error against the gripperframe pose
mj_kinematics gives, its jacobian against jax.jacfwd; and poses the arm can reach, checked
with mj_kinematics at the solved angles."""

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


def _error_from_mujoco_c(mj_model, data, ee_site, rot_weight, pos, rot) -> np.ndarray:
    """The IK's pose error from MuJoCo C's forward kinematics (mj_kinematics already run on
    `data`): the position miss, and rot_weight * 1/2 sum_i r_i x t_i over the columns r_i of
    gripperframe's rotation and t_i of the target's (zero when the rotations agree)."""
    p, r = data.site_xpos[ee_site], data.site_xmat[ee_site].reshape(3, 3)
    rot_err = 0.5 * sum(np.cross(r[:, i], rot[:, i]) for i in range(3))
    return np.concatenate([pos - p, rot_weight * rot_err])


def test_ik_error_and_jacobian_against_mujoco_c_and_jacfwd():
    """The error the IK minimizes is measured on MuJoCo C's gripperframe pose at the same joint
    angles (not on the IK's own chain), and its analytic jacobian is jax.jacfwd of it."""
    scene = build_scene("scene_cube.xml", impl="jax")
    ik, mj_model = ArmIK(scene), scene.mj_model
    key_q, key_p, key_yaw = jax.random.split(jax.random.key(0), 3)
    q = jax.random.uniform(key_q, (16, 5), minval=-0.8, maxval=0.8)
    pos = jax.random.uniform(key_p, (16, 3), minval=-0.2, maxval=0.3)
    rot = jax.vmap(down_pose)(jax.random.uniform(key_yaw, (16,), maxval=3.0))
    err, jac = jax.vmap(ik.error_and_jacobian)(q, pos, rot)
    data = mujoco.MjData(mj_model)
    for i in range(len(q)):
        data.qpos[scene.arm_qpos[:5]] = np.asarray(q[i], np.float64)
        mujoco.mj_kinematics(mj_model, data)
        expected = _error_from_mujoco_c(mj_model, data, scene.ee_site, ik.rot_weight, np.asarray(pos[i], np.float64),
                                        np.asarray(rot[i], np.float64))
        # float32 chain against float64 MuJoCo C: a few ulps of metres (rotation terms are
        # scaled by rot_weight).
        np.testing.assert_allclose(err[i], expected, atol=2e-6, err_msg=f"sample {i}")
    assert float(jp.abs(err).max()) > 0.05  # the poses are far from the targets: real errors
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


@pytest.mark.slow  # compiling the solve's unrolled scalar algebra takes 20-45 s on 2 cores
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
    solved = np.asarray(jax.jit(jax.vmap(ik.solve))(start, pos, rot), np.float64)
    # Where MuJoCo C puts gripperframe at the solved angles (not the IK's own chain).
    data, reached = mujoco.MjData(scene.mj_model), np.empty((len(solved), 3))
    for i in range(len(solved)):
        data.qpos[scene.arm_qpos[:5]] = solved[i]
        mujoco.mj_kinematics(scene.mj_model, data)
        reached[i] = data.site_xpos[scene.ee_site]
    miss = np.linalg.norm(reached - np.asarray(pos, np.float64), axis=1)
    assert float(miss.max()) < 2e-3 and float(np.median(miss)) < 2e-4
    assert float(jp.abs(start - goal_q).max()) > 0.2  # it had somewhere to go
