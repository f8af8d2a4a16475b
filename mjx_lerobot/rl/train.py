"""Training: collection, advantages and updates on thousands of SO-101 instances in one jitted function.

One PPO update is `Trainer.update`, read top to bottom: `lax.scan` the batched env for
`unroll_length` control steps (auto-reset inside the env), compute GAE, then `update_epochs`
passes of minibatch Adam steps. `train` jits `lax.scan(update, ...)` over a chunk of updates
and only returns to Python between chunks, for the progress bar, checkpoints and the curve.

Actions are the env's own: absolute joint targets in [-1, 1], a diagonal Gaussian around the
actor's mean, clipped at the env boundary. Training does not end episodes on success (a
positive reward stream that success cuts short teaches the policy to avoid success);
evaluation does, as users and LeRobot's eval count it.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jp
import optax
from flax import struct

from mjx_lerobot.rl import domain
from mjx_lerobot.rl.checkpoint import TrainResult, plot_history, save
from mjx_lerobot.rl.config import PPOConfig
from mjx_lerobot.rl.networks import Features, Normalizer, example_inputs, gaussian_log_prob, make_network, policy_inputs
from mjx_lerobot.rl.policy import evaluate, make_env
from mjx_lerobot.sim.env import select_instances
from mjx_lerobot.sim.registry import load_task
from mjx_lerobot.sim.task import EnvState


@struct.dataclass
class EpisodeStats:
    """Running per-instance sums, and the totals of episodes that ended during an update."""

    running_return: jax.Array  # [N]
    running_success: jax.Array  # [N] bool, succeeded at some step of the current episode
    ended: jax.Array  # () episodes that ended
    return_sum: jax.Array  # () their summed return
    success_sum: jax.Array  # () how many of them succeeded


@struct.dataclass
class Runner:
    """Everything that changes from one update to the next (the jitted loop's carry)."""

    params: Any
    opt_state: Any
    normalizer: Normalizer
    env_state: EnvState
    stats: EpisodeStats
    key: jax.Array


class Trainer:
    """Builds the env, network and the jitted `train_chunk` for one config."""

    def __init__(self, config: PPOConfig):
        self.config = config
        task = dataclasses.replace(load_task(config.task), terminate_on_success=False)
        self.env = make_env(config, task, config.num_envs, config.impl, config.randomize)
        self.features = Features(config.task)
        self.network = make_network(config, self.env.scene, self.features)
        # Under randomization: the actor's own last actions, the critic's view of the draws.
        self.history = config.action_history or 0
        privileged = config.randomize and config.privileged_critic
        self.bounds = domain.value_bounds(self.env.targets, self.env.ranges) if privileged else None
        self.set_range_scale = jax.jit(
            lambda runner, scale: runner.replace(
                env_state=domain.with_ranges(runner.env_state, domain.widen(self.env.ranges, scale))
            )
        )
        self.optimizer = optax.chain(
            optax.clip_by_global_norm(config.max_grad_norm), optax.adam(config.learning_rate, eps=1e-5)
        )
        self.train_chunk = jax.jit(self._train_chunk)

    def init(self, seed: int) -> Runner:
        """The starting point: fresh network, optimizer, normalizer and env batch."""
        # Jitted like train_chunk, so its outputs are placed exactly as train_chunk's are:
        # otherwise the second chunk sees differently committed arrays and compiles again.
        return jax.jit(self._init)(jax.random.key(seed))

    def _init(self, key: jax.Array) -> Runner:
        key, net_key, env_key = jax.random.split(key, 3)
        privileged = 0 if self.bounds is None else len(self.bounds[0])
        params = self.network.init(net_key, example_inputs(self.config, self.features, self.history, privileged))
        n = self.config.num_envs
        stats = EpisodeStats(
            running_return=jp.zeros(n),
            running_success=jp.zeros(n, bool),
            ended=jp.float32(0),
            return_sum=jp.float32(0),
            success_sum=jp.float32(0),
        )
        # A curriculum starts from the nominal model; without one the ranges are the env's.
        ranges = domain.widen(self.env.ranges, 0.0) if self.config.curriculum else None
        env_state = self.env.reset_fn(env_key, None, ranges)
        normalizer = Normalizer.create(self.features.dim).update(self.features.from_obs(env_state.obs))
        return Runner(params, self.optimizer.init(params), normalizer, env_state, stats, key)

    def domain_inputs(self, state: EnvState) -> dict[str, jax.Array]:
        """The inputs beyond the observation: `history` (actor and critic), `privileged` (critic)."""
        extra = {}
        if self.history:
            extra["history"] = domain.action_history(self.env.scene, state, self.history)
        if self.bounds is not None:
            extra["privileged"] = domain.privileged(self.env.targets, state, self.bounds)
        return extra

    def _train_chunk(self, runner: Runner) -> tuple[Runner, dict[str, jax.Array]]:
        return jax.lax.scan(lambda r, _: self.update(r), runner, None, length=self.config.updates_per_chunk)

    def update(self, runner: Runner) -> tuple[Runner, dict[str, jax.Array]]:
        """One PPO update: collect, advantages, `update_epochs` x `num_minibatches` Adam steps."""
        cfg, env, features, network = self.config, self.env, self.features, self.network
        inputs_of = functools.partial(policy_inputs, cfg, features)

        # 1. Collect unroll_length steps of every instance; the env auto-resets inside.
        def env_step(carry: tuple[EnvState, EpisodeStats, jax.Array], _):
            state, stats, key = carry
            key, act_key = jax.random.split(key)
            extra = self.domain_inputs(state)
            obs = inputs_of(state.obs) | extra
            mean, log_std, value = network.apply(runner.params, runner.normalizer.inputs(obs, features))
            action = mean + jp.exp(log_std) * jax.random.normal(act_key, mean.shape)
            nxt = env.step_fn(state, jp.clip(action, -1.0, 1.0))
            done = nxt.terminated | nxt.truncated
            # After an episode end nxt.obs is the next episode's start; bootstrap from the
            # observation the episode ended on (kept in final_obs) instead. Only the critic
            # reads it: the state, the episode's draws (still `state`'s) and the history with
            # this action pushed (the env's fresh delay line belongs to the next episode).
            end_obs = features.from_obs(select_instances(done, nxt.final_obs, nxt.obs))
            end_extra = dict(extra)
            if self.history:
                end_extra["history"] = jp.concatenate([jp.clip(action, -1.0, 1.0), extra["history"][:, :-6]], axis=1)
            ep_return = stats.running_return + nxt.reward
            ep_success = stats.running_success | nxt.success
            stats = EpisodeStats(
                running_return=jp.where(done, 0.0, ep_return),
                running_success=ep_success & ~done,
                ended=stats.ended + done.sum(),
                return_sum=stats.return_sum + jp.where(done, ep_return, 0.0).sum(),
                success_sum=stats.success_sum + (ep_success & done).sum(),
            )
            step = dict(
                obs=obs,
                action=action,
                log_prob=gaussian_log_prob(action, mean, log_std),
                value=value,
                reward=nxt.reward * cfg.reward_scale,
                terminated=nxt.terminated,
                done=done,
                end_obs=end_obs,
                end_extra=end_extra,
            )
            return (nxt, stats, key), step

        key, rollout_key, shuffle_key = jax.random.split(runner.key, 3)
        zero = jp.float32(0)
        stats = runner.stats.replace(ended=zero, return_sum=zero, success_sum=zero)
        (env_state, stats, _), traj = jax.lax.scan(
            env_step, (runner.env_state, stats, rollout_key), None, length=cfg.unroll_length
        )

        # 2. Generalized advantage estimation, backwards in time. Truncation is not an end
        # of the task: the value of where the episode stopped is bootstrapped.
        end_inputs = {"state": runner.normalizer(traj["end_obs"])} | traj["end_extra"]
        end_value = network.apply(runner.params, end_inputs, method="value")
        next_value = jp.where(traj["terminated"], 0.0, end_value)

        def gae_step(advantage: jax.Array, t: dict[str, jax.Array]):
            delta = t["reward"] + cfg.gamma * t["next_value"] - t["value"]
            advantage = delta + cfg.gamma * cfg.gae_lambda * (1.0 - t["done"]) * advantage
            return advantage, advantage

        gae_in = dict(reward=traj["reward"], next_value=next_value, value=traj["value"], done=traj["done"])
        _, advantages = jax.lax.scan(gae_step, jp.zeros(cfg.num_envs), gae_in, reverse=True)
        returns = advantages + traj["value"]

        # 3. Minibatch updates on the flattened [T * N] batch.
        batch = dict(
            obs=runner.normalizer.inputs(traj["obs"], features),
            action=traj["action"],
            log_prob=traj["log_prob"],
            advantage=advantages,
            returns=returns,
        )
        if cfg.smoothness:  # each step's next observation, where the episode goes on
            last = inputs_of(env_state.obs) | self.domain_inputs(env_state)
            following = jax.tree.map(lambda seq, end: jp.concatenate([seq[1:], end[None]]), traj["obs"], last)
            batch |= dict(next_obs=runner.normalizer.inputs(following, features), goes_on=~traj["done"])
        batch = jax.tree.map(lambda x: x.reshape((cfg.batch_size,) + x.shape[2:]), batch)

        def loss_fn(params: Any, mb: dict[str, jax.Array]):
            mean, log_std, value = network.apply(params, mb["obs"])
            ratio = jp.exp(gaussian_log_prob(mb["action"], mean, log_std) - mb["log_prob"])
            adv = (mb["advantage"] - mb["advantage"].mean()) / (mb["advantage"].std() + 1e-8)
            policy_loss = -jp.minimum(ratio * adv, jp.clip(ratio, 1 - cfg.clip_eps, 1 + cfg.clip_eps) * adv).mean()
            value_loss = 0.5 * ((value - mb["returns"]) ** 2).mean()
            entropy = jp.sum(log_std + 0.5 * math.log(2 * math.pi * math.e), axis=-1).mean()
            loss = policy_loss + cfg.value_coef * value_loss - cfg.entropy_coef * entropy
            terms = dict(policy_loss=policy_loss, value_loss=value_loss, entropy=entropy)
            if cfg.smoothness:
                next_mean, _, _ = network.apply(params, mb["next_obs"])
                jump = jp.sum((next_mean - mean) ** 2, axis=-1)
                terms["action_jump"] = jp.sum(jump * mb["goes_on"]) / jp.maximum(mb["goes_on"].sum(), 1)
                loss = loss + cfg.smoothness * terms["action_jump"]
            return loss, terms

        def minibatch_step(carry: tuple[Any, Any], mb: dict[str, jax.Array]):
            params, opt_state = carry
            grads, info = jax.grad(loss_fn, has_aux=True)(params, mb)
            updates, opt_state = self.optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), info

        def epoch(carry: tuple[Any, Any], epoch_key: jax.Array):
            order = jax.random.permutation(epoch_key, cfg.batch_size)
            minibatches = jax.tree.map(lambda x: x[order].reshape((cfg.num_minibatches, -1) + x.shape[1:]), batch)
            return jax.lax.scan(minibatch_step, carry, minibatches)

        (params, opt_state), losses = jax.lax.scan(
            epoch, (runner.params, runner.opt_state), jax.random.split(shuffle_key, cfg.update_epochs)
        )
        # Normalizer statistics follow the data, after the update that used the old ones.
        normalizer = runner.normalizer.update(traj["obs"]["state"])

        metrics = jax.tree.map(jp.mean, losses) | dict(
            episodes=stats.ended,
            return_sum=stats.return_sum,
            success_sum=stats.success_sum,
            reward=traj["reward"].mean() / cfg.reward_scale,
            action_std=jp.exp(params["params"]["log_std"]).mean(),
            faults=(env_state.fault != 0).sum(),
        )
        return Runner(params, opt_state, normalizer, env_state, stats, key), metrics


