"""Domain randomization: each instance draws its own physics, looks and cameras from its seed,
inside the jit; the nominal draw is the unrandomized env exactly; ranges are traced; the draws
reach the physics, the servos (delay), both renderers and the Gym adapter; bad ranges are clear
errors; a resized cube rests, is grasped and is drawn at its size. (Recording and replay with
randomization: tests/test_record.py.)

On Warp: it compiles in seconds on a CPU, where MJX-JAX takes a minute."""

from __future__ import annotations

import jax
import jax.numpy as jp
import numpy as np
import pytest

import mjx_lerobot
from mjx_lerobot.sim import servo
from mjx_lerobot.sim.randomize import FIELDS, MAX_LATENCY, Parts, Ranges, nominal_ranges
from mjx_lerobot.sim.scene import action_to_ctrl, build_scene
from mjx_lerobot.sim.targets import Targets
from mjx_lerobot.sim.task import seed_keys

# Slow tier: several randomized Warp envs, each its own compile.
pytestmark = pytest.mark.slow

N = 4


def random_actions(state, key):
    return jax.random.uniform(key, (N, 6), minval=-0.6, maxval=0.6)


@pytest.fixture(scope="module")
def env() -> mjx_lerobot.Env:
    return mjx_lerobot.make("lift_cube", num_envs=N, impl="warp", randomize=True)


def test_the_nominal_draw_is_the_unrandomized_env_exactly_and_ranges_never_recompile(env):
    plain = mjx_lerobot.make("lift_cube", num_envs=N, impl="warp")
    key = jax.random.key(3)
    _, plain_traj = mjx_lerobot.rollout(plain, random_actions, key, 40)
    _, nominal_traj = mjx_lerobot.rollout(env, random_actions, key, 40, ranges=nominal_ranges())
    compiled = mjx_lerobot.sim.rollout._rollout_from_reset._cache_size()
    _, drawn_traj = mjx_lerobot.rollout(env, random_actions, key, 40)  # the default ranges
    assert mjx_lerobot.sim.rollout._rollout_from_reset._cache_size() == compiled  # ranges are traced
    # Same seed, same cube placement and actions: identity draws give the unrandomized
    # trajectory, to float32 rounding (XLA fuses the step's arithmetic around the noise and
    # delay differently: measured 2.1e-6 rad apart after 40 steps; each model field given per
    # instance is bit-exact on its own).
    np.testing.assert_array_equal(np.asarray(nominal_traj["qpos"][0]), np.asarray(plain_traj["qpos"][0]))
    np.testing.assert_allclose(np.asarray(nominal_traj["qpos"]), np.asarray(plain_traj["qpos"]), rtol=0, atol=2e-5)
    np.testing.assert_allclose(np.asarray(nominal_traj["reward"]), np.asarray(plain_traj["reward"]), atol=1e-4)
    # ...and the draws change the physics (the start is the same: randomization begins at step 1).
    drawn, plain_qpos = np.asarray(drawn_traj["qpos"]), np.asarray(plain_traj["qpos"])
    np.testing.assert_array_equal(drawn[0, :, :6], plain_qpos[0, :, :6])
    assert (np.abs(drawn[-1, :, :6] - plain_qpos[-1, :, :6]).max(axis=1) > 1e-3).all()


def test_an_instances_draw_depends_only_on_its_seed(env):
    values = env.reset_instances(seed_keys([5, 6, 7, 8])).domain.values
    reordered = env.reset_instances(seed_keys([8, 5])).domain.values  # another batch size and order
    # The same draws, to the last bit of float32 (XLA vectorizes the scaling of a uniform
    # draw differently per batch shape: measured 1 ulp apart at most).
    for field in ("kp", "cube_friction", "latency", "camera_pos", "table_rgb"):
        a, b = np.asarray(getattr(values, field)), np.asarray(getattr(reordered, field))
        np.testing.assert_allclose(b[0], a[3], rtol=3e-7, atol=1e-8, err_msg=field)
        np.testing.assert_allclose(b[1], a[0], rtol=3e-7, atol=1e-8, err_msg=field)
    kp = np.asarray(values.kp)
    assert len({tuple(row) for row in kp.round(6)}) == N  # instances differ
    assert ((kp >= 0.85) & (kp <= 1.15)).all()  # within the default range
    assert set(np.unique(np.asarray(values.latency))) <= {0, 1}


