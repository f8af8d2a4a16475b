"""benchmarks/README.md is generated from benchmarks/results/**/*.json (benchmarks/pages/): the
committed page matches the JSON, a changed number makes the check fail, dates come from the files
alone, and a results file in the generic envelope renders. No jax: the generator is standard library."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"
RESULTS = BENCHMARKS / "results"
PAGE = BENCHMARKS / "README.md"
sys.path.insert(0, str(BENCHMARKS))

import pages  # noqa: E402  (benchmarks/pages)


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_page_matches_results():
    make_pages = _load("make_pages_script", ROOT / "benchmarks" / "make_pages.py")
    assert pages.check_pages(RESULTS, PAGE) == [], "run: python benchmarks/make_pages.py"
    assert make_pages.main(["--check"]) == 0


def test_changed_number_fails_the_check(tmp_path):
    results = tmp_path / "results"
    shutil.copytree(RESULTS, results)
    page = tmp_path / "README.md"
    shutil.copy(PAGE, page)
    assert pages.check_pages(results, page) == []  # a copy outside git: the dates are in the files

    path = results / "backends_cpu-2core.json"
    report = json.loads(path.read_text())
    report["results"][0]["physics_steps_per_s"] *= 2
    path.write_text(json.dumps(report, indent=2))
    diff = pages.check_pages(results, page)
    assert diff and "differs" in diff[0]
    assert any(line.startswith("+") and "7,670" in line for line in diff)

    pages.write_pages(results, page)
    assert pages.check_pages(results, page) == []


def test_envelope_and_unknown_files_render(tmp_path):
    results = tmp_path / "results"
    (results / "gpu_run").mkdir(parents=True)
    envelope = {
        "part": "physics",
        "title": "Warp throughput",
        "device": "nvidia-h100-80gb-hbm3",
        "machine": {"device": "nvidia-h100-80gb-hbm3", "cpu_count": 16, "jax_device": "cuda:0"},
        "date": "2027-01-05",
        "command": "bash benchmarks/some_check.sh",
        "columns": ["backend", "num_envs", "physics_steps_per_s"],
        "rows": [
            {"backend": "warp", "num_envs": 8192, "physics_steps_per_s": 6447365.4},
            {"backend": "jax", "num_envs": 8192, "physics_steps_per_s": 983912.0},
        ],
        "targets": {"physics steps/s": {"value": 6447365.4, "met": False, "goal": ">= 10M", "at": {"num_envs": 8192}}},
        "skipped": [{"impl": "warp", "num_envs": 16384, "why": "time budget"}],
    }
    (results / "gpu_run" / "throughput.json").write_text(json.dumps(envelope))
    (results / "gpu_run" / "throughput.png").write_bytes(b"\x89PNG")
    (results / "mystery_cpu-2core.json").write_text(json.dumps({"device": "cpu-2core", "speed": 12345.678, "x": [1]}))
    page = pages.render_pages(results, tmp_path / "README.md")

    assert "## Physics and backends" in page and "### Warp throughput (nvidia-h100-80gb-hbm3)" in page
    assert "`nvidia-h100-80gb-hbm3` (16 CPUs, jax `cuda:0`) · date: 2027-01-05" in page
    assert "command: `bash benchmarks/some_check.sh`" in page
    assert "| backend | num_envs | physics_steps_per_s |" in page
    assert "| warp | 8,192 | 6,450,000 |" in page
    assert "| physics steps/s | 6,450,000 | >= 10M | num_envs 8,192 | **not met** |" in page
    assert "Skipped: impl warp, num_envs 16,384 (time budget)." in page
    assert "![gpu_run/throughput.png](results/gpu_run/throughput.png)" in page
    # Unknown layout: its scalar fields, no failure.
    assert "## Other results" in page and "| speed | 12,300 |" in page
    assert page == pages.render_pages(results, tmp_path / "README.md")  # deterministic


def test_dates_come_from_the_files_alone(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "backends_cpu-2core.json").write_text(json.dumps({"device": "cpu-2core", "results": []}))
    nested = {"machine": {"device": "cpu-2core", "date": "2027-02-03"}, "rows": [], "config": {}}
    (results / "mesh_render_cpu-2core.json").write_text(json.dumps(nested))
    page = pages.render_pages(results)
    assert "`cpu-2core` · date: not recorded · command: `python benchmarks/backends.py`" in page
    assert "date: 2027-02-03" in page  # machine_info() stores the date under "machine" in some files


def test_every_committed_result_has_a_date():
    undated = [
        p.relative_to(RESULTS).as_posix()
        for p in sorted(RESULTS.rglob("*.json"))
        if isinstance(report := json.loads(p.read_text()), dict) and pages.stored_date(report) is None
    ]
    assert undated == [], 'add a "date" (YYYY-MM-DD) to these results files'


def test_the_readme_headlines_are_the_results(tmp_path):
    from pages import headlines

    readme = (ROOT / "README.md").read_text()
    assert headlines.splice(readme, headlines.render_headlines(RESULTS)) == readme, (
        "run: python benchmarks/make_pages.py"
    )
    # A headline figure follows its file: a changed servo result changes the README's row.
    results = tmp_path / "results"
    shutil.copytree(RESULTS, results)
    servo = next(results.glob("servo_*.json"))
    report = json.loads(servo.read_text())
    report["figures"]["stall_torque_nm"] = 2.5
    servo.write_text(json.dumps(report))
    assert "stall 2.500 N m" in headlines.render_headlines(results)
    assert "stall 2.500 N m" not in readme
