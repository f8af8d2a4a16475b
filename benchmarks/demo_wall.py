"""Wall time of README's first command, `mjx-lerobot demo --num-envs 256`, as a new user meets
it: once with an empty compilation cache (a fresh machine), then again with the cache it left.

Each run is a fresh process (imports, scene build, compile, the rollout, the video), timed from
outside; the demo's own JSON gives the breakdown.

    python benchmarks/demo_wall.py [--num-envs 256] [--runs 2] [--out benchmarks/results/demo_<device>.json]

The demo runs from whichever `mjx_lerobot` the interpreter imports: to time another version
beside this one, put its checkout first with PYTHONPATH (and say so with --note).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mjx_lerobot.report import device_tag, machine_info


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-envs", type=int, default=256)
    parser.add_argument("--runs", type=int, default=2, help="the first is cold, the rest warm")
    parser.add_argument("--out", default=None, help="JSON path (default benchmarks/results/demo_<device>.json)")
    parser.add_argument("--note", default="", help="stored with the results, e.g. which code ran")
    args = parser.parse_args()
    demo = [sys.executable, "-m", "mjx_lerobot.apps.cli", "demo", "--num-envs", str(args.num_envs), "--json"]
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        # An empty cache of our own; Warp's kernel cache is not touched (impl c on a CPU).
        env = os.environ | {"MJX_LEROBOT_CACHE": str(Path(scratch) / "cache")}
        for run in range(args.runs):
            t0 = time.perf_counter()
            done = subprocess.run(demo, cwd=scratch, env=env, capture_output=True, text=True, check=False)
            wall_s = time.perf_counter() - t0
            if done.returncode:
                raise SystemExit(f"demo failed:\n{done.stderr[-3000:]}")
            result = json.loads(done.stdout)
            cache = "cold" if run == 0 else "warm"
            rows.append({"cache": cache, "wall_s": round(wall_s, 2)} | result)
            other = wall_s - result["compile_s"] - result["run_s"] - result.get("video_s", 0.0)
            print(f"{cache}: {wall_s:5.1f} s wall = compile {result['compile_s']:.1f} + rollout {result['run_s']:.1f}"
                  f" + video {result.get('video_s', 0.0):.1f} + start-up and the rest {other:.1f}"
                  f" (success {result['success_rate']:.0%}, impl {result['impl']})")
    out = Path(args.out or Path(__file__).parent / "results" / f"demo_{device_tag()}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    report = machine_info() | {"command": " ".join(demo[2:]), "note": args.note, "runs": rows}
    out.write_text(json.dumps(report, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
