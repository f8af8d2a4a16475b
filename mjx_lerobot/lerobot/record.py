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

Nothing is lost on an interrupt: Ctrl-C (or SIGTERM) lets the episode being written finish,
drops the episodes still being simulated, and finalizes the dataset; an exception does the
same (a partly written episode is discarded). `--resume` continues to the episode target
with fresh seeds. Settings and the next seed live in meta/mjx_lerobot.json.

Camera frames come from one of two renderers (`renderer`, as in the Gym adapter): 'batched'
draws every instance inside the jitted step (MuJoCo Warp's ray tracer, impl='warp': the GPU
path), 'gl' draws each finished episode on the host with MuJoCo's OpenGL renderer, and 'auto'
takes the batched one on a GPU and GL on a CPU, where it measured faster. Either way frames
stream to LeRobot's encoder threads as they are added, not written as PNGs and encoded after.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import queue
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jp
import numpy as np

from mjx_lerobot.lerobot.units import MOTOR_NAMES, JointUnits
from mjx_lerobot.sim.env import Env, select_instances
from mjx_lerobot.sim.expert import dart, expert_policy
from mjx_lerobot.sim.obs import AGENT_POS
from mjx_lerobot.sim.scene import action_to_ctrl
from mjx_lerobot.sim.task import EnvState, seed_keys

ROBOT_TYPE = "so101_follower"  # what LeRobot's real SO-101 records under
META_FILE = "meta/mjx_lerobot.json"
SIM_STATE = ("qpos", "qvel", "ctrl", "mocap_pos", "mocap_quat")


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


def require_lerobot() -> None:
    try:
        import lerobot.datasets.lerobot_dataset  # noqa: F401
    except ImportError as err:
        raise SystemExit(
            f"recording needs lerobot's dataset writer: pip install 'mjx-lerobot[lerobot]' (import failed: {err})"
        ) from None


# -- what a frame holds --------------------------------------------------------------------
def info_layout(env: Env) -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape) of each leaf of the task's info, in flattening order."""
    leaves = jax.tree_util.tree_flatten_with_path(env.instance_shapes.info)[0]
    return [(jax.tree_util.keystr(path).strip("."), tuple(leaf.shape)) for path, leaf in leaves]


def flat_info(info: Any) -> jax.Array:
    """[N, K] float32: the task info leaves of a batch, flattened in `info_layout` order."""
    leaves = jax.tree.leaves(info)
    return jp.concatenate([leaf.reshape(leaf.shape[0], -1).astype(jp.float32) for leaf in leaves], axis=1)


def episode_instruction(env: Env, flat_info: np.ndarray) -> str:
    """The instruction an episode was given, from its first frame's `sim.info` [K] (a language
    task draws one per episode; every other task has one)."""
    if not env.task.instructions:
        return env.task.instruction
    start = 0
    for name, shape in info_layout(env):
        if name == "instruction":
            return env.task.describe(int(round(float(flat_info[start]))))
        start += int(np.prod(shape))
    raise ValueError(f"task {env.task.name!r} has instructions but no `instruction` in its info")


def unflat_info(env: Env, flat: np.ndarray) -> Any:
    """Inverse of `flat_info` for one instance ([K] -> the task's info pytree, batch of 1)."""
    leaves, treedef = jax.tree.flatten(env.instance_shapes.info)
    out, start = [], 0
    for leaf in leaves:
        size = int(np.prod(leaf.shape))
        out.append(jp.asarray(flat[start : start + size].reshape((1, *leaf.shape)), leaf.dtype))
        start += size
    return jax.tree.unflatten(treedef, out)


def dataset_features(env: Env, cameras: Sequence[str], height: int, width: int) -> dict[str, dict]:
    """LeRobot feature spec: the real-robot columns, the cameras, and the `sim.*` state."""
    model = env.scene.mj_model
    env_state_names = env.obs_spec.env_state_names

    def vector(size: int, names: list[str] | None = None, dtype: str = "float32") -> dict:
        return {"dtype": dtype, "shape": (size,), "names": names}

    features = {
        "observation.state": vector(6, list(MOTOR_NAMES)),
        "action": vector(6, list(MOTOR_NAMES)),
        "observation.environment_state": vector(len(env_state_names), env_state_names),
        "next.reward": vector(1),
        "next.success": vector(1, dtype="bool"),
        "next.done": vector(1, dtype="bool"),
        "sim.qpos": vector(model.nq),
        "sim.qvel": vector(model.nv),
        "sim.ctrl": vector(model.nu),
        "sim.mocap_pos": vector(model.nmocap * 3),
        "sim.mocap_quat": vector(model.nmocap * 4),
        "sim.time": vector(1),
        "sim.info": vector(sum(int(np.prod(shape)) for _, shape in info_layout(env))),
        "sim.action": vector(6, list(MOTOR_NAMES)),
        "sim.seed": vector(1, dtype="int64"),
    }
    if env.randomized:
        names = env.targets.value_names()
        features["sim.randomization"] = vector(len(names), names)
    for camera in cameras:
        features[f"observation.images.{camera}"] = {
            "dtype": "video",
            "shape": (height, width, 3),
            "names": ["height", "width", "channels"],
        }
    return features


