"""Pages made from the code at build time (mkdocs-gen-files): the command-line reference from the
argparse parser, the domain-randomization field table from `randomize.FIELDS`, and the result files
that the results page (benchmarks/README.md, included in results.md) links to."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

import mkdocs_gen_files

from mjx_lerobot.apps.cli import build_parser
from mjx_lerobot.sim.randomize import FIELDS, MAX_LATENCY, Parts


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _flags(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.dest}`"
    flags = ", ".join(f"`{flag}`" for flag in action.option_strings)
    if action.nargs != 0:
        flags += f" `{action.metavar or action.dest.upper()}`"
    return flags


def _default(action: argparse.Action) -> str:
    if action.required:
        return "required"
    if action.nargs == 0 or action.default in (None, argparse.SUPPRESS):
        return ""
    return f"`{action.default!r}`"


def _options_table(parser: argparse.ArgumentParser) -> list[str]:
    rows = ["| option | default | choices | what it does |", "|---|---|---|---|"]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        choices = ", ".join(f"`{c}`" for c in action.choices) if action.choices else ""
        rows.append(f"| {_flags(action)} | {_default(action)} | {choices} | {_cell(action.help or '')} |")
    return rows


def cli_page(parser: argparse.ArgumentParser) -> str:
    os.environ["COLUMNS"] = "100"  # argparse wraps usage lines to the terminal: the same on every machine
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in sub._choices_actions}
    lines = [
        "# Command line",
        "",
        "Generated from the argparse definitions in `mjx_lerobot/apps/cli.py` (`build_parser()`).",
        "Every command also takes `-h`/`--help`. Bad input (an unknown task, a malformed list, a file that is",
        "not a checkpoint or not a recording) ends in one line, `mjx-lerobot ...: error: ...`, and exit code 2;",
        "`MJX_LEROBOT_DEBUG=1` shows the traceback instead.",
        "",
        "```text",
        parser.format_usage().strip(),
        "```",
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    lines += [f"| [`{name}`](#{name}) | {_cell(helps.get(name, ''))} |" for name in sub.choices]
    for name, command in sub.choices.items():
        lines += [
            "",
            f"## {name}",
            "",
            _cell(helps.get(name, "")),
            "",
            "```text",
            command.format_usage().strip(),
            "```",
        ]
        table = _options_table(command)
        lines += ["", *(table if len(table) > 2 else ["No options besides `-h`."])]
    return "\n".join(lines) + "\n"


def _range(field) -> str:
    low, high = field.default
    return f"{low:g} – {high:g}"


def fields_table() -> str:
    kinds = {"scale": "× (scale)", "offset": "+ (offset)", "std": "noise std", "steps": "control steps"}
    lines = [
        "",
        "| field | default range | kind | one draw per | acts on | model fields written | what it is |",
        "|---|---|---|---|---|---|---|",
    ]
    for field in FIELDS:
        axes = " × ".join(field.axes) if field.axes else "instance"
        model_fields = ", ".join(f"`{name}`" for name in field.model_fields)
        lines.append(
            f"| `{field.name}` | {_range(field)} | {kinds.get(field.kind, field.kind)} | {axes} | {field.acts_on} "
            f"| {model_fields} | {_cell(field.doc)} |"
        )
    parts = Parts()
    lines += [
        "",
        f"`latency` is at most {MAX_LATENCY} control steps. The default `Parts()` are objects "
        f"`{parts.objects}`, pads `{parts.pads}`, surfaces `{parts.surfaces}`, robot root `{parts.robot!r}`.",
    ]
    return "\n".join(lines) + "\n"


def linked_results(readme: Path) -> list[Path]:
    """The files under benchmarks/results/ that benchmarks/README.md links to (`](results/...)`)."""
    if not readme.exists():
        return []
    names = sorted(set(re.findall(r"\]\((results/[^)#\s]+)", readme.read_text())))
    return [Path(name) for name in names]


with mkdocs_gen_files.open("cli.md", "w") as page:
    page.write(cli_page(build_parser()))
mkdocs_gen_files.set_edit_path("cli.md", "../mjx_lerobot/apps/cli.py")

# randomization.md ends with the heading this table belongs under.
with mkdocs_gen_files.open("randomization.md", "a") as page:
    page.write(fields_table())

# results.md includes benchmarks/README.md, whose links are relative to benchmarks/: the linked files go
# to the same place relative to results.md, so they resolve in the site as they do on GitHub. A link to a
# file that does not exist is left for the strict build to report.
BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
for rel in linked_results(BENCHMARKS / "README.md"):
    source = BENCHMARKS / rel
    if source.is_file():
        with mkdocs_gen_files.open(rel.as_posix(), "wb") as out:
            out.write(source.read_bytes())
