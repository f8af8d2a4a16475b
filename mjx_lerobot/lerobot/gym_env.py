"""Gymnasium adapter: LeRobot-style dict observations over the batched env, in one call.

`SO101VectorEnv` is a `gymnasium.vector.VectorEnv` whose `step` advances every instance in a
single jitted call (no sub-env objects, no worker processes), then copies what Gymnasium
returns to numpy in one transfer. `SO101Env` (lerobot/single_env.py) is the one-instance
`gymnasium.Env` over it.

Observations, as LeRobot reads them (`lerobot.envs.utils.preprocess_observation`):

    agent_pos          float32 (6,)  joint positions -> observation.state
    environment_state  float32 (k,)  the task's objects and target -> observation.environment_state
    pixels             {camera: uint8 (H, W, 3)} -> observation.images.<camera>

`obs_type` picks which (names as in LeRobot's envs: "environment_state_agent_pos",
"pixels_agent_pos", ...). `units="degrees"` makes actions and `agent_pos` read like LeRobot's
real SO-101 follower (see `mjx_lerobot.lerobot.units`); the default is radians. Actions are joint
position targets in those units.

    env = gymnasium.make_vec("gym_so101_mjx/LiftCube-v0", num_envs=256)
    obs, info = env.reset(seed=0)          # instance i starts from seed 0 + i
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
    info["is_success"]                     # bool [256]
"""

from __future__ import annotations

import gc
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import jax
import jax.numpy as jp
import numpy as np
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from mjx_lerobot.lerobot.gym_ids import task_from_gym_id
from mjx_lerobot.lerobot.units import JointUnits
from mjx_lerobot.sim.env import Env, select_instances
from mjx_lerobot.sim.obs import AGENT_POS
from mjx_lerobot.sim.pixels import PixelPipeline
from mjx_lerobot.sim.randomize import Ranges
from mjx_lerobot.sim.registry import load_task
from mjx_lerobot.sim.render import LazyFrames
from mjx_lerobot.sim.scene import CONTROL_HZ, action_to_ctrl, enable_compilation_cache
from mjx_lerobot.sim.task import EnvState, Task, instance_seeds, seed_keys

#: LeRobot's obs_type names -> the keys of the observation dict the adapter returns.
OBS_TYPES = {
    "agent_pos": ("agent_pos",),
    "environment_state_agent_pos": ("agent_pos", "environment_state"),
    "pixels": ("pixels",),
    "pixels_agent_pos": ("agent_pos", "pixels"),
    "pixels_environment_state_agent_pos": ("agent_pos", "environment_state", "pixels"),
}


