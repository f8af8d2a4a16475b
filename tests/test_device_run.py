"""benchmarks/device/run_all.sh, the prepared GPU run, wired end to end on this CPU: every part
measures a point at `--sizes wiring` and writes its JSON in the envelope the page generator
reads. Two halves of the parts run side by side (each run_all.sh call takes --parts), so the
~4 min of single-threaded compiles take about half that on two cores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = "benchmarks/device/run_all.sh"
HALVES = ("physics,adapter,cameras", "record,ppo,lift_pixels")
ENVELOPE = ("part", "title", "device", "machine", "date", "command", "columns", "rows", "targets")
#: Columns each part's table needs, with a figure (not null) in at least one row.
NEEDED = {
    "physics": ("impl", "num_envs", "physics_steps_per_s", "control_step_ms", "compile_s", "state_bytes_per_instance"),
    "adapter": ("num_envs", "raw_synced_step_ms", "adapter_step_ms", "overhead_pct"),
    "cameras": ("size", "num_envs", "randomize", "camera_frames_per_s", "env_steps_per_s", "randomize_cost_pct"),
    "record": ("num_envs", "episodes_per_min", "frames_per_s"),
    "ppo": ("run", "task", "env_steps", "train_wall_s", "eval_success_rate"),
    "lift_pixels": ("call", "env_steps", "wall_s"),
}
TARGETS = {
    "physics": ("physics_steps_per_s", "control_step_ms_up_to_1024"),
    "adapter": ("adapter_overhead_pct_1024",),
    "cameras": ("randomize_cost_pct_8192",),
    "record": ("record_episodes_per_min",),
    "ppo": ("reach_pixels_success",),
    "lift_pixels": ("lift_cube_pixels_success",),
}


def _strict(text: str) -> dict:
    def no_constant(name: str):
        raise ValueError(f"{name} in a results file: not JSON")

    return json.loads(text, parse_constant=no_constant)


@pytest.mark.slow
def test_run_all_wiring_writes_every_part(tmp_path: Path) -> None:
    env = os.environ | {
        "PYTHON": sys.executable,
        "SIZES": "wiring",
        "BUDGET": "900",  # wiring sizes are one point a part: the budget only must not cut any
        "SITE": str(tmp_path / "no-site"),  # never a wheel folder left on this machine
        "JAX_PLATFORMS": "cpu",
    }
    procs = []
    for i, parts in enumerate(HALVES):
        out = tmp_path / f"half{i}"
        procs.append(
            (
                out,
                subprocess.Popen(
                    ["bash", SCRIPT],
                    cwd=ROOT,
                    env=env | {"OUT": str(out), "PARTS": parts, "RUNS": str(tmp_path / f"runs{i}")},
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                ),
            )
        )
    docs = {}
    for out, proc in procs:
        log, _ = proc.communicate(timeout=900)
        assert proc.returncode == 0, log[-4000:]
        assert (out / "run_log.txt").read_text().strip(), "run_log.txt is empty"
        for path in out.glob("*.json"):
            docs[path.name] = _strict(path.read_text())
    device = next(iter(docs.values()))["device"]
    assert set(docs) == {f"{part}_{device}.json" for part in NEEDED}, sorted(docs)
    for name, doc in docs.items():
        part = doc["part"]
        assert name == f"{part}_{device}.json"
        for key in ENVELOPE:
            assert key in doc, f"{name}: no {key!r}"
        assert doc["device"] == device and doc["machine"]["device"] == device
        assert "run_all.sh" in doc["command"] and "SIZES=wiring" in doc["command"]
        assert str(tmp_path) not in json.dumps(doc), "a folder of this machine in the results"
        if part == "record" and not doc["rows"]:  # lerobot's dataset writer not installed here
            assert "lerobot" in doc["skipped"][0]["why"], doc["skipped"]
            continue
        assert doc["rows"], f"{name}: no rows (skipped: {doc.get('skipped')})"
        for row in doc["rows"]:
            assert set(doc["columns"]) <= set(row), f"{name}: row lacks {set(doc['columns']) - set(row)}"
        for col in NEEDED[part]:
            assert col in doc["columns"], f"{name}: no column {col!r}"
            assert any(row[col] is not None for row in doc["rows"]), f"{name}: {col!r} null in every row"
        for target in TARGETS[part]:
            assert target in doc["targets"], f"{name}: no target {target!r}"
            assert isinstance(doc["targets"][target]["met"], bool)
            assert doc["targets"][target]["value"] is not None
    assert (tmp_path / "half1" / f"lift_pixels_{device}.msgpack").is_file()  # what a later call resumes
