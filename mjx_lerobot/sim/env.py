"""The batched env: `num_envs` instances of a task stepping in one jitted call, with auto-reset,
truncation and fault flags done once here.

    env = mjx_lerobot.make("lift_cube", num_envs=1024)
    state = env.reset(jax.random.key(0))        # EnvState, every leaf batched [N, ...]
    state = env.step(state, actions)            # actions: [N, 6] float32 in [-1, 1]

A task's `Params` are traced: `env.reset(key, params=p)` takes one value per field (shared by
every instance) or a batch `[N, ...]` per field (one per instance); the state carries them and
every step, auto-resets included, uses them. Changing them never recompiles.

    radius = jp.linspace(0.01, 0.05, 1024)
    state = env.reset(key, params=env.params.replace(success_radius=radius))

With `randomize=True` (or a `Ranges`), every instance also draws its own physics, colours,
lights and cameras at each episode reset (sim/randomize.py); the ranges are traced like Params
(`env.reset(key, ranges=...)`), and `randomize=False` leaves every step as it is without it.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P
from mujoco import mjx

from mjx_lerobot.physics import resolve_impl, warp_available
from mjx_lerobot.sim import servo
from mjx_lerobot.sim.camera import BatchCameras, CameraConfig, as_camera_names
from mjx_lerobot.sim.obs import IMAGE_OBS, ObsSpec
from mjx_lerobot.sim.randomize import Domain, Ranges, as_ranges, delay, start
from mjx_lerobot.sim.scene import Scene, action_to_ctrl, build_scene
from mjx_lerobot.sim.targets import Targets
from mjx_lerobot.sim.task import (
    ACTION_DIM,
    FAULT_BAD_ACTION,
    FAULT_NAN_STATE,
    FAULT_OVERFLOW,
    EnvState,
    Task,
    batch_params,
    check_action,
    traced_params,
    typed_keys,
)


class Env:
    """`num_envs` instances of a task, stepped together in one jitted call.

    `reset` and `step` are jitted once here; `reset_fn`/`step_fn` are the same functions
    un-jitted, for use inside a caller's own jit (a training loop, a scan). The task's Params
    are arguments of those functions, not constants in them (see the module docstring).

    Adapters that need another step shape (Gymnasium's autoreset modes, a recorder that
    restarts instances from seeds it hands out) build it from four documented hooks, each a
    pure batched function: `reset_instances(keys)` (one key per instance), `advance_fn`
    (a step without auto-reset: finished instances keep their terminal state),
    `autoreset_fn(prev, nxt)`, and `with_pixels(state)` (the cameras drawn for a state;
    `pixels=False` on the first two defers it to one call after the caller's own selects).
    `step_fn` is `autoreset_fn(state, advance_fn(state, action))`.

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
        randomize: bool | Ranges | Mapping[str, Any] | None = False,
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
        randomized = randomize is not None and randomize is not False
        self._targets = Targets.from_scene(self.scene, task.randomized_parts) if randomized else None
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
        return self._reset(typed_keys(key), self.batch_params(params), self.batch_ranges(ranges))

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
        # The state carries its params, so assigning here could not reach a running episode.
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
        key = typed_keys(key)
        keys = jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, jp.arange(self.num_envs))
        return self.reset_instances(keys, params, ranges)

    def reset_instances(
        self, keys: jax.Array, params: Any = None, ranges: Ranges | None = None, pixels: bool = True
    ) -> EnvState:
        """Reset from one key per instance, [N] keys -> EnvState; used by seeded adapters.
        `pixels=False` leaves the images out (a caller drawing once later: `with_pixels`)."""
        keys = typed_keys(keys, batch_dims=1)
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
        # What reaches the servos, the firmware then makes whole encoder steps and a dead zone of.
        ctrl = ctrl.at[:6].set(servo.firmware(ctrl[:6], state.data.qpos[scene.arm_qpos]))
        data = scene.advance(model, state.data.replace(ctrl=ctrl), fields)

        nan_state = ~(jp.isfinite(data.qpos).all() & jp.isfinite(data.qvel).all())
        fault = jp.where(nan_state, FAULT_NAN_STATE, 0)
        fault |= jp.where(scene.physics.overflowed(data), FAULT_OVERFLOW, 0)
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
        if len(targets.object_bodies):  # resized objects, set down at their own size
            data = data.replace(qpos=targets.rest_objects(data.qpos, domain.values))
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