def frame_columns(env: Env, units: JointUnits, state: EnvState, executed: jax.Array, label: jax.Array,
                  nxt: EnvState) -> dict[str, jax.Array]:
    """One control step of every instance as dataset columns [N, ...] (see `dataset_features`):
    the state before the step, the labelled and the executed action, and what came of it."""
    data = state.data
    label_rad = action_to_ctrl(env.scene, label)  # joint targets, radians
    columns = {
        "observation.state": units.from_radians(state.obs[AGENT_POS]),
        "action": units.from_radians(label_rad),
        "observation.environment_state": env.obs_spec.environment_state(state.obs),
        "next.reward": nxt.reward[:, None],
        "next.success": nxt.success[:, None],
        "next.done": (nxt.terminated | nxt.truncated)[:, None],
        "sim.qpos": data.qpos,
        "sim.qvel": data.qvel,
        "sim.ctrl": data.ctrl,
        "sim.mocap_pos": data.mocap_pos.reshape(env.num_envs, -1),
        "sim.mocap_quat": data.mocap_quat.reshape(env.num_envs, -1),
        "sim.time": data.time[:, None],
        "sim.info": flat_info(state.info),
        "sim.action": executed,
    }
    if state.domain is not None:
        columns["sim.randomization"] = env.targets.flat(state.domain.values)
    # float32 throughout, as the features say, but the flags (and the images, uint8).
    columns = jax.tree.map(lambda x: x if x.dtype == jp.bool_ else x.astype(jp.float32), columns)
    images = state.obs.get("pixels", {})  # from the batched renderer: the state before the step
    return columns | {f"observation.images.{camera}": image for camera, image in images.items()}


# -- the simulation side -------------------------------------------------------------------
class DemoStream:
    """`num_envs` expert instances; yields (seed, frames) for each episode as it ends.

    Every instance's episode k starts from its own seed, handed out in order from `first_seed`;
    one jitted call steps the batch, records the frames and restarts the finished instances.
    """

    def __init__(self, env: Env, variation: float, action_noise: float, units: JointUnits, first_seed: int):
        self.env = env
        self.units = units
        self.next_seed = first_seed
        self._act = dart(expert_policy(env, variation), action_noise)
        self._step = jax.jit(self._step_fn)
        self._reset = jax.jit(env.reset_instances)

    def compile(self) -> float:
        """Compile the batched step ahead of time; returns the seconds it took."""
        t0 = time.perf_counter()
        keys = seed_keys(np.arange(self.env.num_envs))
        state = jax.eval_shape(self._reset, keys)
        self._step = self._step.lower(state, jax.random.key(0), keys).compile()
        self._reset = self._reset.lower(keys).compile()
        return time.perf_counter() - t0

    def _take_seeds(self, count: int) -> np.ndarray:
        seeds = np.arange(self.next_seed, self.next_seed + count, dtype=np.int64)
        self.next_seed += count
        return seeds

    def _step_fn(self, state: EnvState, key: jax.Array, next_keys: jax.Array) -> tuple[EnvState, dict]:
        executed, label = self._act(state, key)
        # The terminal frame is never stored, so cameras draw once per step, after the restarts.
        nxt = self.env.advance_fn(state, executed, pixels=False)
        frame = frame_columns(self.env, self.units, state, executed, label, nxt)
        done = nxt.terminated | nxt.truncated
        # Finished instances start their next episode from the seed the host handed them.
        def restart() -> EnvState:
            fresh = self.env.reset_instances(next_keys, pixels=False)
            return select_instances(done, fresh.replace(final_obs=nxt.final_obs), nxt)  # final_obs: unused here

        nxt = jax.lax.cond(done.any(), restart, lambda: nxt)
        return self.env.with_pixels(nxt), frame

    def episodes(self, key: jax.Array) -> Iterator[tuple[int, dict[str, np.ndarray]]]:
        """Endless (seed, {column: [T, ...]}) of finished episodes, in the order they end."""
        n, horizon = self.env.num_envs, self.env.episode_steps
        seeds = self._take_seeds(n)
        state = self._reset(seed_keys(seeds))
        pending = self._take_seeds(n)  # the seed each instance starts from after its episode
        ring: dict[str, np.ndarray] = {}  # the last `horizon` frames of every instance
        start = np.zeros(n, np.int64)  # step at which each instance's episode began
        for step in itertools.count():
            state, frame = self._step(state, jax.random.fold_in(key, step), seed_keys(pending))
            frame = jax.device_get(frame)
            for name, value in frame.items():
                ring.setdefault(name, np.empty((horizon, *value.shape), value.dtype))[step % horizon] = value
            for i in np.flatnonzero(frame["next.done"][:, 0]):
                rows = np.arange(start[i], step + 1) % horizon
                episode = {name: values[rows, i] for name, values in ring.items()}
                episode["sim.seed"] = np.full((len(rows), 1), seeds[i], np.int64)
                yield int(seeds[i]), episode
                start[i] = step + 1
                seeds[i] = pending[i]
                pending[i] = self._take_seeds(1)[0]


