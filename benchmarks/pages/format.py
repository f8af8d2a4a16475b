"""Number formatting, Markdown tables, and the renderers for files no bespoke renderer knows: the
generic envelope and the fallback that lists a file's top-level scalar fields."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from typing import Any

NUMERIC = re.compile(r"^[-+]?[\d,]*\.?\d+(e[-+]?\d+)?( ?(%|x|s|\^2))?$")

IMPL_ORDER = {"c": 0, "jax": 1, "warp": 2}

# What every renderer returns: (title, one-line meaning, body lines).
Rendered = tuple[str, str, list[str]]
# A table column: (heading, key in each row, formatter).
Column = tuple[str, str, Callable[[Any], str]]


def fmt_rate(value: Any) -> str:
    """A rate to 3 significant figures with thousands separators: 6,450,000, 20,700, 17.2, 0.0338.

    Args:
        value: a number (anything else is returned as text).

    Returns:
        The formatted number.
    """
    if not isinstance(value, int | float) or isinstance(value, bool):
        return fmt(value)
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    digits = math.floor(math.log10(abs(value)))
    if digits >= 2:
        return f"{round(value, 2 - digits):,.0f}"
    return f"{value:#.3g}".rstrip(".")


def fmt(value: Any) -> str:
    """Any JSON value as a table cell: ints with separators, floats to 3 significant figures.

    Args:
        value: a JSON value.

    Returns:
        Markdown-safe text.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        if value != 0 and abs(value) < 1e-3:
            return f"{value:.2e}"
        return fmt_rate(value)
    if isinstance(value, list):
        return ", ".join(fmt(v) for v in value)
    if isinstance(value, dict):
        return cell(json.dumps(value, sort_keys=True))
    return cell(str(value))


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def fixed(value: Any, places: int = 1) -> str:
    return f"{value:,.{places}f}" if isinstance(value, int | float) else fmt(value)


def pct(value: Any) -> str:
    return f"{value:.1%}" if isinstance(value, int | float) else fmt(value)


def signed_pct(value: Any) -> str:
    return f"{value:+.1f}%" if isinstance(value, int | float) else fmt(value)


def times(value: Any) -> str:
    if not isinstance(value, int | float):
        return fmt(value)
    if abs(value) >= 100:
        return f"{value:,.0f}x"
    return f"{value:.1f}x" if abs(value) >= 10 else f"{value:.2f}x" if abs(value) >= 1 else f"{value:.3g}x"


def kb(value: Any) -> str:
    return fmt_rate(value / 1024) if isinstance(value, int | float) else fmt(value)


def table(header: list[str], rows: Iterable[list[str]], align: str | None = None) -> list[str]:
    """A Markdown table.

    Args:
        header: column names.
        rows: cells, already formatted.
        align: one character per column, "l" or "r" (default: numeric columns right, the
            first column and text columns left).

    Returns:
        The table's lines.
    """
    rows = [list(r) for r in rows]
    if align is None:
        align = "".join(
            "r" if i and all(NUMERIC.match(r[i]) for r in rows if i < len(r) and r[i]) else "l"
            for i in range(len(header))
        )
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" if a == "l" else "---:" for a in align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _rows(items: Iterable[dict], columns: list[Column]) -> list[list[str]]:
    return [[f(item.get(key)) for _, key, f in columns] for item in items]


def columns_table(items: list[dict], columns: list[Column]) -> list[str]:
    """Only the columns some item has."""
    present = [c for c in columns if any(c[1] in item for item in items)]
    return table([c[0] for c in present], _rows(items, present))


def impl_key(row: dict) -> tuple:
    """Sort key for rows by backend (C, JAX, Warp, then others) and instance count."""
    return (IMPL_ORDER.get(row.get("impl", ""), 9), row.get("impl", ""), row.get("num_envs", 0))


# ---------------------------------------------------------------------------------------------
# Generic envelope and fallback


def is_envelope(d: Any) -> bool:
    """Whether a JSON value is a results envelope: an object with "columns" and "rows" lists.

    Args:
        d: a parsed JSON value.

    Returns:
        True for an envelope.
    """
    return isinstance(d, dict) and isinstance(d.get("columns"), list) and isinstance(d.get("rows"), list)


def render_envelope(d: dict) -> Rendered:
    """The generic renderer: the envelope's columns over its rows, then its targets, if any.

    Args:
        d: an envelope (see the module docstring). Columns may be names, or objects with "key"
            (or "name") and an optional "label"; rows may be objects or lists in column order.

    Returns:
        (title, meaning, body lines).
    """
    keys, labels = [], []
    for i, col in enumerate(d["columns"]):
        if isinstance(col, dict):
            key = col.get("key", col.get("name", i))
            labels.append(str(col.get("label", key)))
        else:
            key = col
            labels.append(str(col))
        keys.append(key)
    rows = []
    for row in d["rows"]:
        if isinstance(row, dict):
            rows.append([fmt(row.get(k)) for k in keys])
        elif isinstance(row, list):
            rows.append([fmt(row[i]) if i < len(row) else "" for i in range(len(keys))])
    body = table(labels, rows) if labels else []
    targets = d.get("targets")
    if isinstance(targets, dict) and targets:
        body += ["", "Targets:", ""]
        trows = []
        specs = {name: t if isinstance(t, dict) else {"value": t} for name, t in targets.items()}
        extra = [k for k in ("goal", "at") if any(k in t for t in specs.values())]
        for name, t in specs.items():
            met = t.get("met")
            verdict = "" if met is None else ("met" if met else "**not met**")
            at = t.get("at")
            where = ", ".join(f"{k} {fmt(v)}" for k, v in at.items()) if isinstance(at, dict) else fmt(at)
            cells = {"goal": fmt(t.get("goal")), "at": where}
            trows.append([cell(str(name)), fmt(t.get("value")), *[cells[k] for k in extra], verdict])
        body += table(["target", "value", *extra, "met"], trows, "lr" + "l" * len(extra) + "l")
    skipped = d.get("skipped")
    if isinstance(skipped, list) and skipped:
        what = [
            ", ".join(f"{k} {fmt(v)}" for k, v in s.items() if k != "why") + (f" ({s['why']})" if "why" in s else "")
            if isinstance(s, dict)
            else fmt(s)
            for s in skipped
        ]
        body += ["", "Skipped: " + "; ".join(cell(w) for w in what) + "."]
    title = str(d.get("title") or d.get("part") or "Results")
    meaning = str(d.get("meaning") or d.get("what") or f"{title}, as measured.")
    return title, meaning, body


def render_fallback(d: Any) -> Rendered:
    """Any other JSON: its top-level scalar fields (the machine facts are in the header).

    Args:
        d: a parsed JSON value.

    Returns:
        (title, meaning, body lines).
    """
    skip = {"device", "cpu_count", "jax_device", "machine", "command", "args", "date", "note"}
    items = [(k, v) for k, v in d.items() if k not in skip] if isinstance(d, dict) else []
    scalars = [(k, v) for k, v in items if not isinstance(v, dict | list)]
    nested = [k for k, v in items if isinstance(v, dict | list)]
    body = table(["field", "value"], [[cell(str(k)), fmt(v)] for k, v in scalars], "ll") if scalars else []
    if nested:
        body += ["", "Not shown (nested): " + ", ".join(f"`{k}`" for k in nested) + "."]
    if not body:
        body = ["(no scalar fields)"]
    return "Unrecognised results file", "Top-level scalar fields of a file no renderer knows.", body
