"""`mjx-lerobot bench` end to end on a tiny setting: the report a user reads is consistent."""

import json

import pytest

from mjx_lerobot import bench
from mjx_lerobot.cli import main


def test_bench_report_is_consistent(tmp_path, capsys):
    out = tmp_path / "bench.json"
    argv = ["bench", "--task", "reach", "--num-envs", "4", "--impl", "jax", "--steps", "8"]
    argv += ["--peer-python", str(tmp_path / "no-peer"), "--adapter-envs", "0", "--out", str(out)]
    assert main(argv) == 0
    table = capsys.readouterr().out
    report = json.loads(out.read_text())
    assert report["task"] == "reach" and report["device"] and report["versions"]["mujoco"]
    (row,) = report["mjx"]
    # Physics steps/s is what was run over how long it took, nothing else.
    expected = row["control_steps"] * row["num_envs"] * row["substeps"] / row["run_s"]
    assert row["physics_steps_per_s"] == pytest.approx(expected, rel=1e-3)
    assert row["state_bytes_per_instance"] > 0
    # MuJoCo C repeated the same episodes, on one thread and on every core.
    assert {r["threads"] for r in report["mujoco_rollout"]} >= {1}
    assert all(r["physics_steps_per_s"] > 0 for r in report["mujoco_rollout"])
    best_c = max(r["physics_steps_per_s"] for r in report["mujoco_rollout"])
    assert report["ratios"]["vs_mujoco_rollout_all_cores"] == pytest.approx(row["physics_steps_per_s"] / best_c)
    # No peer installed: said so, not silently dropped.
    assert "setup_peer.sh" in report["peer"]["skipped"]
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| MJX jax (4 instances) |" in table
    assert bench.markdown_table(report) in table


def test_bench_rejects_bad_input():
    with pytest.raises(ValueError, match="num-envs"):
        bench.run_bench("reach", num_envs=(0,), progress=False)
    with pytest.raises(ValueError, match="impl"):
        bench.run_bench("reach", num_envs=(4,), impls=("cuda",), progress=False)
    with pytest.raises(ValueError, match="unknown task"):
        bench.run_bench("no_such_task", num_envs=(4,), progress=False)
