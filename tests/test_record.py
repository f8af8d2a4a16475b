"""The data engine against the real lerobot: a recorded dataset loads with LeRobotDataset, holds
what was simulated, replays exactly, survives Ctrl-C and resumes.

Needs the `lerobot` extra; skips visibly without it, fails under MJX_LEROBOT_REQUIRE_LEROBOT=1.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jp
import numpy as np
import pytest

if os.environ.get("MJX_LEROBOT_REQUIRE_LEROBOT") == "1":
    import lerobot  # noqa: F401  (must be installed: fail loudly)
else:
    pytest.importorskip("lerobot", reason='lerobot not installed: pip install -e ".[lerobot]"')

from lerobot.datasets.lerobot_dataset import LeRobotDataset  # noqa: E402

import mjx_lerobot  # noqa: E402
from mjx_lerobot.lerobot.gym_env import SO101VectorEnv  # noqa: E402
from mjx_lerobot.lerobot.record import RecordConfig, record, replay  # noqa: E402
from mjx_lerobot.lerobot.units import MOTOR_NAMES, JointUnits  # noqa: E402
from mjx_lerobot.sim.render import Renderer  # noqa: E402
from mjx_lerobot.sim.task import seed_keys  # noqa: E402

REPO_ID = "test/so101_lift"


@pytest.fixture(scope="module")
def lift_dataset(tmp_path_factory) -> tuple[Path, dict]:
    """Three lift_cube episodes from three instances at once, DART noise on, no video."""
    root = tmp_path_factory.mktemp("data") / "lift"
    cfg = RecordConfig(
        task="lift_cube",
        episodes=3,
        root=str(root),
        repo_id=REPO_ID,
        num_envs=3,
        impl="c",
        seed=100,
        action_noise=0.005,
        progress=False,
    )
    return root, record(cfg)


def episode_columns(dataset: LeRobotDataset, episode: int) -> dict[str, np.ndarray]:
    table = dataset.hf_dataset.with_format("numpy")
    rows = np.flatnonzero(np.asarray(table["episode_index"]) == episode)
    return {
        key: np.asarray(table[key])[rows].reshape(len(rows), -1)
        for key in dataset.features
        if key in table.column_names
    }


@pytest.mark.slow
def test_dataset_loads_in_lerobot_with_real_robot_features(lift_dataset):
    root, result = lift_dataset
    assert result["episodes_in_dataset"] == 3 and not result["interrupted"]
    dataset = LeRobotDataset(REPO_ID, root=root)
    assert dataset.num_episodes == 3
    assert dataset.fps == 30
    assert dataset.meta.robot_type == "so101_follower"
    for key in ("observation.state", "action"):
        assert dataset.features[key]["shape"] == (6,) or list(dataset.features[key]["shape"]) == [6]
        assert dataset.features[key]["names"] == list(MOTOR_NAMES)
    assert dataset.features["observation.environment_state"]["shape"] in ((10,), [10])
    item = dataset[0]
    assert item["observation.state"].shape == (6,) and item["action"].shape == (6,)
    assert item["task"] == mjx_lerobot.load_task("lift_cube").instruction
    lengths = [dataset.meta.episodes[i]["length"] for i in range(3)]
    assert dataset.num_frames == sum(lengths) == result["frames_written"]
    assert all(n < 150 for n in lengths)  # every expert episode ended in success, not a time-out


@pytest.mark.slow
def test_observation_state_is_what_was_simulated(lift_dataset):
    """Re-run each episode from its seed with its executed actions: the recorded degrees match,
    the first frame matches the Gym adapter's reset with that seed, and only the last frame is done."""
    root, _ = lift_dataset
    dataset = LeRobotDataset(REPO_ID, root=root)
    env = mjx_lerobot.make("lift_cube", num_envs=1, impl="c")
    units = JointUnits("degrees", env.scene.ctrl_low, env.scene.ctrl_high)
    step = jax.jit(env.advance_fn)
    seeds = []
    for episode in range(3):
        ep = episode_columns(dataset, episode)
        seed = int(ep["sim.seed"][0, 0])
        seeds.append(seed)
        state = env.reset_instances(seed_keys([seed]))
        simulated = []
        for action in ep["sim.action"]:
            simulated.append(units.from_radians(np.asarray(state.obs["joint_pos"][0])))
            state = step(state, jp.asarray(action[None]))
        np.testing.assert_allclose(np.stack(simulated), ep["observation.state"], atol=1e-4)
        assert ep["next.done"][:, 0].tolist() == [False] * (len(ep["next.done"]) - 1) + [True]
        assert ep["next.success"][-1, 0]
        # DART: the executed action is the label plus noise, so they differ, but not by much.
        label = units.to_radians(ep["action"])
        low, high = env.scene.ctrl_low, env.scene.ctrl_high
        executed = low + (ep["sim.action"] + 1) * 0.5 * (high - low)
        assert 0 < np.abs(executed - label).mean() < 0.05
        gym_env = SO101VectorEnv(1, "lift_cube", impl="c", units="degrees", obs_type="agent_pos")
        obs, _ = gym_env.reset(seed=[seed])
        np.testing.assert_allclose(obs["agent_pos"][0], ep["observation.state"][0], atol=1e-4)
        gym_env.close()
    assert len(set(seeds)) == 3


