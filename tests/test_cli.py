"""The README's main job: `mjx-lerobot demo` runs, reports, and writes a playable video; and
every bad argument or input file ends in one line and exit code 2, never a traceback."""

import json

import imageio.v3 as iio
import pytest

import mjx_lerobot
from mjx_lerobot.apps import cli


@pytest.mark.slow
def test_demo_reports_success_and_writes_video(tmp_path, capsys):
    video = tmp_path / "demo.mp4"
    argv = ["demo", "--task", "reach", "--num-envs", "4", "--steps", "45"]  # impl auto: "c" on a CPU
    # Physics on MuJoCo C, the video from Warp's batched ray tracer (the GPU's default; GL is
    # the CPU's and draws the other videos tested here).
    cli.main(argv + ["--video", str(video), "--video-renderer", "batched", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["num_envs"] == 4 and report["impl"] == "c" and report["video_renderer"] == "batched"
    assert report["success_rate"] == 1.0  # the reach expert gets there within 1.5 s
    assert report["physics_steps_per_s"] > 0
    frames = iio.imread(video)
    assert frames.shape == (45, 240, 640, 3)  # front and wrist cameras side by side
    assert frames.std() > 10  # a real picture, not a blank frame


def test_tasks_command_lists_every_task(capsys):
    cli.main(["tasks"])
    out = capsys.readouterr().out
    for name in mjx_lerobot.available_tasks():
        assert name in out
    assert len(mjx_lerobot.available_tasks()) >= 8
    # A language task lists every instruction it draws from.
    for words in mjx_lerobot.load_task("put_object").instructions:
        assert words in out


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


BAD_INPUTS = [
    (["demo", "--task", "nope"], "unknown task 'nope'; available tasks: lift_cube"),
    (["train", "--task", "lift_cbue"], "unknown task 'lift_cbue'"),
    (["experts", "--tasks", "reach,nope", "--episodes", "2"], "unknown task 'nope'"),
    (["experts", "--tasks", "reach", "--impl", "c,gpu"], "unknown backend 'gpu'"),
    (["demo", "--num-envs", "abc"], "invalid positive_int value: 'abc'"),
    (["demo", "--impl", "cuda"], "invalid choice: 'cuda'"),
    (["bench", "--num-envs", "abc"], "--num-envs must be comma-separated integers"),
    (["bench", "--impl", "warp,nope"], "--impl must list backends"),
    (["eval", "--checkpoint", "{missing}"], "no checkpoint at"),
    (["eval", "--checkpoint", "{not_a_checkpoint}"], "is not an mjx_lerobot PPO checkpoint"),
    (["replay", "--root", "{missing}"], "{missing}"),
    (["view", "--task", "reach"], "no display to open MuJoCo's viewer on"),  # DISPLAY unset below
    (["view", "--task", "nope", "--video", "v.mp4"], "unknown task 'nope'"),
    (["teleop", "--device", "so101_leader", "--no-viewer"], "needs --port"),
    (["teleop", "--task", "reach"], "no display to open MuJoCo's viewer on"),
]


@pytest.mark.parametrize("argv, message", BAD_INPUTS, ids=[" ".join(argv[:3]) for argv, _ in BAD_INPUTS])
def test_bad_input_is_one_line_and_exit_code_2(argv, message, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)  # as on a headless machine
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    not_a_checkpoint = tmp_path / "notes.txt"
    not_a_checkpoint.write_text("not msgpack at all")
    paths = {"missing": str(tmp_path / "missing"), "not_a_checkpoint": str(not_a_checkpoint)}
    argv = [arg.format(**paths) for arg in argv]
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("mjx-lerobot") and ": error: " in err[-1], err
    assert message.format(**paths) in err[-1]
    assert not any("Traceback" in line for line in err)