def test_delay_and_gains_act_on_the_servos_and_auto_reset_redraws(env):
    # Instance 0: no delay; 1: one step; 2: MAX_LATENCY steps; 3: one step and half the kp.
    latency = jp.array([[0, 0], [1, 1], [MAX_LATENCY, MAX_LATENCY], [1, 1]])
    kp = jp.array([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0], [0.5, 0.5]])
    ranges = nominal_ranges().replace(latency=latency, kp=kp)
    state = env.reset(jax.random.key(0), ranges=ranges)
    start_ctrl = np.asarray(state.data.ctrl)
    action = np.tile(np.array([0.3, -0.2, 0.2, 0.1, 0.0, -0.5], np.float32), (N, 1))
    target = np.asarray(action_to_ctrl(env.scene, jp.asarray(action)))
    applied = []
    for _ in range(MAX_LATENCY + 1):
        state = env.step(state, action)
        applied.append(np.asarray(state.data.ctrl))
    for instance, delay in enumerate([0, 1, MAX_LATENCY, 1]):
        for t in range(MAX_LATENCY + 1):
            # The servos act on whole encoder steps and hold where they are inside the dead zone
            # (one step each side of a quantized goal): within 2.5 steps of the commanded targets.
            expected = start_ctrl if t < delay else target  # the episode's first targets, then the action's
            np.testing.assert_allclose(applied[t][instance], expected[instance], atol=2.5 * servo.SERVO.step,
                                       err_msg=f"{instance} {t}")  # fmt: skip
    # Settled at the target, the arm sags under gravity by torque / kp: twice as far at half kp.
    for _ in range(20):
        state = env.step(state, action)
    sag = np.abs(np.asarray(state.data.ctrl)[:, 1] - np.asarray(state.data.qpos)[:, env.scene.arm_qpos[1]])
    assert 1.6 < sag[3] / sag[1] < 2.4, sag

    # An instance that finishes its episode draws anew (from its own key) in the auto-reset.
    drawn = env.reset(jax.random.key(1))
    before = np.asarray(drawn.domain.values.kp)
    done = drawn.replace(steps=drawn.steps.at[0].set(env.episode_steps - 1))
    after = env.step(done, np.zeros((N, 6), np.float32))
    assert int(after.steps[0]) == 0 and bool(after.truncated[0])
    assert not np.allclose(np.asarray(after.domain.values.kp)[0], before[0])
    np.testing.assert_array_equal(np.asarray(after.domain.values.kp)[1:], before[1:])


def test_physics_fields_write_what_the_table_says_and_name_every_entry():
    """The arrays behind the outcomes tests/test_randomize_fields.py checks: each draw lands in
    the model fields its row of FIELDS names, pairs included, and nowhere else."""
    scene = build_scene("scene_cube.xml", impl="jax")
    targets = Targets.from_scene(scene)
    values = targets.nominal_values().replace(
        cube_friction=jp.full(1, 2.0), cube_mass=jp.full(1, 3.0), kp=jp.full(6, 0.5), damping=jp.full(6, 2.0)
    )
    fields = jax.device_get(targets.physics_fields(values))
    nominal = jax.device_get(targets.physics_fields(targets.nominal_values()))
    m = scene.mj_model
    for name, value in nominal.items():  # the identity draw is the model itself
        np.testing.assert_array_equal(value, np.asarray(getattr(scene.mjx_model, name)), err_msg=name)
    written = {name for field in FIELDS if field.acts_on == "physics" for name in field.model_fields}
    assert set(fields) == written
    cube = m.body("cube").id
    cube_geoms = np.flatnonzero(m.geom_bodyid == cube)
    np.testing.assert_allclose(fields["geom_friction"][cube_geoms, 0], 2 * m.geom_friction[cube_geoms, 0], rtol=1e-6)
    others = np.setdiff1d(np.arange(m.ngeom), cube_geoms)
    np.testing.assert_array_equal(fields["geom_friction"][others], nominal["geom_friction"][others])
    # Every contact with the cube is an explicit pair: their friction scales with it, the others'
    # (the jaw tips on the table) stays.
    with_cube = np.isin(m.pair_geom1, cube_geoms) | np.isin(m.pair_geom2, cube_geoms)
    assert with_cube.sum() >= 4
    np.testing.assert_allclose(fields["pair_friction"][with_cube, :2], 2 * m.pair_friction[with_cube, :2], rtol=1e-6)
    np.testing.assert_array_equal(fields["pair_friction"][~with_cube], nominal["pair_friction"][~with_cube])
    np.testing.assert_array_equal(fields["pair_friction"][:, 2:], nominal["pair_friction"][:, 2:])
    np.testing.assert_allclose(fields["body_mass"][cube], 3 * m.body_mass[cube], rtol=1e-6)
    np.testing.assert_allclose(fields["actuator_gainprm"][:, 0], 0.5 * m.actuator_gainprm[:, 0], rtol=1e-6)
    np.testing.assert_allclose(fields["actuator_biasprm"][:, 1], 0.5 * m.actuator_biasprm[:, 1], rtol=1e-6)
    np.testing.assert_allclose(fields["dof_damping"][scene.arm_qvel], 2 * m.dof_damping[scene.arm_qvel], rtol=1e-6)
    # Names for the dataset's sim.randomization column, one per flattened entry.
    names = targets.value_names()
    flat = np.asarray(targets.flat(jax.tree.map(lambda v: v[None], values)))
    assert flat.shape == (1, len(names)) and len(set(names)) == len(names)
    assert flat[0, names.index("kp.gripper")] == 0.5 and flat[0, names.index("cube_mass.cube")] == 3.0
    back = targets.unflat(flat)
    np.testing.assert_array_equal(np.asarray(back.damping)[0], np.asarray(values.damping))


