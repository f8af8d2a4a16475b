"""Camera images inside the jitted step (MuJoCo Warp's batched ray tracer): shapes, what they
show, that they follow the state through steps and auto-resets, that they never leave the
device in a jitted rollout, and that the GL renderer draws the same scene."""

from __future__ import annotations

import jax
import jax.numpy as jp
import numpy as np
import pytest
from conftest import hold_action

import mjx_lerobot
from mjx_lerobot.sim.camera import CameraConfig, render_states
from mjx_lerobot.sim.render import Renderer, episode_frames, shadow_map_size

N = 3
H, W = 72, 96


@pytest.fixture(scope="module")
def cam_env() -> mjx_lerobot.Env:
    return mjx_lerobot.make("lift_cube", num_envs=N, impl="warp", cameras=("front", "wrist"), image_size=(H, W))


@pytest.fixture(scope="module")
def cam_state(cam_env):
    return cam_env.reset(jax.random.key(0))


def cube_centroid(image: np.ndarray) -> np.ndarray:
    """(column, row) of the red cube's pixels."""
    r, g, b = (image[..., c].astype(int) for c in range(3))
    rows, cols = np.nonzero((r > 120) & (g < 70) & (b < 70))
    assert len(rows) > 4, "the cube is not in view"
    return np.array([cols.mean(), rows.mean()])


def project(state, i: int, camera_id: int, fovy_deg: float, point: np.ndarray) -> np.ndarray:
    """Where a world point lands in the image: MuJoCo's pinhole camera looks down its -z axis."""
    pos = np.asarray(state.data.cam_xpos[i, camera_id])
    mat = np.asarray(state.data.cam_xmat[i, camera_id]).reshape(3, 3)
    x, y, z = mat.T @ (point - pos)
    focal = (H / 2) / np.tan(np.radians(fovy_deg) / 2)
    return np.array([W / 2 + focal * x / -z, H / 2 - focal * y / -z])


@pytest.mark.slow
def test_images_are_uint8_per_camera_and_differ_between_instances(cam_state):
    pixels = cam_state.obs["pixels"]
    assert set(pixels) == {"front", "wrist"}
    for image in pixels.values():
        assert image.shape == (N, H, W, 3) and image.dtype == jp.uint8
        image = np.asarray(image)
        assert image.std() > 20  # a real picture, not one colour
        assert not np.array_equal(image[0], image[1])  # instances with different cubes look different
    # final_obs carries the same keys, so auto-reset can keep an episode's last images.
    assert set(cam_state.final_obs["pixels"]) == {"front", "wrist"}


@pytest.mark.slow
def test_the_cube_appears_where_the_camera_projection_puts_it(cam_env, cam_state):
    model = cam_env.scene.mj_model
    front = model.camera("front")
    for i in range(N):
        cube = np.asarray(cam_state.obs["cube_pos"][i])
        expected = project(cam_state, i, front.id, float(front.fovy[0]), cube)
        got = cube_centroid(np.asarray(cam_state.obs["pixels"]["front"][i]))
        # The centroid of the visible faces sits a little off the centre's projection: measured
        # up to 1.3 px at 96x72 over 8 instances.
        assert np.abs(got - expected).max() < 2.0, (i, got, expected)


@pytest.mark.slow
def test_gl_and_batched_renderers_agree_on_the_cube(cam_env, cam_state):
    gl = Renderer(cam_env.scene.mj_model, H, W, cam_env.task.camera_geom_groups, antialias=False)
    try:
        for i in range(N):
            qpos, mocap = np.asarray(cam_state.data.qpos[i]), np.asarray(cam_state.data.mocap_pos[i])
            (gl_front,) = gl.views(qpos, mocap, ("front",))
            batched = np.asarray(cam_state.obs["pixels"]["front"][i])
            # Measured: at most 0.57 px apart over 8 instances at 96x72.
            assert np.abs(cube_centroid(gl_front) - cube_centroid(batched)).max() < 1.0
    finally:
        gl.close()


