"""The benchmark results page, generated from the stored JSON results rather than copied by hand.

`render_pages` reads every `*.json` under a results folder and returns Markdown: one section per
file, grouped by what it measures, each stating the machine, the date and the command that
produced it. Known file kinds get their own tables; any file in the envelope

    {"part", "title", "device", "machine", "date", "command", "columns": [...], "rows": [{...}],
     "targets": {name: {"value", "met"}}}

renders through the generic renderer; anything else lists its top-level scalar fields. The date
is the file's own "date" (top level or under "machine"); the page reads nothing but the files, so
it is the same on every machine and checkout.

A tool for this repository's results, not library API: standard library only (no jax, no
mjx_lerobot), so `python benchmarks/make_pages.py --check` and its test are fast. Modules:
`format` (numbers, tables, the generic envelope and fallback renderers), `renderers` and
`renderers_runs` (the bespoke per-file renderers), and this one (grouping, headers, the page).
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .format import Rendered, cell, fmt, is_envelope, render_envelope, render_fallback
from .renderers import (
    render_adapter,
    render_backends,
    render_bench,
    render_demo,
    render_ik,
    render_mesh,
    render_pixels,
    render_video,
)
from .renderers_runs import (
    render_experts,
    render_ppo,
    render_record,
    render_record_durable,
    render_record_speed,
    render_robustness,
)

HEADER = (
    "# Benchmark results\n\n"
    "Generated from the JSON files under `results/` by `python benchmarks/make_pages.py`; do not edit by hand\n"
    "(`python benchmarks/make_pages.py --check` fails when this page and the JSON disagree)."
)

# File-name prefix (relative to the results folder) -> the command that writes such a file, for files
# that do not store their own "command" or "args". The longest matching prefix wins; the second
# entry, when given, is the command for runs on a GPU machine (a device tag not starting with "cpu").
COMMANDS: dict[str, tuple[str, str | None]] = {
    "bench_": ("mjx-lerobot bench", "bash benchmarks/device_bench.sh"),
    "backends_": ("python benchmarks/backends.py", None),
    "adapter_overhead_": ("python benchmarks/adapter_overhead.py", None),
    "adapter_overhead_c_": (
        "python benchmarks/adapter_overhead.py --impl c --num-envs 1,16,256,1024 --steps 20 --rounds 5",
        None,
    ),
    "pixels_": ("python benchmarks/pixels.py", "bash benchmarks/device_pixels.sh"),
    "video_": ("python benchmarks/video.py", None),
    "mesh_render": ("python benchmarks/mesh_render.py", None),
    "record_": ("mjx-lerobot record (one run per row)", None),
    "record_speed_": ("python benchmarks/record_speed.py", "bash benchmarks/device_record.sh"),
    "record_durable_": ("python benchmarks/record_durable.py", None),
    "experts": ("mjx-lerobot experts", None),
    "experts_c_": ("mjx-lerobot experts --impl c", None),
    "experts_warp_": ("mjx-lerobot experts --impl warp", None),
    "experts_randomized_": ("mjx-lerobot experts --randomize", None),
    "experts_randomized_c_": ("mjx-lerobot experts --impl c --randomize", None),
    "experts_breadth_": ("mjx-lerobot experts --tasks <task> --impl <backend> (one run per row)", None),
    "robustness_": ("python benchmarks/robustness.py", None),
    "ik_": ("python benchmarks/ik.py", None),
    "demo_": ("python benchmarks/demo_wall.py", None),
    "ppo/": ("bash benchmarks/device_train.sh <task> <num_envs> <minutes>", None),
}

# Groups in page order: (heading, file-name prefixes). Envelope files group by their "part".
GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("Physics and backends", ("bench_", "backends_", "ik_", "demo_")),
    ("Gymnasium adapter", ("adapter_overhead",)),
    ("Cameras and pixels", ("pixels_", "video_")),
    ("Meshes", ("mesh_render",)),
    ("Recording", ("record_",)),
    ("Experts", ("experts",)),
    ("Robustness", ("robustness_",)),
    ("PPO", ("ppo/",)),
]
OTHER_GROUP = "Other results"
# An envelope's "part" -> the group it joins (an unlisted part becomes a group of its own).
PART_GROUPS = {
    "physics": "Physics and backends",
    "backends": "Physics and backends",
    "adapter": "Gymnasium adapter",
    "cameras": "Cameras and pixels",
    "pixels": "Cameras and pixels",
    "meshes": "Meshes",
    "record": "Recording",
    "recording": "Recording",
    "experts": "Experts",
    "robustness": "Robustness",
    "ppo": "PPO",
    "lift_pixels": "PPO",
}


@dataclass
class Section:
    """One results file rendered: its group, heading, one-line meaning and Markdown body."""

    group: str
    title: str
    path: str
    meaning: str
    body: list[str] = field(default_factory=list)
    command: str | None = None


# Longest prefix of the path relative to the results folder wins.
RENDERERS: dict[str, Callable[[dict], Rendered]] = {
    "bench_": render_bench,
    "backends_": render_backends,
    "adapter_overhead": render_adapter,
    "pixels_": render_pixels,
    "video_": render_video,
    "mesh_render": render_mesh,
    "record_": render_record,
    "record_speed_": render_record_speed,
    "record_durable_": render_record_durable,
    "experts": render_experts,
    "robustness_": render_robustness,
    "ik_": render_ik,
    "demo_": render_demo,
    "ppo/": render_ppo,
}


# ---------------------------------------------------------------------------------------------
# Machine, date, command


def machine_facts(report: dict) -> dict:
    """Device tag, CPU count and JAX device, whether stored at the top level or under "machine".

    Args:
        report: a results file's JSON.

    Returns:
        A dict with whichever of "device", "cpu_count", "jax_device" the file states.
    """
    facts: dict[str, Any] = {}
    nested = report.get("machine")
    for source in (nested if isinstance(nested, dict) else {}, report):
        for key in ("device", "cpu_count", "jax_device"):
            if key not in facts and isinstance(source.get(key), str | int) and not isinstance(source[key], bool):
                facts[key] = source[key]
    return facts


def machine_line(report: dict) -> str:
    """'`cpu-2core` (2 CPUs, jax `cpu:0`)' or 'not stated'."""
    facts = machine_facts(report)
    if not facts:
        return "not stated"
    extra = []
    if "cpu_count" in facts:
        extra.append(f"{fmt(facts['cpu_count'])} CPUs")
    if "jax_device" in facts:
        extra.append(f"jax `{facts['jax_device']}`")
    device = f"`{facts['device']}`" if "device" in facts else "device not stated"
    return device + (f" ({', '.join(extra)})" if extra else "")


def stored_date(report: dict) -> str | None:
    """The date a results file stores: its top-level "date", else the one under "machine".

    Args:
        report: a results file's JSON.

    Returns:
        The date as written (YYYY-MM-DD), or None when the file has none.
    """
    nested = report.get("machine")
    for source in (report, nested if isinstance(nested, dict) else {}):
        date = source.get("date")
        if isinstance(date, str) and date.strip():
            return date.strip()
    return None


def command_for(rel: str, report: dict) -> str | None:
    """The command that produced a results file: its own "command"/"args", else the prefix table.

    Args:
        rel: the file's path relative to the results folder, with forward slashes.
        report: its JSON.

    Returns:
        A shell command line, or None when neither the file nor the table says.
    """
    script = _table_command(rel, report)
    stored = report.get("command")
    if isinstance(stored, str) and stored:
        if rel.startswith("demo_") and script:  # demo_wall.py stores the command it times
            return f"`{script}` (timing `{stored}`)"
        return stored
    args = stored if isinstance(stored, dict) else report.get("args")
    if isinstance(args, dict) and script:
        return " ".join([script.split(" (")[0], *_flags(args)])
    return script


def _table_command(rel: str, report: dict) -> str | None:
    matches = [p for p in COMMANDS if rel.startswith(p)]
    if not matches:
        return None
    cpu, gpu = COMMANDS[max(matches, key=len)]
    device = str(machine_facts(report).get("device", "cpu"))
    return gpu if gpu and not device.startswith("cpu") else cpu


def _flags(args: dict) -> list[str]:
    out = []
    for key, value in args.items():
        flag = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            out.append(flag)
        elif isinstance(value, list):
            out.append(f"{flag} {','.join(str(v) for v in value)}")
        else:
            out.append(f"{flag} {value}")
    return out


# ---------------------------------------------------------------------------------------------
# The page


def render_file(path: Path, results_dir: Path) -> Section:
    """One results file as a section.

    Args:
        path: the JSON file.
        results_dir: the results folder it lies under (names and prefixes are relative to it).

    Returns:
        The rendered section (not yet with its header lines; see `render_pages`).
    """
    rel = path.relative_to(results_dir).as_posix()
    try:
        d = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        return Section(OTHER_GROUP, "Unreadable results file", rel, f"Could not be read: {type(err).__name__}.")
    if is_envelope(d):
        renderer: Callable[[Any], Rendered] = render_envelope
        part = str(d.get("part") or OTHER_GROUP)
        group = PART_GROUPS.get(part.lower()) or next((g for g, _ in GROUPS if g.lower() == part.lower()), part)
    else:
        matches = [p for p in RENDERERS if rel.startswith(p)] if isinstance(d, dict) else []
        renderer = RENDERERS[max(matches, key=len)] if matches else render_fallback
        group = next((g for g, prefixes in GROUPS if rel.startswith(prefixes)), OTHER_GROUP) if matches else OTHER_GROUP
    try:
        title, meaning, body = renderer(d)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, ZeroDivisionError):
        title, meaning, body = render_fallback(d)
        title = "Results file in an unexpected layout"
        group = OTHER_GROUP
    report = d if isinstance(d, dict) else {}
    device = machine_facts(report).get("device")
    if device and str(device) not in title:
        title = f"{title} ({device})"
    section = Section(group, title, rel, meaning, body)
    section.command = command_for(rel, report)
    facts = [f"Machine: {machine_line(report)}", f"date: {stored_date(report) or 'not recorded'}"]
    command = section.command or ""
    if command and "`" not in command:
        command = f"`{command}`"
    facts.append(f"command: {command or 'not recorded'}")
    header = [meaning, "", " · ".join(facts)]
    note = report.get("note")
    if isinstance(note, str) and note.strip():
        header += ["", f"> Stored note: {cell(note.strip())}"]
    section.body = [*header, "", *body]
    return section


def _group_rank(group: str) -> tuple[int, str]:
    names = [g for g, _ in GROUPS]
    if group in names:
        return names.index(group), ""
    return (len(names) + (1 if group == OTHER_GROUP else 0), group)


def render_pages(results_dir: str | Path, out: str | Path | None = None) -> str:
    """The whole results page from every `*.json` under a results folder.

    Args:
        results_dir: the folder of results (searched recursively).
        out: where the page will be written, for relative links to the files (default
            `results_dir/../README.md`).

    Returns:
        The Markdown page, ending in a newline.
    """
    results_dir = Path(results_dir)
    out = Path(out) if out else results_dir.parent / "README.md"
    link_base = Path(os.path.relpath(results_dir.resolve(), out.resolve().parent))
    files = sorted(results_dir.rglob("*.json"), key=lambda p: p.relative_to(results_dir).as_posix())
    sections = [render_file(p, results_dir) for p in files]
    sections.sort(key=lambda s: (_group_rank(s.group), s.path))

    lines = [HEADER, ""]
    groups: list[str] = []
    for s in sections:
        if s.group not in groups:
            groups.append(s.group)
    lines += [f"- [{g}](#{_anchor(g)})" for g in groups]
    used_pngs: set[str] = set()
    for group in groups:
        lines += ["", f"## {group}"]
        for s in (s for s in sections if s.group == group):
            link = (link_base / s.path).as_posix()
            lines += ["", f"### {s.title}", "", f"From [`{s.path}`]({link}).", "", *s.body]
            png = (results_dir / s.path).with_suffix(".png")
            if png.exists():
                rel_png = png.relative_to(results_dir).as_posix()
                used_pngs.add(rel_png)
                lines += ["", f"![{rel_png}]({(link_base / rel_png).as_posix()})"]
    loose = sorted(p.relative_to(results_dir).as_posix() for p in results_dir.rglob("*.png"))
    loose = [p for p in loose if p not in used_pngs]
    if loose:
        lines += ["", "## Other figures", ""]
        lines += [f"- [`{p}`]({(link_base / p).as_posix()})" for p in loose]
    return "\n".join(lines).rstrip() + "\n"


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, spaces to dashes, punctuation dropped."""
    return "".join(c for c in heading.lower().replace(" ", "-") if c.isalnum() or c in "-_")


def write_pages(results_dir: str | Path, out: str | Path) -> bool:
    """Write the page.

    Args:
        results_dir: the folder of results.
        out: the Markdown file to write.

    Returns:
        True when the file changed.
    """
    text = render_pages(results_dir, out)
    out = Path(out)
    if out.exists() and out.read_text() == text:
        return False
    out.write_text(text)
    return True


def check_pages(results_dir: str | Path, out: str | Path) -> list[str]:
    """Compare the written page with what the results give.

    Args:
        results_dir: the folder of results.
        out: the committed Markdown file.

    Returns:
        A diff summary (unified diff lines), empty when the page is up to date.
    """
    out = Path(out)
    want = render_pages(results_dir, out)
    have = out.read_text() if out.exists() else ""
    if have == want:
        return []
    diff = list(difflib.unified_diff(have.splitlines(), want.splitlines(), str(out), "generated", n=0, lineterm=""))
    changed = sum(1 for line in diff if line[:1] in "+-" and not line.startswith(("+++", "---")))
    return [f"{out} differs from what the results give ({changed} lines):", *diff]
