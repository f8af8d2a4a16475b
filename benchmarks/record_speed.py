"""`record --cameras`: episodes/min of the camera paths, side by side in one run.

    python benchmarks/record_speed.py                         # this machine's defaults
    python benchmarks/record_speed.py --num-envs 64 --episodes 256 --variants gl,batched   # a GPU

Variants (lift_cube, the scripted expert, front + wrist at LeRobot's 240x320 unless told):
- before: how record drew and wrote until this script came (MuJoCo's GL renderer with 4x
  multisampling; LeRobot's image writer threads saving PNGs, encoded when an episode ends),
  reproduced by swapping those two pieces back in;
- streaming: the same GL frames, streamed to LeRobot's encoder threads as they are added;
- gl: as record runs now on a CPU: streaming, and policy cameras without multisampling;
- batched: frames drawn inside the jitted step by MuJoCo Warp's ray tracer (impl='warp'), as
  record runs on a GPU.
Every variant keeps record's simulation thread running ahead of the writer (not swapped out).
Each variant records its own dataset into a temporary directory; compile time is reported apart.
Writes benchmarks/results/record_speed_<device>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from pathlib import Path

from mjx_lerobot.lerobot import record as rec
from mjx_lerobot.report import device_tag, machine_info
from mjx_lerobot.sim import render

VARIANTS = ("before", "streaming", "gl", "batched")


@contextlib.contextmanager
def before_this_change(cameras: tuple[str, ...]):
    """record's earlier pieces: antialiased GL frames, PNGs by image writer threads."""

    class Antialiased(render.Renderer):
        def __init__(self, *args, antialias: bool = True, **kwargs):
            super().__init__(*args, antialias=True, **kwargs)

    renderer, encoding = render.Renderer, rec.video_encoding
    render.Renderer = Antialiased
    rec.video_encoding = lambda env: {"image_writer_threads": 4 * len(cameras)}
    try:
        yield
    finally:
        render.Renderer, rec.video_encoding = renderer, encoding


def measure(variant: str, args: argparse.Namespace, cameras: tuple[str, ...], root: Path) -> dict:
    cfg = rec.RecordConfig(
        task=args.task, episodes=args.episodes, num_envs=args.num_envs, cameras=cameras, height=args.height,
        width=args.width, root=str(root / variant), repo_id=f"bench/{variant}", progress=False,
        impl="warp" if variant == "batched" else args.impl, renderer="batched" if variant == "batched" else "gl",
    )  # fmt: skip
    patch = before_this_change(cameras) if variant == "before" else contextlib.nullcontext()
    t0 = time.perf_counter()
    with patch:
        result = rec.record(cfg)
    row = {"variant": variant, "impl": result["impl"], "wall_s": round(time.perf_counter() - t0, 1)}
    keys = ("episodes_written", "frames_written", "compile_s", "seconds", "episodes_per_min", "frames_per_s")
    return row | {key: result[key] for key in keys}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="lift_cube")
    parser.add_argument("--episodes", type=int, default=8)
    parser.add_argument("--num-envs", type=int, default=8)
    parser.add_argument("--impl", default="c", help="physics of the GL variants")
    parser.add_argument("--cameras", default="front,wrist")
    parser.add_argument("--height", type=int, default=240)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    variants = [v for v in args.variants.split(",") if v]
    if unknown := set(variants) - set(VARIANTS):
        parser.error(f"unknown variants {sorted(unknown)}; choose from {VARIANTS}")
    cameras = tuple(c for c in args.cameras.split(",") if c)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for variant in variants:
            rows.append(measure(variant, args, cameras, Path(tmp)))
            print(json.dumps(rows[-1]), flush=True)
    if "before" in variants:
        base = rows[variants.index("before")]["episodes_per_min"]
        for row in rows:
            row["speedup_over_before"] = round(row["episodes_per_min"] / base, 2)
    report = machine_info() | {"command": vars(args), "results": rows}
    path = Path(args.out or Path(__file__).parent / "results" / f"record_speed_{device_tag()}.json")
    path.write_text(json.dumps(report, indent=2) + "\n")
    for row in rows:
        print(f"{row['variant']:10s} {row['impl']:5s} {row['episodes_per_min']:7.1f} episodes/min "
              f"{row['frames_per_s']:6.1f} frames/s  x{row.get('speedup_over_before', float('nan')):.2f}")  # fmt: skip
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
