"""Markdown building blocks for BENCHMARKS.md: number formats, tables, safe lookups.

Every section is drawn from results that may be partial (a measurement that failed
holds ``{"error": ...}`` instead of its figures), so the formats print ``–`` for a
figure that is not a number.
"""

from __future__ import annotations

from typing import Any


def ms(us: Any) -> str:
    """Microseconds shown as milliseconds with two decimals."""
    if not isinstance(us, int | float):
        return "–"
    return f"{us / 1000:.2f}"


def num(v: Any, fmt: str = ",.0f") -> str:
    """A number in ``fmt`` (thousands separated, no decimals by default)."""
    if not isinstance(v, int | float):
        return "–"
    return format(v, fmt)


def _row(cells: list[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def table(head: list[str], rows: list[list[Any]]) -> list[str]:
    """The lines of a markdown table."""
    return [_row(head), _row(["---"] * len(head)), *(_row(r) for r in rows)]


def error_of(section: Any) -> str | None:
    """The error a failed measurement recorded, None if it did not fail."""
    return section.get("error") if isinstance(section, dict) else None


def props(d: dict[str, Any]) -> str:
    """Client properties as ``key=value, ...``."""
    return ", ".join(f"{k}={v}" for k, v in d.items())


def pcts(d: dict[str, Any]) -> list[str]:
    """p50, p99, p99.9 and max of a latency summary, in ms."""
    return [ms(d.get("p50_us")), ms(d.get("p99_us")), ms(d.get("p999_us")), ms(d.get("max_us"))]


def dig(d: Any, *path: Any) -> Any:
    """``d[path[0]][path[1]]...``, or None where a step is missing (dict keys, list indices)."""
    for key in path:
        if isinstance(d, dict):
            d = d.get(key)
        elif isinstance(d, list) and isinstance(key, int) and -len(d) <= key < len(d):
            d = d[key]
        else:
            return None
    return d
