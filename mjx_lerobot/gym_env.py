"""Gymnasium adapter: LeRobot-style dict observations over the batched env, in one call.

`SO101VectorEnv` is a `gymnasium.vector.VectorEnv` whose `step` advances every instance in a
single jitted call (no sub-env objects, no worker processes), then copies what Gymnasium
returns to numpy in one transfer. `SO101Env` is the one-instance `gymnasium.Env`.

Observations, as LeRobot reads them (`lerobot.envs.utils.preprocess_observation`):

    agent_pos          float32 (6,)  joint positions -> observation.state
    environment_state  float32 (k,)  the task's objects and target -> observation.environment_state
    pixels             {camera: uint8 (H, W, 3)} -> observation.images.<camera>

`obs_type` picks which (names as in LeRobot's envs: "environment_state_agent_pos",
"pixels_agent_pos", ...). `units="degrees"` makes actions and `agent_pos` read like LeRobot's
real SO-101 follower (see `mjx_lerobot.units`); the default is radians. Actions are joint
position targets in those units.

    env = gymnasium.make_vec("gym_so101_mjx/LiftCube-v0", num_envs=256)
    obs, info = env.reset(seed=0)          # instance i starts from seed 0 + i
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    info["is_success"]                     # bool [256]
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gymnasium as gym
import jax
import jax.numpy as jp
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from mjx_lerobot.core import Env, EnvState, Task, select_instances
from mjx_lerobot.registry import available_tasks, load_task
from mjx_lerobot.scene import CONTROL_HZ, action_to_ctrl, enable_compilation_cache
from mjx_lerobot.units import JointUnits

#: obs_type -> the observation keys it returns (LeRobot's naming).
OBS_TYPES = {
    "agent_pos": ("agent_pos",),
    "environment_state_agent_pos": ("agent_pos", "environment_state"),
    "pixels": ("pixels",),
    "pixels_agent_pos": ("agent_pos", "pixels"),
    "pixels_environment_state_agent_pos": ("agent_pos", "environment_state", "pixels"),
}
#: Task observations that describe the arm; every other entry is environment state.
ARM_OBS = ("joint_pos", "joint_vel", "ee_pos", "ee_quat")
GYM_NAMESPACE = "gym_so101_mjx"


def gym_id(task: str) -> str:
    """'lift_cube' -> 'gym_so101_mjx/LiftCube-v0' (LeRobot's gym_{type}/{task} convention)."""
    return f"{GYM_NAMESPACE}/{''.join(part.capitalize() for part in task.split('_'))}-v0"


def task_from_gym_id(name: str) -> str:
    """'LiftCube-v0', 'gym_so101_mjx/LiftCube-v0' or 'lift_cube' -> 'lift_cube'."""
    by_id = {gym_id(t): t for t in available_tasks()}
    for candidate in (name, f"{GYM_NAMESPACE}/{name}"):
        if candidate in by_id:
            return by_id[candidate]
    if name in available_tasks():
        return name
    raise ValueError(f"unknown task {name!r}; available: {sorted(i.split('/')[1] for i in by_id)}")


def register_envs() -> None:
    """Register every bundled task with Gymnasium: gym.make / gym.make_vec by id."""
    for task in available_tasks():
        if gym_id(task) in gym.registry:
            continue
        gym.register(
            id=gym_id(task),
            entry_point="mjx_lerobot.gym_env:SO101Env",
            vector_entry_point="mjx_lerobot.gym_env:SO101VectorEnv",
            kwargs={"task": task},
            disable_env_checker=True,  # SO101Env passes gymnasium's check_env (tests/test_gym_env.py)
        )


class SO101VectorEnv(gym.vector.VectorEnv):
    """`num_envs` SO-101 instances as one Gymnasium VectorEnv, stepped in one jitted call.

    Args:
        num_envs: instances simulated together.
        task: a bundled task name ('lift_cube'), a gym id ('LiftCube-v0'), a task file path or a Task.
        obs_type: one of OBS_TYPES.
        impl: physics backend, 'auto' | 'jax' | 'warp'.
        units: 'radians' or 'degrees' (LeRobot's SO-101 follower: degrees, gripper 0-100).
        calibration: with units='degrees', the simulator angle (degrees) your robot reads as zero,
            per arm joint.
        cameras: cameras rendered into `pixels` (names or a comma-separated string).
        observation_height, observation_width: pixel observation size.
        render_mode: 'rgb_array' (render() gives frames of `render_camera`) or None.
        max_episode_steps: episode length in control steps (default: the task's).
        autoreset_mode: Gymnasium's NEXT_STEP (default), SAME_STEP (what lerobot-eval uses) or
            DISABLED (reset finished instances yourself with `options={"reset_mask": mask}`).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": CONTROL_HZ, "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        task: str | Task = "lift_cube",
        *,
        obs_type: str = "environment_state_agent_pos",
        impl: str = "auto",
        units: str = "radians",
        calibration: Mapping[str, float] | None = None,
        cameras: str | Sequence[str] = ("front", "wrist"),
        observation_height: int = 240,
        observation_width: int = 320,
        render_mode: str | None = "rgb_array",
        render_camera: str = "front",
        max_episode_steps: int | None = None,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
    ):
        if obs_type not in OBS_TYPES:
            raise ValueError(f"obs_type must be one of {sorted(OBS_TYPES)}, got {obs_type!r}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be 'rgb_array' or None, got {render_mode!r}")
        if isinstance(task, str) and not task.endswith(".py"):
            task = task_from_gym_id(task)
        if jax.config.jax_compilation_cache_dir is None:
            enable_compilation_cache()
        self._env = Env(load_task(task), num_envs=num_envs, impl=impl, episode_steps=max_episode_steps)
        scene = self._env.scene
        self.num_envs = self._env.num_envs
        self.obs_type = obs_type
        self.obs_keys = OBS_TYPES[obs_type]
        self.render_mode = render_mode
        self.autoreset_mode = AutoresetMode(autoreset_mode)
        self.metadata = dict(self.metadata, autoreset_mode=self.autoreset_mode)
        self.units = JointUnits(units, scene.ctrl_low, scene.ctrl_high, calibration)
        self._ctrl_low, self._ctrl_high = scene.ctrl_low, scene.ctrl_high

        camera_names = [scene.mj_model.camera(i).name for i in range(scene.mj_model.ncam)]
        if isinstance(cameras, str):
            cameras = [c.strip() for c in cameras.split(",") if c.strip()]
        self.cameras = tuple(cameras) if "pixels" in self.obs_keys else ()
        for camera in (*self.cameras, render_camera):
            if camera not in camera_names:
                raise ValueError(f"unknown camera {camera!r}; the scene has {camera_names}")
        self.render_camera = render_camera
        self.observation_height, self.observation_width = int(observation_height), int(observation_width)
        self._renderer = None  # built on first use: an OpenGL context costs time and memory

        # Which task observations make up environment_state, from their shapes (no compile).
        obs_shapes = jax.eval_shape(self._env.reset_fn, jax.random.key(0)).obs
        self._env_state_keys = tuple(k for k in obs_shapes if k not in ARM_OBS)
        env_state_dim = environment_state_dim({k: v.shape[1:] for k, v in obs_shapes.items()})

        spaces: dict[str, gym.Space] = {}
        if "agent_pos" in self.obs_keys:
            spaces["agent_pos"] = gym.spaces.Box(-np.inf, np.inf, (6,), np.float32)
        if "environment_state" in self.obs_keys:
            spaces["environment_state"] = gym.spaces.Box(-np.inf, np.inf, (env_state_dim,), np.float32)
        if "pixels" in self.obs_keys:
            image = gym.spaces.Box(0, 255, (self.observation_height, self.observation_width, 3), np.uint8)
            spaces["pixels"] = gym.spaces.Dict({camera: image for camera in self.cameras})
        self.single_observation_space = gym.spaces.Dict(spaces)
        self.single_action_space = gym.spaces.Box(self.units.low, self.units.high, (6,), np.float32)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

        self._state: EnvState | None = None
        self._autoreset = np.zeros(self.num_envs, bool)  # NEXT_STEP: reset these on the next step
        self._shown: tuple[np.ndarray, np.ndarray] | None = None  # qpos, mocap of the last obs
        self._reset_all = jax.jit(self._reset_all_fn)
        self._reset_some = jax.jit(self._reset_some_fn)
        self._step = jax.jit(self._step_fn)
        self._expert = None

    # -- LeRobot reads these through env.call(...) -----------------------------------------
    @property
    def task(self) -> str:
        return self._env.task.name

    @property
    def task_description(self) -> str:
        return self._env.task.instruction

    @property
    def _max_episode_steps(self) -> int:
        return self._env.episode_steps

    def expert_action(self, seed: int = 0) -> np.ndarray:
        """The task's scripted expert's action [N, 6] for every instance's current state, in
        this env's units: an oracle baseline, or a demonstrator."""
        self._require_open()
        if self._state is None:
            raise RuntimeError("call reset() before expert_action()")
        if self._expert is None:
            if self._env.task.expert is None:
                raise ValueError(f"task {self.task!r} has no scripted expert")
            scene = self._env.scene
            policy = self._env.task.expert(scene, self._env.params)
            to_units = lambda state, key: self.units.from_radians(action_to_ctrl(scene, policy(state, key)))
            self._expert = jax.jit(to_units)
        return np.array(self._expert(self._state, jax.random.key(seed)))  # writable copy

    @property
    def state(self) -> EnvState | None:
        """The current batched EnvState (device arrays), for JAX-side inspection."""
        return self._state

    @property
    def env(self) -> Env:
        """The batched pure-function env underneath (for JAX users)."""
        return self._env

    # -- Gymnasium API --------------------------------------------------------------------
    def reset(self, *, seed: int | Sequence[int | None] | None = None, options: dict | None = None):
        """Start episodes. Instance i's start depends only on its seed: `seed` (int) gives
        instance i the seed `seed + i`; a list gives one seed per instance; None draws fresh ones.

        `options={"reset_mask": bool [N]}` resets only those instances (the others keep going).
        """
        self._require_open()
        super().reset(seed=seed if isinstance(seed, int | np.integer) else None)
        mask = None if options is None else options.get("reset_mask")
        seeds = self._instance_seeds(seed)
        keys = seed_keys(seeds)
        if mask is None or self._state is None:
            self._state, view = self._reset_all(keys)
            self._autoreset[:] = False
        else:
            mask = np.asarray(mask)
            if mask.shape != (self.num_envs,) or mask.dtype != bool:
                raise ValueError(f"options['reset_mask'] must be bool of shape ({self.num_envs},), got {mask.dtype}")
            self._state, view = self._reset_some(self._state, keys, mask)
            self._autoreset &= ~mask
        view = jax.device_get(view)
        self._shown = (view["qpos"], view["mocap_pos"])
        obs = self._observation(view)
        n = self.num_envs
        return obs, {"is_success": np.zeros(n, bool), "_is_success": np.ones(n, bool)}

    def step(self, actions: np.ndarray):
        """Advance every instance one control step (1/30 s) with joint position targets [N, 6]."""
        self._require_open()
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        action = self._to_core_action(actions)
        next_step = self.autoreset_mode == AutoresetMode.NEXT_STEP
        hold = self._autoreset.copy() if next_step else np.zeros_like(self._autoreset)
        self._state, pre, post = self._step(self._state, action, hold)
        pre, post = jax.device_get((pre, post))

        done = pre["terminated"] | pre["truncated"]
        info: dict[str, Any] = {}
        if self.autoreset_mode == AutoresetMode.SAME_STEP:
            # Finished instances were reset in this call: obs is their new episode's first,
            # and the episode that ended is in final_obs / final_info.
            shown = post
            if done.any():
                final_obs = self._observation(pre, only=done)
                info["final_obs"] = np.full(self.num_envs, None, dtype=object)
                for i, obs_i in final_obs.items():
                    info["final_obs"][i] = obs_i
                info["_final_obs"] = done.copy()
                info["final_info"] = {"is_success": pre["success"] & done, "_is_success": done.copy()}
                info["_final_info"] = done.copy()
            success = pre["success"] & ~done
        else:
            # NEXT_STEP: finished instances show their terminal obs now and restart on the
            # next step (that step's action is ignored, as Gymnasium specifies).
            shown = {k: np.where(_bcast(hold, v), post[k], v) for k, v in pre.items()}
            for key in ("terminated", "truncated", "success"):
                shown[key] = np.where(hold, False, pre[key])
            shown["reward"] = np.where(hold, 0.0, pre["reward"])
            done = shown["terminated"] | shown["truncated"]
            if self.autoreset_mode == AutoresetMode.NEXT_STEP:
                self._autoreset = done
            success = shown["success"]
            pre = shown
        self._shown = (shown["qpos"], shown["mocap_pos"])
        info["is_success"] = success
        info["_is_success"] = np.ones(self.num_envs, bool)
        if pre["fault"].any():
            info["fault"], info["_fault"] = pre["fault"], pre["fault"] != 0
        return (
            self._observation(shown),
            pre["reward"].astype(np.float64),
            pre["terminated"].copy(),
            pre["truncated"].copy(),
            info,
        )

    def render(self) -> Sequence[np.ndarray] | None:
        """One H x W x 3 frame of `render_camera` per instance, of what the last obs showed.

        Frames are rendered when indexed: lerobot-eval asks every instance for a frame
        (`env.call("render")`) and keeps the first few, so only those cost anything.
        """
        self._require_open()
        if self.render_mode is None or self._shown is None:
            return None
        qpos, mocap = self._shown
        return _FrameSequence(lambda i: self._render_views(qpos[i], mocap[i], (self.render_camera,))[0], len(qpos))

    def call(self, name: str, *args: Any, **kwargs: Any) -> Sequence[Any]:
        """Per instance: `name`'s value (or its result when called with args), like SyncVectorEnv."""
        if name == "render":
            return self.render()
        value = getattr(self, name)
        if callable(value):
            value = value(*args, **kwargs)
        return (value,) * self.num_envs

    def get_attr(self, name: str) -> tuple[Any, ...]:
        return (getattr(self, name),) * self.num_envs

    def set_attr(self, name: str, values: Any) -> None:
        raise NotImplementedError("all instances share one configuration; build a new env to change it")

    def close_extras(self, **kwargs: Any) -> None:
        """Drop the device state and compiled functions, and the renderer's GL context."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self._state = self._env = self._step = self._reset_all = self._reset_some = self._expert = None
        gc.collect()

    # -- jitted: step/reset plus the view Gymnasium returns, one transfer ------------------
    def _view(self, state: EnvState) -> dict[str, jax.Array]:
        view = dict(
            reward=state.reward,
            terminated=state.terminated,
            truncated=state.truncated,
            success=state.success,
            fault=state.fault,
            qpos=state.data.qpos,
            mocap_pos=state.data.mocap_pos,
        )
        if "agent_pos" in self.obs_keys:
            view["agent_pos"] = self.units.from_radians(state.obs["joint_pos"]).astype(jp.float32)
        if "environment_state" in self.obs_keys:
            parts = [state.obs[k].reshape(self.num_envs, -1) for k in self._env_state_keys]
            view["environment_state"] = jp.concatenate(parts, axis=1).astype(jp.float32)
        return view

    def _reset_all_fn(self, keys: jax.Array):
        state = self._env.reset_instances(keys)
        return state, self._view(state)

    def _reset_some_fn(self, state: EnvState, keys: jax.Array, mask: jax.Array):
        state = select_instances(mask, self._env.reset_instances(keys), state)
        return state, self._view(state)

    def _step_fn(self, state: EnvState, action: jax.Array, hold: jax.Array):
        nxt = self._env.advance_fn(state, action)
        pre = self._view(nxt)  # terminal view of instances that just finished
        if self.autoreset_mode != AutoresetMode.DISABLED:
            nxt = self._env.autoreset_fn(state, nxt)
        # NEXT_STEP: instances reset on the previous call sit out this step. The select copies
        # the whole state, so it only runs on steps that follow an episode end.
        if self.autoreset_mode == AutoresetMode.NEXT_STEP:
            nxt = jax.lax.cond(hold.any(), lambda: select_instances(hold, state, nxt), lambda: nxt)
        return nxt, pre, self._view(nxt)

    # -- host side ------------------------------------------------------------------------
    def _instance_seeds(self, seed: Any) -> list[int]:
        n = self.num_envs
        if seed is None:
            return [int(s) for s in self.np_random.integers(0, 2**63, size=n)]
        if isinstance(seed, int | np.integer):
            if seed < 0:
                raise ValueError(f"seed must be >= 0, got {seed}")
            return [int(seed) + i for i in range(n)]
        seeds = list(seed)
        if len(seeds) != n:
            raise ValueError(f"seed list must have one seed per instance ({n}), got {len(seeds)}")
        out = []
        for s in seeds:
            if s is None:
                s = int(self.np_random.integers(0, 2**63))
            if not isinstance(s, int | np.integer) or s < 0:
                raise ValueError(f"seeds must be non-negative integers or None, got {s!r}")
            out.append(int(s))
        return out

    def _to_core_action(self, actions: Any) -> np.ndarray:
        """Units -> the core's [-1, 1], with a clear error for anything malformed."""
        expected = (self.num_envs, 6)
        try:
            a = np.asarray(actions)
        except Exception as err:  # e.g. ragged lists
            raise ValueError(f"action must be an array of shape {expected}: {err}") from err
        if a.shape != expected:
            raise ValueError(f"action shape: expected {expected} ({self.units.units}), got {a.shape}")
        if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
            raise ValueError(f"action dtype: expected float32, got {a.dtype}")
        a = a.astype(np.float32)
        if not np.isfinite(a).all():
            bad = np.argwhere(~np.isfinite(a))[:5].tolist()
            raise ValueError(f"action has non-finite entries at [instance, joint] {bad}")
        rad = self.units.to_radians(a)
        return (2.0 * (rad - self._ctrl_low) / (self._ctrl_high - self._ctrl_low) - 1.0).astype(np.float32)

    def _observation(self, view: dict[str, np.ndarray], only: np.ndarray | None = None):
        """The Gymnasium obs dict for all instances, or a list of per-instance dicts for `only`."""
        # Copies: arrays fetched from the device are read-only, and users (torch) write into obs.
        obs: dict[str, Any] = {k: np.array(view[k]) for k in ("agent_pos", "environment_state") if k in self.obs_keys}
        rows = range(self.num_envs) if only is None else np.flatnonzero(only)
        if "pixels" in self.obs_keys:
            images = [self._render_views(view["qpos"][i], view["mocap_pos"][i], self.cameras) for i in rows]
            obs["pixels"] = {cam: np.stack([views[c] for views in images]) for c, cam in enumerate(self.cameras)}
        if only is None:
            return obs
        per_row = {}
        for j, i in enumerate(rows):
            per_row[i] = {k: ({c: v[j] for c, v in val.items()} if k == "pixels" else val[i]) for k, val in obs.items()}
        return per_row

    def _render_views(self, qpos: np.ndarray, mocap: np.ndarray, cameras: Sequence[str]) -> list[np.ndarray]:
        if self._renderer is None:
            from mjx_lerobot.render import Renderer

            self._renderer = Renderer(self._env.scene.mj_model, self.observation_height, self.observation_width)
        return self._renderer.views(qpos, mocap, cameras)

    def _require_open(self) -> None:
        if self.closed:
            raise RuntimeError("this env is closed")


class SO101Env(gym.Env):
    """One SO-101 instance as a `gymnasium.Env` (the VectorEnv with num_envs=1, unbatched).

    No auto-reset: call reset() after an episode ends, as Gymnasium expects of a single env.
    Takes the same keyword arguments as SO101VectorEnv.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": CONTROL_HZ}

    def __init__(self, task: str | Task = "lift_cube", render_mode: str | None = "rgb_array", **kwargs: Any):
        self.vector_env = SO101VectorEnv(
            1, task, render_mode=render_mode, autoreset_mode=AutoresetMode.DISABLED, **kwargs
        )
        self.render_mode = render_mode
        self.observation_space = self.vector_env.single_observation_space
        self.action_space = self.vector_env.single_action_space

    task = property(lambda self: self.vector_env.task)
    task_description = property(lambda self: self.vector_env.task_description)
    _max_episode_steps = property(lambda self: self.vector_env._max_episode_steps)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)  # seeds self.np_random, which draws the seed when none is given
        if seed is None:
            seed = int(self.np_random.integers(0, 2**63))
        obs, info = self.vector_env.reset(seed=[seed], options=options)
        return _first(obs), _first(info)

    def step(self, action: np.ndarray):
        action = np.asarray(action)
        if action.shape != (6,):
            raise ValueError(f"action shape: expected (6,), got {action.shape}")
        obs, reward, terminated, truncated, info = self.vector_env.step(action[None])
        return _first(obs), float(reward[0]), bool(terminated[0]), bool(truncated[0]), _first(info)

    def render(self) -> np.ndarray | None:
        frames = self.vector_env.render()
        return None if frames is None else frames[0]

    def close(self) -> None:
        self.vector_env.close()


class _FrameSequence(Sequence):
    """A read-only sequence of frames, each rendered when first indexed."""

    def __init__(self, render_one: Callable[[int], np.ndarray], length: int):
        self._render_one, self._length = render_one, length

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._render_one(i) for i in range(*index.indices(self._length))]
        if not -self._length <= index < self._length:
            raise IndexError(index)
        return self._render_one(index % self._length)


def seed_keys(seeds: Sequence[int]) -> jax.Array:
    """One PRNG key per 64-bit seed (both halves used, so distinct seeds give distinct keys)."""
    seeds = np.asarray(seeds, np.uint64)
    low = (seeds & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    high = (seeds >> np.uint64(32)).astype(np.uint32)
    return jax.vmap(lambda lo, hi: jax.random.fold_in(jax.random.key(lo), hi))(low, high)


def _bcast(mask: np.ndarray, like: np.ndarray) -> np.ndarray:
    return mask.reshape(mask.shape + (1,) * (like.ndim - mask.ndim))


def _first(tree: Any) -> Any:
    """Instance 0 of a batched obs/info dict (dropping Gymnasium's `_key` masks)."""
    if isinstance(tree, dict):
        return {k: _first(v) for k, v in tree.items() if not k.startswith("_")}
    if isinstance(tree, np.ndarray):
        value = tree[0]
        return value.item() if value.ndim == 0 and tree.dtype != object else value
    return tree


# -- EnvHub: what every task file's make_env returns ---------------------------------------
#: Fields of a LeRobot EnvConfig (ours, or a HubEnvConfig subclass) that map onto our kwargs.
_CFG_FIELDS = (
    "obs_type",
    "impl",
    "units",
    "calibration",
    "cameras",
    "observation_height",
    "observation_width",
    "render_mode",
    "autoreset_mode",
)


def make_hub_env(task: str | Task, n_envs: int = 1, use_async_envs: bool = False, cfg: Any = None) -> SO101VectorEnv:
    """EnvHub's `make_env(n_envs, use_async_envs, cfg)` for a task: one batched VectorEnv.

    All instances step in this process in one call, so `use_async_envs` needs no workers and
    changes nothing. When LeRobot passes its env config as `cfg`, its `gym_kwargs` and the
    fields above (and `episode_length`, `use_degrees`) configure the env. Autoreset is
    SAME_STEP, as LeRobot's own envs use.
    """
    kwargs: dict[str, Any] = {"autoreset_mode": AutoresetMode.SAME_STEP}
    if cfg is not None:
        fps = getattr(cfg, "fps", CONTROL_HZ)
        if fps != CONTROL_HZ:
            raise ValueError(f"the SO-101 simulation runs at {CONTROL_HZ} Hz; cfg.fps={fps}")
        kwargs.update({k: getattr(cfg, k) for k in _CFG_FIELDS if getattr(cfg, k, None) is not None})
        if getattr(cfg, "episode_length", None):
            kwargs["max_episode_steps"] = cfg.episode_length
        if getattr(cfg, "use_degrees", None) is not None:
            kwargs["units"] = "degrees" if cfg.use_degrees else "radians"
        kwargs.update(getattr(cfg, "gym_kwargs", None) or {})
    return SO101VectorEnv(n_envs, task, **kwargs)


def observation_shapes(task: str | Task) -> dict[str, tuple[int, ...]]:
    """Shapes of one instance's task observations, traced without compiling."""
    if isinstance(task, str) and not task.endswith(".py"):
        task = task_from_gym_id(task)
    env = Env(load_task(task), num_envs=1, impl="jax")
    shapes = jax.eval_shape(env.reset_fn, jax.random.key(0)).obs
    return {k: tuple(v.shape[1:]) for k, v in shapes.items()}


def environment_state_dim(shapes: Mapping[str, tuple[int, ...]]) -> int:
    """Length of `environment_state`: every task observation that is not the arm's."""
    return sum(int(np.prod(shape)) for key, shape in shapes.items() if key not in ARM_OBS)
