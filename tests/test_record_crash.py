"""Nothing recorded is lost when the recorder dies: `kill -9` at chosen and at random moments
(mid-episode, mid-write, mid-finalize, mid-metadata), SIGTERM, and a disk that fills up.

The invariant after every fault: put back to its last durable point the dataset opens in
LeRobot with only complete episodes, `record --resume` says what it kept and dropped and
finishes the run, no seed is ever used twice (not even one handed to a dropped episode), and
the episodes replay exactly. Durable points after every episode (`--durable-every 0`), so each
kill lands between two of them.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

# Slow tier: kills recorder subprocesses, each compiling its own env.
pytestmark = pytest.mark.slow

if os.environ.get("MJX_LEROBOT_REQUIRE_LEROBOT") == "1":
    import lerobot  # noqa: F401  (must be installed: fail loudly)
else:
    pytest.importorskip("lerobot", reason='lerobot not installed: pip install -e ".[lerobot]"')

from lerobot.datasets.lerobot_dataset import LeRobotDataset  # noqa: E402

from mjx_lerobot.lerobot.durable import LEASE_FILE, recover  # noqa: E402
from mjx_lerobot.lerobot.record import replay  # noqa: E402

EPISODES = 7
RECORD = ["record", "--task", "reach", "--num-envs", "3", "--impl", "c", "--repo-id", "test/crash",
          "--cameras", "front", "--height", "32", "--width", "32", "--durable-every", "0", "--json"]  # fmt: skip

# Runs `mjx-lerobot` in a child process that kills itself with SIGKILL at the fault named in
# MJX_LEROBOT_TEST_FAULT ("where:n", the n-th time the program gets there): a kill at a known
# point, where polling from outside would race the writer.
_DIE_AT_FAULT = """
import os, signal, sys
import pyarrow.parquet as pq
import mjx_lerobot.lerobot.durable as durable
import mjx_lerobot.lerobot.record as record
import mjx_lerobot.lerobot.stream as stream
from mjx_lerobot.apps.cli import main

where, n = os.environ["MJX_LEROBOT_TEST_FAULT"].split(":")
n, seen = int(n), {"count": 0}

def reached():
    seen["count"] += 1
    if seen["count"] == n:
        print(f"SIGKILL at {where} {n}", file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

def around(owner, name, before=True):
    original = getattr(owner, name)
    def wrapped(*args, **kwargs):
        if before:
            reached()
        return original(*args, **kwargs)
    setattr(owner, name, wrapped)

if where == "write":  # half-way through the frames of the n-th episode written
    write = record._write_episode
    def write_and_die(dataset, episode, *args):
        add_frame, frames = dataset.add_frame, []
        def add(frame):
            frames.append(1)
            if len(frames) == len(episode["sim.qpos"]) // 2:
                reached()
            add_frame(frame)
        dataset.add_frame = add
        return write(dataset, episode, *args)
    record._write_episode = write_and_die
elif where == "finalize":  # closing the n-th parquet file: one closed, the other still open
    around(pq.ParquetWriter, "close")
elif where == "metadata":  # writing the n-th note (a durable point's pointer or a seed lease)
    around(durable, "write_json")
elif where == "simulate":  # the simulation thread hands out its n-th episode
    episodes = stream.DemoStream.episodes
    def episodes_and_die(self, key):
        for item in episodes(self, key):
            reached()
            yield item
    stream.DemoStream.episodes = episodes_and_die
sys.exit(main(sys.argv[1:]))
"""


def run(root: Path, *args: str, fault: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    env = os.environ | ({"MJX_LEROBOT_TEST_FAULT": fault} if fault else {})
    command = [sys.executable, "-c", _DIE_AT_FAULT] if fault else [sys.executable, "-m", "mjx_lerobot.apps.cli"]
    return subprocess.run([*command, *RECORD, "--root", str(root), *args], capture_output=True, text=True,
                          timeout=timeout, env=env)  # fmt: skip


def start(root: Path) -> subprocess.Popen:
    """`record` towards many episodes, in the background."""
    command = [sys.executable, "-m", "mjx_lerobot.apps.cli", *RECORD, "--root", str(root), "--episodes", "400"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def episodes_of(root: Path) -> tuple[LeRobotDataset, list[int]]:
    """The dataset (complete episodes only, checked) and each episode's seed."""
    dataset = LeRobotDataset("test/crash", root=root, video_backend="pyav")
    table = dataset.hf_dataset.with_format("numpy")
    index = np.asarray(table["episode_index"])
    seeds = []
    for episode in range(dataset.meta.total_episodes):
        rows = np.flatnonzero(index == episode)
        length = dataset.meta.episodes[episode]["length"]
        assert len(rows) == length > 1, (episode, len(rows), length)
        np.testing.assert_array_equal(np.asarray(table["frame_index"])[rows], np.arange(length))
        seed = np.asarray(table["sim.seed"])[rows]
        assert (seed == seed[0]).all()
        seeds.append(int(np.ravel(seed)[0]))
    # Every episode's video is there, to its last frame.
    last = dataset[len(dataset) - 1]["observation.images.front"]
    assert last.shape == (3, 32, 32)
    return dataset, seeds


def check_recovers_and_resumes(root: Path, crashed: subprocess.CompletedProcess, at_least: int) -> list[int]:
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-3000:]
    # Put back to its durable point (on a copy, as any user could), the dataset opens.
    copy = root.with_name(root.name + "_copy")
    shutil.copytree(root, copy)
    kept, dropped = recover(copy)
    assert kept >= at_least, (kept, dropped)
    _, seeds_kept = episodes_of(copy)
    assert len(seeds_kept) == kept
    leased = json.loads((root / LEASE_FILE).read_text())["end"]
    # --resume drops the torn tail, says so, and finishes with seeds never handed out.
    resumed = run(root, "--episodes", str(EPISODES), "--resume")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    if dropped:
        assert f"resume: kept {kept} episodes, dropped {dropped}" in resumed.stdout + resumed.stderr
    _, seeds = episodes_of(root)
    assert len(seeds) == EPISODES and seeds[:kept] == seeds_kept
    assert len(set(seeds)) == EPISODES  # no seed twice
    assert min(seeds[kept:]) >= leased  # not even one given to an episode the crash dropped
    return seeds