@pytest.mark.slow
def test_a_shadow_map_sized_to_the_image_draws_what_the_scene_map_draws(c_env, c_state0):
    """GL's shadow map follows the image (256^2 at 72x96, not the scene's 1024^2): few pixels
    change, where a map far too coarse for the image (64^2) visibly moves the shadow edges."""
    qpos, mocap = np.asarray(c_state0.data.qpos), np.asarray(c_state0.data.mocap_pos)
    model, groups = c_env.scene.mj_model, c_env.task.camera_geom_groups
    assert shadow_map_size(H, W) == 256 < model.vis.quality.shadowsize
    assert shadow_map_size(480, 640) == 1024 and shadow_map_size(240, 320) == 512

    def changed_pixels(shadow_size: int | None) -> float:
        """Share of pixels more than 16 levels off the scene map's image."""
        images = []
        for size in (shadow_size, model.vis.quality.shadowsize):
            gl = Renderer(model, H, W, groups, antialias=False, shadow_size=size)
            images.append(gl.frames(qpos, mocap, ("front", "wrist")).astype(int))
            gl.close()
        return float((np.abs(images[0] - images[1]).max(axis=-1) > 16).mean())

    sized, coarse = changed_pixels(None), changed_pixels(64)
    print(f"pixels changed: sized map {sized:.2%}, 64^2 map {coarse:.2%}")
    assert sized < 0.015 and coarse > 2 * sized


@pytest.mark.slow
def test_episode_videos_from_the_batched_renderer_match_gl(c_env, c_state0):
    # An "episode" of c_env's 4 reset states (physics on MuJoCo C: put on Warp only to draw),
    # two frames per render call so the chunking and its padding run too.
    qpos, mocap = np.asarray(c_state0.data.qpos), np.asarray(c_state0.data.mocap_pos)
    groups = c_env.task.camera_geom_groups
    frames = {
        renderer: episode_frames(c_env.scene, qpos, mocap, ("front", "wrist"), H, W, groups, renderer=renderer)
        for renderer in ("batched", "gl")
    }
    config = CameraConfig(("front",), H, W, geom_groups=tuple(groups))
    chunked = render_states(c_env.scene, qpos[:3], mocap[:3], config, max_worlds=2)["front"]
    for renderer, video in frames.items():
        assert video.shape == (len(qpos), H, 2 * W, 3) and video.dtype == np.uint8, renderer
    np.testing.assert_array_equal(chunked, frames["batched"][:3, :, :W])
    for t in range(len(qpos)):  # the front camera's half of each frame: the same cube, in place
        batched, gl = frames["batched"][t, :, :W], frames["gl"][t, :, :W]
        assert np.abs(cube_centroid(batched) - cube_centroid(gl)).max() < 1.0, t
    assert not np.array_equal(frames["batched"][0], frames["batched"][1])  # each frame its own state
    with pytest.raises(ValueError, match=r"qpos must be \[T >= 1, nq="):
        episode_frames(c_env.scene, qpos[:, :5], None, renderer="batched")


@pytest.mark.slow
def test_images_follow_the_state_after_a_step_and_an_auto_reset(cam_env, cam_state):
    # Instance 0 is at its step limit: this step ends its episode and auto-resets it.
    near_end = cam_state.replace(steps=cam_state.steps.at[0].set(cam_env.episode_steps - 1))
    action = np.clip(hold_action(cam_env, cam_state) + np.float32(0.2), -1, 1)
    state = cam_env.step(near_end, action)
    assert int(state.steps[0]) == 0 and int(state.steps[1]) == 1
    # Drawn again from the state as it is now, every image is the same: nothing lags.
    images, _, _ = jax.jit(cam_env._cameras.render)(state.data)
    for camera in ("front", "wrist"):
        np.testing.assert_array_equal(np.asarray(state.obs["pixels"][camera]), np.asarray(images[camera]))
        moved = np.asarray(state.obs["pixels"][camera][1]) != np.asarray(cam_state.obs["pixels"][camera][1])
        assert moved.any()  # the arm moved, so the picture changed
    # The reset instance shows its new episode; its episode's last images are in final_obs.
    ended = np.asarray(state.final_obs["pixels"]["front"][0])
    assert not np.array_equal(ended, np.asarray(state.obs["pixels"]["front"][0]))
    cube = np.asarray(state.obs["cube_pos"][0])
    front = cam_env.scene.mj_model.camera("front")
    expected = project(state, 0, front.id, float(front.fovy[0]), cube)
    assert np.abs(cube_centroid(np.asarray(state.obs["pixels"]["front"][0])) - expected).max() < 2.0