def test_a_name_the_scene_lacks_is_an_error_not_ignored():
    scene = build_scene("scene_objects.xml", impl="c")
    with pytest.raises(ValueError, match=r"randomized objects \(bodies\) \['cube'\] are not in the scene"):
        Targets.from_scene(scene, Parts(objects=("cube",)))


def test_randomized_looks_reach_both_renderers():
    """Two instances, the same seed (same scene state), different table colour and light: the
    batched ray tracer and the adapter's GL renderer both show the difference, the same way."""
    shades = {"table_rgb": np.array([[0.25, 0.25], [-0.25, -0.25]], np.float32)}
    ranges = nominal_ranges().replace(**shades)
    cams = mjx_lerobot.make("lift_cube", num_envs=2, impl="warp", randomize=ranges, cameras=("front",), image_size=48)
    images = np.asarray(cams.reset_instances(seed_keys([3, 3])).obs["pixels"]["front"], np.float32)
    gym_env = mjx_lerobot.SO101VectorEnv(
        2, "lift_cube", impl="warp", obs_type="pixels_agent_pos", cameras="front", observation_height=48,
        observation_width=48, renderer="gl", randomize=ranges,
    )  # fmt: skip
    obs, _ = gym_env.reset(seed=[3, 3])
    np.testing.assert_array_equal(obs["agent_pos"][0], obs["agent_pos"][1])  # the same arm pose
    gl = obs["pixels"]["front"].astype(np.float32)
    gym_env.close()
    for name, pixels in (("batched", images), ("gl", gl)):
        lighter, darker = pixels[0].mean(), pixels[1].mean()
        assert lighter > darker + 10, (name, lighter, darker)
    # The bottom rows see the table only: both renderers agree on how much lighter it got.
    batched_gap = images[0, -8:].mean() - images[1, -8:].mean()
    gl_gap = gl[0, -8:].mean() - gl[1, -8:].mean()
    assert abs(batched_gap - gl_gap) < 0.35 * gl_gap, (batched_gap, gl_gap)


def red_pixels(images: np.ndarray) -> np.ndarray:
    """Per image, how many pixels show the red cube."""
    px = np.asarray(images).astype(int)
    return ((px[..., 0] > 120) & (px[..., 1] < 80) & (px[..., 2] < 80)).sum(axis=(1, 2))


