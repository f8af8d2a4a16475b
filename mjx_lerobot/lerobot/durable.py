"""Durable points of a recording: what survives a `kill -9`, a power cut or a full disk.

LeRobot's writer keeps its parquet files open between `finalize()` calls: a process killed in
between leaves files without footers, and a dataset that does not open. A recording therefore
reaches a durable point every few seconds (`RecordConfig.durable_every_s`): it finalizes the
dataset (every file closed and complete), notes what a complete dataset is made of, and resumes
writing, which LeRobot does into new data and metadata files. The note (`Snapshot`) is:

    the episode count and every data and metadata parquet file with its size;
    copies of the small files LeRobot rewrites in place (info.json, stats.json, tasks.parquet);
    a hard link to each video file, since LeRobot appends a new episode's video to the last
    file by writing a new file over it: the link keeps the durable version's bytes.

It lands atomically (a new generation directory, then the pointer to it in META_FILE replaced
with `os.replace`). After a crash, `recover` puts the dataset back to its last durable point:
files written since are deleted, the rewritten ones restored. Seeds are leased ahead of use
(`SeedLease`), so a resumed run never reuses one that a lost episode was given.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: mjx-lerobot's own metadata beside LeRobot's: settings, the next seed, the durable point.
META_FILE = "meta/mjx_lerobot.json"
SNAPSHOTS = "meta/mjx_lerobot_durable"
LEASE_FILE = "meta/mjx_lerobot_seeds.json"
#: The files LeRobot rewrites in place as it writes; copied at each durable point.
REWRITTEN = ("meta/info.json", "meta/stats.json", "meta/tasks.parquet")
#: Where LeRobot appends: data and episode metadata (new files after a resume), videos.
APPENDED = ("data", "meta/episodes", "videos")


def write_json(path: Path, value: Any) -> None:
    """Write `value` to `path` so that a reader sees either the old or the new file, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        json.dump(value, f, indent=2)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _appended_files(root: Path) -> Iterator[Path]:
    for folder in APPENDED:
        if (root / folder).exists():
            yield from (p for p in (root / folder).rglob("*") if p.is_file())


def take_snapshot(root: Path, meta: dict, episodes: int, backups: bool = True) -> dict:
    """Note the finalized dataset at `root` as its durable point; returns `meta` with it.

    `backups=False` at the end of a run, when nothing will write before the next run takes
    its own: the note alone, so the dataset holds no second copy of anything."""
    root = Path(root)
    generation = int(meta.get("durable", {}).get("generation", 0)) + 1
    folder = root / SNAPSHOTS / f"{generation:06d}"
    if folder.exists():
        shutil.rmtree(folder)
    files = {}
    for path in _appended_files(root):
        rel = path.relative_to(root).as_posix()
        files[rel] = path.stat().st_size
        if backups and rel.startswith("videos/"):
            _link_or_copy(path, folder / "videos" / rel)
    for rel in REWRITTEN if backups else ():
        if (root / rel).exists():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / rel, folder / rel)
    meta = meta | {"durable": {"generation": generation, "episodes": int(episodes), "files": files}}
    write_json(root / META_FILE, meta)
    # Older generations are no longer pointed to: drop them.
    for old in (root / SNAPSHOTS).iterdir() if (root / SNAPSHOTS).exists() else ():
        if old.name != folder.name:
            shutil.rmtree(old, ignore_errors=True)
    if not backups and (root / SNAPSHOTS).exists() and not any((root / SNAPSHOTS).iterdir()):
        (root / SNAPSHOTS).rmdir()
    return meta


def recover(root: str | Path) -> tuple[int, int]:
    """Put the dataset at `root` back to its last durable point: (episodes kept, dropped).

    A dataset whose files are all as the durable point left them is untouched (0 dropped)."""
    root = Path(root)
    meta = json.loads((root / META_FILE).read_text())
    durable = meta.get("durable")
    if durable is None:  # recorded before durable points, or never reached one
        return _episodes_in(root), 0
    folder = root / SNAPSHOTS / f"{durable['generation']:06d}"
    files: dict[str, int] = durable["files"]
    torn = [p for p in _appended_files(root) if files.get(p.relative_to(root).as_posix()) != p.stat().st_size]
    torn += [root / rel for rel in files if not (root / rel).exists()]
    torn += [root / rel for rel in REWRITTEN if (folder / rel).exists() and not _same(root / rel, folder / rel)]
    if not torn:
        return durable["episodes"], 0
    claimed = _episodes_in(root)
    for path in _appended_files(root):
        rel = path.relative_to(root).as_posix()
        if rel not in files:
            path.unlink()
        elif files[rel] != path.stat().st_size and rel.startswith("videos/"):
            _restore(folder / "videos" / rel, path)
    for rel in files:
        if not (root / rel).exists() and rel.startswith("videos/"):
            _restore(folder / "videos" / rel, root / rel)
    for rel in REWRITTEN:
        if (folder / rel).exists():
            shutil.copy2(folder / rel, root / rel)
    for folder_name in APPENDED:  # empty folders left by deleted files
        for path in sorted((root / folder_name).rglob("*"), reverse=True) if (root / folder_name).exists() else ():
            if path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    shutil.rmtree(root / "images", ignore_errors=True)  # frames of an episode never saved
    shutil.rmtree(root / ".tmp", ignore_errors=True)
    return durable["episodes"], max(claimed - durable["episodes"], 0)


@contextlib.contextmanager
def temporary_files_beside(root: Path) -> Iterator[None]:
    """LeRobot writes a video it appends to in the temporary directory, then moves it over the
    old file: on another filesystem that move rewrites the old file's bytes in place (and so
    the durable point's hard link to them). Temporary files beside the dataset make it a rename."""
    folder = Path(root) / ".tmp"
    folder.mkdir(parents=True, exist_ok=True)
    previous, tempfile.tempdir = tempfile.tempdir, str(folder)
    try:
        yield
    finally:
        tempfile.tempdir = previous
        shutil.rmtree(folder, ignore_errors=True)


class RecordingStopped(RuntimeError):
    """A write failed (a full disk...): the run stopped, the dataset is at its durable point."""


class SeedLease:
    """Hands out episode seeds in order, each block noted on disk before its first seed is
    used: after a crash, `first_free` is past every seed any episode was given."""

    def __init__(self, root: Path, first_seed: int, block: int):
        self.path = Path(root) / LEASE_FILE
        self.next_seed = max(int(first_seed), self.first_free(root))
        self.block = max(int(block), 1)
        self.end = self.next_seed

    @staticmethod
    def first_free(root: str | Path) -> int:
        path = Path(root) / LEASE_FILE
        return int(json.loads(path.read_text())["end"]) if path.exists() else 0

    def take(self, count: int) -> list[int]:
        if self.next_seed + count > self.end:
            self.end = self.next_seed + count + self.block
            write_json(self.path, {"end": self.end})
        seeds = list(range(self.next_seed, self.next_seed + count))
        self.next_seed += count
        return seeds


def _episodes_in(root: Path) -> int:
    try:
        return int(json.loads((root / "meta/info.json").read_text())["total_episodes"])
    except (OSError, ValueError, KeyError):
        return 0


def _same(a: Path, b: Path) -> bool:
    return a.exists() and a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:  # a filesystem without hard links
        shutil.copy2(src, dst)


def _restore(backup: Path, path: Path) -> None:
    """`path` back to the durable bytes in `backup`, keeping the backup for a later crash."""
    tmp = path.with_name(f".{path.name}.restore")
    _link_or_copy(backup, tmp)
    os.replace(tmp, path)
