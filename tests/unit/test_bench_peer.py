"""The peer target's verdict: at least 10x faster on every scenario and no worse GOSPA."""

from __future__ import annotations

from typing import Any

import pytest

from bench.peer import target
from bench.report_peer import peer_section


def _results(*rows: tuple[float, float, float]) -> dict[str, Any]:
    scenarios = [
        {
            "scenario": f"s{i}",
            "missiles": 4,
            "warnings": 300,
            "trilink_us_per_warning": 100.0,
            "trilink_threat_us_per_warning": 180.0,
            "peer_us_per_warning": 100.0 * speedup,
            "speedup": speedup,
            "trilink_gospa": ours,
            "peer_gospa": theirs,
            "trilink_tracks": 4,
            "peer_tracks": 5,
        }
        for i, (speedup, ours, theirs) in enumerate(rows)
    ]
    return {
        "peer": {
            "seed": 0,
            "repeats": 1,
            "scenarios": scenarios,
            "min_speedup": min(r[0] for r in rows),
            "gospa_no_worse": all(r[1] <= r[2] for r in rows),
        }
    }


@pytest.mark.parametrize(
    ("rows", "figure", "met"),
    [
        (((12.0, 5.0, 9.0), (10.0, 1.0, 1.0)), 10.0, True),
        (((12.0, 5.0, 9.0), (9.9, 1.0, 2.0)), 9.9, False),  # one scenario too slow
        (((30.0, 5.0, 9.0), (20.0, 2.5, 2.0)), 20.0, False),  # one scenario worse
    ],
)
def test_the_slowest_scenario_decides_and_gospa_must_not_be_worse(
    rows: tuple[tuple[float, float, float], ...], figure: float, met: bool
) -> None:
    assert target(_results(*rows)) == (figure, met)


def test_no_figure_without_a_measurement() -> None:
    assert target({}) == (None, None)
    assert target({"peer": {"error": "RuntimeError: boom", "scenarios": []}}) == (None, None)


def test_the_section_names_what_missed() -> None:
    text = "\n".join(peer_section(_results((12.0, 5.0, 9.0), (8.0, 3.0, 2.0))))
    assert "| `s1` | 4 | 300 | 100 | 180 | 800 | 8.0x | 3.00 | 2.00 | 4 / 5 |" in text
    assert "Target missed: less than 10x faster on s1; a worse GOSPA than the peer's on s1." in text
