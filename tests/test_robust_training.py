"""Training under randomization: the critic sees the draws and the actor does not, the actor's
action history holds what it commanded, and the curriculum widens the ranges only when training
success holds, without recompiling."""

from __future__ import annotations

import json
import subprocess
import sys

import jax
import jax.numpy as jp
import numpy as np
import pytest

import mjx_lerobot
from mjx_lerobot.rl import domain, ppo
from mjx_lerobot.rl.networks import example_inputs
from mjx_lerobot.rl.train import Trainer
from mjx_lerobot.sim.randomize import nominal_ranges
from mjx_lerobot.sim.scene import ctrl_to_action

pytestmark = pytest.mark.slow  # each test compiles a training step or an env on impl="c"


@pytest.fixture(scope="module")
def trainer() -> Trainer:
    config = ppo.default_config(
        "reach", num_envs=8, impl="c", randomize=True, curriculum=True, unroll_length=4, num_minibatches=2,
        updates_per_chunk=1, total_steps=64,
    )  # fmt: skip
    return Trainer(config)


def test_the_critic_reads_the_draws_and_the_actor_does_not(trainer):
    runner = trainer.init(0)
    state = runner.env_state
    extra = trainer.domain_inputs(state)
    assert extra["privileged"].shape == (8, len(trainer.env.targets.value_names()))
    assert extra["history"].shape == (8, 6 * trainer.history) and trainer.history == 3  # latency is randomized

    inputs = {"state": trainer.features.from_obs(state.obs)} | extra
    other = inputs | {"privileged": inputs["privileged"] + 1.0}
    mean, _, value = trainer.network.apply(runner.params, inputs)
    mean_other, _, value_other = trainer.network.apply(runner.params, other)
    np.testing.assert_array_equal(mean, mean_other)  # the actor never reads the draws
    assert np.abs(np.asarray(value - value_other)).min() > 0  # the critic does
    # ... and the history reaches the actor.
    moved = trainer.network.apply(runner.params, inputs | {"history": inputs["history"] + 0.5})[0]
    assert np.abs(np.asarray(moved - mean)).max() > 0


def test_privileged_values_are_centred_and_scaled_by_the_training_ranges(trainer):
    state = trainer.env.reset(jax.random.key(1), ranges=nominal_ranges())
    values = np.asarray(domain.privileged(trainer.env.targets, state, trainer.bounds))
    names = trainer.env.targets.value_names()
    kp = [i for i, n in enumerate(names) if n.startswith("kp.")]
    np.testing.assert_allclose(values[:, kp], 0.0, atol=1e-6)  # kp 1.0 is the centre of (0.85, 1.15)
    shifted = trainer.env.reset(jax.random.key(1), ranges=nominal_ranges().replace(kp=(1.15, 1.15)))
    np.testing.assert_allclose(np.asarray(domain.privileged(trainer.env.targets, shifted, trainer.bounds))[:, kp], 1.0,
                               atol=1e-5)  # fmt: skip


def test_the_action_history_is_what_was_commanded_and_restarts_with_each_episode():
    env = mjx_lerobot.make("reach", num_envs=2, impl="c", randomize=nominal_ranges(), episode_steps=3)
    state = env.reset(jax.random.key(0))
    start = np.asarray(ctrl_to_action(env.scene, state.data.ctrl[:, :6]))
    history = np.asarray(domain.action_history(env.scene, state, 3)).reshape(2, 3, 6)
    np.testing.assert_allclose(history, np.repeat(start[:, None], 3, axis=1), atol=1e-6)

    rng = np.random.default_rng(0)
    actions = [rng.uniform(-0.5, 0.5, (2, 6)).astype(np.float32) for _ in range(3)]
    for action in actions[:2]:
        state = env.step(state, action)
    history = np.asarray(domain.action_history(env.scene, state, 3)).reshape(2, 3, 6)
    np.testing.assert_allclose(history[:, 0], actions[1], atol=1e-5)  # newest first
    np.testing.assert_allclose(history[:, 1], actions[0], atol=1e-5)
    np.testing.assert_allclose(history[:, 2], start, atol=1e-5)

    state = env.step(state, actions[2])  # the third step ends the episode: auto-reset
    assert np.asarray(state.steps).max() == 0
    fresh = np.asarray(ctrl_to_action(env.scene, state.data.ctrl[:, :6]))
    history = np.asarray(domain.action_history(env.scene, state, 3)).reshape(2, 3, 6)
    np.testing.assert_allclose(history, np.repeat(fresh[:, None], 3, axis=1), atol=1e-6)