@pytest.mark.parametrize(("fault", "durable_at_least"), [
    ("write:3", 2),  # mid-write: the two episodes before it were durable
    ("finalize:5", 1),  # mid-finalize of a durable point
    ("metadata:6", 1),  # mid-note: a durable point's pointer or a seed lease half written
    ("simulate:5", 1),  # mid-episode, while the main thread writes another
])  # fmt: skip
def test_kill_9_at_a_chosen_moment_loses_nothing_durable(tmp_path, fault, durable_at_least):
    root = tmp_path / "ds"
    crashed = run(root, "--episodes", "400", fault=fault)
    assert f"SIGKILL at {fault.replace(':', ' ')}" in crashed.stderr, crashed.stderr[-3000:]
    seeds = check_recovers_and_resumes(root, crashed, durable_at_least)
    if fault.startswith("write"):  # episodes before and after the crash replay exactly
        for episode in (0, EPISODES - 1):
            result = replay(root, episode)
            assert result["max_qpos_deviation"] == 0.0, (seeds[episode], result)


def test_kill_9_at_a_random_moment_loses_nothing_durable(tmp_path):
    root = tmp_path / "ds"
    proc = start(root)
    meta = root / "meta/mjx_lerobot.json"
    deadline = time.monotonic() + 500
    while time.monotonic() < deadline and proc.poll() is None:  # wait for the writing to start
        if meta.exists() and json.loads(meta.read_text())["durable"]["episodes"] >= 1:
            break
        time.sleep(0.05)
    time.sleep(random.Random(os.getpid()).uniform(0.0, 2.0))
    proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate()
    check_recovers_and_resumes(root, subprocess.CompletedProcess(proc.args, proc.returncode, out, err), 1)


def test_sigterm_finishes_the_episode_and_finalizes(tmp_path):
    root = tmp_path / "ds"
    proc = start(root)
    meta = root / "meta/mjx_lerobot.json"
    while proc.poll() is None and not (meta.exists() and json.loads(meta.read_text())["durable"]["episodes"] >= 2):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err[-3000:]  # the CLI's exit status for an interrupted run
    result = json.loads(out)
    assert result["interrupted"] and result["episodes_in_dataset"] >= 2
    assert recover(root)[1] == 0  # finalized: nothing torn
    _, seeds = episodes_of(root)
    assert len(seeds) == result["episodes_in_dataset"]


_DISK_FULL_AT_FOURTH_WRITE = """
import errno, sys
import mjx_lerobot.lerobot.record as record
from mjx_lerobot.apps.cli import main

write, writes = record._write_episode, []
def write_on_a_full_disk(dataset, episode, *args):
    writes.append(1)
    if len(writes) == 4:
        raise OSError(errno.ENOSPC, "No space left on device", str(dataset.root))
    return write(dataset, episode, *args)
record._write_episode = write_on_a_full_disk
sys.exit(main(sys.argv[1:]))
"""


def test_a_full_disk_stops_with_one_line_and_keeps_what_was_durable(tmp_path):
    root = tmp_path / "ds"
    proc = subprocess.run([sys.executable, "-c", _DISK_FULL_AT_FOURTH_WRITE, *RECORD, "--root", str(root),
                           "--episodes", "400"], capture_output=True, text=True, timeout=600)  # fmt: skip
    assert proc.returncode == 2, proc.stderr[-3000:]
    last = proc.stderr.strip().splitlines()[-1]
    assert "record stopped: No space left on device" in last and "3 durable episodes" in last, last
    _, seeds = episodes_of(root)
    assert len(seeds) == 3
