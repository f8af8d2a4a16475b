"""The scripted experts' IK (`mjx_lerobot.sim.ik.ArmIK.solve`, written on scalars) against the
same damped least-squares solve written on arrays, side by side in one run.

Two array forms, both on the scene's forward kinematics over (3,)-vectors with the 6 x 6
system solved by `jnp.linalg.solve`: with the analytic jacobian (ArmIK as it was before it
moved to scalars) and with `jax.jacfwd`. All take the same six iterations from the same
starts; the script checks they agree and prints ms per batched solve (what every expert step
costs) and compile time.

    python benchmarks/ik.py [--num-envs 1,16,256,1024] [--out benchmarks/results/ik_<device>.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import jax.numpy as jp
import numpy as np
from mujoco import mjx

from mjx_lerobot.report import device_tag, machine_info
from mjx_lerobot.sim.ik import ArmIK, down_pose
from mjx_lerobot.sim.scene import build_scene


def array_solve(ik: ArmIK, analytic: bool):
    """ArmIK's solve, written on arrays: the pose error through the scene's kinematics, its
    jacobian analytic (axis_k x (p - anchor_k) and the rotation columns' turn) or by jacfwd."""
    scene = ik.scene
    model, data = scene.jax_model, mjx.make_data(scene.jax_model)
    low, high = jp.asarray(scene.ctrl_low[:5]), jp.asarray(scene.ctrl_high[:5])

    arm_joints = np.arange(5)  # the SO-101's five arm hinges are the model's first joints
    assert list(scene.mj_model.jnt_qposadr[:5]) == list(scene.arm_qpos[:5])

    def kinematics(q):
        d = scene.fk(model, data.replace(qpos=data.qpos.at[scene.arm_qpos[:5]].set(q)))
        return d, d.site_xpos[scene.ee_site], d.site_xmat[scene.ee_site].reshape(3, 3)

    def pose_error(p, r, pos, rot):
        rot_err = 0.5 * jp.sum(jp.cross(r, rot, axis=0), axis=1)
        return jp.concatenate([pos - p, ik.rot_weight * rot_err])

    def error(q, pos, rot):
        _, p, r = kinematics(q)
        return pose_error(p, r, pos, rot)

    def error_and_jacobian(q, pos, rot):
        if not analytic:
            return error(q, pos, rot), jax.jacfwd(error)(q, pos, rot)
        d, p, r = kinematics(q)
        axes, anchors = d.xaxis[arm_joints], d.xanchor[arm_joints]
        dp = jp.cross(axes, p - anchors)
        dr = jp.cross(axes[:, :, None], r[None], axis=1)
        drot = 0.5 * jp.sum(jp.cross(dr, rot[None], axis=1), axis=2)
        return pose_error(p, r, pos, rot), jp.concatenate([-dp, ik.rot_weight * drot], axis=1).T

    def solve(q, pos, rot):
        def body(_, q):
            err, jac = error_and_jacobian(q, pos, rot)
            jac = -jac
            dq = jac.T @ jp.linalg.solve(jac @ jac.T + ik.damping * jp.eye(6), err)
            return jp.clip(q + dq, low, high)

        return jax.lax.fori_loop(0, ik.iterations, body, q)

    return solve


def time_solve(solve, args, repeats: int) -> tuple[float, float, jax.Array]:
    t0 = time.perf_counter()
    compiled = jax.jit(jax.vmap(solve)).lower(*args).compile()
    compile_s = time.perf_counter() - t0
    out = jax.block_until_ready(compiled(*args))
    t0 = time.perf_counter()
    for _ in range(repeats):
        result = compiled(*args)
    jax.block_until_ready(result)
    return compile_s, (time.perf_counter() - t0) / repeats, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-envs", default="1,16,256,1024")
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--out", default=None, help="JSON path (default benchmarks/results/ik_<device>.json)")
    args = parser.parse_args()
    jax.config.update("jax_enable_compilation_cache", False)  # compile times are cold XLA

    scene = build_scene("scene_cube.xml", impl="c")
    ik = ArmIK(scene)
    contenders = {
        "scalars": ik.solve,
        "arrays_analytic": array_solve(ik, analytic=True),
        "arrays_jacfwd": array_solve(ik, analytic=False),
    }
    info = machine_info()
    print(f"IK solve (6 iterations) on {info['device']}, {info.get('cpu_count')} CPU cores: ms per batched solve"
          " (compile s), and how many times slower than on scalars")
    print(f"{'instances':>9} | " + " | ".join(f"{name:>24}" for name in contenders) + " | max |dq| gap")
    rows = []
    for n in (int(x) for x in args.num_envs.split(",")):
        rng = np.random.default_rng(n)
        goal = jp.asarray(rng.uniform(scene.ctrl_low[:5] + 0.3, scene.ctrl_high[:5] - 0.3, (n, 5)), jp.float32)
        pos, _ = jax.vmap(ik.fk)(goal)
        rot = jax.vmap(down_pose)(jp.asarray(rng.uniform(-1.5, 1.5, n), jp.float32))
        start = goal + jp.asarray(rng.uniform(-0.1, 0.1, (n, 5)), jp.float32)
        row, cells, solutions = {"num_envs": n}, [], []
        for name, solve in contenders.items():
            compile_s, run_s, solution = time_solve(solve, (start, pos, rot), args.repeats)
            solutions.append(solution)
            row |= {f"{name}_ms": run_s * 1e3, f"{name}_compile_s": compile_s}
            ratio = run_s * 1e3 / row["scalars_ms"]
            cells.append(f"{run_s * 1e3:9.3f} ({compile_s:4.1f} s) {ratio:6.1f}x")
        # float32 rounding of different orderings of the same steps
        gap = max(float(jp.abs(s - solutions[0]).max()) for s in solutions[1:])
        rows.append(row | {"max_abs_difference_rad": gap})
        print(f"{n:9d} | " + " | ".join(cells) + f" | {gap:.1e}")
        if gap > 1e-3:
            raise SystemExit(f"the two solves disagree by {gap} rad at {n} instances")
    out = Path(args.out or Path(__file__).parent / "results" / f"ik_{device_tag()}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(info | {"repeats": args.repeats, "results": rows}, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
