"""Expert demonstrations, recorded as a LeRobotDataset (v3) through lerobot's own writer.

    mjx-lerobot record --task lift_cube --episodes 1000 --root data/lift --num-envs 256
    mjx-lerobot replay --root data/lift --episode 3 --video ep3.mp4

`num_envs` instances run the scripted expert at once, each starting a new seeded episode as
soon as its last one ends; finished episodes stream to the dataset as they come. The dataset
reads like one recorded on a real SO-101 with LeRobot (`observation.state` and `action` in
degrees with the gripper 0-100, named `shoulder_pan.pos`...; cameras as videos; 30 fps), plus
the simulator's own columns, `sim.*`, with which any episode can be re-simulated exactly:

    sim.qpos, sim.qvel, sim.ctrl, sim.mocap_pos, sim.mocap_quat, sim.time   physics state
    sim.info     the task's info (e.g. cube start and target), flattened
    sim.action   the action executed, in env units ([-1, 1] per joint); under DART noise it
                 differs from the recorded `action` label, the clean expert action
    sim.seed     the episode's seed: `SO101VectorEnv.reset(seed=[s])` gives the same start
    sim.randomization   with --randomize, what the instance drew for the episode (friction and
                 kp scales, latency, colours, camera offsets...; names in the feature's `names`)

Nothing recorded is lost. Ctrl-C (or SIGTERM) lets the episode being written finish, drops the
episodes still being simulated, and finalizes the dataset; an exception does the same (a
partly written episode is discarded). Whatever stops the process without warning (`kill -9`,
the out-of-memory killer, a pre-empted machine, a power cut) loses at most the episodes
written since the last durable point, reached every `durable_every_s` seconds (30 by
default); a write that fails (a full disk) stops the run with one line, the dataset put back
to that point. `--resume` first puts a dataset torn by a crash back to its last durable point
(one line says how many episodes it kept and dropped), then records up to the episode target
with seeds never used before. Settings, the next seed and the durable point live in
meta/mjx_lerobot.json.

Camera frames come from one of two renderers (`renderer`, as in the Gym adapter): 'batched'
draws every instance inside the jitted step (MuJoCo Warp's ray tracer, impl='warp': the GPU
path), 'gl' draws each finished episode on the host with MuJoCo's OpenGL renderer, and 'auto'
takes the batched one on a GPU and GL on a CPU, where GL is the faster. Either way frames
stream to LeRobot's encoder threads as they are added, not written as PNGs and encoded after.

The modules: `dataset` (the schema, a frame's columns, writing an episode), `stream` (the
simulation side), this one (a recording run, its interrupts and the dataset's settings) and
`replay` (re-simulating a recorded episode).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import time
from pathlib import Path

import jax

from mjx_lerobot.lerobot.dataset import (
    ROBOT_TYPE,
    _write_episode,
    dataset_features,
    episode_instruction,
    info_layout,
    require_lerobot,
    video_encoding,
)
from mjx_lerobot.lerobot.durable import (
    META_FILE,
    RecordingStopped,
    SeedLease,
    recover,
    take_snapshot,
    temporary_files_beside,
)
from mjx_lerobot.lerobot.replay import replay as replay  # `mjx-lerobot replay` imports it from here
from mjx_lerobot.lerobot.stream import DemoStream, RunAhead
from mjx_lerobot.lerobot.units import JointUnits
from mjx_lerobot.sim.env import Env


@dataclasses.dataclass(frozen=True)
class RecordConfig:
    task: str = "lift_cube"
    episodes: int = 100  # total wanted in the dataset (a resume records the missing ones)
    root: str = "data/so101_lift_cube"
    repo_id: str = "local/so101_mjx_lift_cube"
    cameras: tuple[str, ...] = ()  # e.g. ("front", "wrist"): stored as videos
    height: int = 240
    width: int = 320
    renderer: str = "auto"  # what draws the cameras: 'batched', 'gl' or 'auto' (see above)
    only_success: bool = False
    num_envs: int = 64
    impl: str = "auto"
    seed: int = 0
    variation: float = 1.0  # per-episode plan variation of the expert, 0..1
    action_noise: float = 0.0  # DART noise std on the executed action (action units)
    randomize: bool = False  # per-episode physics, colours, lights and cameras (default ranges)
    resume: bool = False
    progress: bool = True
    # A durable point at least this often: a kill -9, a power cut or a full disk loses at most
    # the episodes written since the last one (see lerobot/durable.py). 0: after every episode.
    durable_every_s: float = 30.0


# -- a recording run -----------------------------------------------------------------------
class _DeferredInterrupt:
    """Turns Ctrl-C / SIGTERM into a flag, so an episode is never half written."""

    def __init__(self):
        self.requested = False

    def __enter__(self):
        self._previous = {sig: signal.signal(sig, self._handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        return self

    def _handle(self, signum, frame):
        if self.requested:  # a second Ctrl-C: stop now (the finally block still finalizes)
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def _open_dataset(cfg: RecordConfig, env: Env, features: dict):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    root = Path(cfg.root)
    meta_path = root / META_FILE
    encoding = video_encoding(env)
    if cfg.resume:
        if not meta_path.exists():
            raise ValueError(f"--resume: {root} is not a dataset recorded by mjx-lerobot (no {META_FILE})")
        kept, dropped = recover(root)
        if dropped:
            print(f"resume: kept {kept} episodes, dropped {dropped} written after the last durable point", flush=True)
        meta = json.loads(meta_path.read_text())
        meta = take_snapshot(root, meta, kept)  # this run's first durable point, before it writes
        for key in ("task", "cameras", "height", "width", "randomize", "renderer"):
            # Datasets from before the batched renderer were all drawn with GL.
            theirs, ours = meta["config"].get(key, "gl" if key == "renderer" else False), getattr(cfg, key)
            if theirs != (list(ours) if isinstance(ours, tuple) else ours):
                raise ValueError(f"--resume: the dataset was recorded with {key}={theirs!r}, not {ours!r}")
        dataset = LeRobotDataset.resume(cfg.repo_id, root=root, **encoding)
        return dataset, meta
    if root.exists() and any(root.iterdir()):
        raise ValueError(f"{root} exists and is not empty: choose a new --root, or pass --resume to continue it")
    dataset = LeRobotDataset.create(
        cfg.repo_id,
        fps=round(1.0 / env.ctrl_dt),
        features=features,
        root=root,
        robot_type=ROBOT_TYPE,
        use_videos=True,
        **encoding,
    )
    config = dataclasses.asdict(cfg) | {"impl": env.impl}
    meta = {"config": config, "next_seed": cfg.seed, "attempts": 0, "info_layout": info_layout(env)}
    return dataset, take_snapshot(root, meta, 0)  # an empty dataset is the first durable point


def _durable_point(dataset, cfg: RecordConfig, env: Env, meta: dict, done: int):
    """Finalize (every file closed and whole), note the dataset as durable, and go on writing
    into new files. Returns the dataset to write to next and the updated meta."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    dataset.finalize()
    meta = take_snapshot(Path(cfg.root), meta, done)
    return LeRobotDataset.resume(cfg.repo_id, root=Path(cfg.root), **video_encoding(env)), meta


