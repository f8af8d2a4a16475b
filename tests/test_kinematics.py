"""The unrolled forward kinematics and the IK's analytic jacobian against their references:
MuJoCo C's mj_kinematics on random states of every scene, and jax.jacfwd of the IK error."""

from __future__ import annotations

import jax
import jax.numpy as jp
import mujoco
import numpy as np
import pytest
from mujoco import mjx

from mjx_lerobot.ik import ArmIK, down_pose
from mjx_lerobot.kinematics import Kinematics
from mjx_lerobot.scene import assets_dir, build_scene

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
