"""Cost of the Gymnasium adapter over the raw jitted step, side by side in one run.

    python benchmarks/adapter_overhead.py --task lift_cube --num-envs 256,1024 --impl warp

Raw: `Env.step` on device arrays, timed two ways: pipelined (steps dispatched back to back,
one wait at the end: what a jitted training loop pays) and synced (a wait after every step,
as any caller that needs numpy back pays). The overhead is the adapter over the synced raw step.
Adapter: `SO101VectorEnv.step` with numpy actions in and numpy observations, rewards and
infos out (what Gymnasium and LeRobot users pay). Both step the same batch from the same
state; rounds alternate between the two so machine noise hits both alike.
Writes benchmarks/results/adapter_overhead_<device>.json.
"""

import argparse

from backends import write_report

from mjx_lerobot.bench.suite import measure_adapter


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
            row = measure_adapter(args.task, args.impl, num_envs, args.steps, args.rounds, mode)
            results.append(row)
            print(
                f"{row['impl']:5s} N={num_envs:6d} {mode:9s} raw {row['raw_step_ms']:9.3f} / synced "
                f"{row['raw_synced_step_ms']:9.3f} ms/step  "
                f"adapter {row['adapter_step_ms']:9.3f} ms/step  overhead {row['overhead_pct']:+.1f}%",
                flush=True,
            )
    write_report("adapter_overhead", results, args.out)


if __name__ == "__main__":
    main()
