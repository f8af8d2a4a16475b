"""A trained policy (`TrainResult`) and its files: the msgpack checkpoint and the learning curve."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import flax.serialization
import jax
import jax.numpy as jp
import numpy as np

from mjx_lerobot.rl.config import PPOConfig
from mjx_lerobot.rl.networks import Normalizer

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Every checkpoint carries this tag: changing it would make the existing ones unreadable.
FORMAT = "mjx_lerobot.rl.ppo/1"


@dataclasses.dataclass
class TrainResult:
    """A trained policy: what `make_policy`, `gym_policy`, `evaluate` and `save` take."""

    config: PPOConfig
    params: Any
    normalizer: Normalizer
    history: dict[str, list[float]]


def save(result: TrainResult, path: str | Path) -> Path:
    """Write params, normalizer, config and history to one msgpack file (atomically)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blob = {
        "format": FORMAT,
        "config": json.dumps(dataclasses.asdict(result.config)),
        "history": json.dumps(result.history),
        "params": jax.device_get(result.params),
        "normalizer": jax.device_get(dataclasses.asdict(result.normalizer)),
    }
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(flax.serialization.msgpack_serialize(blob))
    tmp.replace(path)  # a crash mid-write never leaves a half checkpoint
    return path


def load(path: str | Path) -> TrainResult:
    """Read a checkpoint written by `save` (or `mjx-lerobot train`)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        blob = flax.serialization.msgpack_restore(path.read_bytes())
    except Exception as err:  # msgpack's own errors for any other file: say what it is not
        raise ValueError(f"{path} is not an mjx_lerobot PPO checkpoint ({type(err).__name__})") from err
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise ValueError(f"{path} is not an mjx_lerobot PPO checkpoint")
    # JSON made the tuples lists; checkpoints from before a field existed take its default.
    config = {k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(blob["config"]).items()}
    return TrainResult(
        config=PPOConfig(**config),
        params=jax.tree.map(jp.asarray, blob["params"]),
        normalizer=Normalizer(**{k: jp.asarray(v) for k, v in blob["normalizer"].items()}),
        history=json.loads(blob["history"]),
    )


def plot_history(history: dict[str, list[float]], path: str | Path | None = None, title: str = "") -> Figure:
    """Learning curve: episode return and success rate against env steps (and wall time)."""
    import matplotlib

    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.asarray(history["env_steps"], float)
    fig, (ax_ret, ax_succ) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax_ret.plot(steps, history["episode_return"])
    ax_ret.set(xlabel="env steps", ylabel="episode return", title=f"{title} return".strip())
    ax_succ.plot(steps, 100 * np.asarray(history["success_rate"], float))
    ax_succ.set(xlabel="env steps", ylabel="success %", ylim=(-2, 102), title=f"{title} success".strip())
    if history["wall_s"]:
        fig.suptitle(f"{steps[-1]:,.0f} env steps in {history['wall_s'][-1] / 60:.1f} min", fontsize=9)
    for ax in (ax_ret, ax_succ):
        ax.grid(alpha=0.3)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig
