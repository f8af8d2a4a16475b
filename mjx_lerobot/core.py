"""Tasks as pure functions, batched: the state, the task contract, and the batched env.

A task file (see `tasks/`) defines one instance's behaviour as pure functions over an MJX
state and exports them as `TASK = Task(...)`. `Env` turns that into `num_envs` instances
stepping in one jitted call, with auto-reset, truncation and fault flags done once here.

    env = mjx_lerobot.make("lift_cube", num_envs=1024)
    state = env.reset(jax.random.key(0))        # EnvState, every leaf batched [N, ...]
    state = env.step(state, actions)            # actions: [N, 6] float32 in [-1, 1]

A task's `Params` are traced: `env.reset(key, params=p)` takes one value per field (shared by
every instance) or a batch `[N, ...]` per field (one per instance); the state carries them and
every step, auto-resets included, uses them. Changing them never recompiles.

    radius = jp.linspace(0.01, 0.05, 1024)
    state = env.reset(key, params=env.params.replace(success_radius=radius))

With `randomize=True` (or a `randomize.Ranges`), every instance also draws its own physics,
colours, lights and cameras at each episode reset (`mjx_lerobot/randomize.py`); the ranges are
traced like Params (`env.reset(key, ranges=...)`), and `randomize=False` leaves every step
exactly as it is without it.
"""

from __future__ import annotations

import dataclasses
import functools
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jp
import numpy as np
from flax import struct
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P
from mujoco import mjx

from mjx_lerobot.camera import BatchCameras, CameraConfig, as_camera_names
from mjx_lerobot.randomize import Domain, Ranges, Targets, as_ranges, delay, start
from mjx_lerobot.scene import Scene, action_to_ctrl, build_scene, resolve_impl, warp_available
from mjx_lerobot.spec import IMAGE_OBS, ObsSpec

ACTION_DIM = 6

# Bits of EnvState.fault, so one instance's trouble is visible instead of silently wrong.
FAULT_NAN_STATE = 1  # physics produced NaN/inf: the instance is terminated and auto-reset
FAULT_OVERFLOW = 2  # contact or constraint buffer overflowed (Warp): results are unreliable
FAULT_BAD_ACTION = 4  # a non-finite action entry: that joint kept its previous target


@struct.dataclass
class EnvState:
    """Everything about a batch of instances. Leaves are [N, ...] once batched."""

    data: mjx.Data  # physics state
    obs: dict[str, jax.Array]  # observation dict, float32
    reward: jax.Array  # () float32, reward of the last step
    terminated: jax.Array  # () bool, success or failure ended the episode
    truncated: jax.Array  # () bool, episode hit its step limit
    success: jax.Array  # () bool, success predicate after the last step
    steps: jax.Array  # () int32, control steps since the episode began
    key: jax.Array  # () PRNG key owned by the instance
    params: Any  # the task's Params of this instance (each field an array, see `traced_params`)
    info: Any  # task's own typed info (target, counters...)
    metrics: dict[str, jax.Array]  # named reward terms of the last step
    final_obs: dict[str, jax.Array]  # obs at the last episode end, before auto-reset
    fault: jax.Array  # () int32 bitmask of FAULT_* of the last step
    domain: Domain | None = None  # the instance's randomization (drawn values...), None without


    @property
    def done(self) -> jax.Array:
        return self.terminated | self.truncated