class RunAhead:
    """Iterates `items` in a thread, up to `depth` items ahead of the consumer: the simulation
    keeps stepping while the main thread draws and writes (XLA and the video encoder release
    the GIL). An exception in the thread is raised in the consumer; `close` stops the thread."""

    def __init__(self, items: Iterator, depth: int):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(items,), daemon=True, name="record-simulation")
        self._thread.start()

    def _put(self, entry: tuple[str, Any]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, items: Iterator) -> None:
        try:
            for item in items:
                if not self._put(("item", item)):
                    return
            self._put(("end", None))
        except BaseException as err:  # noqa: BLE001  (handed to the consumer, raised there)
            self._put(("error", err))

    def __iter__(self) -> Iterator:
        while True:
            kind, value = self._queue.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


# -- the dataset side ----------------------------------------------------------------------
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


def video_encoding(env: Env) -> dict[str, Any]:
    """How LeRobot's writer encodes the camera videos (keyword arguments of its create/resume).

    Frames go straight to its encoder threads as they are added (no PNGs written and read
    back, no encoding pass at the episode's end). The encoder's queue drops a frame that waits
    over 0.1 s when full: room for a whole episode means it never is. Naming the decoder (used
    only for reading) spares an install whose torchcodec lacks FFmpeg a 40-line warning.
    """
    return {"streaming_encoding": True, "encoder_queue_maxsize": env.episode_steps + 1, "video_backend": "pyav"}


def _open_dataset(cfg: RecordConfig, env: Env, features: dict):
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    root = Path(cfg.root)
    meta_path = root / META_FILE
    encoding = video_encoding(env)
    if cfg.resume:
        if not meta_path.exists():
            raise ValueError(f"--resume: {root} is not a dataset recorded by mjx-lerobot (no {META_FILE})")
        meta = json.loads(meta_path.read_text())
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
    return dataset, meta