def _check_ring_memory(cfg: RecordConfig, episode_steps: int) -> None:
    """The batched renderer's frames wait on the host until their episode ends (LeRobot writes
    one episode at a time): refuse a batch whose images would not fit in half the memory."""
    need = cfg.num_envs * episode_steps * len(cfg.cameras) * cfg.height * cfg.width * 3
    have = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    if need > have / 2:
        raise ValueError(
            f"record: {cfg.num_envs} instances x {episode_steps} steps x {len(cfg.cameras)} cameras of "
            f"{cfg.height}x{cfg.width} hold {need / 2**30:.1f} GiB of frames, over half of this machine's "
            f"{have / 2**30:.0f} GiB: use fewer --num-envs or a smaller --height/--width"
        )


def record(cfg: RecordConfig) -> dict:
    """Record `cfg.episodes` expert episodes into a LeRobotDataset at `cfg.root`."""
    require_lerobot()
    import datasets
    from tqdm import tqdm

    from mjx_lerobot.sim.pixels import PixelPipeline
    from mjx_lerobot.sim.registry import load_task, make

    datasets.disable_progress_bars()  # one progress bar: ours
    pixels = PixelPipeline.choose(cfg.cameras, cfg.height, cfg.width, cfg.renderer, cfg.impl)
    # Without cameras nothing is drawn; "gl" is what a dataset from before the choice holds.
    cfg = dataclasses.replace(cfg, renderer=pixels.renderer or "gl")
    if pixels.batched:
        _check_ring_memory(cfg, load_task(cfg.task).episode_steps)
    env = make(cfg.task, num_envs=cfg.num_envs, impl=cfg.impl, randomize=cfg.randomize, **pixels.env_kwargs())
    pixels.check(env.scene)  # before anything is written (the batched renderer has checked already)
    units = JointUnits("degrees", env.scene.ctrl_low, env.scene.ctrl_high)
    features = dataset_features(env, cfg.cameras, cfg.height, cfg.width)
    dataset, meta = _open_dataset(cfg, env, features)
    root = Path(cfg.root)
    done = dataset.meta.total_episodes
    lease = SeedLease(root, meta["next_seed"], block=2 * cfg.num_envs)
    stream = DemoStream(env, cfg.variation, cfg.action_noise, units, first_seed=lease.next_seed, lease=lease)
    # The dataset's cameras show what a policy trained on them would see.
    renderer = pixels.host_renderer(env.scene, env.task.camera_geom_groups)
    visuals = None
    if env.randomized and renderer is not None:
        render_fields = jax.jit(jax.vmap(env.targets.render_fields))
        visuals = lambda flat: jax.device_get(render_fields(env.targets.unflat(flat)))  # noqa: E731
    compile_s = stream.compile()
    attempts = successes = written = frames = durable_points = noted = 0  # noted: attempts in meta
    bar = tqdm(total=cfg.episodes, initial=done, unit="ep", desc=f"record {cfg.task}", disable=not cfg.progress)
    t0 = last_durable = time.perf_counter()
    ahead = RunAhead(stream.episodes(jax.random.key(cfg.seed + done)), depth=2)
    failure: OSError | None = None
    try:
        with _DeferredInterrupt() as interrupt, temporary_files_beside(root):
            for seed, episode in ahead:
                if done >= cfg.episodes or interrupt.requested:
                    break
                success = bool(episode["next.success"][-1, 0])
                attempts += 1
                successes += success
                # LeRobot computes no video statistics for a one-frame episode, and an episodes
                # file it starts would then lack columns the others have: such a blink of an
                # episode (a target reached at the first step) is no demonstration anyway.
                writable = len(episode["sim.qpos"]) > 1 or not cfg.cameras
                if writable and (success or not cfg.only_success):
                    instruction = episode_instruction(env, episode["sim.info"][0])
                    _write_episode(dataset, episode, instruction, renderer, cfg.cameras, visuals)
                    done += 1
                    written += 1
                    frames += len(episode["sim.qpos"])
                    bar.update(1)
                # Seeds below this one are all used (written, skipped or in flight and dropped).
                meta["next_seed"] = max(meta["next_seed"], seed + 1)
                if time.perf_counter() - last_durable >= cfg.durable_every_s and done < cfg.episodes:
                    meta["attempts"] += attempts - noted
                    noted = attempts
                    dataset, meta = _durable_point(dataset, cfg, env, meta | {"next_seed": lease.end}, done)
                    durable_points += 1
                    last_durable = time.perf_counter()
                elapsed = time.perf_counter() - t0
                bar.set_postfix(success=f"{successes / attempts:.1%}", fps=f"{frames / elapsed:.0f}")
    except OSError as err:  # a full disk, a vanished mount: nothing written since the durable point is kept
        failure = err
    finally:
        ahead.close()  # the episodes still being simulated are dropped (their seeds stay used)
        bar.close()
        meta["attempts"] += attempts - noted
        meta["next_seed"] = lease.end  # never reuse a seed that was handed out
        try:
            if failure is None:
                dataset.finalize()
                meta = take_snapshot(root, meta, done, backups=False)
        except OSError as err:
            failure = err
        if renderer is not None:
            renderer.close()
    if failure is not None:
        kept, _ = recover(root)
        raise RecordingStopped(
            f"record stopped: {failure.strerror or failure} ({failure.filename or root}); {root} holds its "
            f"{kept} durable episodes: free space and continue with --resume"
        ) from failure
    elapsed = time.perf_counter() - t0
    return {
        "task": cfg.task,
        "impl": env.impl,
        "num_envs": env.num_envs,
        "randomize": cfg.randomize,
        "episodes_in_dataset": done,
        "episodes_written": written,
        "attempts": attempts,
        "success_rate": successes / max(attempts, 1),
        "frames_written": frames,
        "compile_s": round(compile_s, 1),
        "seconds": round(elapsed, 1),
        "episodes_per_min": round(60 * written / elapsed, 1),
        "frames_per_s": round(frames / elapsed, 1),
        "interrupted": done < cfg.episodes,
        "durable_points": durable_points,
    }