def train(
    config: PPOConfig,
    seed: int = 0,
    progress: bool = True,
    out_dir: str | Path | None = None,
    max_minutes: float | None = None,
    log: Callable[[dict], None] | None = None,
) -> TrainResult:
    """Train `config`; checkpoint, history and learning curve go to `out_dir` after every chunk.

    Stops early, with what it has, after `max_minutes`. `history` holds one row per chunk:
    env steps, wall seconds (compile included), mean return and success rate of the episodes
    that ended in that chunk, env steps/s.
    """
    from tqdm.auto import tqdm

    t_start = time.perf_counter()
    trainer = Trainer(config)
    runner = trainer.init(seed)
    history: dict[str, list[float]] = {k: [] for k in ("env_steps", "wall_s", "episode_return", "success_rate")}
    history["steps_per_s"] = []
    if config.curriculum:
        history["range_scale"] = []  # the scale the chunk trained under (rl/domain.py)
    range_scale = 0.0
    chunks = math.ceil(config.num_updates / config.updates_per_chunk)
    steps_per_chunk = config.batch_size * config.updates_per_chunk
    result = TrainResult(config, runner.params, runner.normalizer, history)
    bar = tqdm(total=chunks * steps_per_chunk, unit="step", unit_scale=True, disable=not progress, desc=config.task)
    last_return = math.nan
    for chunk in range(chunks):
        t0 = time.perf_counter()
        runner, metrics = trainer.train_chunk(runner)
        metrics = jax.device_get(metrics)
        chunk_s = time.perf_counter() - t0
        episodes = float(metrics["episodes"].sum())
        if episodes:
            last_return = float(metrics["return_sum"].sum() / episodes)
        row = dict(
            env_steps=(chunk + 1) * steps_per_chunk,
            wall_s=time.perf_counter() - t_start,
            episode_return=last_return,
            success_rate=float(metrics["success_sum"].sum() / episodes) if episodes else math.nan,
            steps_per_s=steps_per_chunk / chunk_s,
        )
        if config.curriculum:
            row["range_scale"] = range_scale
            wider = domain.next_scale(
                range_scale, row["success_rate"], config.curriculum_threshold, config.curriculum_step
            )
            if wider != range_scale:  # traced ranges in the state: the next chunk does not recompile
                range_scale = wider
                runner = trainer.set_range_scale(runner, jp.float32(range_scale))
        for k, v in row.items():
            history[k].append(v)
        bar.update(steps_per_chunk)
        bar.set_postfix(
            ret=f"{row['episode_return']:.1f}",
            success=f"{row['success_rate']:.0%}",
            sps=f"{row['steps_per_s']:,.0f}",
            std=f"{float(metrics['action_std'][-1]):.2f}",
            **({"ranges": f"{range_scale:.1f}"} if config.curriculum else {}),
        )
        if log is not None:
            log(row | dict(action_std=float(metrics["action_std"][-1]), faults=int(metrics["faults"].max())))
        result = TrainResult(config, runner.params, runner.normalizer, history)
        if out_dir is not None:
            save(result, Path(out_dir) / "checkpoint.msgpack")
        if max_minutes is not None and time.perf_counter() - t_start > 60 * max_minutes:
            bar.write(f"stopping after {row['wall_s'] / 60:.1f} min (--max-minutes {max_minutes})")
            break
    bar.close()
    if out_dir is not None:
        plot_history(history, Path(out_dir) / "curve.png", title=config.task)
    return result