@dataclasses.dataclass(frozen=True)
class Task:
    """One task's pure functions (one instance each; `Env` batches them).

    reset(scene, params, key, data) -> (data, info)     set qpos/ctrl/mocap; no physics yet
    observe(scene, params, data, info) -> obs dict
    reward(scene, params, data, info, action) -> dict of weighted reward terms
    success(scene, params, data, info) -> bool
    failure(scene, params, data, info) -> bool          terminates the episode
    update(scene, params, data, info) -> info           after physics, before the others
    """

    name: str
    scene: str  # MJCF file in assets/
    episode_steps: int  # control steps before truncation
    instruction: str  # language instruction, e.g. for LeRobot's `task` feature
    params: Any  # flax.struct.dataclass of defaults; traced (see `traced_params`)
    reset: Callable
    observe: Callable
    reward: Callable
    success: Callable
    failure: Callable = lambda scene, params, data, info: jp.array(False)
    update: Callable = lambda scene, params, data, info: info
    expert: Callable | None = None  # make_expert(scene, params) -> policy(state, key) -> action
    terminate_on_success: bool = True
    # Geom groups policy cameras draw: the world (0) and robot (2), plus 1 where the goal is a
    # pad on the table the policy must see, or 4 where it is a marker in the air (reach).
    camera_geom_groups: tuple[int, ...] = (0, 2)
    ranges: Ranges = Ranges()  # what randomize=True draws from (mjx_lerobot/randomize.py)
    # Language-conditioned tasks: the instructions an episode's reset chooses from. The task's
    # Info then holds `instruction`, the int32 index of the one this episode asks for, and
    # `instruction` above describes the family ("Pick up the named object.").
    instructions: tuple[str, ...] = ()

    def describe(self, instruction_id: int | np.integer | None = None) -> str:
        """The words of instruction `instruction_id` (a language task's), else `instruction`."""
        if not self.instructions or instruction_id is None:
            return self.instruction
        return self.instructions[int(instruction_id)]

    @classmethod
    def from_module(cls, namespace: Mapping[str, Any], **fields: Any) -> Task:
        """The task a task file defines, its functions taken by name from `namespace` (the
        file's `globals()`): `Params`, `reset`, `observe`, `reward`, `success`, and where the
        file has them `failure`, `update`, `make_expert`. `fields` gives the rest (name,
        scene, episode_steps, instruction, ...).

            TASK = Task.from_module(globals(), name="reach", scene="scene_reach.xml", ...)
        """
        required = ("Params", "reset", "observe", "reward", "success")
        missing = [name for name in required if name not in namespace]
        if missing:
            raise ValueError(f"task {fields.get('name')!r}: the task file must define {missing}")
        functions = ("reset", "observe", "reward", "success", "failure", "update")
        found = {name: namespace[name] for name in functions if name in namespace}
        if "make_expert" in namespace:
            found["expert"] = namespace["make_expert"]
        return cls(params=namespace["Params"](), **found, **fields)

    def make_env(self, n_envs: int = 1, use_async_envs: bool = False, cfg: Any = None):
        """EnvHub entry point (LeRobot): all `n_envs` instances as one batched Gymnasium
        VectorEnv. A task file exports it as `make_env = TASK.make_env`."""
        from mjx_lerobot.hub import make_hub_env

        return make_hub_env(self, n_envs, use_async_envs, cfg)


def traced_params(params: Any) -> Any:
    """A task's Params with every field as one array (float32, int32 or bool; tuples become
    vectors): the pytree that reset and step trace, so one leaf per field can be batched."""
    leaves = jax.tree.leaves(params)
    if not dataclasses.is_dataclass(params) or (len(leaves) == 1 and leaves[0] is params):
        raise TypeError(
            f"task Params must be a flax.struct.dataclass (a pytree), got {type(params).__name__}: "
            "decorate the class with @flax.struct.dataclass"
        )
    fields = [f.name for f in dataclasses.fields(params) if f.metadata.get("pytree_node", True)]
    return params.replace(**{name: _as_array(getattr(params, name)) for name in fields})


def _as_array(value: Any) -> jax.Array:
    if isinstance(value, jax.Array):
        return value
    value = np.asarray(value)
    if value.dtype == np.bool_:
        return jp.asarray(value)
    return jp.asarray(value, jp.int32 if np.issubdtype(value.dtype, np.integer) else jp.float32)


