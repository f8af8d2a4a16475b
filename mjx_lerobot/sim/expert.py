"""Scripted experts: timed Cartesian waypoints, tracked with IK, batched in pure JAX.

A task's expert lists waypoints for one instance (gripperframe position, jaw yaw, gripper
target, arrival time in control steps); `track` interpolates between them at the instance's
current step and turns the pose into joint targets with `ArmIK`. The result is an ordinary
policy `(state, key) -> action` over the whole batch.

For demonstrations, two kinds of diversity (see `expert_policy` and `dart`):

- variation: each episode gets its own timing (every segment stretched or shortened) and
  moves its free waypoints (hovers, not grasps) by up to 1 cm, drawn from the episode's key,
  so one episode's plan stays fixed while episodes differ;
- DART noise (Laskey et al. 2017): Gaussian noise on the *executed* action while the
  *recorded* label stays the clean expert action, so the data shows how to recover from the
  small errors a learned policy will make.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jp
import numpy as np

from mjx_lerobot.sim.env import Env
from mjx_lerobot.sim.ik import ArmIK, down_pose
from mjx_lerobot.sim.scene import Scene, ctrl_to_action
from mjx_lerobot.sim.tabletop import cube_pose, cube_yaw
from mjx_lerobot.sim.task import EnvState

GRIP_OPEN = 1.0  # rad: jaws ~7.5 cm apart, wide enough to straddle the cube with margin
PAN_AXIS_X = 0.0388  # m: the shoulder pan axis sits here on the x axis
JAW_CLEARANCE = 0.01  # m: approach offset that keeps the fixed jaw off the cube
GRIP_CLOSED = -0.17  # rad: the servo's closed end; on a cube it squeezes at its torque limit
# Per-segment time factors under variation=1: a segment may run up to 15% faster or 35%
# slower. Faster than that and the jaws arrive before the arm has settled above the cube.
SEGMENT_STRETCH = (0.85, 1.35)
WAYPOINT_JITTER = 0.01  # m, largest offset of a free waypoint under variation=1

Policy = Callable[[EnvState, jax.Array], jax.Array]


def closing_yaw(cube_quat: jax.Array, current_yaw: jax.Array) -> jax.Array:
    """Jaw closing direction across two opposite cube faces, nearest to `current_yaw`.

    A cube looks the same every 90 degrees. Choosing the face pair nearest to where the jaws
    already close keeps the wrist roll small and, recomputed every step, never flips.
    """
    face = cube_yaw(cube_quat)
    return current_yaw + jp.remainder(face - current_yaw + jp.pi / 4, jp.pi / 2) - jp.pi / 4


def jaw_yaw(scene: Scene, data) -> jax.Array:
    """Current jaw closing direction (yaw of gripperframe's z axis) in the world."""
    z_axis = data.site_xmat[scene.ee_site].reshape(3, 3)[:, 2]
    return jp.arctan2(z_axis[1], z_axis[0])


def grasp_approach(
    scene: Scene, data, obj: jax.Array, quat: jax.Array | None = None, round_: bool | jax.Array = False
) -> tuple[jax.Array, jax.Array]:
    """(jaw yaw, gripperframe xy-position) for a top-down grasp of the object at `obj`.

    A cube (`quat`, default: the scene's "cube") is taken across two opposite faces; a round
    object (cylinder, sphere: `round_`) from wherever the jaws already point. The fixed jaw's
    pad sits exactly one half-object from gripperframe, so the approach is shifted
    JAW_CLEARANCE toward the moving jaw: the fixed jaw clears the object on the way down and
    the closing jaw slides it home against it.
    """
    current = jaw_yaw(scene, data)
    across_faces = closing_yaw(cube_pose(scene, data)[1] if quat is None else quat, current)
    yaw = jp.where(round_, current, across_faces)  # round_ may be traced (which object is asked)
    return yaw, obj - JAW_CLEARANCE * jp.array([jp.cos(yaw), jp.sin(yaw), 0.0])


def in_hand_offset(scene: Scene, data, limit: float = 0.02) -> jax.Array:
    """(3,) horizontal offset from the held cube's centre to gripperframe, at most `limit` per
    axis: added to a place target, it puts the cube there rather than the hand."""
    ee = data.site_xpos[scene.ee_site]
    offset = (ee - cube_pose(scene, data)[0]).at[2].set(0.0)
    return jp.clip(offset, -limit, limit)


GRASP_Z = 0.022  # m, gripperframe height at a grasp: the fingertips just clear the table
HOVER_Z = 0.09  # m, gripperframe height above an object before and after a grasp


class Plan(NamedTuple):
    """Waypoints for `track`: arrival step, gripperframe position, jaw yaw, gripper target,
    and which waypoints `variation` may move (hovers, not grasps)."""

    times: jax.Array  # [K]
    pos: jax.Array  # [K, 3]
    yaw: jax.Array  # [K]
    grip: jax.Array  # [K]
    free: jax.Array  # [K] bool


def lift_plan(yaw: jax.Array, grasp: jax.Array) -> Plan:
    """Hover above `grasp` (xy), descend with the jaws open, close, lift to HOVER_Z and hold."""
    above, at = grasp.at[2].set(HOVER_Z), grasp.at[2].set(GRASP_Z)
    open_, closed = GRIP_OPEN, GRIP_CLOSED
    return Plan(
        times=jp.array([0.0, 20.0, 35.0, 42.0, 50.0, 58.0, 78.0]),
        pos=jp.stack([above, above, at, at, at, at, above]),
        yaw=jp.full(7, yaw),
        grip=jp.array([open_, open_, open_, open_, closed, closed, closed]),
        free=jp.array([True, True, False, False, False, False, False]),
    )


def place_plan(yaw: jax.Array, grasp: jax.Array, place: jax.Array, release_z: float, carry_z: float = 0.08) -> Plan:
    """Grasp at `grasp` (xy) as in `lift_plan`, carry at `carry_z` to above `place` (xy),
    lower to `release_z` (gripperframe height), open, and back off upward."""
    at = grasp.at[2].set(GRASP_Z)
    down = place.at[2].set(release_z)
    open_, closed = GRIP_OPEN, GRIP_CLOSED
    return Plan(
        times=jp.array([0.0, 20.0, 35.0, 42.0, 50.0, 58.0, 75.0, 105.0, 120.0, 128.0, 140.0, 155.0]),
        pos=jp.stack(
            [
                grasp.at[2].set(HOVER_Z),
                grasp.at[2].set(HOVER_Z),
                at,
                at,
                at,
                at,
                grasp.at[2].set(carry_z),
                place.at[2].set(carry_z),
                down,
                down,
                down,
                place.at[2].set(HOVER_Z),
            ]
        ),
        yaw=jp.full(12, yaw),
        grip=jp.array([open_, open_, open_, open_, closed, closed, closed, closed, closed, closed, open_, open_]),
        free=jp.array([True, True, False, False, False, False, True, True, False, False, False, True]),
    )


def interpolate(step: jax.Array, times: jax.Array, values: jax.Array) -> jax.Array:
    """Piecewise-linear value at `step` through `values` [K, ...] reached at `times` [K]."""
    idx = jp.clip(jp.searchsorted(times, step, side="right"), 1, times.shape[0] - 1)
    t0, t1 = times[idx - 1], times[idx]
    alpha = jp.clip((step - t0) / jp.maximum(t1 - t0, 1e-6), 0.0, 1.0)
    return values[idx - 1] + alpha * (values[idx] - values[idx - 1])


def vary_plan(
    key: jax.Array, times: jax.Array, pos: jax.Array, free: jax.Array | None, variation: float
) -> tuple[jax.Array, jax.Array]:
    """This episode's own version of a waypoint plan: segment durations scaled by factors in
    SEGMENT_STRETCH and free waypoints moved by up to WAYPOINT_JITTER, both times `variation`."""
    time_key, pos_key = jax.random.split(jax.random.fold_in(key, 0x5EED))
    low, high = SEGMENT_STRETCH
    stretch = 1.0 + variation * jax.random.uniform(time_key, (times.shape[0] - 1,), minval=low - 1, maxval=high - 1)
    times = jp.concatenate([times[:1], times[0] + jp.cumsum(jp.diff(times) * stretch)])
    if free is not None:
        offset = jax.random.uniform(pos_key, pos.shape, minval=-1.0, maxval=1.0) * WAYPOINT_JITTER * variation
        pos = pos + jp.asarray(free, jp.float32)[:, None] * offset
    return times, pos


def make_tracker(scene: Scene, variation: float = 0.0) -> Callable:
    """track(state_one, times, pos, yaw, grip, free=None) -> action (6,) for one instance
    (or track(state_one, *plan) for a `Plan`).

    `free` (bool per waypoint) marks the waypoints that `variation` may move; timing varies
    for every segment. The draws come from the episode's key (fixed for the whole episode).
    """
    ik = ArmIK(scene)

    def track(
        state: EnvState,
        times: jax.Array,
        pos: jax.Array,
        yaw: jax.Array,
        grip: jax.Array,
        free: jax.Array | None = None,
    ) -> jax.Array:
        if variation:
            times, pos = vary_plan(state.key, times, pos, free, variation)
        step = state.steps.astype(jp.float32)
        target_pos = interpolate(step, times, pos)
        target_yaw = interpolate(step, times, yaw)
        target_grip = interpolate(step, times, grip)
        # Warm start from the current servo targets: they move little between steps.
        arm_q = ik.solve(state.data.ctrl[:5], target_pos, down_pose(target_yaw))
        ctrl = jp.concatenate([arm_q, target_grip[None]])
        return ctrl_to_action(scene, ctrl)

    return track


def batched(policy_one: Callable) -> Policy:
    """Lift a one-instance policy(state, key) to the batch."""

    def policy(state: EnvState, key: jax.Array) -> jax.Array:
        keys = jax.random.split(key, state.steps.shape[0])
        return jax.vmap(policy_one)(state, keys)

    return policy


def expert_policy(env: Env, variation: float = 0.0) -> Policy:
    """The task's scripted expert for `env`'s batch: policy(state, key) -> action [N, 6]."""
    if env.task.expert is None:
        raise ValueError(f"task {env.task.name!r} has no scripted expert")
    if not 0.0 <= variation <= 1.0:
        raise ValueError(f"variation must be in [0, 1], got {variation}")
    return env.task.expert(env.scene, env.params, variation=variation)


def dart(policy: Policy, action_noise: float) -> Callable[[EnvState, jax.Array], tuple[jax.Array, jax.Array]]:
    """(state, key) -> (executed, label): the label is `policy`'s action, the executed action
    adds Gaussian noise of std `action_noise` (action units, where [-1, 1] spans a joint's range)."""
    if not action_noise >= 0.0:
        raise ValueError(f"action_noise must be >= 0, got {action_noise}")

    def act(state: EnvState, key: jax.Array) -> tuple[jax.Array, jax.Array]:
        policy_key, noise_key = jax.random.split(key)
        label = policy(state, policy_key)
        noise = action_noise * jax.random.normal(noise_key, label.shape, label.dtype)
        return jp.clip(label + noise, -1.0, 1.0), label

    return act


def noisy(policy: Policy, action_noise: float) -> Policy:
    """`policy` with DART noise, as a plain policy returning the executed action."""
    act = dart(policy, action_noise)
    return lambda state, key: act(state, key)[0]


def first_episode_success(traj: dict[str, jax.Array]) -> np.ndarray:
    """[N] bool: did each instance's *first* episode of a rollout trajectory succeed?

    A rollout auto-resets, so an instance that failed early may succeed in a later episode;
    only the first episode counts (and one that never ended counts as a failure).
    """
    done = np.asarray(traj["terminated"]) | np.asarray(traj["truncated"])  # [T, N]
    success = np.asarray(traj["success"])
    ended = done.any(axis=0)
    first = done.argmax(axis=0)
    return ended & success[first, np.arange(done.shape[1])]


def evaluate(
    task: str,
    num_episodes: int = 1000,
    impl: str = "auto",
    variation: float = 0.0,
    action_noise: float = 0.0,
    seed: int = 0,
    randomize: bool = False,
) -> dict:
    """Success rate of `task`'s expert over `num_episodes` seeded episodes, all in one batch
    (with `randomize`, each its own physics and looks from the task's default ranges)."""
    from mjx_lerobot.sim.registry import make
    from mjx_lerobot.sim.rollout import timed_rollout

    env = make(task, num_envs=num_episodes, impl=impl, randomize=randomize)
    policy = noisy(expert_policy(env, variation), action_noise)
    timed = timed_rollout(env, policy, jax.random.key(seed), env.episode_steps)
    traj = timed.traj
    success = first_episode_success(traj)
    faults = (np.asarray(traj["fault"]) != 0).any(axis=0)
    return {
        "task": task,
        "impl": env.impl,
        "episodes": num_episodes,
        "variation": variation,
        "action_noise": action_noise,
        "randomize": bool(randomize),
        "seed": seed,
        "success_rate": float(success.mean()),
        "successes": int(success.sum()),
        "instances_with_faults": int(faults.sum()),
        "compile_s": round(timed.compile_s, 1),
        "run_s": round(timed.run_s, 1),
    }
