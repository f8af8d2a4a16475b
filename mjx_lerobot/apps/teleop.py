"""Teleoperation: drive the simulated SO-101 live with a keyboard, a gamepad or a real SO-101
leader arm, through LeRobot's own teleoperator classes, and record LeRobotDatasets.

    mjx-lerobot teleop --task lift_cube --device keyboard --record data/teleop_lift
    mjx-lerobot teleop --task pick_object --device so101_leader --port /dev/ttyACM0 --record data/pick

Devices, and how their readings reach the follower:

- `so101_leader` (`lerobot.teleoperators.so_leader.SO101Leader`): its joint readings (degrees
  from LeRobot's calibrated zero, gripper 0-100) are the follower's joint targets as they are,
  exactly as LeRobot's real follower would take them (`mjx_lerobot.lerobot.units`).
- `keyboard` (`KeyboardEndEffectorTeleop`, needs a desktop session pynput can listen on) and
  `gamepad` (`GamepadTeleop`, pygame or hidapi): LeRobot's end-effector deltas (`delta_x`,
  `delta_y`, `delta_z` in -1..1, `gripper` 0 close / 1 stay / 2 open) move a gripperframe
  target, EE_STEP metres per control step, that the scripted experts' IK turns into joint
  targets; the jaws point down, at the yaw they had at the episode's start, turned by an
  optional `delta_yaw` (YAW_STEP rad per step) where a device gives one.

Episodes run one instance at the control rate (30 Hz) and end as the task's episodes do
(success, failure, time limit). With `--record`, every finished episode is written through
LeRobot's dataset writer with the columns `record` writes (cameras included, `sim.*` for
`replay`); Ctrl-C (or closing the viewer) drops the episode in progress and finalizes the
dataset, so everything finished is kept.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jp
import numpy as np

from mjx_lerobot.lerobot.units import MOTOR_NAMES, JointUnits
from mjx_lerobot.sim.env import Env
from mjx_lerobot.sim.expert import GRIP_CLOSED, GRIP_OPEN
from mjx_lerobot.sim.ik import ArmIK, down_pose
from mjx_lerobot.sim.scene import ctrl_to_action
from mjx_lerobot.sim.task import EnvState, seed_keys

DEVICES = ("keyboard", "gamepad", "so101_leader")
EE_STEP = 0.004  # m of gripperframe target per control step at full deflection (12 cm/s)
YAW_STEP = 0.05  # rad of jaw yaw per control step at full deflection
GRIP_STEP = 0.08  # rad of gripper target per control step while closing or opening
#: Where the end-effector target may go (m, world frame: x forward from the base, z up).
WORKSPACE_LOW = np.array([0.08, -0.28, 0.015], np.float32)
WORKSPACE_HIGH = np.array([0.36, 0.28, 0.25], np.float32)
END_EFFECTOR_KEYS = ("delta_x", "delta_y", "delta_z")


@dataclasses.dataclass(frozen=True)
class TeleopConfig:
    task: str = "lift_cube"
    device: str = "keyboard"
    port: str | None = None  # the leader arm's serial port
    root: str | None = None  # record into this dataset directory (None: drive only)
    repo_id: str | None = None
    episodes: int = 10
    cameras: tuple[str, ...] = ()
    height: int = 240
    width: int = 320
    impl: str = "auto"
    seed: int = 0
    resume: bool = False
    viewer: bool = True  # show the instance in MuJoCo's viewer (needs a display)
    realtime: bool = True  # pace the loop at the control rate


def open_device(kind: str, port: str | None = None) -> Any:
    """A connected LeRobot teleoperator of `kind` (one of DEVICES)."""
    if kind not in DEVICES:
        raise ValueError(f"--device must be one of {', '.join(DEVICES)}, got {kind!r}")
    try:
        if kind == "keyboard":
            from lerobot.teleoperators.keyboard import KeyboardEndEffectorTeleop, KeyboardEndEffectorTeleopConfig
            from lerobot.utils.keyboard_input import pynput_can_capture

            if not pynput_can_capture():
                raise ValueError(
                    "keyboard teleop listens through pynput, which needs an X11, Windows or macOS desktop "
                    "session (not Wayland, not headless); use --device gamepad or so101_leader"
                )
            device = KeyboardEndEffectorTeleop(KeyboardEndEffectorTeleopConfig())
        elif kind == "gamepad":
            from lerobot.teleoperators.gamepad import GamepadTeleop, GamepadTeleopConfig

            device = GamepadTeleop(GamepadTeleopConfig())
        else:
            from lerobot.teleoperators.so_leader import SO101Leader, SO101LeaderConfig

            if not port:
                raise ValueError("--device so101_leader needs --port, the leader arm's serial port (e.g. /dev/ttyACM0)")
            device = SO101Leader(SO101LeaderConfig(port=port, id="mjx_lerobot_leader"))
    except ImportError as err:
        hint = "pip install 'mjx-lerobot[teleop]'"
        raise ValueError(f"--device {kind} needs LeRobot's device drivers: {hint} ({err})") from None
    try:
        device.connect()
    except (OSError, RuntimeError, ConnectionError) as err:
        raise ValueError(f"could not connect the {kind}: {err}") from None
    return device


class Teleop:
    """One instance of `env` ([1, ...] batches) driven by device readings, as core actions."""

    def __init__(self, env: Env, units: JointUnits):
        if env.num_envs != 1:
            raise ValueError("teleop drives one instance: make the env with num_envs=1")
        self.env, self.units = env, units
        scene = env.scene
        ik = ArmIK(scene)
        self._low, self._high = scene.ctrl_low, scene.ctrl_high

        def ee_action(state: EnvState, target: jax.Array, yaw: jax.Array, grip: jax.Array) -> jax.Array:
            arm_q = ik.solve(state.data.ctrl[0, :5], target, down_pose(yaw))
            return ctrl_to_action(scene, jp.concatenate([arm_q, grip[None]]))[None]

        def pose(state: EnvState) -> tuple[jax.Array, jax.Array, jax.Array]:
            closing = state.data.site_xmat[0, scene.ee_site].reshape(3, 3)[:, 2]
            return state.obs["ee_pos"][0], jp.arctan2(closing[1], closing[0]), state.data.ctrl[0, 5]

        def step(state: EnvState, action: jax.Array):
            from mjx_lerobot.lerobot.dataset import frame_columns

            nxt = env.advance_fn(state, action)
            return nxt, frame_columns(env, units, state, action, action, nxt)

        self._ee_action = jax.jit(ee_action)
        self._pose = jax.jit(pose)
        self.step = jax.jit(step)
        self._reset = jax.jit(env.reset_instances)
        self.target = self.yaw = self.grip = None

    def reset(self, seed: int) -> EnvState:
        """A fresh episode from `seed`; the end-effector target starts where the gripper is."""
        state = self._reset(seed_keys([seed]))
        target, yaw, grip = jax.device_get(self._pose(state))
        self.target, self.yaw, self.grip = np.array(target, np.float32), float(yaw), float(grip)
        return state

    def action(self, state: EnvState, reading: Mapping[str, Any]) -> np.ndarray:
        """A device reading -> the core action [1, 6] in [-1, 1]."""
        if all(name in reading for name in MOTOR_NAMES):  # a leader arm: joint targets, follower units
            values = np.array([float(reading[name]) for name in MOTOR_NAMES], np.float32)
            if not np.isfinite(values).all():
                raise ValueError(f"the leader arm read non-finite positions: {dict(reading)}")
            rad = self.units.to_radians(np.clip(values, self.units.low, self.units.high))
            return (2.0 * (rad - self._low) / (self._high - self._low) - 1.0).astype(np.float32)[None]
        if all(name in reading for name in END_EFFECTOR_KEYS):
            delta = np.clip([float(reading[name]) for name in END_EFFECTOR_KEYS], -1.0, 1.0)
            self.target = np.clip(self.target + EE_STEP * delta, WORKSPACE_LOW, WORKSPACE_HIGH).astype(np.float32)
            self.yaw += YAW_STEP * float(np.clip(reading.get("delta_yaw", 0.0), -1.0, 1.0))
            gripper = int(round(float(reading.get("gripper", 1.0))))  # 0 close, 1 stay, 2 open
            self.grip = float(np.clip(self.grip + GRIP_STEP * (gripper - 1), GRIP_CLOSED, GRIP_OPEN))
            action = self._ee_action(state, jp.asarray(self.target), jp.float32(self.yaw), jp.float32(self.grip))
            return np.asarray(action)
        raise ValueError(
            f"device reading has neither the leader arm's {list(MOTOR_NAMES)} nor end-effector deltas "
            f"{list(END_EFFECTOR_KEYS)}: got {sorted(reading)}"
        )


def teleop(
    cfg: TeleopConfig,
    device: Any = None,
    launch: Callable[..., Any] | None = None,
    log: Callable[[str], None] = print,
) -> dict:
    """Drive `cfg.task` with `device` (default: `open_device(cfg.device, cfg.port)`), recording
    finished episodes into `cfg.root` when set. `launch` replaces the viewer's (tests)."""
    from mjx_lerobot.apps.viewer import Window, require_display
    from mjx_lerobot.lerobot.dataset import _write_episode, dataset_features, episode_instruction, require_lerobot
    from mjx_lerobot.lerobot.durable import SeedLease, take_snapshot
    from mjx_lerobot.lerobot.record import RecordConfig, _DeferredInterrupt, _durable_point, _open_dataset
    from mjx_lerobot.sim.pixels import PixelPipeline
    from mjx_lerobot.sim.registry import make

    if cfg.viewer and launch is None:
        require_display()
    if cfg.root is not None:
        require_lerobot()
    env = make(cfg.task, num_envs=1, impl=cfg.impl)
    units = JointUnits("degrees", env.scene.ctrl_low, env.scene.ctrl_high)
    dataset = meta = renderer = lease = record_cfg = None
    if cfg.root is not None:
        record_cfg = RecordConfig(
            task=cfg.task, episodes=cfg.episodes, root=cfg.root, repo_id=cfg.repo_id or f"local/so101_mjx_{cfg.task}",
            cameras=tuple(cfg.cameras), height=cfg.height, width=cfg.width, num_envs=1, impl=cfg.impl,
            seed=cfg.seed, variation=0.0, resume=cfg.resume, progress=False,
            renderer="gl",  # each frame drawn as it happens
        )
        dataset, meta = _open_dataset(record_cfg, env, dataset_features(env, cfg.cameras, cfg.height, cfg.width))
        meta["config"]["teleop_device"] = cfg.device if device is None else type(device).__name__
        pixels = PixelPipeline.choose(cfg.cameras, cfg.height, cfg.width, renderer="gl")  # each frame as it happens
        renderer = pixels.host_renderer(env.scene, env.task.camera_geom_groups)
        lease = SeedLease(Path(cfg.root), meta["next_seed"], block=1)  # each episode's seed noted before use
    owned = device is None
    if owned:
        device = open_device(cfg.device, cfg.port)
    driver = Teleop(env, units)
    window = Window(env.scene.mj_model, f"teleop {cfg.task}", launch=launch) if cfg.viewer else None
    seed = cfg.seed
    done = dataset.meta.total_episodes if dataset is not None else 0
    written = successes = dropped = 0
    attempts_before = meta["attempts"] if meta is not None else 0
    try:
        with _DeferredInterrupt() as interrupt:

            def stop() -> bool:
                return interrupt.requested or (window is not None and not window.running)

            while done < cfg.episodes and not stop():
                seed = lease.take(1)[0] if lease is not None else seed
                state = driver.reset(seed)
                instruction = env.task.describe(int(env.instruction_ids(state)[0]))
                log(f"episode {done + 1}/{cfg.episodes} (seed {seed}): {instruction}")
                frames: list[dict[str, np.ndarray]] = []
                while not stop():
                    tick = time.perf_counter()
                    if window is not None:
                        window.show(np.asarray(state.data.qpos[0]), np.asarray(state.data.mocap_pos[0]))
                    action = driver.action(state, device.get_action())
                    state, frame = driver.step(state, jp.asarray(action))
                    frames.append({name: value[0] for name, value in jax.device_get(frame).items()})
                    if frames[-1]["next.done"][0]:
                        break
                    if cfg.realtime:
                        time.sleep(max(0.0, env.ctrl_dt - (time.perf_counter() - tick)))
                seed += 1
                if not frames or not frames[-1]["next.done"][0]:
                    dropped += bool(frames)  # stopped mid-episode: not a demonstration
                    break
                success = bool(frames[-1]["next.success"][0])
                successes += success
                log(f"  {'success' if success else 'no success'} after {len(frames)} steps")
                if dataset is not None:
                    episode = {name: np.stack([f[name] for f in frames]) for name in frames[0]}
                    episode["sim.seed"] = np.full((len(frames), 1), seed - 1, np.int64)
                    _write_episode(dataset, episode, episode_instruction(env, episode["sim.info"][0]),
                                   renderer, cfg.cameras, None)
                    written += 1
                done += 1
                if dataset is not None and done < cfg.episodes:  # every demonstration durable at once
                    meta["attempts"] += 1
                    dataset, meta = _durable_point(dataset, record_cfg, env, meta | {"next_seed": lease.end}, done)
    finally:
        if dataset is not None:
            dataset.finalize()
            meta["attempts"] = attempts_before + written
            take_snapshot(Path(cfg.root), meta | {"next_seed": lease.end}, dataset.meta.total_episodes, backups=False)
        if renderer is not None:
            renderer.close()
        if window is not None:
            window.close()
        if owned:
            device.disconnect()
    return {
        "task": cfg.task,
        "impl": env.impl,
        "episodes_finished": done,
        "episodes_written": written,
        "successes": successes,
        "episodes_dropped": dropped,
        "root": cfg.root,
    }
