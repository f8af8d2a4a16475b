"""`mjx-lerobot bench` end to end on a tiny setting: the report a user reads is consistent."""

import json

import pytest

from mjx_lerobot.apps.cli import main
from mjx_lerobot.bench.config import BenchConfig, check_config, measurement_order, parse_sizes
from mjx_lerobot.bench.peer import PEER_SCRIPT, measure_peer
from mjx_lerobot.bench.results import markdown_table, ratios
from mjx_lerobot.bench.suite import run_bench


@pytest.mark.slow
def test_bench_report_is_consistent(tmp_path, capsys):
    out = tmp_path / "bench.json"
    argv = ["bench", "--task", "reach", "--num-envs", "4", "--impl", "c", "--steps", "4", "--no-progress"]
    argv += ["--peer-python", str(tmp_path / "no-peer"), "--rollout-seconds", "0.2", "--adapter-envs", "0"]
    assert main(argv + ["--out", str(out)]) == 0
    table = capsys.readouterr().out
    report = json.loads(out.read_text())
    assert report["task"] == "reach" and report["device"] and report["cpu_count"] >= 1
    assert report["versions"]["mujoco"] and report["versions"]["jax"] and report["python"]
    (row,) = report["mjx"]
    assert (row["impl"], row["num_envs"], row["control_steps"]) == ("c", 4, 4)
    # Physics steps/s is what was run over how long it took, nothing else.
    expected = row["control_steps"] * row["num_envs"] * row["substeps"] / row["run_s"]
    assert row["physics_steps_per_s"] > 0
    assert row["physics_steps_per_s"] == pytest.approx(expected, rel=1e-9)
    assert row["compile_s"] > 0 and row["state_bytes_per_instance"] > 0
    # MuJoCo C repeated the same episodes, on one thread and on every core.
    c_rows = report["mujoco_rollout"]
    assert {r["threads"] for r in c_rows} == {1, report["cpu_count"]}
    for r in c_rows:
        assert r["physics_steps_per_s"] == pytest.approx(r["physics_steps"] / r["run_s"], rel=1e-9)
    all_cores = max(r["physics_steps_per_s"] for r in c_rows if r["threads"] == report["cpu_count"])
    one = max(r["physics_steps_per_s"] for r in c_rows if r["threads"] == 1)
    got = report["ratios"]
    assert got["ours_best"]["physics_steps_per_s"] == row["physics_steps_per_s"]
    assert got["vs_mujoco_rollout_all_cores"] == pytest.approx(row["physics_steps_per_s"] / all_cores)
    assert got["vs_mujoco_rollout_1_thread"] == pytest.approx(row["physics_steps_per_s"] / one)
    # Physics alone (the expert's actions replayed) is compared with MuJoCo C on the same work.
    replayed = row["replay_physics_steps_per_s"]
    assert replayed == pytest.approx(row["control_steps"] * row["num_envs"] * row["substeps"] / row["replay_run_s"])
    assert got["replay_vs_mujoco_rollout_all_cores"] == pytest.approx(replayed / all_cores)
    # No peer installed: said so, with how to install it, not silently dropped.
    assert "not installed" in report["peer"]["skipped"] and "setup_peer.sh" in report["peer"]["skipped"]
    assert "vs_peer_best_mode" not in got
    # A peer result is compared with its best mode.
    peer = {"physics_timestep": 0.002, "single": {"physics_steps_per_s": 50.0}}
    peer["async_vector"] = {"workers": 2, "physics_steps_per_s": 80.0}
    assert ratios(report | {"peer": peer})["vs_peer_best_mode"] == pytest.approx(row["physics_steps_per_s"] / 80)
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert markdown_table(report) in table and "| c | 4 |" in table
    # --table prints the same tables from the stored JSON.
    assert main(["bench", "--table", str(out)]) == 0
    assert capsys.readouterr().out.strip() == markdown_table(report)


def test_bench_budget_skips_and_records(tmp_path):
    """Past --max-seconds nothing more is started, and every point left out says why."""
    config = BenchConfig(
        task="reach", sizes={"warp": (4, 8)}, max_seconds=1e-9, peer_python=str(tmp_path / "no-peer")
    )
    report = run_bench(config, progress=False)
    assert report["mjx"] == [] and report["mujoco_rollout"] == []
    assert {(s.get("impl"), s.get("num_envs")) for s in report["skipped"]} >= {("warp", 4), ("warp", 8)}
    assert all(s["why"] for s in report["skipped"])
    assert "time budget" in report["adapter"]["skipped"]


def test_bench_order_puts_the_telling_points_first():
    order = measurement_order({"warp": (1, 64, 512, 2048, 8192), "jax": (512, 8192)})
    assert order[:4] == [("warp", 8192), ("jax", 8192), ("warp", 1), ("jax", 512)]
    assert order[4:] == [("warp", 2048), ("warp", 512), ("warp", 64)]


def test_bench_rejects_bad_input(capsys):
    for bad in ("0", "abc", "", "4,-1"):
        with pytest.raises(ValueError, match="num-envs"):
            parse_sizes(bad)
    with pytest.raises(ValueError, match="impl"):
        check_config(BenchConfig(task="reach", sizes={"cuda": (4,)}))
    with pytest.raises(ValueError, match="unknown task"):
        check_config(BenchConfig(task="no_such_task"))
    with pytest.raises(SystemExit) as exit_info:  # the CLI turns them into a usage error
        main(["bench", "--num-envs", "64,lots"])
    assert exit_info.value.code == 2 and "--num-envs" in capsys.readouterr().err


def test_bench_finds_the_peer_script_or_says_why(tmp_path):
    """The peer's script is a file of the checkout, run by path; without it, the run says so."""
    assert PEER_SCRIPT.is_file()
    skipped = measure_peer("python3", 1.0, script=tmp_path / "peer_bench.py")["skipped"]
    assert "peer_bench.py" in skipped and "checkout" in skipped
