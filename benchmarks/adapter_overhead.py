"""Cost of the Gymnasium adapter over the raw jitted step, side by side in one run.

    python benchmarks/adapter_overhead.py --task lift_cube --num-envs 256,1024 --impl warp

Raw: `Env.step` on device arrays, waiting for the result (what a JAX training loop pays).
Adapter: `SO101VectorEnv.step` with numpy actions in and numpy observations, rewards and
infos out (what Gymnasium and LeRobot users pay). Both step the same batch from the same
state; rounds alternate between the two so machine noise hits both alike.
Writes benchmarks/results/adapter_overhead_<device>.json.
"""

import argparse
import time

import jax
import numpy as np
from backends import write_report

from mjx_lerobot.gym_env import SO101VectorEnv


def measure(task: str, impl: str, num_envs: int, steps: int, rounds: int, autoreset_mode: str) -> dict:
    gym_env = SO101VectorEnv(
        num_envs, task, impl=impl, obs_type="environment_state_agent_pos", autoreset_mode=autoreset_mode
    )
    env = gym_env.env
    obs, _ = gym_env.reset(seed=0)
    action = obs["agent_pos"]  # hold still: no episode ends, so both time the same work
    raw_action = jax.device_put(gym_env._to_core_action(action))
    state = env.step(gym_env.state, raw_action)  # compile both paths before timing
    gym_env.step(action)
    raw_s, adapter_s = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(steps):
            state = env.step(state, raw_action)
        jax.block_until_ready(state)
        raw_s.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for _ in range(steps):
            gym_env.step(action)
        adapter_s.append(time.perf_counter() - t0)
    mode = gym_env.autoreset_mode.value
    gym_env.close()
    raw, adapter = float(np.median(raw_s)) / steps, float(np.median(adapter_s)) / steps
    return {
        "task": task,
        "impl": env.impl,
        "num_envs": num_envs,
        "autoreset_mode": mode,
        "raw_step_ms": round(raw * 1e3, 3),
        "adapter_step_ms": round(adapter * 1e3, 3),
        "overhead_pct": round(100 * (adapter / raw - 1), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="lift_cube")
    parser.add_argument("--num-envs", default="256,1024")
    parser.add_argument("--impl", default="warp")
    parser.add_argument("--autoreset-modes", default="NextStep,SameStep")
    parser.add_argument("--steps", type=int, default=10, help="steps per timed round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    results = []
    for num_envs in [int(n) for n in args.num_envs.split(",")]:
        for mode in args.autoreset_modes.split(","):
            row = measure(args.task, args.impl, num_envs, args.steps, args.rounds, mode)
            results.append(row)
            print(
                f"{row['impl']:5s} N={num_envs:6d} {mode:9s} raw {row['raw_step_ms']:9.2f} ms/step  "
                f"adapter {row['adapter_step_ms']:9.2f} ms/step  overhead {row['overhead_pct']:+.1f}%",
                flush=True,
            )
    write_report("adapter_overhead", results, args.out)


if __name__ == "__main__":
    main()