def test_the_curriculum_widens_only_when_success_holds_and_never_recompiles(trainer):
    assert domain.next_scale(0.3, 0.39, threshold=0.4, step=0.1) == 0.3
    assert domain.next_scale(0.3, float("nan"), threshold=0.4, step=0.1) == 0.3
    assert domain.next_scale(0.3, 0.4, threshold=0.4, step=0.1) == pytest.approx(0.4)
    assert domain.next_scale(0.95, 1.0, threshold=0.4, step=0.1) == 1.0

    runner = trainer.init(0)
    kp = np.asarray(runner.env_state.domain.ranges.kp)
    np.testing.assert_allclose(kp, 1.0)  # a curriculum starts on the nominal model
    runner, _ = trainer.train_chunk(runner)
    compiled = trainer.train_chunk._cache_size()
    runner = trainer.set_range_scale(runner, jp.float32(0.5))
    np.testing.assert_allclose(np.asarray(runner.env_state.domain.ranges.kp), [[0.925, 1.075]] * 8, atol=1e-6)
    np.testing.assert_allclose(np.asarray(runner.env_state.domain.ranges.latency), [[0, 1]] * 8)  # 0.5 rounds up
    for _ in range(3):  # episodes of reach end within these steps: new draws from the wider ranges
        runner, _ = trainer.train_chunk(runner)
    assert trainer.train_chunk._cache_size() == compiled
    drawn = np.asarray(runner.env_state.domain.values.kp)
    assert (drawn >= 0.925 - 1e-6).all() and (drawn <= 1.075 + 1e-6).all()


def test_example_inputs_match_what_training_feeds(trainer):
    inputs = example_inputs(trainer.config, trainer.features, trainer.history, len(trainer.bounds[0]))
    assert inputs["history"].shape[1] == 6 * trainer.history and inputs["privileged"].shape[1] == len(trainer.bounds[0])


def test_train_randomize_curriculum_writes_its_summary_and_schedule(tmp_path):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "mjx_lerobot.apps.cli", "train", "--task", "reach", "--num-envs", "16",
           "--steps", "8192", "--impl", "c", "--randomize", "--curriculum", "--eval-episodes", "8", "--out", str(out),
           "--set", "unroll_length=8", "--set", "updates_per_chunk=2", "--set", "curriculum_threshold=0.0"]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["curriculum"] and summary["config"]["action_history"] == 3
    schedule = summary["curriculum"]["schedule"]
    # Threshold 0: every chunk widens, so the schedule climbs one step a chunk from nominal.
    step = summary["curriculum"]["step"]
    assert [row["range_scale"] for row in schedule] == pytest.approx([step * i for i in range(len(schedule))])
    assert (out / "checkpoint.msgpack").is_file() and "eval" in summary


def mean_action_jumps(trainer: Trainer, runner, steps: int = 12) -> float:
    """Mean over instances and steps of |mean(s_t+1) - mean(s_t)|^2 summed over joints, along
    the trained actor's own deterministic rollout."""
    env, state = trainer.env, runner.env_state
    means = []
    for _ in range(steps):
        inputs = runner.normalizer.inputs({"state": trainer.features.from_obs(state.obs)}, trainer.features)
        mean = trainer.network.apply(runner.params, inputs)[0]
        means.append(np.asarray(mean))
        state = env.step_fn(state, jp.clip(mean, -1.0, 1.0))
    return float(np.mean(np.sum(np.diff(np.stack(means), axis=0) ** 2, axis=-1)))


def test_the_smoothness_loss_makes_the_actor_change_its_targets_less_from_step_to_step():
    """The same seed and updates with and without `smoothness`: the smoothed actor's targets
    jump less between consecutive steps of its own rollout (CAPS' temporal term)."""
    jumps = {}
    for weight in (0.0, 50.0):
        config = ppo.default_config(
            "reach", num_envs=16, impl="c", unroll_length=8, num_minibatches=2, updates_per_chunk=10,
            total_steps=16 * 8 * 10, smoothness=weight,
        )  # fmt: skip
        trainer = Trainer(config)
        runner, metrics = trainer.train_chunk(trainer.init(0))
        if weight:
            assert np.isfinite(np.asarray(metrics["action_jump"])).all()
        jumps[weight] = mean_action_jumps(trainer, runner)
    assert jumps[50.0] < 0.8 * jumps[0.0], jumps  # measured 0.59x after these 10 updates