class SO101VectorEnv(gym.vector.VectorEnv):
    """`num_envs` SO-101 instances as one Gymnasium VectorEnv, stepped in one jitted call.

    Args:
        num_envs: instances simulated together.
        task: a bundled task name ('lift_cube'), a gym id ('LiftCube-v0'), a task file path or a Task.
        obs_type: one of OBS_TYPES.
        impl: physics backend, 'auto' | 'c' | 'warp' | 'jax'.
        units: 'radians' or 'degrees' (LeRobot's SO-101 follower: degrees, gripper 0-100).
        calibration: with units='degrees', the simulator angle (degrees) your robot reads as zero,
            per arm joint.
        cameras: cameras rendered into `pixels` (names or a comma-separated string).
        observation_height: pixel observation height.
        observation_width: pixel observation width.
        render_mode: 'rgb_array' (render() gives frames of `render_camera`) or None.
        max_episode_steps: episode length in control steps (default: the task's).
        renderer: what draws `pixels`: 'batched' (MuJoCo Warp's ray tracer, every instance in the
            step's own device call; needs impl='warp'), 'gl' (MuJoCo's OpenGL renderer, one
            instance at a time on the host) or 'auto' (see `pixel_renderer`).
        params: the task's Params, or a mapping of the fields to change, used by every reset;
            each field shared or [num_envs, ...] per instance (see `mjx_lerobot.Env.reset`).
        randomize: False (default), True (the task's default ranges), or a
            `mjx_lerobot.sim.randomize.Ranges` / mapping of its fields: every instance draws its own
            physics, colours, lights and cameras at each episode start (both renderers show them).
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
        params: Any = None,
        renderer: str = "auto",
        randomize: bool | Ranges | Mapping[str, Any] = False,
    ):
        if obs_type not in OBS_TYPES:
            raise ValueError(f"obs_type must be one of {sorted(OBS_TYPES)}, got {obs_type!r}")
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be 'rgb_array' or None, got {render_mode!r}")
        if isinstance(task, str) and not task.endswith(".py"):
            task = task_from_gym_id(task)
        if jax.config.jax_compilation_cache_dir is None:
            enable_compilation_cache()
        self.obs_keys = OBS_TYPES[obs_type]
        self.observation_height, self.observation_width = int(observation_height), int(observation_width)
        height, width = self.observation_height, self.observation_width
        self.pixels = PixelPipeline.choose(cameras if "pixels" in self.obs_keys else (), height, width, renderer, impl)
        self.cameras = self.pixels.cameras
        self.pixel_renderer = self.pixels.renderer or None
        self._env = Env(
            load_task(task),
            num_envs=num_envs,
            impl=impl,
            episode_steps=max_episode_steps,
            randomize=randomize,
            **self.pixels.env_kwargs(),
        )
        scene = self._env.scene
        self._params = self._env.batch_params(params)  # checked now, not at the first reset
        self._ranges = self._env.batch_ranges()
        self.num_envs = self._env.num_envs
        self.obs_type = obs_type
        self.render_mode = render_mode
        self.autoreset_mode = AutoresetMode(autoreset_mode)
        self.metadata = dict(self.metadata, autoreset_mode=self.autoreset_mode)
        self.units = JointUnits(units, scene.ctrl_low, scene.ctrl_high, calibration)

        camera_names = [scene.mj_model.camera(i).name for i in range(scene.mj_model.ncam)]
        for camera in (*self.cameras, render_camera):
            if camera not in camera_names:
                raise ValueError(f"unknown camera {camera!r}; the scene has {camera_names}")
        self.render_camera = render_camera
        self._renderer = None  # built on first use: an OpenGL context costs time and memory

        spec = self._env.obs_spec
        spaces: dict[str, gym.Space] = {}
        if "agent_pos" in self.obs_keys:
            spaces["agent_pos"] = gym.spaces.Box(-np.inf, np.inf, spec.shapes[AGENT_POS], np.float32)
        if "environment_state" in self.obs_keys:
            spaces["environment_state"] = gym.spaces.Box(-np.inf, np.inf, (spec.env_state_dim,), np.float32)
        if "pixels" in self.obs_keys:
            image = gym.spaces.Box(0, 255, (self.observation_height, self.observation_width, 3), np.uint8)
            spaces["pixels"] = gym.spaces.Dict({camera: image for camera in self.cameras})
        self.single_observation_space = gym.spaces.Dict(spaces)
        self.single_action_space = gym.spaces.Box(self.units.low, self.units.high, (6,), np.float32)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

        # What one transfer brings back per call: the obs vectors and Gymnasium's flags, packed
        # into one float32 [N, C] array (see _returned); images come beside it.
        self._obs_columns = {key: width for key, width in self._obs_widths(spec).items() if width}
        # The GL renderer draws on the host from qpos and mocap; they cross only when it draws.
        self._gl_pixels = self.pixels.on_host
        self._state: EnvState | None = None
        self._pending: jax.Array | None = None  # NEXT_STEP: instances that restart on the next step
        self._shown: dict | None = None  # on the device: qpos, mocap (and randomized visuals) of the last obs
        self._shown_instructions: np.ndarray | None = None  # language tasks: instruction ids of the last obs
        # The state and the NEXT_STEP flags are donated: each call reuses their buffers in place.
        self._reset_all = jax.jit(self._reset_all_fn)
        self._reset_some = jax.jit(self._reset_some_fn, donate_argnums=(0, 1))
        self._step = jax.jit(self._step_fn, donate_argnums=(0, 1))
        self._final_obs = jax.jit(self._final_obs_fn)
        self._expert = None

    # -- LeRobot reads these through env.call(...) -----------------------------------------
    @property
    def task(self) -> str:
        return self._env.task.name

    @property
    def task_description(self) -> str:
        """The task's instruction; a language task's per-instance ones: `task_descriptions`."""
        return self._env.task.instruction

    @property
    def task_descriptions(self) -> tuple[str, ...]:
        """Per instance, the instruction of the episode its last observation belongs to (what
        `env.call("task_description")` returns, and lerobot-eval gives a policy as its task)."""
        ids = self._shown_instructions
        if ids is None:
            return (self._env.task.instruction,) * self.num_envs
        return tuple(self._env.task.describe(i) for i in ids)

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
        """The current batched EnvState (device arrays), for JAX-side inspection. The next
        step() or reset() donates its buffers: copy what you want to keep past it."""
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
        seeds = instance_seeds(seed, self.num_envs, self.np_random)
        keys = seed_keys(seeds)
        if mask is None or self._state is None:
            self._state, self._pending, returned = self._reset_all(keys, self._params, self._ranges)
        else:
            mask = np.asarray(mask)
            if mask.shape != (self.num_envs,) or mask.dtype != bool:
                raise ValueError(f"options['reset_mask'] must be bool of shape ({self.num_envs},), got {mask.dtype}")
            self._state, self._pending, returned = self._reset_some(
                self._state, self._pending, keys, mask, self._params, self._ranges
            )
        obs = self._show(returned)[0]
        n = self.num_envs
        return obs, {"is_success": np.zeros(n, bool), "_is_success": np.ones(n, bool)}

    def step(self, actions: np.ndarray):
        """Advance every instance one control step (1/30 s) with joint position targets [N, 6]."""
        self._require_open()
        if self._state is None:
            raise RuntimeError("call reset() before step()")
        action = self._to_core_action(actions)
        self._state, self._pending, returned = self._step(self._state, self._pending, action)
        obs, flags = self._show(returned)
        done = flags["terminated"] | flags["truncated"]
        info: dict[str, Any] = {}
        success = flags["success"]
        if self.autoreset_mode == AutoresetMode.SAME_STEP and done.any():
            # Finished instances were reset in this call: obs is their new episode's first,
            # and the episode that ended is in final_obs / final_info.
            info["final_obs"] = np.full(self.num_envs, None, dtype=object)
            for i, obs_i in self._final_observations(done, returned).items():
                info["final_obs"][i] = obs_i
            info["_final_obs"] = done.copy()
            info["final_info"] = {"is_success": success & done, "_is_success": done.copy()}
            info["_final_info"] = done.copy()
            success = success & ~done
        info["is_success"] = success
        info["_is_success"] = np.ones(self.num_envs, bool)
        if flags["fault"].any():
            info["fault"], info["_fault"] = flags["fault"], flags["fault"] != 0
        return obs, flags["reward"], flags["terminated"], flags["truncated"], info

    def render(self) -> Sequence[np.ndarray] | None:
        """One H x W x 3 frame of `render_camera` per instance, of what the last obs showed.

        Frames are rendered when indexed: lerobot-eval asks every instance for a frame
        (`env.call("render")`) and keeps the first few, so only those cost anything.
        """
        self._require_open()
        if self.render_mode is None or self._shown is None:
            return None
        shown = jax.device_get(self._shown)  # only now do qpos and mocap cross to the host
        qpos, mocap, fields = shown["qpos"], shown["mocap_pos"], shown.get("visuals")
        camera = (self.render_camera,)
        return LazyFrames(lambda i: self._render_views(qpos[i], mocap[i], camera, _row(fields, i))[0], len(qpos))

    def call(self, name: str, *args: Any, **kwargs: Any) -> Sequence[Any]:
        """Per instance: `name`'s value (or its result when called with args), like SyncVectorEnv."""
        if name == "render":
            return self.render()
        if name == "task_description":
            return self.task_descriptions
        value = getattr(self, name)
        if callable(value):
            value = value(*args, **kwargs)
        return (value,) * self.num_envs

    def get_attr(self, name: str) -> tuple[Any, ...]:
        if name == "task_description":
            return self.task_descriptions
        return (getattr(self, name),) * self.num_envs

    def set_attr(self, name: str, values: Any) -> None:
        raise NotImplementedError("all instances share one configuration; build a new env to change it")

    def close_extras(self, **kwargs: Any) -> None:
        """Drop the device state and compiled functions, and the renderer's GL context."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None
        self._state = self._pending = self._shown = self._env = self._params = None
        self._step = self._reset_all = self._reset_some = self._final_obs = self._expert = None
        gc.collect()

    # -- jitted: reset/step and exactly what Gymnasium returns, one program per call --------
    # A step is one program: physics, auto-reset, NEXT_STEP's hold, units, and the numbers
    # Gymnasium returns packed into one float32 [N, C] array, so one transfer brings them back
    # (plus the images, when the device draws them). What render() needs stays on the device.
    def _obs_widths(self, spec: Any) -> dict[str, int]:
        return {
            "agent_pos": 6 if "agent_pos" in self.obs_keys else 0,
            "environment_state": spec.env_state_dim if "environment_state" in self.obs_keys else 0,
            "instruction": 1 if self._env.task.instructions else 0,  # the id, for task_description
        }

    def _obs_numbers(self, state: EnvState, obs: dict[str, jax.Array] | None = None) -> jax.Array:
        """The obs vectors of every instance, [N, A] float32 (agent_pos in the adapter's units)."""
        obs = state.obs if obs is None else obs
        columns = {
            "agent_pos": lambda: self.units.from_radians(obs[AGENT_POS]),
            "environment_state": lambda: self._env.obs_spec.environment_state(obs),
            "instruction": lambda: state.info.instruction[:, None],
        }
        parts = [columns[key]().astype(jp.float32) for key in self._obs_columns]
        return jp.concatenate(parts, axis=1) if parts else jp.zeros((state.steps.shape[0], 0), jp.float32)

    def _returned(self, state: EnvState, report: jax.Array | bool = True) -> dict[str, Any]:
        """What the host reads of `state`; `report` False zeroes reward and flags (NEXT_STEP's
        restarting instances report nothing on the step that restarts them)."""
        flags = [state.reward, state.terminated, state.truncated, state.success, state.fault]
        flags = jp.stack([jp.where(report, flag, 0).astype(jp.float32) for flag in flags], axis=1)
        returned: dict[str, Any] = {"numbers": jp.concatenate([self._obs_numbers(state), flags], axis=1)}
        if self.pixels.batched:
            returned["pixels"] = state.obs["pixels"]
        if self._gl_pixels or self.render_mode is not None:
            returned["render"] = dict(qpos=state.data.qpos, mocap_pos=state.data.mocap_pos)
            if state.domain is not None:
                # The host's GL renderer draws each instance's own colours, lights and cameras.
                returned["render"]["visuals"] = jax.vmap(self._env.targets.render_fields)(state.domain.values)
        return returned

    def _reset_all_fn(self, keys: jax.Array, params: Any, ranges: Any):
        state = self._env.reset_instances(keys, params, ranges)
        return state, jp.zeros(self.num_envs, bool), self._returned(state)

    def _reset_some_fn(self, state: EnvState, pending: jax.Array, keys: jax.Array, mask: jax.Array, params, ranges):
        state = select_instances(mask, self._env.reset_instances(keys, params, ranges), state)
        return state, pending & ~mask, self._returned(state)

    def _step_fn(self, state: EnvState, pending: jax.Array, action: jax.Array):
        stepped = self._env.advance_fn(state, action)  # finished instances: their terminal state
        if self.autoreset_mode == AutoresetMode.DISABLED:
            return stepped, pending, self._returned(stepped)
        nxt = self._env.autoreset_fn(state, stepped)
        if self.autoreset_mode == AutoresetMode.SAME_STEP:
            # Finished instances show their new episode's first obs with the flags of the one
            # that ended; its last obs is in nxt.final_obs.
            returned = self._returned(nxt)
            if self._gl_pixels:  # the GL renderer draws those last obs from their physics
                returned["final_render"] = self._returned(stepped)["render"]
            return nxt, pending, returned
        # NEXT_STEP: instances that ended on the previous call keep the fresh state the
        # auto-reset gave them then: they ignore this action and report nothing. The select
        # copies the whole state, so it only runs on steps that follow an episode end.
        nxt = jax.lax.cond(pending.any(), lambda: select_instances(pending, state, nxt), lambda: nxt)
        restarting = self._returned(state, report=False)
        returned = select_instances(pending, restarting, self._returned(stepped))
        return nxt, (stepped.terminated | stepped.truncated) & ~pending, returned

    def _final_obs_fn(self, state: EnvState) -> dict[str, Any]:
        """SAME_STEP: the last obs of the episodes that just ended, read from the state."""
        final = {"numbers": self._obs_numbers(state, state.final_obs)}
        if self.pixels.batched:
            final["pixels"] = state.final_obs["pixels"]
        return final

    # -- host side ------------------------------------------------------------------------
    def _to_core_action(self, actions: Any) -> np.ndarray:
        """Units -> the core's [-1, 1], with a clear error for anything malformed."""
        return self.units.to_core_action(actions, self.num_envs)

    def _show(self, returned: dict[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The Gymnasium obs and the flags from one call's outputs: one transfer (plus images)."""
        numbers, pixels = jax.device_get((returned["numbers"], returned.get("pixels")))
        self._shown = returned.get("render")
        vectors, flags = self._unpack(numbers)
        if "instruction" in vectors:
            self._shown_instructions = vectors["instruction"][:, 0].astype(np.int32)
        render = jax.device_get(self._shown) if self._gl_pixels else None
        return self._observation(vectors, pixels, render), flags

    def _final_observations(self, done: np.ndarray, returned: dict[str, Any]) -> dict[int, dict]:
        """SAME_STEP: per finished instance, the last obs of its episode (fetched only now)."""
        final = jax.device_get(self._final_obs(self._state))
        vectors, _ = self._unpack(final["numbers"], flags=False)
        render = jax.device_get(returned["final_render"]) if self._gl_pixels else None
        obs = self._observation(vectors, final.get("pixels"), render, only=done)
        rows = np.flatnonzero(done)
        return {i: {k: ({c: v[j] for c, v in val.items()} if k == "pixels" else val[j]) for k, val in obs.items()}
                for j, i in enumerate(rows)}

    def _unpack(self, numbers: np.ndarray, flags: bool = True) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        vectors, start = {}, 0
        for key, width in self._obs_columns.items():
            vectors[key] = numbers[:, start : start + width].copy()  # writable: users (torch) write into obs
            start += width
        if not flags:
            return vectors, {}
        reward, terminated, truncated, success, fault = numbers[:, start : start + 5].T
        return vectors, dict(
            reward=reward.astype(np.float64),
            terminated=terminated > 0,
            truncated=truncated > 0,
            success=success > 0,
            fault=fault.astype(np.int32),
        )

    def _observation(
        self, vectors: dict[str, np.ndarray], pixels: dict | None, render: dict | None, only: np.ndarray | None = None
    ) -> dict[str, Any]:
        """The Gymnasium obs dict, of every instance or of those in `only`."""
        rows = slice(None) if only is None else np.flatnonzero(only)
        obs: dict[str, Any] = {k: vectors[k][rows] for k in ("agent_pos", "environment_state") if k in self.obs_keys}
        if pixels is not None:  # drawn on the device with the step
            index = np.arange(self.num_envs)[rows]  # fancy indexing copies: writable, as users expect
            obs["pixels"] = {cam: pixels[cam][index] for cam in self.cameras}
        elif self._gl_pixels:
            fields = render.get("visuals")
            images = [
                self._render_views(render["qpos"][i], render["mocap_pos"][i], self.cameras, _row(fields, i))
                for i in np.arange(self.num_envs)[rows]
            ]
            obs["pixels"] = {cam: np.stack([views[c] for views in images]) for c, cam in enumerate(self.cameras)}
        return obs

    def _render_views(
        self, qpos: np.ndarray, mocap: np.ndarray, cameras: Sequence[str], fields: dict | None = None
    ) -> list[np.ndarray]:
        if self._renderer is None:
            from mjx_lerobot.sim.render import Renderer

            groups = self._env.task.camera_geom_groups
            self._renderer = Renderer(
                self._env.scene.mj_model, self.observation_height, self.observation_width, groups, antialias=False
            )
        return self._renderer.views(qpos, mocap, cameras, fields)

    def _require_open(self) -> None:
        if self.closed:
            raise RuntimeError("this env is closed")


def _row(fields: dict[str, np.ndarray] | None, i: int) -> dict[str, np.ndarray] | None:
    return None if fields is None else {name: value[i] for name, value in fields.items()}
