"""Forward kinematics of one instance, unrolled over the scene's bodies: `mjx.kinematics` for
MJX-JAX data, at a fraction of its compile time.

MJX's XLA kinematics walks the body tree generically (a scan per tree level); for this
10-body scene it lowers to hundreds of thousands of characters of HLO that take seconds to
compile, and every reset, IK solve and impl="c" step contains it.
The tree is static, so here it is unrolled in Python once per body: the same arithmetic as
MuJoCo's `mj_kinematics` (tests/test_kinematics.py compares every output field with MuJoCo C on
random states of every scene) in a few hundred small ops.

Model fields are read from the `mjx.Model` passed in, so a randomized model (moved centres of
mass) gives its own `xipos`; the tree's structure (parents, joint types, addresses) comes from
the MjModel it was built for.
"""

from __future__ import annotations

import jax
import jax.numpy as jp
import mujoco
import numpy as np
from mujoco import mjx

from mjx_lerobot.rotations import axis_angle, normalize, quat_mul, quat_to_mat, rotate

_FREE, _BALL, _SLIDE, _HINGE = (int(t) for t in (mujoco.mjtJoint.mjJNT_FREE, mujoco.mjtJoint.mjJNT_BALL,
                                                  mujoco.mjtJoint.mjJNT_SLIDE, mujoco.mjtJoint.mjJNT_HINGE))


class Kinematics:
    """`kinematics(model, data) -> data` with qpos normalized and xpos, xquat, xmat, xipos,
    ximat, xanchor, xaxis, geom_xpos, geom_xmat, site_xpos, site_xmat set, as `mjx.kinematics`
    does, for one instance of MJX-JAX data (vmap it for a batch)."""

    def __init__(self, mj_model: mujoco.MjModel):
        self.nbody = int(mj_model.nbody)
        self.parent = mj_model.body_parentid.astype(int).tolist()
        self.mocap = mj_model.body_mocapid.astype(int).tolist()
        self.joints = [
            [
                (j, int(mj_model.jnt_type[j]), int(mj_model.jnt_qposadr[j]))
                for j in range(mj_model.body_jntadr[b], mj_model.body_jntadr[b] + mj_model.body_jntnum[b])
            ]
            for b in range(self.nbody)
        ]
        self.geom_body = np.asarray(mj_model.geom_bodyid, np.int32)
        self.site_body = np.asarray(mj_model.site_bodyid, np.int32)
        self.njnt = int(mj_model.njnt)

    def __call__(self, model: mjx.Model, data: mjx.Data) -> mjx.Data:
        qpos = data.qpos
        pos, quat = [jp.zeros(3)], [jp.array([1.0, 0.0, 0.0, 0.0])]
        anchors, axes = [jp.zeros(3)] * self.njnt, [jp.zeros(3)] * self.njnt
        for b in range(1, self.nbody):
            if self.mocap[b] >= 0:  # mocap bodies hang from the world: their pose is given
                p, q = data.mocap_pos[self.mocap[b]], normalize(data.mocap_quat[self.mocap[b]])
            else:
                parent = self.parent[b]
                p = pos[parent] + rotate(model.body_pos[b], quat[parent])
                q = quat_mul(quat[parent], model.body_quat[b])
            for j, kind, adr in self.joints[b]:
                if kind == _FREE:
                    p, q = qpos[adr : adr + 3], normalize(qpos[adr + 3 : adr + 7])
                    qpos = qpos.at[adr + 3 : adr + 7].set(q)
                    anchors[j], axes[j] = p, jp.array([0.0, 0.0, 1.0])
                    continue
                anchor = rotate(model.jnt_pos[j], q) + p
                axis = rotate(model.jnt_axis[j], q)
                anchors[j], axes[j] = anchor, axis
                if kind == _BALL:
                    local = normalize(qpos[adr : adr + 4])
                    qpos = qpos.at[adr : adr + 4].set(local)
                    q = quat_mul(q, local)
                    p = anchor - rotate(model.jnt_pos[j], q)  # rotation about the joint's anchor
                elif kind == _HINGE:
                    q = quat_mul(q, axis_angle(model.jnt_axis[j], qpos[adr] - model.qpos0[adr]))
                    p = anchor - rotate(model.jnt_pos[j], q)
                elif kind == _SLIDE:
                    p = p + axis * (qpos[adr] - model.qpos0[adr])
            pos.append(p)
            quat.append(q)
        xpos, xquat = jp.stack(pos), jp.stack(quat)
        xmat = quat_to_mat(xquat)

        def local_to_global(bodies: np.ndarray, local_pos: jax.Array, local_quat: jax.Array):
            world_pos = xpos[bodies] + rotate(local_pos, xquat[bodies])
            return world_pos, quat_to_mat(quat_mul(xquat[bodies], local_quat))

        xipos, ximat = local_to_global(np.arange(self.nbody), model.body_ipos, model.body_iquat)
        fields = dict(qpos=qpos, xpos=xpos, xquat=xquat, xmat=xmat, xipos=xipos, ximat=ximat)
        if self.njnt:
            fields.update(xanchor=jp.stack(anchors), xaxis=jp.stack(axes))
        if len(self.geom_body):
            fields["geom_xpos"], fields["geom_xmat"] = local_to_global(self.geom_body, model.geom_pos, model.geom_quat)
        if len(self.site_body):
            fields["site_xpos"], fields["site_xmat"] = local_to_global(self.site_body, model.site_pos, model.site_quat)
        return data.replace(**{name: value.astype(getattr(data, name).dtype) for name, value in fields.items()})