@pytest.mark.slow
def test_replay_is_exact(lift_dataset, tmp_path):
    root, _ = lift_dataset
    result = replay(root, 1, video=str(tmp_path / "ep1.mp4"))
    assert result["max_qpos_deviation"] == 0.0
    assert result["max_state_deviation_deg"] < 1e-4  # float32 rounding of the degree conversion
    assert result["recorded_success"] and result["replayed_success"]
    assert (tmp_path / "ep1.mp4").stat().st_size > 10_000


@pytest.mark.slow
def test_randomized_recording_stores_the_draws_and_replays_exactly(tmp_path):
    """--randomize: each episode's draws are in sim.randomization (named), its camera video shows
    its own colours and cameras, and replay re-simulates it exactly from the record."""
    root = tmp_path / "randomized"
    cfg = RecordConfig(task="lift_cube", episodes=2, root=str(root), repo_id=REPO_ID, num_envs=2, impl="c",
                       seed=7, randomize=True, cameras=("front",), height=48, width=64, progress=False)  # fmt: skip
    assert record(cfg)["episodes_in_dataset"] == 2
    dataset = LeRobotDataset(REPO_ID, root=root)
    names = dataset.features["sim.randomization"]["names"]
    assert "kp.shoulder_pan" in names and "latency" in names and "camera_fovy.front" in names
    draws = [episode_columns(dataset, e)["sim.randomization"] for e in (0, 1)]
    for draw in draws:
        assert draw.shape[1] == len(names) and (draw == draw[0]).all()  # one draw per episode
    assert not np.allclose(draws[0][0], draws[1][0])
    assert dataset[0]["observation.images.front"].shape == (3, 48, 64)
    result = replay(root, 1)  # each episode replays the same way; one keeps the test short
    assert result["max_qpos_deviation"] == 0.0, result
    assert result["recorded_success"] == result["replayed_success"]


@pytest.mark.slow
def test_batched_camera_frames_land_beside_the_state_they_show(tmp_path):
    """--renderer batched: frames drawn inside the jitted step (MuJoCo Warp's ray tracer) are the
    dataset's video, each beside the state it shows: a decoded frame matches the GL render of
    its own row's qpos better than its neighbours', with the cube where GL draws it."""
    from test_pixels import cube_centroid

    root = tmp_path / "batched"
    cfg = RecordConfig(task="lift_cube", episodes=2, root=str(root), repo_id=REPO_ID, num_envs=2, impl="warp",
                       renderer="batched", cameras=("front",), height=72, width=96, seed=3, progress=False)  # fmt: skip
    assert record(cfg)["episodes_in_dataset"] == 2
    assert json.loads((root / "meta/mjx_lerobot.json").read_text())["config"]["renderer"] == "batched"
    dataset = LeRobotDataset(REPO_ID, root=root)
    table = dataset.hf_dataset.with_format("numpy")
    rows = np.flatnonzero(np.asarray(table["episode_index"]) == 1)
    qpos, mocap = np.asarray(table["sim.qpos"])[rows], np.asarray(table["sim.mocap_pos"])[rows]
    env = mjx_lerobot.make("lift_cube", num_envs=1, impl="c")
    gl = Renderer(env.scene.mj_model, 72, 96, env.task.camera_geom_groups, antialias=False)
    try:
        # The fastest-moving step, where a frame one step off would show.
        t = int(np.argmax(np.abs(qpos[2:, :6] - qpos[:-2, :6]).sum(1))) + 1
        image = dataset[int(rows[t])]["observation.images.front"].numpy().transpose(1, 2, 0)
        image = (image * 255).round().astype(np.uint8)
        drawn = {s: gl.views(qpos[s], mocap[s], ("front",))[0] for s in (t - 1, t, t + 1)}
        error = {s: np.abs(view.astype(int) - image).mean() for s, view in drawn.items()}
        assert error[t] < min(error[t - 1], error[t + 1]), error
        # Measured 0.4-1.2 px at 96x72 after the video codec.
        assert np.abs(cube_centroid(drawn[t]) - cube_centroid(image)).max() < 1.5
    finally:
        gl.close()


def test_batched_recording_refuses_a_batch_whose_frames_do_not_fit(tmp_path):
    cfg = RecordConfig(task="lift_cube", episodes=1, root=str(tmp_path / "big"), num_envs=1_000_000, impl="warp",
                       renderer="batched", cameras=("front", "wrist"), progress=False)  # fmt: skip
    with pytest.raises(ValueError, match="GiB of frames.*fewer --num-envs"):
        record(cfg)


