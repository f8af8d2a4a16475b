"""PPO learns: `mjx-lerobot train` on reach, small enough for a CPU, then the policy it wrote
is evaluated, reloaded and driven through the Gymnasium adapter."""

import json

import numpy as np
import pytest

from mjx_lerobot.apps.cli import main
from mjx_lerobot.rl import ppo

# Slow tier: PPO training runs (minutes of CPU).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def reach_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reach_run")
    # 128 instances x 16 steps x 30 updates = 61k env steps (~1 min here after compiling).
    argv = ["train", "--task", "reach", "--num-envs", "128", "--steps", "61440", "--impl", "c"]
    argv += ["--out", str(out), "--eval-episodes", "64", "--set", "updates_per_chunk=5"]
    assert main(argv) == 0
    return out


def test_train_learns_reach(reach_run):
    summary = json.loads((reach_run / "summary.json").read_text())
    history = ppo.load(reach_run / "checkpoint.msgpack").history
    returns = [r for r in history["episode_return"] if np.isfinite(r)]
    # An untrained policy holds the start pose (~25 per episode); a learned one reaches the
    # target within a few steps and stays (~60 by this point, up to ~150 with practice).
    assert returns[-1] > 2.0 * returns[0], returns
    assert summary["final_train_success_rate"] >= 0.8
    # The deterministic policy on seeded episodes the training never saw.
    assert summary["eval"]["episodes"] == 64
    assert summary["eval"]["success_rate"] >= 0.9, summary["eval"]
    assert (reach_run / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_command_reloads_the_checkpoint(reach_run, capsys):
    # Pin what train's final evaluation used: the backend (reach_run trains with --impl c;
    # "auto" resolves by batch size and device) and the first seed it recorded. Exact equality
    # below only means something when both evaluations run the same physics on the same seeds.
    summary = json.loads((reach_run / "summary.json").read_text())
    seed = str(summary["eval"]["seed"])
    argv = ["eval", "--checkpoint", str(reach_run / "checkpoint.msgpack"), "--episodes", "64"]
    assert main([*argv, "--impl", "c", "--seed", seed, "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["impl"] == summary["eval"]["impl"] == "c"
    assert stats["seed"] == summary["eval"]["seed"]
    # Same backend, same seeds: the reloaded policy does exactly the same.
    assert stats["successes"] == summary["eval"]["successes"]
    assert stats["success_rate"] == summary["eval"]["success_rate"]
    assert stats["device"] and stats["versions"]["mujoco"]


def test_policy_drives_the_gym_adapter(reach_run):
    from mjx_lerobot.lerobot.gym_env import SO101VectorEnv

    policy = ppo.gym_policy(ppo.load(reach_run / "checkpoint.msgpack"))
    env = SO101VectorEnv(16, "reach", impl="c")
    obs, _ = env.reset(seed=123)
    done = np.zeros(16, bool)
    success = np.zeros(16, bool)
    for _ in range(env._max_episode_steps):
        action = policy(obs)
        assert action.shape == (16, 6) and action.dtype == np.float32
        obs, _, terminated, truncated, info = env.step(action)
        success |= info["is_success"] & ~done
        done |= terminated | truncated
        if done.all():
            break
    env.close()
    assert done.all()
    assert success.mean() >= 0.9, success


def test_bad_config_and_checkpoint_fail_clearly(tmp_path):
    with pytest.raises(ValueError, match="unknown PPO config fields"):
        ppo.default_config("reach", learning_rat=1e-3)
    with pytest.raises(ValueError, match="num_minibatches"):
        ppo.default_config("reach", num_envs=10, unroll_length=3, num_minibatches=4)
    with pytest.raises(ValueError, match="unknown task"):
        ppo.default_config("no_such_task")
    bogus = tmp_path / "x.msgpack"
    bogus.write_bytes(b"\x80")
    with pytest.raises(ValueError, match="not an mjx_lerobot PPO checkpoint"):
        ppo.load(bogus)
    with pytest.raises(FileNotFoundError):
        ppo.load(tmp_path / "missing.msgpack")


# --- obs="pixels": the actor sees cameras + joints, the critic the state ------------------
# A CPU cannot show a pixel policy learning inside CI (Warp's CPU physics and renderer give
# ~60-90 training env steps/s here); these tests prove the wiring the GPU runs rely on.


@pytest.fixture(scope="module")
def pixel_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pixel_run")
    argv = ["train", "--task", "reach", "--obs", "pixels", "--cameras", "front,wrist", "--image-size", "32"]
    argv += ["--num-envs", "8", "--steps", "256", "--impl", "warp", "--out", str(out), "--eval-episodes", "8"]
    argv += ["--set", "unroll_length=8", "--set", "updates_per_chunk=2", "--set", "num_minibatches=2"]
    argv += ["--set", "conv_channels=[16, 32, 32]", "--set", "hidden=[64, 64]"]
    assert main(argv) == 0
    return out


def test_pixel_training_writes_a_policy_that_reads_its_cameras(pixel_run):
    summary = json.loads((pixel_run / "summary.json").read_text())
    assert summary["config"]["obs"] == "pixels" and summary["eval"]["episodes"] == 8
    result = ppo.load(pixel_run / "checkpoint.msgpack")
    assert result.config.cameras == ("front", "wrist") and result.config.image_size == 32
    assert len(result.history["env_steps"]) == 2 and np.isfinite(result.history["steps_per_s"]).all()
    # The actor's action depends on what each camera shows (and is in the action range).
    features, act = ppo._actor(result)
    rng = np.random.default_rng(0)
    proprio = features.proprio(np.zeros((4, 6), np.float32))
    images = {c: rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8) for c in ("front", "wrist")}
    base = np.asarray(act({"proprio": proprio, "pixels": images}))
    assert base.shape == (4, 6) and np.abs(base).max() <= 1.0
    for camera in ("front", "wrist"):
        changed = images | {camera: np.zeros_like(images[camera])}
        assert np.abs(np.asarray(act({"proprio": proprio, "pixels": changed})) - base).max() > 1e-6, camera


def test_pixel_policy_drives_the_gym_adapter_as_in_the_jit(pixel_run):
    """numpy pixels_agent_pos in, numpy radians out: the same actions the jitted policy takes
    on the adapter's own device state."""
    import jax

    from mjx_lerobot.lerobot.gym_env import SO101VectorEnv
    from mjx_lerobot.sim.scene import action_to_ctrl

    result = ppo.load(pixel_run / "checkpoint.msgpack")
    policy = ppo.gym_policy(result)
    jitted = jax.jit(ppo.make_policy(result))
    env = SO101VectorEnv(4, "reach", **ppo.gym_env_kwargs(result.config))
    obs, _ = env.reset(seed=7)
    assert obs["pixels"]["front"].shape == (4, 32, 32, 3) and obs["pixels"]["front"].dtype == np.uint8
    for _ in range(10):
        action = policy(obs)
        assert action.shape == (4, 6) and action.dtype == np.float32
        expected = np.asarray(action_to_ctrl(env.env.scene, jitted(env.state, jax.random.key(0))))
        np.testing.assert_allclose(action, expected, atol=1e-5)
        obs, *_ = env.step(action)
    with pytest.raises(ValueError, match=r"pixels\['front'\] is uint8 \(4, 16, 16, 3\)"):
        policy(obs | {"pixels": obs["pixels"] | {"front": obs["pixels"]["front"][:, :16, :16]}})
    with pytest.raises(ValueError, match="pixels must hold cameras"):
        policy(obs | {"pixels": {"front": obs["pixels"]["front"]}})
    env.close()


def test_bad_pixel_configs_fail_clearly():
    with pytest.raises(ValueError, match="use impl='warp'"):
        ppo.default_config("reach", obs="pixels", impl="c")
    with pytest.raises(ValueError, match="obs must be one of"):
        ppo.default_config("reach", obs="rgb")
    with pytest.raises(ValueError, match="image_size"):
        ppo.default_config("reach", obs="pixels", image_size=8)
