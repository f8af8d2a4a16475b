"""The simulated STS3215 against its published figures: each joint's step response, the stall
torque, and the arm's static sag holding 200 g at full reach.

    python benchmarks/servo.py

Runs MuJoCo C on the project's own model (assets/so101.xml in the reach scene) at the
simulator's timestep. For each joint: a 60-degree step of the target from the arm's ready pose
(the others held), the top speed and the time the 60 degrees take, against the no-load speed
the model is built from (mjx_lerobot/sim/servo.py). Then the arm stretched out horizontally with a
200 g point mass at the gripper: each servo's steady error in encoder steps and the
gripper's drop, against the one public load measurement of an STS3215 we know of (Robonine:
20-30 steps of error under ~1 N m, 12 V version, firmware P=32). Writes
benchmarks/results/servo_<device>.json and a plot beside it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import sys
from pathlib import Path

import mujoco
import numpy as np

from mjx_lerobot.report import device_tag, machine_info
from mjx_lerobot.sim import servo
from mjx_lerobot.sim.scene import load_spec
from mjx_lerobot.sim.tabletop import READY_QPOS

JOINTS = ("shoulder_pan", "shoulder_lift", "elbow_flex", "wrist_flex", "wrist_roll", "gripper")
LOAD_KG = 0.2
#: Which way each joint's step goes from the ready pose: up and away from the table.
UP = {"shoulder_pan": 1.0, "shoulder_lift": -1.0, "elbow_flex": -1.0, "wrist_flex": -1.0, "wrist_roll": 1.0,
      "gripper": 1.0}  # fmt: skip
STEP_RAD = math.radians(60.0)
#: Robonine's bench test of a 12 V STS3215 (SO-ARM100 issue 134): 20-30 encoder steps of error
#: with 1.5 kg on a 10 cm lever at 45 degrees (~1.04 N m), firmware P coefficient 32.
REAL_STEPS_PER_NM = 25.0 / (1.5 * 9.81 * 0.10 * math.cos(math.radians(45)))


def model(load_kg: float = 0.0) -> mujoco.MjModel:
    """The reach scene, with a point mass of `load_kg` at the gripper frame."""
    spec = load_spec("scene_reach.xml")
    if load_kg:
        site = spec.site("gripperframe")
        body = spec.body("gripper").add_body(name="load", pos=site.pos)
        body.add_geom(type=mujoco.mjtGeom.mjGEOM_SPHERE, size=[0.01], contype=0, conaffinity=0, mass=load_kg)
    return spec.compile()


def step_response(m: mujoco.MjModel, joint: int, step: float = STEP_RAD, seconds: float = 0.8) -> dict:
    """Target of `joint` moved `step` radians from the ready pose, away from the table."""
    d = mujoco.MjData(m)
    arm = [m.jnt_qposadr[m.joint(name).id] for name in JOINTS]
    d.qpos[arm] = np.asarray(READY_QPOS)
    d.ctrl[:6] = np.asarray(READY_QPOS)
    mujoco.mj_forward(m, d)
    for _ in range(200):  # settle at the start pose
        mujoco.mj_step(m, d)
    start = d.qpos[arm[joint]]
    target = start + UP[JOINTS[joint]] * step
    d.ctrl[joint] = servo.goal_position(np.float64(target))
    times, angles, forces = [], [], []
    for _ in range(int(seconds / m.opt.timestep)):
        mujoco.mj_step(m, d)
        times.append(d.time)
        angles.append(d.qpos[arm[joint]] - start)
        forces.append(d.actuator_force[joint])
    angles = np.abs(np.array(angles))
    speed = np.abs(np.gradient(angles, m.opt.timestep))
    reached = np.flatnonzero(angles >= 0.98 * STEP_RAD)  # the first 60 degrees of the move
    t0 = times[0] - m.opt.timestep
    return {
        "joint": JOINTS[joint],
        "top_speed_rad_s": float(speed.max()),
        "time_for_60deg_s": float(times[reached[0]] - t0) if len(reached) else None,
        "peak_force_nm": float(np.abs(forces).max()),
        "curve": {"t": [round(t - t0, 4) for t in times[::5]], "angle_deg": np.degrees(angles[::5]).round(2).tolist()},
    }


def sag(load_kg: float) -> dict:
    """The arm stretched out horizontally, servo targets at that pose, `load_kg` at the gripper:
    each servo's steady error (encoder steps) and the gripper frame's drop (mm)."""
    m = model(load_kg)
    d = mujoco.MjData(m)
    arm = [m.jnt_qposadr[m.joint(name).id] for name in JOINTS]
    # so101_new_calib zeros: shoulder_lift -pi/2 + elbow +pi/2 lays the upper and lower arm flat,
    # wrist_flex 0 continues the line: the longest lever the arm has.
    pose = np.array([0.0, -1.57, 1.57, 0.0, 0.0, 0.0])
    d.qpos[arm] = pose
    d.ctrl[:6] = servo.goal_position(pose)
    mujoco.mj_forward(m, d)
    site = m.site("gripperframe").id
    start = d.site_xpos[site].copy()
    for _ in range(int(2.0 / m.opt.timestep)):
        mujoco.mj_step(m, d)
    error = d.qpos[arm] - d.ctrl[:6]
    return {
        "load_kg": load_kg,
        "error_steps": {name: float(e / servo.SERVO.step) for name, e in zip(JOINTS, error, strict=True)},
        "torque_nm": {name: float(f) for name, f in zip(JOINTS, d.actuator_force[:6], strict=True)},
        "drop_mm": float((start[2] - d.site_xpos[site][2]) * 1000),
        "reach_m": float(np.linalg.norm(start[:2] - d.xpos[m.body("shoulder").id][:2])),
    }


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, bx) = plt.subplots(1, 2, figsize=(12, 4.5))
    for row in report["step_response"]:
        ax.plot(row["curve"]["t"], row["curve"]["angle_deg"], label=row["joint"])
    nl = report["figures"]["no_load_speed_rad_s"]
    t = np.linspace(0, STEP_RAD / nl, 20)
    ax.plot(t, np.degrees(nl * t), "k--", label="no-load speed (datasheet)")
    ax.set_xlabel("s")
    ax.set_ylabel("degrees moved")
    ax.set_title("60-degree target steps")
    ax.legend(fontsize=8)
    loaded = report["sag"][-1]
    names = list(loaded["error_steps"])
    sim = [abs(loaded["error_steps"][n]) for n in names]
    real = [abs(loaded["torque_nm"][n]) * REAL_STEPS_PER_NM for n in names]
    x = np.arange(len(names))
    bx.bar(x - 0.2, sim, 0.4, label="sim")
    bx.bar(x + 0.2, real, 0.4, label="a real STS3215 at that torque (Robonine, P=32)")
    bx.set_xticks(x, names, rotation=30, ha="right")
    bx.set_ylabel("steady error, encoder steps")
    bx.set_title(f"arm stretched out, {loaded['load_kg'] * 1000:.0f} g at the gripper")
    bx.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    figures = servo.SERVO
    m = model()
    forcerange = [float(m.actuator_forcerange[m.actuator(n).id][1]) for n in JOINTS]
    responses = [step_response(m, j) for j in range(6)]
    # A 60-degree move ends before a servo reaches its terminal speed; a long one shows it.
    long_moves = {JOINTS[j]: step_response(m, j, math.radians(120), 1.0)["top_speed_rad_s"] for j in (0, 4)}
    sags = [sag(0.0), sag(LOAD_KG)]
    rows = []
    for r in responses:
        rows.append({
            "joint": r["joint"],
            "top speed rad/s": round(r["top_speed_rad_s"], 2),
            "datasheet rad/s": round(figures.no_load_speed, 2),
            "60 deg in s": None if r["time_for_60deg_s"] is None else round(r["time_for_60deg_s"], 3),
            "datasheet s": 0.192,
            "peak torque N m": round(r["peak_force_nm"], 3),
            "stall N m": round(figures.force_limit(r["joint"]), 3),
            "sag steps (200 g)": round(sags[1]["error_steps"][r["joint"]], 2),
            "real steps at that torque": round(abs(sags[1]["torque_nm"][r["joint"]]) * REAL_STEPS_PER_NM, 1),
        })  # fmt: skip
    report = machine_info() | {
        "part": "servo",
        "title": "STS3215 model against its published figures",
        "date": datetime.date.today().isoformat(),
        "command": "python benchmarks/servo.py",
        "columns": list(rows[0]),
        "rows": rows,
        "figures": {
            "servo": figures.name,
            "stall_torque_nm": figures.stall_torque,
            "no_load_speed_rad_s": figures.no_load_speed,
            "damping": figures.damping,
            "encoder_steps": figures.encoder_steps,
            "dead_zone_steps": figures.dead_zone_steps,
            "sources": list(figures.sources),
        },
        "mjcf_forcerange_nm": dict(zip(JOINTS, forcerange, strict=True)),
        "step_response": responses,
        "sag": sags,
        "top_speed_over_120deg_rad_s": long_moves,
        "real_steps_per_nm": REAL_STEPS_PER_NM,
    }
    path = Path(args.out or Path(__file__).parent / "results" / f"servo_{device_tag()}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
    plot(report, path.with_suffix(".png"))
    for row in rows:
        print("  ".join(f"{k}={v}" for k, v in row.items()))
    print(f"gripper drop with {LOAD_KG * 1000:.0f} g at {sags[1]['reach_m']:.2f} m reach: {sags[1]['drop_mm']:.2f} mm "
          f"(unloaded {sags[0]['drop_mm']:.2f} mm)")  # fmt: skip
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
