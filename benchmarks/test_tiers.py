"""Wall time of the test suite's tiers as a contributor meets them: the fast tier
(`-m "not slow"`) with an empty compilation cache, then again with the cache it left, and, with
--full, the whole suite (what CI runs) with an empty cache of its own, as on a fresh machine.

Each run is a fresh `python -m pytest` process in this checkout, timed from outside, with the
project's own settings (two xdist workers). Run it on an otherwise idle machine: the figure is
the machine's, not the suite's alone.

    python benchmarks/test_tiers.py [--full] [--out benchmarks/results/test_tiers_<device>.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mjx_lerobot.report import device_tag, machine_info

REPO = Path(__file__).resolve().parent.parent
# What the fast tier is for (docs/testing.md): a contributor's loop, in at most 3 minutes on 2 cores.
FAST_TIER_GOAL_S = 180.0


def run_tier(name: str, marker: str | None, cache: str, env: dict) -> dict:
    """One pytest process over tests/ (optionally `-m marker`), timed from outside."""
    command = [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider"]
    if marker:
        command += ["-m", marker]
    t0 = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    wall_s = time.perf_counter() - t0
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    counts = {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|skipped|errors?)", summary)}
    if done.returncode:
        raise SystemExit(f"{name} tier failed (exit {done.returncode}): {summary}\n{done.stdout[-3000:]}")
    row = {"tier": name, "cache": cache, "wall_s": round(wall_s, 1), "passed": counts.get("passed", 0),
           "skipped": counts.get("skipped", 0)}
    print(f"{name:5s} {cache:5s}: {wall_s:6.1f} s wall, {row['passed']} passed, {row['skipped']} skipped")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--full", action="store_true", help="also time the whole suite (warm cache)")
    parser.add_argument("--out", default=None, help="JSON path (default benchmarks/results/test_tiers_<device>.json)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        # Empty compilation caches of our own, so "cold" is cold whatever ~/.cache holds.
        env = os.environ | {"MJX_LEROBOT_CACHE": str(Path(scratch) / "cache")}
        rows.append(run_tier("fast", "not slow", "cold", env))
        rows.append(run_tier("fast", "not slow", "warm", env))
        if args.full:
            rows.append(run_tier("full", None, "cold", os.environ | {"MJX_LEROBOT_CACHE": str(Path(scratch) / "full")}))
    worst_fast = max(r["wall_s"] for r in rows if r["tier"] == "fast")
    report = machine_info() | {
        "part": "Tests",
        "title": "Test tiers",
        "meaning": "Wall time of each test tier in a fresh process on this checkout; lower is better.",
        "command": "python benchmarks/test_tiers.py" + (" --full" if args.full else ""),
        "columns": [{"key": "tier"}, {"key": "cache"}, {"key": "wall_s", "label": "wall s"},
                    {"key": "passed"}, {"key": "skipped"}],
        "rows": rows,
        "targets": {
            f"fast tier, cold cache, {os.cpu_count()} cores": {
                "value": worst_fast, "goal": f"<= {FAST_TIER_GOAL_S:.0f} s", "met": worst_fast <= FAST_TIER_GOAL_S,
            },
        },
    }
    out = Path(args.out or REPO / "benchmarks" / "results" / f"test_tiers_{device_tag()}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