def test_a_resized_cube_rests_on_the_table_is_lifted_and_both_renderers_draw_its_size():
    """Cube edges x0.85 and x1.15, same seed: each starts resting on the table (neither sunk
    into it nor dropped onto it), the expert lifts both, and both renderers show the bigger
    one (1.15 / 0.85)^2 = 1.8 times larger."""
    ranges = nominal_ranges().replace(cube_size=np.array([[0.85, 0.85], [1.15, 1.15]], np.float32))
    env = mjx_lerobot.make("lift_cube", num_envs=2, impl="c", randomize=ranges)
    m = env.scene.mj_model
    cube_z = m.jnt_qposadr[m.body("cube").jntadr[0]] + 2
    resting = np.array([0.85, 1.15]) * m.geom_size[m.geom("cube").id, 2]
    state = env.reset_instances(seed_keys([3, 3]))
    np.testing.assert_allclose(np.asarray(state.data.qpos[:, cube_z]), resting, atol=1e-7)
    _, traj = mjx_lerobot.rollout(env, env.task.expert(env.scene, env.params), jax.random.key(0), 120, state=state)
    before_grasp = np.asarray(traj["qpos"][:40, :, cube_z])
    np.testing.assert_allclose(before_grasp, np.broadcast_to(resting, before_grasp.shape), atol=3e-4)
    assert np.asarray(traj["success"]).any(axis=0).all()

    cams = mjx_lerobot.make("lift_cube", num_envs=2, impl="warp", randomize=ranges, cameras=("front",), image_size=96)
    batched = red_pixels(cams.reset_instances(seed_keys([3, 3])).obs["pixels"]["front"])
    gym_env = mjx_lerobot.SO101VectorEnv(
        2, "lift_cube", impl="c", obs_type="pixels_agent_pos", cameras="front", observation_height=96,
        observation_width=96, renderer="gl", randomize=ranges,
    )  # fmt: skip
    gl = red_pixels(gym_env.reset(seed=[3, 3])[0]["pixels"]["front"])
    gym_env.close()
    for name, counts in (("batched", batched), ("gl", gl)):
        assert 1.5 < counts[1] / counts[0] < 2.2, (name, counts)
    np.testing.assert_allclose(batched, gl, rtol=0.3)


def test_the_gym_adapter_takes_randomize():
    gym_env = mjx_lerobot.SO101VectorEnv(N, "lift_cube", impl="warp", randomize={"joint_noise": (0.01, 0.01)})
    arm = gym_env._env.scene.arm_qpos
    noise = []
    obs, _ = gym_env.reset(seed=[7, 8, 9, 10])
    for _ in range(2):
        # What the policy reads is the joint angle plus the episode's encoder noise (std 0.01 rad).
        noise.append(obs["agent_pos"] - np.asarray(gym_env._state.data.qpos)[:, arm])
        obs, *_ = gym_env.step(obs["agent_pos"])
    gym_env.close()
    assert 0.005 < np.std(noise) < 0.02
    assert not np.allclose(noise[0], noise[1])  # drawn anew at every step


def test_bad_ranges_are_clear_errors(env):
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="unknown randomization field.*'kpp'"):
        env.reset(key, ranges={"kpp": (0.9, 1.1)})
    with pytest.raises(ValueError, match="kp: low > high"):
        env.reset(key, ranges={"kp": (1.2, 0.8)})
    with pytest.raises(ValueError, match="cube_mass: a scale .* cannot be negative"):
        mjx_lerobot.make("lift_cube", num_envs=N, impl="warp", randomize=Ranges(cube_mass=(-1.0, 1.0)))
    with pytest.raises(ValueError, match="latency: whole control steps"):
        env.reset(key, ranges={"latency": (0, MAX_LATENCY + 1)})
    with pytest.raises(ValueError, match="latency: whole control steps"):
        env.reset(key, ranges={"latency": (0.5, 1)})
    with pytest.raises(ValueError, match=r"\(low, high\) pair"):
        env.reset(key, ranges={"kp": 1.0})
    with pytest.raises(ValueError, match=r"expected shape \(2,\) \(shared\) or \(4, 2\)"):
        env.reset(key, ranges={"kp": np.ones((3, 2))})
    with pytest.raises(TypeError, match="randomize must be True, False, a Ranges"):
        mjx_lerobot.make("lift_cube", num_envs=N, impl="warp", randomize="yes")
    plain = mjx_lerobot.make("lift_cube", num_envs=N, impl="warp")
    with pytest.raises(ValueError, match="made with randomize=False"):
        plain.reset(key, ranges={"kp": (0.9, 1.1)})
    # None reads as "not randomized", as an unset option does in a config.
    unset = mjx_lerobot.make("lift_cube", num_envs=N, impl="warp", randomize=None)
    with pytest.raises(ValueError, match="made with randomize=False"):
        unset.reset(key, ranges={"kp": (0.9, 1.1)})