def _write_episode(dataset, episode: dict[str, np.ndarray], instruction: str, renderer, cameras, visuals) -> None:
    """Add the episode's frames, drawing its cameras with the GL `renderer` unless the batched
    renderer already did (`renderer` None), and save it: all of it or, on any error, nothing."""
    length = len(episode["sim.qpos"])
    cameras = cameras if renderer is not None else ()
    # Randomized colours, lights and cameras of each frame, for the GL renderer.
    fields = visuals(episode["sim.randomization"]) if cameras and "sim.randomization" in episode else None
    try:
        for t in range(length):
            frame = {key: episode[key][t] for key in episode}
            if cameras:
                frame_fields = None if fields is None else {name: value[t] for name, value in fields.items()}
                views = renderer.views(episode["sim.qpos"][t], episode["sim.mocap_pos"][t], cameras, frame_fields)
                frame |= {f"observation.images.{cam}": image for cam, image in zip(cameras, views, strict=True)}
            dataset.add_frame(frame | {"task": instruction})
        dataset.save_episode()
    except BaseException:
        dataset.clear_episode_buffer()  # no half episode, ever
        raise


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

    from mjx_lerobot.sim.camera import CameraConfig, pixel_renderer
    from mjx_lerobot.sim.registry import load_task, make
    from mjx_lerobot.sim.render import Renderer

    datasets.disable_progress_bars()  # one progress bar: ours
    # Without cameras nothing is drawn; "gl" is what a dataset from before the choice holds.
    cfg = dataclasses.replace(cfg, renderer=pixel_renderer(cfg.renderer, cfg.impl) if cfg.cameras else "gl")
    batched = bool(cfg.cameras) and cfg.renderer == "batched"
    if batched:
        _check_ring_memory(cfg, load_task(cfg.task).episode_steps)
    drawn = dict(cameras=cfg.cameras, image_size=(cfg.height, cfg.width)) if batched else {}
    env = make(cfg.task, num_envs=cfg.num_envs, impl=cfg.impl, randomize=cfg.randomize, **drawn)
    if cfg.cameras:  # before anything is written (the batched renderer has checked already)
        CameraConfig(tuple(cfg.cameras), cfg.height, cfg.width).check(env.scene.mj_model)
    units = JointUnits("degrees", env.scene.ctrl_low, env.scene.ctrl_high)
    features = dataset_features(env, cfg.cameras, cfg.height, cfg.width)
    dataset, meta = _open_dataset(cfg, env, features)
    meta_path = Path(cfg.root) / META_FILE
    done = dataset.meta.total_episodes
    stream = DemoStream(env, cfg.variation, cfg.action_noise, units, first_seed=meta["next_seed"])
    # The dataset's cameras show what a policy trained on them would see.
    renderer = None
    if cfg.cameras and not batched:
        renderer = Renderer(env.scene.mj_model, cfg.height, cfg.width, env.task.camera_geom_groups, antialias=False)
    visuals = None
    if env.randomized and renderer is not None:
        render_fields = jax.jit(jax.vmap(env.targets.render_fields))
        visuals = lambda flat: jax.device_get(render_fields(env.targets.unflat(flat)))  # noqa: E731
    compile_s = stream.compile()
    attempts = successes = written = frames = 0
    bar = tqdm(total=cfg.episodes, initial=done, unit="ep", desc=f"record {cfg.task}", disable=not cfg.progress)
    t0 = time.perf_counter()
    ahead = RunAhead(stream.episodes(jax.random.key(cfg.seed + done)), depth=2)
    try:
        with _DeferredInterrupt() as interrupt:
            for seed, episode in ahead:
                if done >= cfg.episodes or interrupt.requested:
                    break
                success = bool(episode["next.success"][-1, 0])
                attempts += 1
                successes += success
                if success or not cfg.only_success:
                    instruction = episode_instruction(env, episode["sim.info"][0])
                    _write_episode(dataset, episode, instruction, renderer, cfg.cameras, visuals)
                    done += 1
                    written += 1
                    frames += len(episode["sim.qpos"])
                    bar.update(1)
                # Seeds below this one are all used (written, skipped or in flight and dropped).
                meta["next_seed"] = max(meta["next_seed"], seed + 1)
                elapsed = time.perf_counter() - t0
                bar.set_postfix(success=f"{successes / attempts:.1%}", fps=f"{frames / elapsed:.0f}")
    finally:
        ahead.close()  # the episodes still being simulated are dropped (their seeds stay used)
        bar.close()
        dataset.finalize()
        meta["next_seed"] = stream.next_seed  # never reuse a seed that was handed out
        meta["attempts"] += attempts
        meta_path.write_text(json.dumps(meta, indent=2))
        if renderer is not None:
            renderer.close()
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
    }


# -- replay --------------------------------------------------------------------------------
def load_episode(root: str | Path, episode: int, repo_id: str | None = None) -> tuple[dict, dict]:
    """(recording settings, {column: [T, ...] numpy}) of one recorded episode, videos not decoded."""
    require_lerobot()
    from lerobot.datasets.lerobot_dataset import LeRobotDataset, LeRobotDatasetMetadata

    root = Path(root)
    meta_path = root / META_FILE
    if not meta_path.exists():
        raise ValueError(f"{root} was not recorded by mjx-lerobot (no {META_FILE})")
    meta = json.loads(meta_path.read_text())
    repo_id = repo_id or meta["config"]["repo_id"]
    total = LeRobotDatasetMetadata(repo_id, root=root).total_episodes
    if not 0 <= episode < total:
        raise ValueError(f"episode {episode} is not in {root} (it has episodes 0..{total - 1})")
    dataset = LeRobotDataset(repo_id, root=root, episodes=[episode])
    table = dataset.hf_dataset.with_format(None).with_format("numpy")
    columns = [c for c in dataset.features if c.startswith(("sim.", "observation.state", "action", "next."))]
    # [T, size] each; LeRobot stores one-element features as scalars, hence the reshape.
    episode_data = {c: np.asarray(table[c]).reshape(len(table), -1) for c in columns}
    return meta, episode_data