def run(
    config: PPOConfig,
    seed: int = 0,
    out_dir: str | Path | None = None,
    max_minutes: float | None = None,
    eval_episodes: int = 1000,
    progress: bool = True,
) -> dict:
    """`mjx-lerobot train`: train, evaluate on `eval_episodes` seeded episodes the training never
    saw, and write checkpoint.msgpack, curve.png and summary.json to `out_dir`; returns the summary."""
    from mjx_lerobot.report import machine_info

    out = Path(out_dir or f"runs/{config.task}")
    result = train(config, seed=seed, out_dir=out, max_minutes=max_minutes, progress=progress)
    history = result.history
    summary = machine_info() | {
        "task": config.task,
        "config": dataclasses.asdict(config),
        "seed": seed,
        "env_steps": history["env_steps"][-1],
        "train_wall_s": round(history["wall_s"][-1], 1),
        "final_train_return": history["episode_return"][-1],
        "final_train_success_rate": history["success_rate"][-1],
        # Wall time (compile included) until the training episodes first reached each rate.
        "minutes_to_train_success": {f"{rate:.0%}": minutes_to(history, rate) for rate in (0.5, 0.8, 0.95)},
        "checkpoint": str(out / "checkpoint.msgpack"),
        "curve": str(out / "curve.png"),
    }
    if config.curriculum:  # the schedule it followed: where each widening took effect
        scales = history["range_scale"]
        summary["curriculum"] = {
            "threshold": config.curriculum_threshold,
            "step": config.curriculum_step,
            "final_scale": scales[-1] if scales else 0.0,
            "schedule": [
                {"env_steps": steps, "range_scale": scale}
                for i, (steps, scale) in enumerate(zip(history["env_steps"], scales, strict=True))
                if i == 0 or scale != scales[i - 1]
            ],
        }
    if eval_episodes:
        summary["eval"] = evaluate(result, num_episodes=eval_episodes, impl=config.impl, seed=10_000 + seed)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def minutes_to(history: dict[str, list[float]], success_rate: float) -> float | None:
    """Wall minutes until the training episodes first reached `success_rate` (None: never)."""
    for wall_s, rate in zip(history["wall_s"], history["success_rate"], strict=True):
        if rate >= success_rate:
            return round(wall_s / 60, 2)
    return None