def batch_params(defaults: Any, params: Any, num_envs: int) -> Any:
    """`params` with every leaf [num_envs, ...]: a field given once is shared by all instances,
    a field given as [num_envs, ...] is one per instance.

    `params` is None (the defaults), the task's Params, or a mapping of the fields to change.
    Shapes and dtypes follow `defaults` (the task's traced Params); anything else is a clear
    error here, not an XLA trace.
    """
    if params is None:
        params = defaults
    elif isinstance(params, Mapping):
        known = {f.name for f in dataclasses.fields(defaults)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(f"unknown params {unknown}; {type(defaults).__name__} has {sorted(known)}")
        params = defaults.replace(**params)
    elif type(params) is not type(defaults):
        raise TypeError(f"params must be a {type(defaults).__name__} (env.params.replace(...)), got {type(params)}")
    batched = {}
    for field in dataclasses.fields(defaults):
        default = getattr(defaults, field.name)
        if not isinstance(default, jax.Array):  # a static field (pytree_node=False)
            continue
        value = getattr(params, field.name)
        value = value if isinstance(value, jax.Array) else jp.asarray(np.asarray(value), default.dtype)
        if value.shape not in (default.shape, (num_envs, *default.shape)):
            raise ValueError(
                f"params.{field.name}: expected shape {default.shape} (shared) or {(num_envs, *default.shape)} "
                f"(one per instance), got {value.shape}"
            )
        if not isinstance(value, jax.core.Tracer) and not np.isfinite(np.asarray(value, np.float64)).all():
            raise ValueError(f"params.{field.name} has non-finite entries")
        batched[field.name] = jp.broadcast_to(value.astype(default.dtype), (num_envs, *default.shape))
    return params.replace(**batched)


def seed_keys(seeds: Sequence[int]) -> jax.Array:
    """One PRNG key per 64-bit seed (both halves used, so distinct seeds give distinct keys)."""
    seeds = np.asarray(seeds, np.uint64)
    low = (seeds & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    high = (seeds >> np.uint64(32)).astype(np.uint32)
    return jax.vmap(lambda lo, hi: jax.random.fold_in(jax.random.key(lo), hi))(low, high)


def check_action(action: Any, num_envs: int) -> None:
    """Raise a ValueError naming expected vs got, before anything is traced."""
    shape = getattr(action, "shape", None)
    dtype = getattr(action, "dtype", None)
    if shape is None or dtype is None:
        raise ValueError(f"action must be an array of shape ({num_envs}, {ACTION_DIM}), got {type(action).__name__}")
    if tuple(shape) != (num_envs, ACTION_DIM):
        raise ValueError(f"action shape: expected ({num_envs}, {ACTION_DIM}), got {tuple(shape)}")
    if not np.issubdtype(np.dtype(dtype), np.floating):
        raise ValueError(f"action dtype: expected a float dtype (float32), got {np.dtype(dtype)}")
    if isinstance(action, np.ndarray) and not np.isfinite(action).all():
        bad = np.argwhere(~np.isfinite(action))[:5].tolist()
        raise ValueError(f"action has non-finite entries at [instance, joint] {bad}")


class Env:
    """`num_envs` instances of a task, stepped together in one jitted call.

    `reset` and `step` are jitted once here; `reset_fn`/`step_fn` are the same functions
    un-jitted, for use inside a caller's own jit (a training loop, a scan). The task's Params
    are arguments of those functions, not constants in them (see the module docstring).

    The instance axis is split over `devices` (default: every JAX device) whenever num_envs
    divides evenly: each device steps its own slice (`jax.shard_map`), so a machine with
    4 GPUs runs 4x the instances with no change to the caller's code. Results do not
    depend on the device count (tests/test_sharding.py).

    With `cameras`, every reset and step also renders those cameras for every instance in the
    same jitted call (MuJoCo Warp's batched ray tracer, so impl='warp'):
    `state.obs["pixels"] = {camera: uint8 [N, H, W, 3]}` (and `obs["depth"]`, metres, with
    depth=True) always show the state they come with, auto-reset instances included.
    """

    def __init__(
        self,
        task: Task,
        num_envs: int = 1,
        impl: str = "auto",
        params: Any = None,
        episode_steps: int | None = None,
        devices: Sequence[jax.Device] | None = None,
        cameras: str | Sequence[str] = (),
        image_size: int | tuple[int, int] = (128, 128),
        depth: bool = False,
        randomize: bool | Ranges | Mapping[str, Any] = False,
    ):
        if not isinstance(num_envs, int | np.integer) or num_envs < 1:
            raise ValueError(f"num_envs must be an integer >= 1, got {num_envs!r}")
        self.cameras = as_camera_names(cameras)
        if self.cameras:
            if impl == "auto" and warp_available():
                impl = "warp"  # the batched renderer draws MuJoCo Warp's state
            if devices is None:
                devices = jax.devices()[:1]  # one render context serves one device's worlds
        self.task = task
        self.num_envs = int(num_envs)
        self._params = traced_params(task.params if params is None else params)
        self.episode_steps = int(episode_steps or task.episode_steps)
        self.devices = _pick_devices(self.num_envs, devices)
        self.mesh = Mesh(np.array(self.devices), ("batch",)) if len(self.devices) > 1 else None
        # Warp sizes its buffers for the instances one device holds.
        self.scene: Scene = build_scene(
            task.scene, impl=resolve_impl(impl, self.num_envs), num_envs=self.num_envs // len(self.devices)
        )
        self.impl = self.scene.impl
        self._template = self.scene.make_data()
        # Randomization: which ids it touches, and the default ranges (traced, like Params).
        self._targets = Targets.from_scene(self.scene) if randomize is not False else None
        self._ranges = self._range_shapes = None
        if self._targets is not None:
            self._range_shapes = traced_params(Ranges())  # one (low, high) pair per field
            self._ranges = traced_params(as_ranges(randomize, task.ranges))  # shared, or [N, 2] each
            batch_params(self._range_shapes, self._ranges, self.num_envs)  # a wrong shape fails here
        self._cameras: BatchCameras | None = None
        if self.cameras:
            if len(self.devices) > 1:
                raise ValueError("cameras render on one device: pass devices=[one jax.Device]")
            height, width = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
            config = CameraConfig(
                self.cameras, height, width, bool(depth), tuple(task.camera_geom_groups), per_world_fovy=self.randomized
            )
            self._cameras = BatchCameras(self.scene, self.num_envs, config)
        if task.instructions and not hasattr(self.instance_shapes.info, "instruction"):
            raise ValueError(f"task {task.name!r} lists instructions, so its Info needs an int32 `instruction`")
        self._reset = jax.jit(self.reset_fn)
        self._step = jax.jit(self.step_fn)

    # -- public, checked at the Python boundary -------------------------------------------
    def reset(self, key: jax.Array, params: Any = None, ranges: Any = None) -> EnvState:
        """Fresh episodes for all instances; instance i depends only on fold_in(key, i).

        `params`: the task's Params (or a mapping of fields to change), each field shared or
        [num_envs, ...] per instance; None uses `env.params`. The state carries them.
        `ranges`: the same for the randomization ranges of an env made with randomize=...
        """
        return self._reset(key, self.batch_params(params), self.batch_ranges(ranges))

    def step(self, state: EnvState, action: jax.Array | np.ndarray) -> EnvState:
        """Advance every instance one control step (1/30 s); finished ones auto-reset."""
        check_action(action, self.num_envs)
        return self._step(state, jp.asarray(action, jp.float32))

    @property
    def ctrl_dt(self) -> float:
        return self.scene.ctrl_dt

    @property
    def params(self) -> Any:
        """The task's default Params (each field an array), used by `reset(key)`."""
        return self._params

    @params.setter
    def params(self, value: Any) -> None:
        # Assigning here once changed nothing after the first step; say what works instead.
        raise AttributeError("Env.params is read-only: pass params to env.reset(key, params=...)")

    def batch_params(self, params: Any = None) -> Any:
        """`params` (None: the defaults) with every field [num_envs, ...], checked."""
        return batch_params(self._params, params, self.num_envs)

    @property
    def randomized(self) -> bool:
        return self._targets is not None

    @property
    def ranges(self) -> Ranges | None:
        """The default randomization ranges (each field an array); None without randomize."""
        return self._ranges

    @property
    def targets(self) -> Targets | None:
        """What randomization touches in this scene (ids, value names); None without it."""
        return self._targets

    def batch_ranges(self, ranges: Any = None) -> Ranges | None:
        """`ranges` (None: the defaults; a Ranges or a mapping of fields to change) with every
        field [num_envs, 2], checked; None for an env made without randomize."""
        if self._ranges is None:
            if ranges is not None:
                raise ValueError("this env was made with randomize=False: make(..., randomize=True) to pass ranges")
            return None
        ranges = self._ranges if ranges is None else traced_params(as_ranges(ranges, self._ranges))
        return batch_params(self._range_shapes, ranges, self.num_envs)

    @functools.cached_property
    def instance_shapes(self) -> EnvState:
        """Shapes and dtypes of one instance's state (`jax.eval_shape`: nothing runs)."""
        return instance_shapes(self.task, self.scene, self._params)

    def instruction_ids(self, state: EnvState) -> jax.Array:
        """[N] int32: which of `task.instructions` each instance's episode asks for (all 0 for a
        task with one instruction); `task.describe(i)` gives the words."""
        if self.task.instructions:
            return state.info.instruction
        return jp.zeros(state.steps.shape, jp.int32)

    @functools.cached_property
    def obs_spec(self) -> ObsSpec:
        """The observation's names and shapes, and LeRobot's agent_pos / environment_state view."""
        return ObsSpec.from_shapes(self.instance_shapes.obs)

    # -- pure functions (batched) ---------------------------------------------------------
    def reset_fn(self, key: jax.Array, params: Any = None, ranges: Ranges | None = None) -> EnvState:
        keys = jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, jp.arange(self.num_envs))
        return self.reset_instances(keys, params, ranges)

    def reset_instances(
        self, keys: jax.Array, params: Any = None, ranges: Ranges | None = None, pixels: bool = True
    ) -> EnvState:
        """Reset from one key per instance, [N] keys -> EnvState; used by seeded adapters.
        `pixels=False` leaves the images out (a caller drawing once later: `with_pixels`)."""
        params = batch_params(self._params, params, keys.shape[0])
        if self._ranges is not None:
            ranges = batch_params(self._range_shapes, self._ranges if ranges is None else ranges, keys.shape[0])
        one_batch = keys.shape[0] != self.num_envs  # a few instances (e.g. a probe): no sharding
        reset = jax.vmap(self._reset_one)
        state = reset(keys, params, ranges) if one_batch else self._per_device(reset, keys, params, ranges)
        state = self.with_pixels(state) if pixels else state
        return state.replace(final_obs=state.obs)

    def step_fn(self, state: EnvState, action: jax.Array) -> EnvState:
        return self.autoreset_fn(state, self.advance_fn(state, action))

    def advance_fn(self, state: EnvState, action: jax.Array, pixels: bool = True) -> EnvState:
        """One control step for every instance, without auto-reset: finished instances are
        left in their terminal state (adapters read it, e.g. to render the last frame).
        `pixels=False` leaves the images out, as in `reset_instances`."""
        nxt = self._per_device(jax.vmap(self._step_one), state, action)
        return self.with_pixels(nxt) if pixels else nxt

    def autoreset_fn(self, prev: EnvState, nxt: EnvState) -> EnvState:
        """Reset the instances that `nxt` finished, and record their terminal obs in final_obs.

        Only runs the reset work on steps where some instance (of a device's slice) finished.
        """
        return self._per_device(self._autoreset, prev, nxt)

    def _autoreset(self, prev: EnvState, nxt: EnvState) -> EnvState:
        done = nxt.terminated | nxt.truncated

        def auto_reset(nxt: EnvState) -> EnvState:
            ranges = None if nxt.domain is None else nxt.domain.ranges
            fresh = jax.vmap(self._reset_one)(nxt.key, nxt.params, ranges)
            task_obs = {key: nxt.obs[key] for key in fresh.obs}  # the images are drawn anew below
            reset = nxt.replace(
                data=select_instances(done, fresh.data, nxt.data),
                obs=select_instances(done, fresh.obs, task_obs),
                info=select_instances(done, fresh.info, nxt.info),
                steps=jp.where(done, 0, nxt.steps),
                key=jp.where(done, fresh.key, nxt.key),
                domain=select_instances(done, fresh.domain, nxt.domain),
            )
            return self.with_pixels(reset)

        reset = jax.lax.cond(jp.any(done), auto_reset, lambda s: s, nxt)
        return reset.replace(final_obs=select_instances(done, nxt.obs, prev.final_obs))

    def with_pixels(self, state: EnvState) -> EnvState:
        """`state` with every camera image drawn from its physics (unchanged without cameras);
        public for a caller that assembles its own step from `advance_fn(pixels=False)` and
        `reset_instances(pixels=False)` and draws once."""
        if self._cameras is None:
            return state
        if state.steps.shape[0] != self.num_envs:
            raise ValueError(f"the renderer draws all {self.num_envs} instances, got a batch of {state.steps.shape[0]}")
        fields = None if state.domain is None else jax.vmap(self._targets.render_fields)(state.domain.values)
        images, depth, data = self._cameras.render(state.data, fields)
        obs = {key: value for key, value in state.obs.items() if key not in IMAGE_OBS} | {"pixels": images}
        if depth is not None:
            obs["depth"] = depth
        return state.replace(data=data, obs=obs)

    # -- many devices -------------------------------------------------------------------
    def _per_device(self, fn: Callable, *args: Any) -> Any:
        """`fn` over the whole batch, or, with several devices, over each device's slice."""
        if self.mesh is None:
            return fn(*args)
        specs = tuple(jax.tree.map(self._leaf_spec, a) for a in args)
        out_shape = jax.eval_shape(fn, *(jax.tree.map(self._local_shape, a) for a in args))
        out_specs = jax.tree.map(self._leaf_spec, out_shape, is_leaf=lambda x: isinstance(x, jax.ShapeDtypeStruct))
        # The reset branch's lax.cond depends on device-local data: no replication checks.
        return jax.shard_map(fn, mesh=self.mesh, in_specs=specs, out_specs=out_specs, check_vma=False)(*args)

    def _is_batched(self, leaf: Any) -> bool:
        shape = jp.shape(leaf)
        return len(shape) > 0 and shape[0] in (self.num_envs, self.num_envs // len(self.devices))

    def _leaf_spec(self, leaf: Any) -> P:
        # Warp keeps a few batch-wide buffers with no instance axis: every device has its own.
        return P("batch") if self._is_batched(leaf) else P()

    def _local_shape(self, leaf: Any) -> jax.ShapeDtypeStruct:
        shape = tuple(jp.shape(leaf))
        if self._is_batched(leaf) and shape[0] == self.num_envs:
            shape = (self.num_envs // len(self.devices),) + shape[1:]
        return jax.ShapeDtypeStruct(shape, leaf.dtype)

    @property
    def sharding(self) -> jax.sharding.Sharding:
        """Where a batched [N, ...] array lives: split over the devices, or on the one."""
        if self.mesh is None:
            return jax.sharding.SingleDeviceSharding(self.devices[0])
        return NamedSharding(self.mesh, P("batch"))

    # -- one instance ---------------------------------------------------------------------
    def _reset_one(self, key: jax.Array, params: Any, ranges: Ranges | None) -> EnvState:
        return reset_one(self.task, self.scene, self._template, key, params, self._targets, ranges)

    def _step_one(self, state: EnvState, action: jax.Array) -> EnvState:
        scene, params, task, domain = self.scene, state.params, self.task, state.domain
        model = scene.mjx_model
        finite = jp.isfinite(action)
        last_ctrl = state.data.ctrl
        if domain is not None:
            # This step's noise from the episode's key and the step count: the instance key
            # itself stays as it is for the whole episode (experts draw their plan from it).
            step_key = jax.random.fold_in(state.key, state.steps + 1)  # 0 is the reset's draw
            noise_key, obs_key, camera_key = jax.random.split(step_key, 3)
            action = action + domain.values.action_noise * jax.random.normal(noise_key, action.shape)
            last_ctrl = domain.pending_ctrl[0]  # the last commanded targets, not the delayed ones
            if domain.ranges.camera_every_step:
                domain = domain.replace(values=self._targets.draw_cameras(domain.ranges, camera_key, domain.values))
        ctrl = jp.where(finite, action_to_ctrl(scene, jp.where(finite, action, 0.0)), last_ctrl)
        fields = None
        if domain is not None:
            domain, ctrl = delay(domain, ctrl)
            fields = self._targets.physics_fields(domain.values)
            model = model.tree_replace(fields)
        data = scene.advance(model, state.data.replace(ctrl=ctrl), fields)

        nan_state = ~(jp.isfinite(data.qpos).all() & jp.isfinite(data.qvel).all())
        fault = jp.where(nan_state, FAULT_NAN_STATE, 0)
        fault |= jp.where(_overflowed(scene, data), FAULT_OVERFLOW, 0)
        fault |= jp.where(finite.all(), 0, FAULT_BAD_ACTION)
        info = task.update(scene, params, data, state.info)
        obs = task.observe(scene, params, data, info)
        if domain is not None:
            obs = _noisy_joints(obs, domain, obs_key)
        # A NaN instance ends its episode (the auto-reset replaces its physics on this very
        # step) and reports its last finite observation, so no NaN reaches the caller.
        obs = jax.tree.map(lambda new, old: jp.where(nan_state, old, new), obs, {k: state.obs[k] for k in obs})
        metrics = task.reward(scene, params, data, info, jp.where(finite, action, 0.0))
        metrics = jax.tree.map(lambda term: jp.where(nan_state, 0.0, term).astype(jp.float32), metrics)
        success = task.success(scene, params, data, info) & ~nan_state
        steps = state.steps + 1
        terminated = (success & task.terminate_on_success) | task.failure(scene, params, data, info) | nan_state
        truncated = (steps >= self.episode_steps) & ~terminated
        return state.replace(
            data=data,
            obs=obs,
            reward=jp.float32(sum(metrics.values())),
            terminated=terminated,
            truncated=truncated,
            success=success,
            steps=steps,
            info=info,
            metrics=metrics,
            fault=jp.int32(fault),
            domain=domain,
        )


def reset_one(
    task: Task,
    scene: Scene,
    template: mjx.Data,
    key: jax.Array,
    params: Any,
    targets: Targets | None = None,
    ranges: Ranges | None = None,
) -> EnvState:
    """One instance's fresh episode: the task's reset from `template`, then its observation;
    with `targets` and `ranges`, also the episode's randomization drawn from `key`."""
    key, reset_key = jax.random.split(key)
    data, info = task.reset(scene, params, reset_key, template)
    # Kinematics is all observe() needs; the first physics step computes the rest.
    data = scene.kinematics(scene.mjx_model, data)
    obs = task.observe(scene, params, data, info)
    domain = None
    if targets is not None:
        # Drawn beside the instance key, not from it: a seed gives the same cube placement,
        # the same expert plan and the same next episodes with randomization as without.
        domain_key, obs_key = jax.random.split(jax.random.fold_in(key, 0))
        domain = start(targets, ranges, domain_key, data.ctrl)
        if len(targets.cube_body):  # a resized cube, set down at its own size
            data = data.replace(qpos=targets.rest_cube(data.qpos, domain.values))
            data = scene.kinematics(scene.mjx_model, data)
            obs = task.observe(scene, params, data, info)
        obs = _noisy_joints(obs, domain, obs_key)
    zero_action = jp.zeros(ACTION_DIM, jp.float32)
    metrics = task.reward(scene, params, data, info, zero_action)
    return EnvState(
        data=data,
        obs=obs,
        reward=jp.float32(0.0),
        terminated=jp.array(False),
        truncated=jp.array(False),
        success=jp.array(False),
        steps=jp.int32(0),
        key=key,
        params=params,
        info=info,
        # float32, not weak-typed: the step's metrics must have the same types, or every
        # jitted step would compile twice (once for the reset state, once for later ones).
        metrics=jax.tree.map(lambda term: jp.zeros(jp.shape(term), jp.float32), metrics),
        final_obs=obs,
        fault=jp.int32(0),
        domain=domain,
    )


def _noisy_joints(obs: dict[str, jax.Array], domain: Domain, key: jax.Array) -> dict[str, jax.Array]:
    """The joint readings with the episode's encoder noise (what a real SO-101 reports)."""
    noise = domain.values.joint_noise * jax.random.normal(key, obs["joint_pos"].shape)
    return obs | {"joint_pos": obs["joint_pos"] + noise}


def instance_shapes(task: Task, scene: Scene, params: Any = None) -> EnvState:
    """Shapes and dtypes of one instance's state (`jax.eval_shape`: nothing runs)."""
    params = traced_params(task.params if params is None else params)
    template = scene.make_data()
    return jax.eval_shape(lambda key: reset_one(task, scene, template, key, params), jax.random.key(0))


def _pick_devices(num_envs: int, devices: Sequence[jax.Device] | None) -> tuple[jax.Device, ...]:
    """Every device by default; one device when num_envs does not split evenly over them."""
    if devices is not None:
        devices = tuple(devices)
        if not devices:
            raise ValueError("devices must name at least one jax.Device")
        if num_envs % len(devices):
            raise ValueError(f"num_envs={num_envs} does not split evenly over {len(devices)} devices")
        return devices
    devices = tuple(jax.devices())
    if num_envs == 1:  # one instance (shape probes, a video, SO101Env): nothing to split
        return devices[:1]
    if len(devices) > 1 and num_envs % len(devices):
        warnings.warn(
            f"num_envs={num_envs} does not split evenly over {len(devices)} devices: using one device. "
            f"Use a multiple of {len(devices)} to use them all.",
            stacklevel=3,
        )
        return devices[:1]
    return devices


def _bcast(mask: jax.Array, like: jax.Array) -> jax.Array:
    return mask.reshape(mask.shape + (1,) * (like.ndim - mask.ndim))


def select_instances(mask: jax.Array, new: Any, old: Any) -> Any:
    """Per instance, `new` where `mask` [N] is set, else `old` (pytrees of [N, ...] leaves).

    Warp keeps a few buffers shared by the whole batch (no leading N axis); the next physics
    step rebuilds them, so those are taken from `old` untouched.
    """

    def pick(a: jax.Array, b: jax.Array) -> jax.Array:
        if b.ndim == 0 or b.shape[0] != mask.shape[0]:
            return b
        return jp.where(_bcast(mask, b), a, b)

    return jax.tree.map(pick, new, old)


def _overflowed(scene: Scene, data: mjx.Data) -> jax.Array:
    """Warp writes at most naconmax contacts and njmax rows; more means dropped constraints."""
    if scene.impl != "warp":
        return jp.array(False)  # MJX-JAX allocates every possible contact: it cannot overflow
    from mujoco_warp import OverflowType

    # Solver iteration caps are not buffer overflows; every other bit is.
    buffer_bits = int(OverflowType.ALL) & ~int(OverflowType.ITERATIONS | OverflowType.LS_ITERATIONS)
    impl = data._impl
    return ((impl.overflow & buffer_bits) != 0) | (impl.nefc > scene.njmax)


def rollout(
    env: Env,
    policy: Callable[[EnvState, jax.Array], jax.Array],
    key: jax.Array,
    num_steps: int,
    state: EnvState | None = None,
    params: Any = None,
    ranges: Any = None,
    pixels: bool = False,
) -> tuple[EnvState, dict[str, jax.Array]]:
    """Run `policy(state, key) -> action` for `num_steps` in one `lax.scan`, from a reset
    drawn from `key` with `params` and `ranges` (as in `Env.reset`), or from `state`.

    Returns the final state and a trajectory dict of [T, N, ...] arrays: obs, qpos and
    mocap_pos (before the action, enough to re-render), action, reward, terminated,
    truncated, success, fault. Compiled once per (env, policy, num_steps); params are traced.
    An env with cameras keeps its images out of `obs` unless `pixels=True`: T x N frames of
    every camera rarely fit (1,000 episodes of 150 steps at 64x64 are 1.8 GB per camera).
    """
    if state is None:
        params, ranges = env.batch_params(params), env.batch_ranges(ranges)
        return _rollout_from_reset(env, policy, num_steps, key, params, ranges, pixels)
    if params is not None or ranges is not None:
        raise ValueError("rollout: params and ranges set the reset; a given state already carries its own")
    return _rollout(env, policy, num_steps, state, key, pixels)


@dataclasses.dataclass(frozen=True)
class TimedRollout:
    """A rollout's result with how long it took: what every timing figure here comes from."""

    state: EnvState  # final state
    traj: dict[str, jax.Array]  # as `rollout` returns it
    compile_s: float  # lowering and compiling, apart from running
    run_s: float  # the timed call, until its results were ready
    first_call_s: float | None  # the untimed first call with warmup=True (allocations, kernel loads)
    compiled: Any  # the compiled program (its memory_analysis() says what XLA allocates)


def timed_rollout(
    env: Env,
    policy: Callable[[EnvState, jax.Array], jax.Array],
    key: jax.Array,
    num_steps: int,
    params: Any = None,
    warmup: bool = False,
    check: Callable[[Any], None] | None = None,
    ranges: Any = None,
) -> TimedRollout:
    """`rollout(env, policy, key, num_steps, params=params)`, compiled ahead of time and then
    timed: compile time apart from run time. With `warmup`, a first call runs untimed and the
    second is timed (throughput); `check(compiled)` runs before either (e.g. a memory check)."""
    params, ranges = env.batch_params(params), env.batch_ranges(ranges)
    t0 = time.perf_counter()
    compiled = _rollout_from_reset.lower(env, policy, num_steps, key, params, ranges, False).compile()
    compile_s = time.perf_counter() - t0
    if check is not None:
        check(compiled)
    first_call_s = None
    if warmup:
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(key, params, ranges))
        first_call_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    state, traj = jax.block_until_ready(compiled(key, params, ranges))
    run_s = time.perf_counter() - t0
    return TimedRollout(state, traj, compile_s, run_s, first_call_s, compiled)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 6))
def _rollout_from_reset(
    env: Env, policy: Callable, num_steps: int, key: jax.Array, params: Any, ranges: Any, pixels: bool = False
):
    reset_key, key = jax.random.split(key)
    return _rollout(env, policy, num_steps, env.reset_fn(reset_key, params, ranges), key, pixels)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 5))
def _rollout(env: Env, policy: Callable, num_steps: int, state: EnvState, key: jax.Array, pixels: bool = False):
    def body(state: EnvState, step_key: jax.Array):
        action = policy(state, step_key)
        nxt = env.step_fn(state, action)
        out = dict(
            obs=state.obs if pixels else {k: v for k, v in state.obs.items() if k not in IMAGE_OBS},
            qpos=state.data.qpos,
            mocap_pos=state.data.mocap_pos,
            action=action,
            reward=nxt.reward,
            terminated=nxt.terminated,
            truncated=nxt.truncated,
            success=nxt.success,
            fault=nxt.fault,
        )
        return nxt, out

    return jax.lax.scan(body, state, jax.random.split(key, num_steps))
