"""The Colab notebooks, executed top to bottom by papermill as a user would run them, with small
sizes injected into each notebook's `parameters` cell, then checked against what they report.

Each notebook runs in its own temporary directory (they write videos, datasets, checkpoints),
offline, in a Jupyter kernel that runs this interpreter, and writes a small `*_results.json`
read here. The notebooks are started together when the module's first test runs: most of their
time is single-threaded XLA compilation, so they overlap well even on two cores. The LeRobot
notebook skips without lerobot, unless MJX_LEROBOT_REQUIRE_LEROBOT=1 (CI).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

# Slow tier: executes every notebook end to end.
pytestmark = pytest.mark.slow

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
KERNEL = "mjx-lerobot-tests"
TIMEOUT_S = 1200  # per notebook, from its start

# test -> (notebook, small sizes for its `parameters` cell, whether it needs lerobot)
RUNS = {
    "test_quickstart": ("01_quickstart.ipynb", dict(TASK="reach", NUM_ENVS=8, VIDEO_STRIDE=6, IMAGE_SIZE=48), False),
    "test_train_ppo": (
        "02_train_ppo.ipynb",
        # 32 arms x 16 steps x 40 updates; reach's return rises within ~10 updates. GYM_ENVS matches the
        # LeRobot notebook's NUM_ENVS: the same Gym step program, so one compiles it for both (shared cache).
        # The pixel policy: 4 arms x 16 steps x 4 updates at 16², the wiring only (a CPU is far too slow to learn;
        # 16 arms x 1024 steps at 32² cost 2.5x the time, ~190 s).
        dict(NUM_ENVS=32, TOTAL_STEPS=32 * 16 * 40, UPDATES_PER_CHUNK=4, EVAL_EPISODES=16, GYM_ENVS=4, VIDEO_STRIDE=3,
             PIXEL_ENVS=4, PIXEL_STEPS=4 * 16 * 4, PIXEL_SIZE=16),
        False,
    ),
    "test_lerobot": (
        "03_lerobot.ipynb",
        dict(TASK="reach", NUM_ENVS=4, RECORD_EPISODES=3, RECORD_ENVS=3, CAMERAS=""),
        True,
    ),
}


@dataclasses.dataclass
class Run:
    """One notebook executing in a papermill subprocess (its own process group, with its kernel)."""

    notebook: str
    workdir: Path
    process: subprocess.Popen
    log: Path
    started: float

    def finish(self) -> tuple[nbformat.NotebookNode, dict]:
        """Wait for the notebook; the executed notebook and the results JSON it wrote."""
        left = TIMEOUT_S - (time.perf_counter() - self.started)
        try:
            returncode = self.process.wait(timeout=max(left, 1))
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail(f"{self.notebook} did not finish in {TIMEOUT_S} s; log tail:\n{self.tail()}")
        if returncode != 0:
            pytest.fail(f"{self.notebook} failed (papermill exit {returncode}):\n{self.tail()}")
        executed = nbformat.read(self.workdir / self.notebook, as_version=4)
        print(f"{self.notebook}: executed in {executed.metadata.papermill.duration:.0f} s")
        stem = self.notebook.split("_", 1)[1].removesuffix(".ipynb")
        return executed, json.loads((self.workdir / f"{stem}_results.json").read_text())

    def tail(self, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def lerobot_missing() -> str | None:
    """Why the LeRobot notebook cannot run here, or None when it can."""
    if importlib.util.find_spec("lerobot") is not None:
        return None
    return 'lerobot not installed: pip install -e ".[lerobot]"'


@pytest.fixture(scope="module")
def runs(request, tmp_path_factory) -> dict[str, Run]:
    """Start every selected notebook at once, in a kernel that runs this interpreter (a kernelspec
    in a temporary JUPYTER_PATH), headless, offline, with fresh caches."""
    base = tmp_path_factory.mktemp("notebooks")
    spec = base / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": KERNEL, "language": "python"}))
    env = dict(
        os.environ,
        JUPYTER_PATH=os.pathsep.join(filter(None, [str(base / "jupyter"), os.environ.get("JUPYTER_PATH")])),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        IPYTHONDIR=str(base / "ipython"),
        MUJOCO_GL="egl",
        MJX_LEROBOT_CACHE=str(base / "cache"),
        HF_HOME=str(base / "hf"),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    env.pop("MPLBACKEND", None)  # the kernel's inline backend, so figures land in the notebook
    selected = {item.originalname for item in request.session.items if item.module is request.module}
    started: dict[str, Run] = {}
    for test, (notebook, parameters, needs_lerobot) in RUNS.items():
        if test not in selected or (needs_lerobot and lerobot_missing()):
            continue
        workdir = base / test.removeprefix("test_")
        workdir.mkdir()
        log = workdir / "papermill.log"
        cmd = [sys.executable, "-m", "papermill", str(NOTEBOOKS / notebook), str(workdir / notebook)]
        cmd += ["-k", KERNEL, "--cwd", str(workdir), "-y", json.dumps(parameters), "--no-progress-bar"]
        with log.open("w") as out:
            process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        started[test] = Run(notebook, workdir, process, log, time.perf_counter())
    yield started
    for run in started.values():
        run.stop()


def outputs_of(notebook: nbformat.NotebookNode, mime: str) -> list[str]:
    """Every output of `mime` type in the executed notebook."""
    return [
        output["data"][mime]
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if mime in output.get("data", {})
    ]


def test_quickstart(runs):
    """The scripted expert succeeds on every instance, nothing faults, and the video is shown."""
    notebook, results = runs["test_quickstart"].finish()
    assert results["num_envs"] == 8 and results["impl"] == "c"  # impl="auto" on a CPU
    assert results["success_rate"] >= 0.9, results
    assert results["instances_with_faults"] == 0, results
    assert results["video_frames"] > 1
    assert (runs["test_quickstart"].workdir / results["video"]).stat().st_size > 1000
    assert any("data:video/mp4;base64," in html for html in outputs_of(notebook, "text/html"))
    assert len(outputs_of(notebook, "image/png")) >= 2, "the success curve or the camera grid was not drawn"
    assert results["camera_grid"] == [4 * 48, 4 * 48, 3]  # 16 instances' front cameras, one batched call


def test_train_ppo(runs):
    """PPO's return rises on reach, the reloaded policy succeeds on unseen seeded episodes in a JAX
    rollout and through the Gymnasium adapter, and the curve and video are shown."""
    notebook, results = runs["test_train_ppo"].finish()
    assert results["env_steps"] == 32 * 16 * 40
    # Holding the start pose earns ~25 per episode; reaching and staying, several times that.
    assert results["last_return"] > 1.5 * results["first_return"], results
    assert results["reloaded_env_steps"][-1] == results["env_steps"]
    assert results["eval"]["episodes"] == 16 and results["eval"]["success_rate"] >= 0.8, results["eval"]
    assert results["gym_success"] >= 0.75, results
    assert results["video_frames"] > 1
    assert any("data:video/mp4;base64," in html for html in outputs_of(notebook, "text/html"))
    assert outputs_of(notebook, "image/png"), "the learning curve was not drawn"
    # Pixel PPO: trained its budget from front + wrist images drawn in the jit, then evaluated.
    assert results["pixel_env_steps"] == 4 * 16 * 4
    assert results["pixel_images"] == {"front": [4, 16, 16, 3], "wrist": [4, 16, 16, 3]}
    assert results["pixel_eval"]["episodes"] == 4 and results["pixel_eval"]["impl"] == "warp"


def test_lerobot(runs):
    """The Gym adapter's expert episode succeeds, LeRobot's config and EnvHub loader build envs, and the
    recorded dataset loads in LeRobot with the episodes asked for."""
    if "test_lerobot" not in runs:
        if os.environ.get("MJX_LEROBOT_REQUIRE_LEROBOT") == "1":
            pytest.fail(f"MJX_LEROBOT_REQUIRE_LEROBOT=1 but {lerobot_missing()}")
        pytest.skip(lerobot_missing())
    notebook, results = runs["test_lerobot"].finish()
    assert results["gym_expert_success"] >= 0.9, results
    assert results["lerobot_batch"]["observation.state"] == [2, 6]
    assert results["lerobot_batch"]["observation.images.front"] == [2, 3, 240, 320]
    assert results["hub_num_envs"] == 4
    assert results["record"]["episodes_in_dataset"] == results["dataset_episodes"] == 3
    assert results["dataset_frames"] == results["record"]["frames_written"] > 0
    assert len(outputs_of(notebook, "image/png")) >= 2, "the camera views and the episode plot were not drawn"