@pytest.mark.slow
def test_a_jitted_rollout_with_pixels_stays_on_the_device(cam_env):
    hold = lambda state, key: mjx_lerobot.sim.scene.ctrl_to_action(cam_env.scene, state.data.ctrl)
    key = jax.random.key(3)
    mjx_lerobot.rollout(cam_env, hold, key, 2, pixels=True)  # compile first: compiling may move constants
    with jax.transfer_guard("disallow"):
        final, traj = mjx_lerobot.rollout(cam_env, hold, key, 2, pixels=True)
    assert traj["obs"]["pixels"]["wrist"].shape == (2, N, H, W, 3)
    assert final.obs["pixels"]["front"].dtype == jp.uint8
    # By default the trajectory keeps T x N frames out (the final state still has them).
    final, traj = mjx_lerobot.rollout(cam_env, hold, key, 2)
    assert "pixels" not in traj["obs"] and final.obs["pixels"]["front"].shape == (N, H, W, 3)


@pytest.mark.slow
def test_depth_is_in_metres():
    env = mjx_lerobot.make("reach", num_envs=2, impl="warp", cameras="front", image_size=32, depth=True)
    state = env.reset(jax.random.key(0))
    depth = np.asarray(state.obs["depth"]["front"])
    assert depth.shape == (2, 32, 32) and depth.dtype == np.float32
    # The front camera sits ~0.5 m from the table in front of it; the sky is far or empty.
    centre = depth[:, 16, 16]
    assert (0.2 < centre).all() and (centre < 1.0).all(), centre


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(cameras=("front", "side")), r"unknown camera\(s\) \['side'\]; the scene has"),
        (dict(cameras=("front",), image_size=(0, 64)), "image height must be an integer in"),
        (dict(cameras=("front",), image_size=(64, 9000)), "image width must be an integer in"),
        (dict(cameras=("front",), impl="jax"), "impl='warp'"),
        (dict(cameras=("front", "front")), "must not repeat"),
    ],
)
def test_bad_cameras_get_a_clear_error(kwargs, match):
    kwargs = {"impl": "warp", **kwargs}
    with pytest.raises(ValueError, match=match):
        mjx_lerobot.make("reach", num_envs=2, **kwargs)


def test_no_cameras_no_pixels(c_env, c_state0):
    assert "pixels" not in c_state0.obs and c_env.cameras == ()


@pytest.mark.slow
@pytest.mark.parametrize("autoreset_mode", ["NextStep", "SameStep"])
def test_gym_adapter_returns_the_batched_images(autoreset_mode):
    env = mjx_lerobot.SO101VectorEnv(
        2, "lift_cube", obs_type="pixels_agent_pos", impl="warp", renderer="batched",
        observation_height=H, observation_width=W, autoreset_mode=autoreset_mode, max_episode_steps=2,
    )
    assert env.pixel_renderer == "batched"
    obs, _ = env.reset(seed=0)
    for camera in ("front", "wrist"):
        assert obs["pixels"][camera].shape == (2, H, W, 3) and obs["pixels"][camera].dtype == np.uint8
        np.testing.assert_array_equal(obs["pixels"][camera], np.asarray(env.state.obs["pixels"][camera]))
    assert env.observation_space.contains(obs)
    for _ in range(2):  # the second step ends both episodes (max_episode_steps=2)
        obs, _, _, truncated, info = env.step(obs["agent_pos"])
    assert truncated.all()
    if autoreset_mode == "SameStep":  # the episode's last images, beside the new episode's first
        last = info["final_obs"][0]["pixels"]["front"]
        assert last.shape == (H, W, 3) and not np.array_equal(last, obs["pixels"]["front"][0])
    else:  # the episode's last images now; on the next step, the new episode's first
        np.testing.assert_array_equal(obs["pixels"]["front"], np.asarray(env.state.final_obs["pixels"]["front"]))
        obs, *_ = env.step(obs["agent_pos"])
        np.testing.assert_array_equal(obs["pixels"]["front"], np.asarray(env.state.obs["pixels"]["front"]))
    env.close()
