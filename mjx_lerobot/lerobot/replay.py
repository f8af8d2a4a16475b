"""Replay of a recorded episode: load its columns, re-simulate it from its first state and its
executed actions, and compare with what was recorded.

    mjx-lerobot replay --root data/lift --episode 3 --video ep3.mp4
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jp
import numpy as np

from mjx_lerobot.lerobot.dataset import SIM_STATE, require_lerobot, unflat_info
from mjx_lerobot.lerobot.durable import META_FILE
from mjx_lerobot.lerobot.units import JointUnits
from mjx_lerobot.sim.env import Env
from mjx_lerobot.sim.task import EnvState, seed_keys


def load_episode(root: str | Path, episode: int, repo_id: str | None = None) -> tuple[dict, dict]:
    """(recording settings, {column: [T, ...] numpy}) of one recorded episode, videos not decoded."""
    require_lerobot()
    from lerobot.datasets.lerobot_dataset import LeRobotDataset, LeRobotDatasetMetadata

    root = Path(root)
    meta_path = root / META_FILE
    if not meta_path.exists():
        raise ValueError(f"{root} was not recorded by mjx-lerobot (no {META_FILE})")
    meta = json.loads(meta_path.read_text())
    repo_id = repo_id or meta["config"]["repo_id"]
    total = LeRobotDatasetMetadata(repo_id, root=root).total_episodes
    if not 0 <= episode < total:
        raise ValueError(f"episode {episode} is not in {root} (it has episodes 0..{total - 1})")
    dataset = LeRobotDataset(repo_id, root=root, episodes=[episode])
    table = dataset.hf_dataset.with_format(None).with_format("numpy")
    columns = [c for c in dataset.features if c.startswith(("sim.", "observation.state", "action", "next."))]
    # [T, size] each; LeRobot stores one-element features as scalars, hence the reshape.
    episode_data = {c: np.asarray(table[c]).reshape(len(table), -1) for c in columns}
    return meta, episode_data


def replay(
    root: str | Path, episode: int, video: str | None = None, impl: str | None = None, renderer: str = "auto"
) -> dict:
    """Re-simulate a recorded episode from its first state and its executed actions; report the
    largest deviation from the recorded states. `video`: also write the replay there, drawn by
    `renderer` (`render.episode_frames`)."""
    from mjx_lerobot.sim.registry import make
    from mjx_lerobot.sim.render import episode_video, video_geom_groups

    meta, ep = load_episode(root, episode)
    config = meta["config"]
    randomized = config.get("randomize", False)
    env = make(config["task"], num_envs=1, impl=impl or config["impl"], randomize=randomized)
    units = JointUnits("degrees", env.scene.ctrl_low, env.scene.ctrl_high)
    first = {k: ep[f"sim.{k}"][0] for k in SIM_STATE}
    # The seed's reset also restores the key that the episode's action and sensor noise came from.
    state = env.reset_instances(seed_keys([int(ep["sim.seed"][0, 0])]))
    state = restore(env, state, first, ep["sim.time"][0], ep["sim.info"][0])
    if randomized:  # the episode's physics, exactly as recorded
        state = state.replace(domain=state.domain.replace(values=env.targets.unflat(ep["sim.randomization"][:1])))
    actions = jp.asarray(ep["sim.action"][:, None, :])

    @jax.jit
    def run(state, actions):
        def body(state, action):
            nxt = env.advance_fn(state, action)
            return nxt, (nxt.data.qpos[0], nxt.obs["joint_pos"][0], nxt.success[0])

        return jax.lax.scan(body, state, actions)

    _, (qpos, joint_pos, success) = run(state, actions)
    qpos, joint_pos = np.asarray(qpos), np.asarray(joint_pos)
    # Frame t holds the state before action t; the replayed state after action t is frame t+1's.
    recorded_qpos = ep["sim.qpos"][1:]
    recorded_deg = ep["observation.state"][1:]
    qpos_dev = np.abs(qpos[:-1] - recorded_qpos).max(initial=0.0)
    deg_dev = np.abs(units.from_radians(joint_pos[:-1]) - recorded_deg).max(initial=0.0)
    result = {
        "episode": episode,
        "task": config["task"],
        "impl": env.impl,
        "recorded_impl": config["impl"],
        "frames": len(actions),
        "max_qpos_deviation": float(qpos_dev),
        "max_state_deviation_deg": float(deg_dev),
        "recorded_success": bool(ep["next.success"][-1, 0]),
        "replayed_success": bool(np.asarray(success)[-1]),
    }
    if video:
        # The initial state, then the state after each replayed action (mocap targets don't move).
        states = np.concatenate([ep["sim.qpos"][:1], qpos])
        mocap = np.concatenate([ep["sim.mocap_pos"], ep["sim.mocap_pos"][-1:]])
        size = dict(height=config["height"], width=config["width"], geom_groups=video_geom_groups(env.task))
        size["renderer"] = renderer
        if randomized:  # the episode's own colours, lights and cameras
            fields = jax.vmap(env.targets.render_fields)(state.domain.values)
            size["model_fields"] = jax.tree.map(lambda v: np.asarray(v[0]), fields)
        result["video"] = str(episode_video(env.scene, states, mocap, video, round(1.0 / env.ctrl_dt), **size))
    return result


def restore(env: Env, state: EnvState, sim: dict[str, np.ndarray], sim_time: Any, info: np.ndarray) -> EnvState:
    """`state` (a batch of 1) set to a recorded simulator state, observations recomputed."""

    data = state.data.replace(
        qpos=jp.asarray(sim["qpos"])[None],
        qvel=jp.asarray(sim["qvel"])[None],
        ctrl=jp.asarray(sim["ctrl"])[None],
        mocap_pos=jp.asarray(sim["mocap_pos"]).reshape(state.data.mocap_pos.shape),
        mocap_quat=jp.asarray(sim["mocap_quat"]).reshape(state.data.mocap_quat.shape),
        time=jp.asarray(sim_time, state.data.time.dtype).reshape(state.data.time.shape),
    )
    info_tree = unflat_info(env, np.asarray(info))
    # Kinematics normalizes the free joints' quaternions in qpos; the recorded ones were
    # normalized already, and a second pass can move them by an ulp: keep them as recorded.
    data = jax.vmap(lambda d: env.scene.kinematics(env.scene.mjx_model, d))(data).replace(qpos=data.qpos)
    obs = jax.vmap(lambda d, i, p: env.task.observe(env.scene, p, d, i))(data, info_tree, state.params)
    return state.replace(data=data, info=info_tree, obs=obs)