@pytest.mark.slow
def test_record_refuses_to_overwrite_and_replay_checks_the_episode(lift_dataset):
    root, _ = lift_dataset
    with pytest.raises(ValueError, match="not empty"):
        record(RecordConfig(task="lift_cube", episodes=1, root=str(root), repo_id=REPO_ID, progress=False))
    with pytest.raises(ValueError, match="recorded with task='lift_cube'"):
        record(RecordConfig(task="reach", episodes=1, root=str(root), repo_id=REPO_ID, resume=True, progress=False))
    with pytest.raises(ValueError, match="episode 7 is not in"):
        replay(root, 7)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "mjx_lerobot.apps.cli", *args]


# Runs `mjx-lerobot record` in a child process whose 3rd episode write gets a real SIGINT from
# inside the process, half-way through its frames: the same signal a Ctrl-C delivers, at a
# known point (polling the dataset from outside and signalling after a deadline raced lerobot).
_CTRL_C_AT_THIRD_WRITE = """
import signal, sys
import mjx_lerobot.lerobot.record as record
from mjx_lerobot.apps.cli import main

write, writes = record._write_episode, 0

def write_with_ctrl_c(dataset, episode, *args, **kwargs):
    global writes
    writes += 1
    if writes != 3:
        return write(dataset, episode, *args, **kwargs)
    add_frame, frames = dataset.add_frame, 0

    def add_frame_with_ctrl_c(frame):
        nonlocal frames
        frames += 1
        if frames == len(episode["sim.qpos"]) // 2:
            signal.raise_signal(signal.SIGINT)  # Python runs the handler before the next frame
            print(f"SIGINT at frame {frames} of {len(episode['sim.qpos'])}", file=sys.stderr)
        add_frame(frame)

    dataset.add_frame = add_frame_with_ctrl_c
    try:
        return write(dataset, episode, *args, **kwargs)
    finally:
        del dataset.add_frame

record._write_episode = write_with_ctrl_c
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_ctrl_c_keeps_whole_episodes_and_resume_completes(tmp_path):
    """Ctrl-C in the middle of writing the 3rd episode: that episode is finished, no other
    is started, the dataset is finalized and loads with only complete episodes; --resume
    records the rest with new seeds."""
    root = tmp_path / "reach"
    common = ["--task", "reach", "--root", str(root), "--num-envs", "4", "--impl", "c", "--repo-id", "test/reach"]
    args = ["record", "--episodes", "400", *common, "--json"]
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", _CTRL_C_AT_THIRD_WRITE, *args], capture_output=True, text=True, timeout=600
    )
    print(f"\ninterrupted recording (compile included): {time.monotonic() - t0:.0f} s")
    assert "SIGINT at frame" in proc.stderr, proc.stderr[-3000:]  # the interrupt really came mid-write
    # Interrupted, reported as such: the CLI's exit status for a Ctrl-C (128 + SIGINT).
    assert proc.returncode == 128 + signal.SIGINT == 130, proc.stderr[-3000:]
    interrupted = json.loads(proc.stdout[proc.stdout.index("{") :])
    assert interrupted["interrupted"]
    # The episode being written when Ctrl-C came is finished; nothing after it is written.
    assert interrupted["episodes_in_dataset"] == interrupted["episodes_written"] == 3
    kept = 3

    dataset = LeRobotDataset("test/reach", root=root)
    assert dataset.num_episodes == kept
    lengths = [dataset.meta.episodes[i]["length"] for i in range(kept)]
    assert dataset.num_frames == sum(lengths) == interrupted["frames_written"]  # no stray frames
    for episode in range(kept):  # every stored episode is whole: it ends on its done frame
        done = episode_columns(dataset, episode)["next.done"][:, 0]
        assert len(done) == lengths[episode]
        assert done[-1] and not done[:-1].any()

    subprocess.run(_cli("record", "--episodes", str(kept + 2), *common, "--resume", "--json"), check=True)
    dataset = LeRobotDataset("test/reach", root=root)
    assert dataset.num_episodes == kept + 2
    seeds = [int(episode_columns(dataset, e)["sim.seed"][0, 0]) for e in range(kept + 2)]
    assert len(set(seeds)) == kept + 2  # the resumed episodes are new ones


@pytest.mark.parametrize(
    ("cameras", "size", "match"),
    [(("fronnt",), (48, 64), r"unknown camera\(s\) \['fronnt'\]"), (("front",), (0, 64), "height must be")],
)
def test_bad_cameras_are_refused_before_anything_is_written(tmp_path, cameras, size, match):
    root = tmp_path / "bad"
    cfg = RecordConfig(task="lift_cube", episodes=1, root=str(root), num_envs=1, impl="c", renderer="gl",
                       cameras=cameras, height=size[0], width=size[1], progress=False)  # fmt: skip
    with pytest.raises(ValueError, match=match):
        record(cfg)
    assert not root.exists()


def test_run_ahead_keeps_order_and_raises_the_simulations_error():
    from mjx_lerobot.lerobot.stream import RunAhead

    assert list(RunAhead(iter(range(5)), depth=2)) == [0, 1, 2, 3, 4]

    def failing():
        yield 1
        raise RuntimeError("simulation failed")

    ahead = RunAhead(failing(), depth=2)
    with pytest.raises(RuntimeError, match="simulation failed"):
        list(ahead)
    ahead.close()