def replay(
    root: str | Path, episode: int, video: str | None = None, impl: str | None = None, renderer: str = "auto"
) -> dict:
    """Re-simulate a recorded episode from its first state and its executed actions; report the
    largest deviation from the recorded states. `video`: also write the replay there, drawn by
    `renderer` (`render.episode_frames`)."""
    from mjx_lerobot.sim.registry import make
    from mjx_lerobot.sim.render import episode_video, video_geom_groups

    meta, ep = load_episode(root, episode)
    config = meta["config"]
    randomized = config.get("randomize", False)
    env = make(config["task"], num_envs=1, impl=impl or config["impl"], randomize=randomized)
    units = JointUnits("degrees", env.scene.ctrl_low, env.scene.ctrl_high)
    first = {k: ep[f"sim.{k}"][0] for k in SIM_STATE}
    # The seed's reset also restores the key that the episode's action and sensor noise came from.
    state = env.reset_instances(seed_keys([int(ep["sim.seed"][0, 0])]))
    state = restore(env, state, first, ep["sim.time"][0], ep["sim.info"][0])
    if randomized:  # the episode's physics, exactly as recorded
        state = state.replace(domain=state.domain.replace(values=env.targets.unflat(ep["sim.randomization"][:1])))
    actions = jp.asarray(ep["sim.action"][:, None, :])

    @jax.jit
    def run(state, actions):
        def body(state, action):
            nxt = env.advance_fn(state, action)
            return nxt, (nxt.data.qpos[0], nxt.obs["joint_pos"][0], nxt.success[0])

        return jax.lax.scan(body, state, actions)

    _, (qpos, joint_pos, success) = run(state, actions)
    qpos, joint_pos = np.asarray(qpos), np.asarray(joint_pos)
    # Frame t holds the state before action t; the replayed state after action t is frame t+1's.
    recorded_qpos = ep["sim.qpos"][1:]
    recorded_deg = ep["observation.state"][1:]
    qpos_dev = np.abs(qpos[:-1] - recorded_qpos).max(initial=0.0)
    deg_dev = np.abs(units.from_radians(joint_pos[:-1]) - recorded_deg).max(initial=0.0)
    result = {
        "episode": episode,
        "task": config["task"],
        "impl": env.impl,
        "recorded_impl": config["impl"],
        "frames": len(actions),
        "max_qpos_deviation": float(qpos_dev),
        "max_state_deviation_deg": float(deg_dev),
        "recorded_success": bool(ep["next.success"][-1, 0]),
        "replayed_success": bool(np.asarray(success)[-1]),
    }
    if video:
        # The initial state, then the state after each replayed action (mocap targets don't move).
        states = np.concatenate([ep["sim.qpos"][:1], qpos])
        mocap = np.concatenate([ep["sim.mocap_pos"], ep["sim.mocap_pos"][-1:]])
        size = dict(height=config["height"], width=config["width"], geom_groups=video_geom_groups(env.task))
        size["renderer"] = renderer
        if randomized:  # the episode's own colours, lights and cameras
            fields = jax.vmap(env.targets.render_fields)(state.domain.values)
            size["model_fields"] = jax.tree.map(lambda v: np.asarray(v[0]), fields)
        result["video"] = str(episode_video(env.scene, states, mocap, video, round(1.0 / env.ctrl_dt), **size))
    return result


def restore(env: Env, state: EnvState, sim: dict[str, np.ndarray], sim_time: Any, info: np.ndarray) -> EnvState:
    """`state` (a batch of 1) set to a recorded simulator state, observations recomputed."""

    data = state.data.replace(
        qpos=jp.asarray(sim["qpos"])[None],
        qvel=jp.asarray(sim["qvel"])[None],
        ctrl=jp.asarray(sim["ctrl"])[None],
        mocap_pos=jp.asarray(sim["mocap_pos"]).reshape(state.data.mocap_pos.shape),
        mocap_quat=jp.asarray(sim["mocap_quat"]).reshape(state.data.mocap_quat.shape),
        time=jp.asarray(sim_time, state.data.time.dtype).reshape(state.data.time.shape),
    )
    info_tree = unflat_info(env, np.asarray(info))
    # Kinematics normalizes the free joints' quaternions in qpos; the recorded ones were
    # normalized already, and a second pass can move them by an ulp: keep them as recorded.
    data = jax.vmap(lambda d: env.scene.kinematics(env.scene.mjx_model, d))(data).replace(qpos=data.qpos)
    obs = jax.vmap(lambda d, i, p: env.task.observe(env.scene, p, d, i))(data, info_tree, state.params)
    return state.replace(data=data, info=info_tree, obs=obs)
