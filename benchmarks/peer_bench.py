"""Throughput of the seed peer, LeRobotHackathonEnv (dm_control), run in the peer's own Python.

    .peer-venv/bin/python -P benchmarks/peer_bench.py --seconds 5

Prints one JSON object: env and physics steps/s for one env, and for gymnasium's
AsyncVectorEnv with one worker process per core. Imports nothing from mjx_lerobot (the peer
pins its own mujoco and dm-control), so `mjx-lerobot bench` runs this file by path as a
subprocess with that interpreter (`-P` keeps this folder off its sys.path). It imports the
peer, which is no dependency of ours, so it lives beside the other benchmark scripts rather
than in the package: the peer comparison runs from a checkout.

Its task: LeRobotGoalConditioned-v0, the SO-101 on a table with objects to place (the closest
to lift_cube it has), stepped with random actions. Its dm_control Environment is built without
a control timestep, so one env step is one physics step (of 2 ms); that number is read from
the env itself, not assumed.
"""

import argparse
import json
import os
import time

import gymnasium as gym
import lerobothackathonenv  # noqa: F401  (registers LeRobot-v0 and LeRobotGoalConditioned-v0)
import numpy as np


def make(env_id: str) -> gym.Env:
    return gym.make(env_id, disable_env_checker=True)


def physics_per_env_step(env_id: str) -> tuple[int, float]:
    env = make(env_id)
    inner = env.unwrapped.dm_control_env
    substeps, timestep = int(inner._n_sub_steps), float(inner.physics.model.opt.timestep)
    env.close()
    return substeps, timestep


def single(env_id: str, seconds: float) -> float:
    env = make(env_id)
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(256)]
    for i in range(50):  # warm-up
        env.step(actions[i])
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        env.step(actions[steps % 256])
        steps += 1
    rate = steps / (time.perf_counter() - t0)
    env.close()
    return rate


def vector(env_id: str, workers: int, seconds: float) -> float:
    envs = gym.vector.AsyncVectorEnv([lambda: make(env_id)] * workers)
    envs.reset(seed=0)
    envs.action_space.seed(0)
    actions = [envs.action_space.sample() for _ in range(64)]
    for i in range(20):
        envs.step(actions[i])
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        envs.step(actions[steps % 64])
        steps += 1
    rate = steps * workers / (time.perf_counter() - t0)
    envs.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-id", default="LeRobotGoalConditioned-v0", help="its object task (cube-like)")
    parser.add_argument("--seconds", type=float, default=5.0, help="timed seconds per mode")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="AsyncVectorEnv processes")
    args = parser.parse_args()
    substeps, timestep = physics_per_env_step(args.env_id)
    single_rate = single(args.env_id, args.seconds)
    vector_rate = vector(args.env_id, args.workers, args.seconds)
    import mujoco

    print(
        json.dumps(
            {
                "env_id": args.env_id,
                "physics_steps_per_env_step": substeps,
                "physics_timestep": timestep,
                "mujoco": mujoco.__version__,
                "numpy": np.__version__,
                "single": {"env_steps_per_s": single_rate, "physics_steps_per_s": single_rate * substeps},
                "async_vector": {
                    "workers": args.workers,
                    "env_steps_per_s": vector_rate,
                    "physics_steps_per_s": vector_rate * substeps,
                },
            }
        )
    )


if __name__ == "__main__":
    main()
