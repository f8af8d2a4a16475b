"""The README's main job: `mjx-lerobot demo` runs, reports, and writes a playable video."""

import json

import imageio.v3 as iio

from mjx_lerobot import cli


def test_demo_reports_success_and_writes_video(tmp_path, capsys):
    video = tmp_path / "demo.mp4"
    argv = ["demo", "--task", "reach", "--num-envs", "4", "--impl", "jax", "--steps", "45"]
    cli.main(argv + ["--video", str(video), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["num_envs"] == 4 and report["impl"] == "jax"
    assert report["success_rate"] == 1.0  # the reach expert gets there within 1.5 s
    assert report["physics_steps_per_s"] > 0
    frames = iio.imread(video)
    assert frames.shape == (45, 240, 640, 3)  # front and wrist cameras side by side
    assert frames.std() > 10  # a real picture, not a blank frame


def test_tasks_command_lists_every_task(capsys):
    cli.main(["tasks"])
    out = capsys.readouterr().out
    for name in ("reach", "lift_cube", "push_cube", "pick_place"):
        assert name in out


def test_each_command_keeps_its_own_defaults():
    # Shared parent parsers share their actions in argparse: one command's default once leaked
    # into every other (eval's --seed 10000 became train's).
    parser = cli.build_parser()
    assert parser.parse_args(["train"]).seed == 0
    assert parser.parse_args(["eval", "--checkpoint", "c.msgpack"]).seed == 10_000
    assert parser.parse_args(["train"]).num_envs == 2048
    assert parser.parse_args(["record", "--root", "r"]).num_envs == 64
    assert parser.parse_args(["demo"]).num_envs == 256
    assert parser.parse_args(["record", "--root", "r"]).episodes == 100
    assert parser.parse_args(["experts"]).episodes == 1000
